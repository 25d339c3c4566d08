import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newestClosedFirst, pairClosedTrades } from '../../shared/domain/closed-trades';
import type { Deal } from '../../shared/domain/trading';

const deal = (overrides: Partial<Deal> & Pick<Deal, 'id' | 'positionId' | 'entry' | 'time'>): Deal => ({
  symbol: 'EURUSD',
  side: overrides.entry === 'in' ? 'buy' : 'sell',
  volume: 0.1,
  price: 1.1,
  profit: 0,
  ...overrides,
});

describe('pairClosedTrades', () => {
  it('pairs the in and out deal of a position into one closed trade with the position side', () => {
    const { trades, unmatched } = pairClosedTrades([
      deal({ id: 'd1', positionId: 'p1', entry: 'in', side: 'sell', price: 1.2, time: '2024-03-04T10:00:00.000Z' }),
      deal({ id: 'd2', positionId: 'p1', entry: 'out', side: 'buy', price: 1.19, profit: 100, time: '2024-03-04T11:00:00.000Z' }),
    ]);
    expect(unmatched).toEqual([]);
    expect(trades).toEqual([
      {
        id: 'd2',
        positionId: 'p1',
        symbol: 'EURUSD',
        side: 'sell',
        volume: 0.1,
        openPrice: 1.2,
        closePrice: 1.19,
        profit: 100,
        openedAt: '2024-03-04T10:00:00.000Z',
        closedAt: '2024-03-04T11:00:00.000Z',
      },
    ]);
  });

  it('lists each partial close as a trade of its own volume at the same open price', () => {
    const { trades } = pairClosedTrades([
      deal({ id: 'd1', positionId: 'p1', entry: 'in', volume: 0.3, price: 1.1, time: '2024-03-04T10:00:00.000Z' }),
      deal({ id: 'd2', positionId: 'p1', entry: 'out', volume: 0.1, price: 1.11, profit: 10, time: '2024-03-04T11:00:00.000Z' }),
      deal({ id: 'd3', positionId: 'p1', entry: 'out', volume: 0.2, price: 1.12, profit: 40, time: '2024-03-04T12:00:00.000Z' }),
    ]);
    expect(trades.map(({ id, volume, openPrice, closePrice, profit }) => ({ id, volume, openPrice, closePrice, profit }))).toEqual([
      { id: 'd2', volume: 0.1, openPrice: 1.1, closePrice: 1.11, profit: 10 },
      { id: 'd3', volume: 0.2, openPrice: 1.1, closePrice: 1.12, profit: 40 },
    ]);
  });

  it('averages the open price of a position opened in several deals, weighted by volume', () => {
    const { trades } = pairClosedTrades([
      deal({ id: 'd1', positionId: 'p1', entry: 'in', volume: 0.1, price: 1.1, time: '2024-03-04T10:00:00.000Z' }),
      deal({ id: 'd2', positionId: 'p1', entry: 'in', volume: 0.3, price: 1.2, time: '2024-03-04T10:30:00.000Z' }),
      deal({ id: 'd3', positionId: 'p1', entry: 'out', volume: 0.4, price: 1.3, time: '2024-03-04T11:00:00.000Z' }),
    ]);
    expect(trades[0]).toMatchObject({ openPrice: 1.175, openedAt: '2024-03-04T10:00:00.000Z', volume: 0.4 });
  });

  it('reports a close whose opening deal is not in the history instead of inventing an open price', () => {
    const out = deal({ id: 'd9', positionId: 'p9', entry: 'out', time: '2024-03-04T11:00:00.000Z' });
    expect(pairClosedTrades([out])).toEqual({ trades: [], unmatched: [out] });
  });

  it('lists nothing for a position that is still open', () => {
    expect(pairClosedTrades([deal({ id: 'd1', positionId: 'p1', entry: 'in', time: '2024-03-04T10:00:00.000Z' })])).toEqual({ trades: [], unmatched: [] });
  });

  it('gives one trade per out deal, with its volume and profit, whatever the order and interleaving of the deals', () => {
    const position = fc.record({
      side: fc.constantFrom('buy' as const, 'sell' as const),
      opens: fc.array(fc.record({ volume: fc.integer({ min: 1, max: 50 }), price: fc.integer({ min: 9000, max: 12000 }) }), { minLength: 1, maxLength: 3 }),
      closes: fc.array(
        fc.record({ share: fc.integer({ min: 1, max: 10 }), price: fc.integer({ min: 9000, max: 12000 }), profit: fc.integer({ min: -500, max: 500 }) }),
        { maxLength: 3 },
      ),
    });
    fc.assert(
      fc.property(fc.array(position, { minLength: 1, maxLength: 5 }), fc.integer(), (positions, seed) => {
        const deals: Deal[] = [];
        let ticket = 0;
        const at = (minute: number) => new Date(Date.UTC(2024, 2, 4, 0, minute)).toISOString();
        positions.forEach((spec, index) => {
          const positionId = `p${index}`;
          let minute = index;
          for (const open of spec.opens)
            deals.push(
              deal({
                id: `d${(ticket += 1)}`,
                positionId,
                entry: 'in',
                side: spec.side,
                volume: open.volume / 100,
                price: open.price / 10000,
                time: at((minute += 10)),
              }),
            );
          // A position never closes more than it opened.
          let remaining = spec.opens.reduce((sum, open) => sum + open.volume, 0);
          for (const close of spec.closes) {
            const units = Math.min(close.share, remaining);
            if (units === 0) break;
            remaining -= units;
            deals.push(
              deal({
                id: `d${(ticket += 1)}`,
                positionId,
                entry: 'out',
                side: spec.side === 'buy' ? 'sell' : 'buy',
                volume: units / 100,
                price: close.price / 10000,
                profit: close.profit,
                time: at((minute += 10)),
              }),
            );
          }
        });
        const shuffled = [...deals].sort(
          (a, b) => ((a.id.length * 31 + a.id.charCodeAt(a.id.length - 1) * seed) % 7) - ((b.id.length * 31 + b.id.charCodeAt(b.id.length - 1) * seed) % 7),
        );
        const { trades, unmatched } = pairClosedTrades(shuffled);
        const outs = deals.filter((d) => d.entry === 'out');
        expect(unmatched).toEqual([]);
        expect(trades.map((trade) => trade.id).sort()).toEqual(outs.map((d) => d.id).sort());
        for (const trade of trades) {
          const out = outs.find((d) => d.id === trade.id)!;
          const spec = positions[Number(trade.positionId.slice(1))]!;
          const prices = spec.opens.map((open) => open.price / 10000);
          expect(trade).toMatchObject({ volume: out.volume, closePrice: out.price, profit: out.profit, side: spec.side });
          expect(trade.openPrice).toBeGreaterThanOrEqual(Math.min(...prices) - 1e-9);
          expect(trade.openPrice).toBeLessThanOrEqual(Math.max(...prices) + 1e-9);
          expect(Date.parse(trade.openedAt)).toBeLessThan(Date.parse(trade.closedAt));
        }
        expect(pairClosedTrades(deals)).toEqual({ trades, unmatched });
      }),
    );
  });
});

describe('newestClosedFirst', () => {
  it('orders by close time, newest first, and by id on equal times', () => {
    const trades = [
      { id: 'a', closedAt: '2024-01-01T00:00:00.000Z' },
      { id: 'c', closedAt: '2024-01-02T00:00:00.000Z' },
      { id: 'b', closedAt: '2024-01-02T00:00:00.000Z' },
    ];
    expect([...trades].sort(newestClosedFirst).map((trade) => trade.id)).toEqual(['c', 'b', 'a']);
  });
});

import { describe, expect, it } from 'vitest';
import type { Deal } from '../../shared/domain/trading';
import type { TradeHistoryStore } from '../../shared/ports/stores';

let unique = 0;
const tenant = () => `history-${(unique += 1)}`;

const deal = (id: string, positionId: string, entry: 'in' | 'out', time: string, changes: Partial<Deal> = {}): Deal => ({
  id,
  positionId,
  symbol: 'EURUSD',
  side: entry === 'in' ? 'buy' : 'sell',
  entry,
  volume: 0.1,
  price: 1.1,
  profit: entry === 'out' ? 12.5 : 0,
  time,
  ...changes,
});

const trade = (id: string, closedAt: string) => ({
  id,
  positionId: `p-${id}`,
  symbol: 'EURUSD',
  side: 'buy' as const,
  volume: 0.1,
  openPrice: 1.1,
  closePrice: 1.2,
  profit: 10,
  commission: -0.7,
  swap: -0.1,
  mappingId: 'map-1',
  openedAt: '2026-11-01T00:00:00.000Z',
  closedAt,
});

/** What the history sync and routes rely on from the trade history store, over every adapter. */
export const tradeHistoryStoreContract = (name: string, store: () => TradeHistoryStore) => {
  describe(`${name}: trade history`, () => {
    it('keeps a cursor per account, and nothing for another account or tenant', async () => {
      const tenantId = tenant();
      expect(await store().getCursor(tenantId, 'acc-1')).toBeUndefined();
      const cursor = { tenantId, accountId: 'acc-1', syncedTo: '2026-12-01T00:00:00.000Z', syncedAt: '2026-12-01T00:01:00.000Z', balance: 1000 };
      await store().putCursor(cursor);
      expect(await store().getCursor(tenantId, 'acc-1')).toEqual(cursor);
      expect(await store().getCursor(tenantId, 'acc-2')).toBeUndefined();
      expect(await store().getCursor(tenant(), 'acc-1')).toBeUndefined();
    });

    it("stores a deal once however often it is written, and gives a position's deals oldest first", async () => {
      const tenantId = tenant();
      const deals = [
        deal('d2', 'p1', 'out', '2026-12-01T10:05:00.000Z', { commission: -0.35, swap: -0.1 }),
        deal('d1', 'p1', 'in', '2026-12-01T10:00:00.000Z'),
      ];
      await store().putDeals(tenantId, 'acc-1', deals);
      await store().putDeals(tenantId, 'acc-1', deals);
      await store().putDeals(tenantId, 'acc-1', [deal('d3', 'p2', 'in', '2026-12-01T10:01:00.000Z')]);
      expect((await store().dealsOfPosition(tenantId, 'acc-1', 'p1')).map((entry) => entry.id)).toEqual(['d1', 'd2']);
      expect((await store().dealsOfPosition(tenantId, 'acc-1', 'p1'))[1]).toEqual(deals[0]);
      expect(await store().dealsOfPosition(tenantId, 'acc-2', 'p1')).toEqual([]);
    });

    it('lists the trades of a range newest first, each once, the range end excluded', async () => {
      const tenantId = tenant();
      const trades = [trade('t1', '2026-12-01T10:00:00.000Z'), trade('t2', '2026-12-02T10:00:00.000Z'), trade('t3', '2026-12-03T10:00:00.000Z')];
      await store().putTrades(tenantId, 'acc-1', trades);
      await store().putTrades(tenantId, 'acc-1', [trades[1]!]);
      const listed = await store().listTrades(tenantId, 'acc-1', { from: '2026-12-01T10:00:00.000Z', to: '2026-12-03T10:00:00.000Z' });
      expect(listed).toEqual([trades[1], trades[0]]);
      expect(await store().listTrades(tenantId, 'acc-2', { from: '2026-01-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' })).toEqual([]);
    });

    it('keeps a point per minute, and the first of an hour and of a day at those resolutions', async () => {
      const tenantId = tenant();
      const point = (at: string, equity: number) => ({ at, balance: 1000, equity });
      await store().putEquityPoint(tenantId, 'acc-1', point('2026-12-01T10:00:10.000Z', 1000), { hour: true, day: true });
      await store().putEquityPoint(tenantId, 'acc-1', point('2026-12-01T10:05:10.000Z', 1010), { hour: false, day: false });
      await store().putEquityPoint(tenantId, 'acc-1', point('2026-12-01T11:00:10.000Z', 990), { hour: true, day: false });
      await store().putEquityPoint(tenantId, 'acc-1', point('2026-12-02T00:00:10.000Z', 995), { hour: true, day: true });
      const range = { from: '2026-12-01T00:00:00.000Z', to: '2026-12-03T00:00:00.000Z' };
      expect((await store().listEquity(tenantId, 'acc-1', range, 'minute')).map((entry) => entry.equity)).toEqual([1000, 1010, 990, 995]);
      expect((await store().listEquity(tenantId, 'acc-1', range, 'hour')).map((entry) => entry.equity)).toEqual([1000, 990, 995]);
      expect(await store().listEquity(tenantId, 'acc-1', range, 'day')).toEqual([
        point('2026-12-01T10:00:10.000Z', 1000),
        point('2026-12-02T00:00:10.000Z', 995),
      ]);
      expect(await store().listEquity(tenantId, 'acc-1', { from: '2026-12-01T10:01:00.000Z', to: '2026-12-01T11:00:00.000Z' }, 'minute')).toEqual([
        point('2026-12-01T10:05:10.000Z', 1010),
      ]);
    });
  });
};

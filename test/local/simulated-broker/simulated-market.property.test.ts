import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../shared/domain/broker-errors';
import { SimulatedMarket } from '../../../local/simulated-broker/simulated-market';

const symbols = ['EURUSD', 'USDJPY', 'XAUUSD'] as const;
const side = fc.constantFrom('buy' as const, 'sell' as const);
const symbol = fc.constantFrom(...symbols);
const lots = fc.integer({ min: 1, max: 80 }).map((steps) => steps / 100);

type Action =
  | { kind: 'open'; symbol: string; side: 'buy' | 'sell'; volume: number; stopTicks: number; targetTicks: number }
  | { kind: 'pending'; symbol: string; side: 'buy' | 'sell'; type: 'limit' | 'stop'; volume: number; offsetTicks: number }
  | { kind: 'move'; symbol: string; ticks: number }
  | { kind: 'close'; pick: number; steps: number | undefined }
  | { kind: 'modify'; pick: number; stopTicks: number; targetTicks: number }
  | { kind: 'cancel'; pick: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('open' as const),
    symbol,
    side,
    volume: lots,
    stopTicks: fc.integer({ min: -300, max: 300 }),
    targetTicks: fc.integer({ min: -300, max: 300 }),
  }),
  fc.record({
    kind: fc.constant('pending' as const),
    symbol,
    side,
    type: fc.constantFrom('limit' as const, 'stop' as const),
    volume: lots,
    offsetTicks: fc.integer({ min: -200, max: 200 }),
  }),
  fc.record({ kind: fc.constant('move' as const), symbol, ticks: fc.integer({ min: -400, max: 400 }) }),
  fc.record({
    kind: fc.constant('close' as const),
    pick: fc.nat(),
    steps: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant('modify' as const),
    pick: fc.nat(),
    stopTicks: fc.integer({ min: -300, max: 300 }),
    targetTicks: fc.integer({ min: -300, max: 300 }),
  }),
  fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
);

const tickOf = (market: SimulatedMarket, name: string): number => market.getSymbolSpec(name)!.tickSize;
const level = (price: number, ticks: number, tick: number): number | undefined => (ticks === 0 ? undefined : Math.max(tick, price + ticks * tick));

const apply = (market: SimulatedMarket, accountId: string, step: Action, n: number): void => {
  switch (step.kind) {
    case 'open': {
      const quote = market.getQuote(step.symbol)!;
      const tick = tickOf(market, step.symbol);
      market.placeOrder(accountId, {
        clientId: `c${n}`,
        symbol: step.symbol,
        side: step.side,
        type: 'market',
        volume: step.volume,
        stopLoss: level(quote.bid, step.stopTicks, tick),
        takeProfit: level(quote.bid, step.targetTicks, tick),
      });
      return;
    }
    case 'pending': {
      const quote = market.getQuote(step.symbol)!;
      market.placeOrder(accountId, {
        clientId: `c${n}`,
        symbol: step.symbol,
        side: step.side,
        type: step.type,
        volume: step.volume,
        price: Math.max(tickOf(market, step.symbol), quote.ask + step.offsetTicks * tickOf(market, step.symbol)),
      });
      return;
    }
    case 'move': {
      const quote = market.getQuote(step.symbol)!;
      const shift = step.ticks * tickOf(market, step.symbol);
      market.defineSymbol({ symbol: step.symbol, bid: quote.bid + shift, ask: quote.ask + shift });
      return;
    }
    case 'close': {
      const positions = market.getPositions(accountId);
      const position = positions[step.pick % Math.max(1, positions.length)];
      if (!position) return;
      market.closePosition(accountId, position.id, {
        clientId: `c${n}`,
        volume: step.steps === undefined ? undefined : step.steps / 100,
      });
      return;
    }
    case 'modify': {
      const positions = market.getPositions(accountId);
      const position = positions[step.pick % Math.max(1, positions.length)];
      if (!position) return;
      const quote = market.getQuote(position.symbol)!;
      const tick = tickOf(market, position.symbol);
      market.modifyPosition(accountId, position.id, {
        stopLoss: level(quote.bid, step.stopTicks, tick) ?? null,
        takeProfit: level(quote.bid, step.targetTicks, tick) ?? null,
      });
      return;
    }
    case 'cancel': {
      const orders = market.getPendingOrders(accountId);
      const order = orders[step.pick % Math.max(1, orders.length)];
      if (order) market.cancelOrder(accountId, order.id);
    }
  }
};

const allTime = ['2000-01-01T00:00:00.000Z', '2100-01-01T00:00:00.000Z'] as const;

describe('SimulatedMarket properties', () => {
  it('keeps equity = balance + floating profit, volumes positive and in steps, and the books consistent with the deals, for any sequence of trades', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 40 }), (actions) => {
        const market = new SimulatedMarket({ now: () => new Date('2024-05-01T10:00:00.000Z') });
        const accountId = 'acc-1';
        market.openAccount(accountId, { balance: 50_000 });
        actions.forEach((step, n) => {
          const before = market.exportState();
          try {
            apply(market, accountId, step, n);
          } catch (error) {
            if (!(error instanceof BrokerError)) throw error;
            // A rejected request changes nothing at all.
            expect(market.exportState()).toEqual(before);
          }

          const snapshot = market.getAccountSnapshot(accountId);
          const floating = snapshot.positions.reduce((sum, position) => sum + (position.profit ?? 0), 0);
          expect(Math.abs(snapshot.equity - (snapshot.balance + floating))).toBeLessThanOrEqual(0.005 + 1e-9);

          const deals = market.getDeals(accountId, ...allTime);
          const realised = deals.reduce((sum, deal) => sum + deal.profit, 0);
          expect(snapshot.balance).toBeCloseTo(50_000 + realised, 6);

          for (const position of snapshot.positions) {
            const step = market.getSymbolSpec(position.symbol)!.volumeStep;
            expect(position.volume).toBeGreaterThan(0);
            expect(Math.abs(position.volume / step - Math.round(position.volume / step))).toBeLessThan(1e-6);
          }

          // Per position: volume opened - volume closed = volume open now, never negative.
          const byPosition = new Map<string, number>();
          for (const deal of deals) {
            const open = (byPosition.get(deal.positionId) ?? 0) + (deal.entry === 'in' ? deal.volume : -deal.volume);
            expect(open).toBeGreaterThan(-1e-9);
            byPosition.set(deal.positionId, open);
          }
          for (const [positionId, open] of byPosition) {
            const position = snapshot.positions.find((candidate) => candidate.id === positionId);
            expect(position?.volume ?? 0).toBeCloseTo(open, 8);
          }
        });
      }),
      { numRuns: 150 },
    );
  });

  it('leaves no pending order triggered and no stop reached at the current quotes', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 40 }), (actions) => {
        const market = new SimulatedMarket();
        market.openAccount('acc-1', { balance: 50_000 });
        actions.forEach((step, n) => {
          try {
            apply(market, 'acc-1', step, n);
          } catch (error) {
            if (!(error instanceof BrokerError)) throw error;
          }
        });
        for (const order of market.getPendingOrders('acc-1')) {
          const { bid, ask } = market.getQuote(order.symbol)!;
          const market_ = order.side === 'buy' ? ask : bid;
          const waitsBelow = (order.side === 'buy') === (order.type === 'limit');
          expect(waitsBelow ? market_ > order.price : market_ < order.price).toBe(true);
        }
        for (const position of market.getPositions('acc-1')) {
          const { bid, ask } = market.getQuote(position.symbol)!;
          const price = position.side === 'buy' ? bid : ask;
          const sign = position.side === 'buy' ? 1 : -1;
          if (position.stopLoss !== undefined) expect(sign * (price - position.stopLoss)).toBeGreaterThan(0);
          if (position.takeProfit !== undefined) expect(sign * (price - position.takeProfit)).toBeLessThan(0);
        }
      }),
      { numRuns: 150 },
    );
  });
});

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { copyFixture } from '../support/copy-fixture';
import { startTestSystem } from '../support/local-api';

type Action =
  | { kind: 'open'; symbol: 'EURUSD' | 'GBPUSD'; side: 'buy' | 'sell'; lots: number; withStops: boolean }
  | { kind: 'modify'; pick: number; pips: number }
  | { kind: 'partialClose'; pick: number; share: number }
  | { kind: 'close'; pick: number }
  | { kind: 'placePending'; symbol: 'EURUSD' | 'GBPUSD'; side: 'buy' | 'sell'; lots: number; pips: number }
  | { kind: 'cancelPending'; pick: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('open' as const),
    symbol: fc.constantFrom('EURUSD' as const, 'GBPUSD' as const),
    side: fc.constantFrom('buy' as const, 'sell' as const),
    lots: fc.integer({ min: 1, max: 40 }),
    withStops: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('modify' as const), pick: fc.nat(), pips: fc.integer({ min: 50, max: 300 }) }),
  fc.record({ kind: fc.constant('partialClose' as const), pick: fc.nat(), share: fc.double({ min: 0.1, max: 0.9, noNaN: true }) }),
  fc.record({ kind: fc.constant('close' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('placePending' as const),
    symbol: fc.constantFrom('EURUSD' as const, 'GBPUSD' as const),
    side: fc.constantFrom('buy' as const, 'sell' as const),
    lots: fc.integer({ min: 1, max: 40 }),
    pips: fc.integer({ min: 100, max: 500 }),
  }),
  fc.record({ kind: fc.constant('cancelPending' as const), pick: fc.nat() }),
);

const round = (value: number, digits = 5) => Number(value.toFixed(digits));

/**
 * Property 3 of ENGINEERING.md: for any sequence of open / modify / partial close / close /
 * pending events on a master, the slave's book ends equal to the model — here the master's
 * book scaled by the multiplier (volumes are multiples of the step, so scaling is exact).
 */
describe('the slave book follows the master book', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
  });
  afterAll(async () => system?.stop());

  it('ends equal to the model for any sequence of master events', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 8 }), fc.constantFrom(1, 2), async (actions, multiplier) => {
        const fixture = await copyFixture(system, { sizing: { mode: 'multiplier', multiplier } });
        const { market, master, slave } = fixture;
        await system.syncNow(false);
        for (const step of actions) {
          const positions = market.getPositions(master.id);
          const orders = market.getPendingOrders(master.id);
          try {
            if (step.kind === 'open') {
              const quote = market.getQuote(step.symbol)!;
              const sign = step.side === 'buy' ? 1 : -1;
              const stops = step.withStops ? { stopLoss: round(quote.bid - sign * 0.02), takeProfit: round(quote.bid + sign * 0.02) } : {};
              market.traderTrade(master.id, { symbol: step.symbol, side: step.side, volume: step.lots / 100, ...stops });
            } else if (step.kind === 'placePending') {
              const quote = market.getQuote(step.symbol)!;
              // A limit order away from the market: it does not fill while prices stand still.
              const price = round(step.side === 'buy' ? quote.ask - step.pips / 10_000 : quote.bid + step.pips / 10_000);
              market.traderTrade(master.id, { symbol: step.symbol, side: step.side, volume: step.lots / 100, type: 'limit', price });
            } else if (step.kind === 'cancelPending') {
              const order = orders[step.pick % Math.max(orders.length, 1)];
              if (!order) continue;
              market.cancelOrder(master.id, order.id);
            } else {
              const position = positions[step.pick % Math.max(positions.length, 1)];
              if (!position) continue;
              if (step.kind === 'close') market.traderClose(master.id, position.id);
              else if (step.kind === 'partialClose') {
                const lots = Math.floor(Math.round(position.volume * 100) * step.share);
                if (lots < 1 || lots >= Math.round(position.volume * 100)) continue;
                market.traderClose(master.id, position.id, lots / 100);
              } else {
                const quote = market.getQuote(position.symbol)!;
                const sign = position.side === 'buy' ? 1 : -1;
                market.traderModify(master.id, position.id, { stopLoss: round(quote.bid - (sign * step.pips) / 10_000) });
              }
            }
          } catch {
            continue; // the broker refused the master's own trade: nothing happened
          }
          await system.syncNow(false);
          await system.drain();
        }
        const scaled = (volume: number) => round(volume * multiplier, 2);
        const positionsOf = (accountId: string, scale: (volume: number) => number) =>
          market
            .getPositions(accountId)
            .map((p) => `${p.symbol} ${p.side} ${scale(p.volume)} sl=${p.stopLoss ?? '-'} tp=${p.takeProfit ?? '-'}`)
            .sort();
        const ordersOf = (accountId: string, scale: (volume: number) => number) =>
          market
            .getPendingOrders(accountId)
            .map((o) => `${o.symbol} ${o.side} ${o.type} ${scale(o.volume)} @${o.price}`)
            .sort();
        expect(positionsOf(slave.id, (v) => round(v, 2))).toEqual(positionsOf(master.id, scaled));
        expect(ordersOf(slave.id, (v) => round(v, 2))).toEqual(ordersOf(master.id, scaled));
      }),
      { numRuns: 12 },
    );
  }, 120_000);
});

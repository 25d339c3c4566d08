import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import type { CopySignal, SignalQueue } from '../../shared/ports/stores';
import { syncAccount, type SyncDependencies } from '../../shared/use-cases/sync-accounts';
import { copyFixture } from '../support/copy-fixture';
import { startTestSystem } from '../support/local-api';

type Action =
  | { kind: 'open'; symbol: 'EURUSD' | 'GBPUSD'; side: 'buy' | 'sell'; lots: number }
  | { kind: 'close'; pick: number }
  | { kind: 'placePending'; side: 'buy' | 'sell'; lots: number }
  | { kind: 'cancelPending'; pick: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('open' as const),
    symbol: fc.constantFrom('EURUSD' as const, 'GBPUSD' as const),
    side: fc.constantFrom('buy' as const, 'sell' as const),
    lots: fc.integer({ min: 1, max: 30 }),
  }),
  fc.record({ kind: fc.constant('close' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('placePending' as const), side: fc.constantFrom('buy' as const, 'sell' as const), lots: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant('cancelPending' as const), pick: fc.nat() }),
);

/** A queue that loses the signals `lose` picks, like a crash between detection and delivery. */
const lossyQueue = (queue: SignalQueue, lose: () => boolean): SignalQueue => ({
  send: (signals: CopySignal[]) => queue.send(signals.filter(() => !lose())),
});

/**
 * Property 7 of ENGINEERING.md: whatever signals were lost, one reconcile pass leaves the
 * slave with no missing and no orphaned copies, and a second pass changes nothing.
 */
describe('reconcile', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
  });
  afterAll(async () => system?.stop());

  it('repairs any lost signals in one pass and changes nothing in the next', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 8 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }), async (actions, losses) => {
        const fixture = await copyFixture(system, { sizing: { mode: 'multiplier', multiplier: 1 }, maxDelaySeconds: 3600 });
        const { market, master, slave, runtime } = fixture;
        let loss = 0;
        const base: SyncDependencies = { ...runtime, bookRefreshMs: 30_000 };
        const lossy: SyncDependencies = { ...base, queue: lossyQueue(runtime.queue, () => losses[loss++ % losses.length]!) };
        const masterAccount = (await runtime.accounts.get(fixture.tenantId, master.id))!;
        const mappings = [(await runtime.mappings.get(fixture.tenantId, fixture.mapping.id))!];
        await syncAccount(base, masterAccount, mappings);
        // Every run loses at least one close: a copy whose master closed while the signal was
        // lost must be closed by the reconcile (a repair that skips closes fails every run).
        const doomed = market.traderTrade(master.id, { symbol: 'GBPUSD', side: 'sell', volume: 0.05 });
        await syncAccount(base, masterAccount, mappings);
        await system.drain();
        market.traderClose(master.id, doomed.positionId!);
        await syncAccount({ ...base, queue: lossyQueue(runtime.queue, () => true) }, masterAccount, mappings);
        expect(market.getPositions(slave.id), 'the slave still holds the copy of the closed position before the reconcile').toHaveLength(1);
        for (const step of actions) {
          try {
            if (step.kind === 'open') market.traderTrade(master.id, { symbol: step.symbol, side: step.side, volume: step.lots / 100 });
            else if (step.kind === 'placePending') {
              const quote = market.getQuote('EURUSD')!;
              const price = Number((step.side === 'buy' ? quote.ask - 0.01 : quote.bid + 0.01).toFixed(5));
              market.traderTrade(master.id, { symbol: 'EURUSD', side: step.side, volume: step.lots / 100, type: 'limit', price });
            } else if (step.kind === 'close') {
              const positions = market.getPositions(master.id);
              const position = positions[step.pick % Math.max(positions.length, 1)];
              if (!position) continue;
              market.traderClose(master.id, position.id);
            } else {
              const orders = market.getPendingOrders(master.id);
              const order = orders[step.pick % Math.max(orders.length, 1)];
              if (!order) continue;
              market.cancelOrder(master.id, order.id);
            }
          } catch {
            continue;
          }
          await syncAccount(lossy, masterAccount, mappings);
          await system.drain();
        }

        const book = (accountId: string) => ({
          positions: market
            .getPositions(accountId)
            .map((p) => `${p.symbol} ${p.side} ${p.volume}`)
            .sort(),
          orders: market
            .getPendingOrders(accountId)
            .map((o) => `${o.symbol} ${o.side} ${o.type} ${o.volume} @${o.price}`)
            .sort(),
        });
        await syncAccount(base, masterAccount, mappings, { reconcile: true });
        await system.drain();
        expect(book(slave.id)).toEqual(book(master.id));

        const records = (await fixture.copies()).length;
        await syncAccount(base, masterAccount, mappings, { reconcile: true });
        await system.drain();
        expect(book(slave.id)).toEqual(book(master.id));
        expect((await fixture.copies()).length).toBe(records);
      }),
      { numRuns: 10, seed: Number(process.env.PROPERTY_SEED ?? 20261201), verbose: 1 },
    );
  }, 120_000);
});

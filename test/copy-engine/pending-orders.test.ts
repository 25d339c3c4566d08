import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { copyFixture } from '../support/copy-fixture';
import { startTestSystem } from '../support/local-api';

describe('pending orders', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
  });
  afterAll(async () => system?.stop());

  const step = async () => {
    await system.syncNow(false);
    await system.drain();
  };

  it('copies a limit order, its change and its fill, then mirrors the close of the position it became', async () => {
    const fixture = await copyFixture(system, { sizing: { mode: 'multiplier', multiplier: 2 } });
    const { market, master, slave } = fixture;
    await step();
    const quote = market.getQuote('EURUSD')!;
    const price = Number((quote.ask - 0.005).toFixed(5));
    const { orderId } = market.traderTrade(master.id, { symbol: 'EURUSD', side: 'buy', volume: 0.1, type: 'limit', price });
    await step();
    expect(market.getPendingOrders(slave.id)).toMatchObject([{ symbol: 'EURUSD', side: 'buy', type: 'limit', volume: 0.2, price }]);

    const lower = Number((price - 0.001).toFixed(5));
    market.modifyOrder(master.id, orderId!, { price: lower, stopLoss: Number((lower - 0.01).toFixed(5)) });
    await step();
    expect(market.getPendingOrders(slave.id)[0]).toMatchObject({ price: lower, stopLoss: Number((lower - 0.01).toFixed(5)) });

    // The market falls through the limit: both orders fill at their brokers.
    market.defineSymbol({ symbol: 'EURUSD', bid: lower - 0.0005, ask: lower - 0.0004 });
    expect(market.getPendingOrders(master.id)).toHaveLength(0);
    await step();
    const copied = market.getPositions(slave.id);
    expect(copied).toMatchObject([{ symbol: 'EURUSD', side: 'buy', volume: 0.2 }]);
    const records = await fixture.copies();
    expect(records.map((record) => `${record.action}:${record.status}`)).toContain('open:placed');

    market.traderClose(master.id, market.getPositions(master.id)[0]!.id);
    await step();
    expect(market.getPositions(slave.id)).toHaveLength(0);
  });

  it('cancels the slave copy when the master cancels its order', async () => {
    const fixture = await copyFixture(system);
    const { market, master, slave } = fixture;
    await step();
    const quote = market.getQuote('GBPUSD')!;
    const { orderId } = market.traderTrade(master.id, {
      symbol: 'GBPUSD',
      side: 'sell',
      volume: 0.1,
      type: 'limit',
      price: Number((quote.bid + 0.01).toFixed(5)),
    });
    await step();
    expect(market.getPendingOrders(slave.id)).toHaveLength(1);
    market.cancelOrder(master.id, orderId!);
    await step();
    expect(market.getPendingOrders(slave.id)).toHaveLength(0);
    expect((await fixture.copies()).map((record) => `${record.action}:${record.status}`).sort()).toEqual(['cancelOrder:placed', 'placeOrder:placed']);
  });

  it('does not copy pending orders when the mapping says so, and records why', async () => {
    const fixture = await copyFixture(system, { sizing: { mode: 'multiplier', multiplier: 1 }, copyPendingOrders: false });
    const { market, master, slave } = fixture;
    await step();
    const quote = market.getQuote('EURUSD')!;
    market.traderTrade(master.id, { symbol: 'EURUSD', side: 'buy', volume: 0.1, type: 'limit', price: Number((quote.ask - 0.01).toFixed(5)) });
    await step();
    expect(market.getPendingOrders(slave.id)).toHaveLength(0);
    expect(await fixture.copies()).toMatchObject([{ action: 'placeOrder', status: 'skipped', reason: 'PENDING_ORDERS_NOT_COPIED' }]);
  });
});

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedMarket, memorySimulatorStateStore } from '../../../local/simulated-broker/simulated-market';
import { fileSimulatorStateStore } from '../../../local/simulated-broker/simulator-state-file';

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'simulator-state-'));
});
afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

const farFuture = '2100-01-01T00:00:00.000Z';
const now = () => new Date('2024-05-01T10:00:00.000Z');

describe('fileSimulatorStateStore', () => {
  it('loads nothing from a missing file and creates the file with its folder on save', () => {
    const path = join(folder, 'nested', 'deeper', 'simulator.json');
    const store = fileSimulatorStateStore(path);
    expect(store.load()).toBeUndefined();
    const market = SimulatedMarket.open(store, { now });
    market.openAccount('acc-1');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ version: 1, accounts: [{ id: 'acc-1' }] });
    expect(readdirSync(join(folder, 'nested', 'deeper'))).toEqual(['simulator.json']);
  });

  it('fails loudly on a corrupt file instead of starting over', () => {
    const path = join(folder, 'simulator.json');
    writeFileSync(path, '{"version":1,');
    expect(() => new SimulatedMarket({ store: fileSimulatorStateStore(path) })).toThrow(/not valid JSON/);
  });
});

describe('SimulatedMarket persistence', () => {
  it('restores accounts, positions, orders, deals, prices and faults after a restart, and continues ticket numbering', () => {
    const path = join(folder, 'simulator.json');
    const before = SimulatedMarket.open(fileSimulatorStateStore(path), { now });
    before.openAccount('acc-1', { balance: 5_000, leverage: 50 });
    const kept = before.placeOrder('acc-1', {
      clientId: 'c-kept',
      symbol: 'EURUSD',
      side: 'buy',
      type: 'market',
      volume: 0.3,
      stopLoss: 1.07,
    });
    const closed = before.placeOrder('acc-1', { clientId: 'c-closed', symbol: 'USDJPY', side: 'sell', type: 'market', volume: 0.1 });
    const pending = before.placeOrder('acc-1', {
      clientId: 'c-pending',
      symbol: 'XAUUSD',
      side: 'buy',
      type: 'limit',
      volume: 0.01,
      price: 2300,
    });
    before.defineSymbol({ symbol: 'USDJPY', bid: 151.2, ask: 151.215 });
    before.closePosition('acc-1', closed.positionId ?? '', { clientId: 'c-close' });
    before.defineSymbol({ symbol: 'EURUSD', bid: 1.0901, ask: 1.0902 });
    before.defineSymbol({ symbol: 'AUDUSD', bid: 0.66, ask: 0.6601, volumeStep: 0.1, volumeMin: 0.1 });
    before.setFaults('acc-1', { rejectNext: 3, code: 'OFF_QUOTES', latencyMs: 15 });

    const after = SimulatedMarket.open(fileSimulatorStateStore(path), { now });
    expect(after.getAccountSnapshot('acc-1')).toEqual(before.getAccountSnapshot('acc-1'));
    expect(after.getAccountSnapshot('acc-1')).toMatchObject({ leverage: 50, positions: [{ id: kept.positionId }] });
    expect(after.getPendingOrders('acc-1').map((o) => o.id)).toEqual([pending.orderId]);
    expect(after.getDeals('acc-1', '2000-01-01T00:00:00Z', farFuture)).toEqual(before.getDeals('acc-1', '2000-01-01T00:00:00Z', farFuture));
    expect(after.getDeals('acc-1', '2000-01-01T00:00:00Z', farFuture)).toHaveLength(3);
    expect(after.getQuote('EURUSD')).toMatchObject({ bid: 1.0901, ask: 1.0902 });
    expect(after.getSymbolSpec('AUDUSD')).toEqual(before.getSymbolSpec('AUDUSD'));
    expect(after.getFaults('acc-1')).toEqual({ rejectNext: 3, code: 'OFF_QUOTES', timeoutAfterExecuteNext: 0, partialFillNext: 0, latencyMs: 15 });
    expect(after.findByClientId('acc-1', 'c-close').deals).toHaveLength(1);

    const highest = Math.max(
      ...after.getDeals('acc-1', '2000-01-01T00:00:00Z', farFuture).flatMap((d) => [Number(d.id), Number(d.orderId)]),
      Number(pending.orderId),
    );
    const next = after.placeOrder('acc-1', { clientId: 'c-new', symbol: 'EURUSD', side: 'sell', type: 'market', volume: 0.1 });
    expect(Number(next.positionId)).toBeGreaterThan(highest);
  });

  it('saves after every mutation, so the store always holds the current state', () => {
    const store = memorySimulatorStateStore();
    const market = new SimulatedMarket({ store, now });
    market.openAccount('acc-1');
    const { positionId = '' } = market.traderTrade('acc-1', { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    market.traderModify('acc-1', positionId, { takeProfit: 1.2 });
    market.setFaults('acc-1', { timeoutAfterExecuteNext: 1 });
    market.takeTradeFault('acc-1');
    expect(store.load()).toEqual(market.exportState());
    const saves = store.saves;
    market.getAccountSnapshot('acc-1');
    market.findByClientId('acc-1', 'x');
    expect(store.saves).toBe(saves);
  });

  it('does not save a rejected request', () => {
    const store = memorySimulatorStateStore();
    const market = new SimulatedMarket({ store, now });
    market.openAccount('acc-1');
    const saves = store.saves;
    expect(() => market.traderTrade('acc-1', { symbol: 'EURUSD', side: 'buy', volume: 1000 })).toThrow();
    expect(store.saves).toBe(saves);
  });

  it('leaves no temporary file behind', () => {
    const path = join(folder, 'simulator.json');
    const market = SimulatedMarket.open(fileSimulatorStateStore(path), { now });
    for (let i = 0; i < 5; i += 1) market.openAccount(`acc-${i}`);
    expect(readdirSync(folder)).toEqual(['simulator.json']);
  });
});

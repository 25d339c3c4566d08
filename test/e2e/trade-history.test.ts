import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

interface Trade {
  id: string;
  positionId: string;
  profit: number;
  commission?: number;
  swap?: number;
  mappingId?: string;
}

/** Issue 13's acceptance: the history and its statistics are read from the database, never waiting on the broker. */
describe('trade history from the database', () => {
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;
  let master: string;
  let slave: string;
  let mappingId: string;
  const closedOnSlave: string[] = [];

  beforeAll(async () => {
    // Syncs only when the test asks: what the routes list is what those syncs stored.
    system = await startTestSystem({ manualSync: true });
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-history'));
    const account = async (name: string) =>
      (await api.post('/v1/accounts', { name, platform: 'simulated', login: name, password: 'pw', server: 'Sim' })).body.id as string;
    master = await account('history-master');
    slave = await account('history-slave');
    mappingId = (await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } })).body
      .id;
    await system.syncNow();
    // The master trades three times; each open and close is copied to the slave.
    for (const [symbol, side] of [
      ['EURUSD', 'buy'],
      ['GBPUSD', 'sell'],
      ['USDJPY', 'buy'],
    ] as const) {
      const { positionId } = (await api.post(`/local/simulator/accounts/${master}/trades`, { symbol, side, volume: 0.2 })).body;
      await system.syncNow();
      const copy = await eventually(async () => {
        const positions = (await api.get(`/local/simulator/accounts/${slave}`)).body.positions as { id: string; symbol: string }[];
        return positions.find((position) => position.symbol === symbol);
      });
      await api.post(`/local/simulator/accounts/${master}/positions/${positionId}/close`, {});
      await system.syncNow();
      await eventually(async () => {
        const positions = (await api.get(`/local/simulator/accounts/${slave}`)).body.positions as { id: string }[];
        return positions.some((position) => position.id === copy.id) ? undefined : true;
      });
      closedOnSlave.push(copy.id);
    }
    // A pass that reads every account at the broker stores the history and an equity point; an
    // account whose balance moved is read again a second after its last read (the local setting).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await system.syncNow(true);
  }, 120_000);
  afterAll(async () => system?.stop());

  it('lists every trade the slave closed, with its mapping, in under 300 ms while the broker answers every call 3 s late', async () => {
    for (const account of [master, slave]) await api.post(`/local/simulator/accounts/${account}/faults`, { latencyMs: 3_000 });
    try {
      const started = performance.now();
      const listed = await api.get(`/v1/accounts/${slave}/trades?limit=100`);
      const elapsed = performance.now() - started;
      expect(listed.status).toBe(200);
      expect(elapsed).toBeLessThan(300);
      const trades = listed.body.items as Trade[];
      expect(trades.map((trade) => trade.positionId).sort()).toEqual([...closedOnSlave].sort());
      for (const trade of trades) expect(trade.mappingId).toBe(mappingId);
      // The master's own trades are its history too, and no copy's mapping is named on them.
      const masterTrades = (await api.get(`/v1/accounts/${master}/trades`)).body.items as Trade[];
      expect(masterTrades).toHaveLength(3);
      expect(masterTrades.every((trade) => trade.mappingId === undefined)).toBe(true);
    } finally {
      for (const account of [master, slave]) await api.post(`/local/simulator/accounts/${account}/faults`, { latencyMs: 0 });
    }
  });

  it('computes stats from the stored trades: profit is the sum of the listed trades, net of commission and swap', async () => {
    const trades = (await api.get(`/v1/accounts/${slave}/trades?limit=100`)).body.items as Trade[];
    const stats = await api.get(`/v1/accounts/${slave}/stats`);
    expect(stats.status).toBe(200);
    const cents = (value: number) => Math.round(value * 100);
    expect(cents(stats.body.profit)).toBe(trades.reduce((sum, trade) => sum + cents(trade.profit + (trade.commission ?? 0) + (trade.swap ?? 0)), 0));
    expect(stats.body).toMatchObject({ trades: 3, wins: expect.any(Number), losses: expect.any(Number) });
    expect(stats.body.wins + stats.body.losses).toBeLessThanOrEqual(3);
    expect(stats.body.bySymbol.map((entry: { symbol: string }) => entry.symbol).sort()).toEqual(['EURUSD', 'GBPUSD', 'USDJPY']);
    expect(typeof stats.body.from).toBe('string');
  });

  it('returns equity points of a running account for a chart, and refuses an interval it does not keep', async () => {
    const equity = await api.get(`/v1/accounts/${slave}/equity?interval=hour`);
    expect(equity.status).toBe(200);
    expect(equity.body.items.length).toBeGreaterThanOrEqual(1);
    expect(equity.body.items[0]).toEqual({ at: expect.any(String), balance: expect.any(Number), equity: expect.any(Number) });
    expect((await api.get(`/v1/accounts/${slave}/equity?interval=day`)).body.items.length).toBeGreaterThanOrEqual(1);
    const bad = await api.get(`/v1/accounts/${slave}/equity?interval=week`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('interval');
  });

  it("answers 404 for another tenant's account", async () => {
    const other = apiClient(system.url, await tokenFor(system.url, 'tenant-history-other'));
    for (const path of ['trades', 'stats', 'equity']) expect((await other.get(`/v1/accounts/${slave}/${path}`)).status).toBe(404);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

interface SimulatorAccount {
  balance: number;
  positions: { id: string; symbol: string; side: string; volume: number }[];
}

describe('the local runtime, driven over HTTP like a user would', () => {
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;
  let master: string;
  let slave: string;
  let mappingId: string;

  beforeAll(async () => {
    system = await startTestSystem();
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-e2e'));
    const account = async (name: string) =>
      (await api.post('/v1/accounts', { name, platform: 'simulated', login: name, password: `${name}-secret`, server: 'Sim' })).body.id as string;
    master = await account('master');
    slave = await account('slave');
    const mapping = await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 2 } });
    expect(mapping.status).toBe(201);
    mappingId = mapping.body.id;
    await system.syncNow(); // the first sync records the master's (empty) baseline
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('answers health without a token and refuses /v1 without one', async () => {
    expect((await apiClient(system.url).get('/health')).body).toEqual({ status: 'ok' });
    const anonymous = await apiClient(system.url).get('/v1/accounts');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
  });

  it('copies a master buy to the slave at twice the volume, then mirrors the close', async () => {
    const trade = await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    expect(trade.status).toBe(201);
    const copied = await eventually(async () => {
      const { body } = await api.get<SimulatorAccount>(`/local/simulator/accounts/${slave}`);
      return body.positions.length > 0 ? body.positions : undefined;
    });
    expect(copied).toHaveLength(1);
    expect(copied[0]).toMatchObject({ symbol: 'EURUSD', side: 'buy', volume: 0.2 });

    const close = await api.post(`/local/simulator/accounts/${master}/positions/${trade.body.positionId}/close`, {});
    expect(close.status).toBe(200);
    await eventually(async () => {
      const { body } = await api.get<SimulatorAccount>(`/local/simulator/accounts/${slave}`);
      return body.positions.length === 0 ? true : undefined;
    });

    const copies = await eventually(async () => {
      const { body } = await api.get(`/v1/copy-mappings/${mappingId}/copies`);
      return body.items.length >= 2 ? body.items : undefined;
    });
    expect(copies.map((copy: { action: string; status: string }) => `${copy.action}:${copy.status}`)).toEqual(['close:placed', 'open:placed']);
    const open = copies.find((copy: { action: string }) => copy.action === 'open');
    expect(open).toMatchObject({ symbol: 'EURUSD', masterVolume: 0.1, slaveVolume: 0.2, masterPositionId: trade.body.positionId });
    // Detection to the broker's answer, as the record's own times say, and within the seconds the test waited.
    expect(open.latencyMs).toBe(Date.parse(open.completedAt) - Date.parse(open.detectedAt));
    expect(open.latencyMs).toBeGreaterThan(0);
    expect(open.latencyMs).toBeLessThan(10_000);
  });

  it('lists the slave position as synced through the API', async () => {
    const trade = await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'GBPUSD', side: 'sell', volume: 0.05 });
    await eventually(async () => ((await api.get<SimulatorAccount>(`/local/simulator/accounts/${slave}`)).body.positions.length === 1 ? true : undefined));
    await system.syncNow(true);
    const positions = await api.get(`/v1/accounts/${slave}/positions`);
    expect(positions.body.items).toHaveLength(1);
    expect(positions.body.items[0]).toMatchObject({ symbol: 'GBPUSD', side: 'sell', volume: 0.1 });
    await api.post(`/local/simulator/accounts/${master}/positions/${trade.body.positionId}/close`, {});
  });
});

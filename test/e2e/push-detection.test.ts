import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

interface BrokerTruth {
  positions: { id: string; symbol: string; volume: number; stopLoss?: number }[];
}

/**
 * The simulated broker pushes its changes to the local runtime: a master's trade is copied as
 * it happens, not at the next poll. Here the timer polls masters once a minute, so a copy
 * within a second can only come from the push.
 */
describe('push detection of the simulated broker', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startTestSystem({ masterPollIntervalMs: 60_000, slaveSyncIntervalMs: 3_600_000 });
  });
  afterAll(async () => system?.stop());

  it('copies an open, a stop change, a partial close and a close as they happen, with no poll in between', async () => {
    const api = apiClient(system.url, await tokenFor(system.url, 'push'));
    const account = async (login: string) =>
      (await api.post('/v1/accounts', { name: login, platform: 'simulated', login, password: 'x', server: 'Sim' })).body.id as string;
    const master = await account('master');
    const slave = await account('slave');
    const mapping = await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 2 } });
    expect(mapping.status).toBe(201);
    const copies = async () => (await api.get<BrokerTruth>(`/local/simulator/accounts/${slave}`)).body.positions;

    const opened = Date.now();
    const trade = await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'EURUSD', side: 'buy', volume: 0.3 });
    await eventually(async () => ((await copies()).length === 1 ? true : undefined), 1000, 10);
    expect(Date.now() - opened).toBeLessThan(1000);
    expect(await copies()).toMatchObject([{ symbol: 'EURUSD', volume: 0.6 }]);

    const quote = (await api.get(`/local/simulator/accounts/${master}`)).body.positions[0].openPrice as number;
    const stopLoss = Number((quote - 0.005).toFixed(5));
    await api.patch(`/local/simulator/accounts/${master}/positions/${trade.body.positionId}`, { stopLoss });
    await eventually(async () => ((await copies())[0]?.stopLoss === stopLoss ? true : undefined), 1000, 10);

    await api.post(`/local/simulator/accounts/${master}/positions/${trade.body.positionId}/close`, { volume: 0.1 });
    await eventually(async () => ((await copies())[0]?.volume === 0.4 ? true : undefined), 1000, 10);

    await api.post(`/local/simulator/accounts/${master}/positions/${trade.body.positionId}/close`, {});
    await eventually(async () => ((await copies()).length === 0 ? true : undefined), 1000, 10);

    const records = (await api.get(`/v1/copy-mappings/${mapping.body.id}/copies`)).body.items as { action: string; status: string }[];
    expect(records.map((record) => `${record.action} ${record.status}`).sort()).toEqual([
      'close placed',
      'modify placed',
      'open placed',
      'partialClose placed',
    ]);
  });
});

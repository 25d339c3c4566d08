import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { createSimulatedAccount, type ApiClient } from '../support/api-capture';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

interface SimulatorAccount {
  positions: { id: string; symbol: string; side: string; volume: number; stopLoss?: number }[];
  orders: { id: string; price: number }[];
}

describe('a trade placed on a master through the API', () => {
  let system: LocalSystem;
  let api: ApiClient;
  let master: string;
  let slave: string;
  let mappingId: string;

  const slaveAtBroker = async () => (await api.get<SimulatorAccount>(`/local/simulator/accounts/${slave}`)).body;

  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-api-copy'));
    master = await createSimulatedAccount(api, 'api-master');
    slave = await createSimulatedAccount(api, 'api-slave');
    mappingId = (await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 3 } })).body
      .id;
    expect((await api.post(`/v1/accounts/${master}/sync`)).status).toBe(202); // the master's baseline
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('is copied to the slave like a trade made in the terminal, found by the sync route', async () => {
    const placed = await api.post(`/v1/accounts/${master}/orders`, { symbol: 'EURUSD', side: 'sell', volume: 0.1, stopLoss: 1.5 });
    expect(placed.status).toBe(201);
    expect((await api.post(`/v1/accounts/${master}/sync`)).status).toBe(202);
    const copied = await eventually(async () => {
      const { positions } = await slaveAtBroker();
      return positions.length > 0 ? positions : undefined;
    });
    expect(copied).toEqual([expect.objectContaining({ symbol: 'EURUSD', side: 'sell', volume: 0.3, stopLoss: 1.5 })]);

    const copies = await eventually(async () => {
      const { body } = await api.get(`/v1/copy-mappings/${mappingId}/copies`);
      return body.items.length > 0 ? body.items : undefined;
    });
    expect(copies[0]).toMatchObject({ action: 'open', status: 'placed', masterPositionId: placed.body.positionId, masterVolume: 0.1, slaveVolume: 0.3 });

    const log = (await api.get('/v1/audit-log?limit=100')).body.items as { actor: string; action: string }[];
    expect(log.some((entry) => entry.actor === 'user:tenant-api-copy' && entry.action === 'trade.place')).toBe(true);
    expect(log.some((entry) => entry.actor.startsWith('system:'))).toBe(true);
  });

  it('mirrors a modification, a partial close and a close made through the API', async () => {
    const [position] = system.market.getPositions(master);
    expect((await api.patch(`/v1/accounts/${master}/positions/${position!.id}`, { stopLoss: 1.4 })).status).toBe(204);
    await api.post(`/v1/accounts/${master}/sync`);
    await eventually(async () => ((await slaveAtBroker()).positions[0]?.stopLoss === 1.4 ? true : undefined));

    expect((await api.post(`/v1/accounts/${master}/positions/${position!.id}/close`, { volume: 0.05 })).status).toBe(200);
    await api.post(`/v1/accounts/${master}/sync`);
    await eventually(async () => ((await slaveAtBroker()).positions[0]?.volume === 0.15 ? true : undefined));

    expect((await api.post(`/v1/accounts/${master}/positions/${position!.id}/close`, {})).status).toBe(200);
    await api.post(`/v1/accounts/${master}/sync`);
    await eventually(async () => ((await slaveAtBroker()).positions.length === 0 ? true : undefined));
  });

  it('copies a pending order placed through the API and its cancellation', async () => {
    const placed = await api.post(`/v1/accounts/${master}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.1, type: 'limit', price: 0.95 });
    expect(placed.status).toBe(201);
    await api.post(`/v1/accounts/${master}/sync`);
    await eventually(async () => ((await slaveAtBroker()).orders.length === 1 ? true : undefined));
    expect((await api.delete(`/v1/accounts/${master}/orders/${placed.body.orderId}`)).status).toBe(204);
    await api.post(`/v1/accounts/${master}/sync`);
    await eventually(async () => ((await slaveAtBroker()).orders.length === 0 ? true : undefined));
  });
});

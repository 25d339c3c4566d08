import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { fakeCloudOptions } from '../support/fake-metaapi/cloud-options';
import { FakeMetaApi } from '../support/fake-metaapi/fake-metaapi';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

const SERVER = 'FakeBroker-Live';

/**
 * The whole copy path with MetaApi accounts: the local system (the Lambda handlers, DynamoDB
 * Local, fauxqs, the local KMS) with the MetaApi gateway for mt4/mt5, and the real SDK talking
 * to the fake MetaApi. The master trades in its own terminal at the fake broker; the slave's
 * order must arrive at the fake MetaApi with the engine's client id.
 */
describe('copying between MetaApi accounts', () => {
  let fake: FakeMetaApi;
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;
  let master: string;
  let slave: string;
  let mappingId: string;

  beforeAll(async () => {
    fake = await FakeMetaApi.start();
    fake.addBrokerAccount({ server: SERVER, login: '7001', password: 'master-secret' });
    fake.addBrokerAccount({ server: SERVER, login: '7002', password: 'slave-secret' });
    const { token, ...metaApiOptions } = fakeCloudOptions(fake);
    system = await startTestSystem({ manualSync: true, metaApiToken: token, metaApiOptions });
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-metaapi'));
    const created = await api.post('/v1/accounts', { name: 'MT5 master', platform: 'mt5', login: '7001', password: 'master-secret', server: SERVER });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ platform: 'mt5', status: 'connected' });
    master = created.body.id;
    const createdSlave = await api.post('/v1/accounts', { name: 'MT4 slave', platform: 'mt4', login: '7002', password: 'slave-secret', server: SERVER });
    expect(createdSlave.body).toMatchObject({ platform: 'mt4', status: 'connected' });
    slave = createdSlave.body.id;
    const mapping = await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 2 } });
    expect(mapping.status).toBe(201);
    mappingId = mapping.body.id;
    await system.syncNow(true); // the master's (empty) baseline
  });

  afterAll(async () => {
    await system?.stop();
    await fake?.stop();
  });

  it('provisioned both accounts at MetaApi under the system account ids, each with its platform', () => {
    const masterAtMetaApi = fake.accountByLogin('7001')!;
    const slaveAtMetaApi = fake.accountByLogin('7002')!;
    expect(masterAtMetaApi).toMatchObject({ name: `mt-copier ${master}`, platform: 'mt5', server: SERVER, state: 'DEPLOYED' });
    expect(slaveAtMetaApi).toMatchObject({ name: `mt-copier ${slave}`, platform: 'mt4', state: 'DEPLOYED' });
  });

  it("sends the slave's order to MetaApi with the engine's client id when the master opens a position, then closes it", async () => {
    const masterAtBroker = FakeMetaApi.brokerAccountId(SERVER, '7001');
    const slaveAtMetaApi = fake.accountByLogin('7002')!._id;
    const opened = fake.market.traderTrade(masterAtBroker, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    await system.syncNow();

    const openRequest = await eventually(async () => fake.tradeRequests(slaveAtMetaApi).find((trade) => trade.actionType === 'ORDER_TYPE_BUY'), 10_000);
    // The order carries the client id of the copy record that placed it (the one a lookup after a crash searches for).
    const openClientId = openRequest.clientId;
    expect(openClientId).toMatch(/^mc[0-9a-f]{20}$/);
    expect(await system.runtime.copies.findByClientId('tenant-metaapi', String(openClientId))).toMatchObject({
      action: 'open',
      mappingId,
      masterPositionId: opened.positionId,
    });
    expect(openRequest).toMatchObject({ actionType: 'ORDER_TYPE_BUY', symbol: 'EURUSD', volume: 0.2, clientId: openClientId });
    expect(openRequest.comment).toBeUndefined();
    const slavePosition = fake.market.getPositions(FakeMetaApi.brokerAccountId(SERVER, '7002')).find((position) => position.clientId === openClientId);
    expect(slavePosition).toMatchObject({ symbol: 'EURUSD', side: 'buy', volume: 0.2 });

    fake.market.traderClose(masterAtBroker, opened.positionId!);
    await system.syncNow();
    // The close event's revision is the master book's business; its id is on the copy record.
    const closeRecord = await eventually(async () => {
      const { items } = await system.runtime.copies.listByMapping('tenant-metaapi', mappingId, { limit: 10 });
      return items.find((record) => record.action === 'close');
    }, 10_000);
    expect(closeRecord.eventId).toMatch(new RegExp(`^positionClosed:${opened.positionId}(:\\d+)?$`));
    const closeRequest = await eventually(async () => fake.tradeRequests(slaveAtMetaApi).find((trade) => trade.actionType === 'POSITION_CLOSE_ID'), 10_000);
    expect(closeRequest.clientId).not.toBe(openClientId);
    expect(await system.runtime.copies.findByClientId('tenant-metaapi', String(closeRequest.clientId))).toMatchObject({ id: closeRecord.id, action: 'close' });
    expect(closeRequest).toMatchObject({ actionType: 'POSITION_CLOSE_ID', positionId: slavePosition!.id });
    await system.drain();
    expect(fake.market.getPositions(FakeMetaApi.brokerAccountId(SERVER, '7002'))).toEqual([]);

    const copies = await eventually(async () => {
      const { body } = await api.get(`/v1/copy-mappings/${mappingId}/copies`);
      return body.items.length >= 2 ? body.items : undefined;
    });
    expect(copies.map((copy: { action: string; status: string }) => `${copy.action}:${copy.status}`).sort()).toEqual(['close:placed', 'open:placed']);
  });

  it("keeps one slow account from holding up the others' sync, and shows it disconnected with the reason", async () => {
    const slaveAtMetaApi = fake.accountByLogin('7002')!._id;
    fake.accountLatencyMs.set(slaveAtMetaApi, 10_000);
    try {
      const started = Date.now();
      await system.syncNow(true);
      // Bounded by the read budget (1.5 s in these tests), not by the slave's 10 s (loose
      // bound: the suite shares two cores with everything else).
      expect(Date.now() - started).toBeLessThan(8_000);
      const [masterNow, slaveNow] = await Promise.all([api.get(`/v1/accounts/${master}`), api.get(`/v1/accounts/${slave}`)]);
      expect(masterNow.body.status).toBe('connected');
      expect(slaveNow.body.status).toBe('disconnected');
      expect(slaveNow.body.statusDetail).toMatch(/^The broker did not answer in time \(TIMEOUT: MetaApi \w+ did not answer within 1500 ms/);
    } finally {
      fake.accountLatencyMs.delete(slaveAtMetaApi);
    }
    const back = await eventually(
      async () => {
        await system.syncNow(true);
        const { body } = await api.get(`/v1/accounts/${slave}`);
        return body.status === 'connected' ? body : undefined;
      },
      15_000,
      100,
    );
    expect(back.statusDetail).toBeUndefined();
  });

  it('marks the accounts disconnected while MetaApi is unreachable, and connected again on a later sync', async () => {
    fake.setReachable(false);
    try {
      await system.syncNow(true);
      const masterNow = await api.get(`/v1/accounts/${master}`);
      expect(masterNow.body.status).toBe('disconnected');
      // In words, with the code; no host or URL of MetaApi's.
      expect(masterNow.body.statusDetail).toMatch(/^The broker (cannot be reached right now \(CONNECTION|did not answer in time \(TIMEOUT): /);
      expect(masterNow.body.statusDetail).not.toMatch(/agiliumtrade|metaapi\.cloud|:\/\/|\d+\.\d+\.\d+\.\d+/);
      // The history answers from the table meanwhile.
      expect((await api.get(`/v1/accounts/${master}/trades`)).status).toBe(200);
      // A request that must reach the broker: 503, and when to come back.
      const order = await api.post(`/v1/accounts/${master}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.01 });
      expect(order.status).toBe(503);
      expect(Number(order.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(order.text).not.toMatch(/agiliumtrade|metaapi\.cloud|:\/\//);
    } finally {
      fake.setReachable(true);
    }
    const back = await eventually(
      async () => {
        await system.syncNow(true);
        const { body } = await api.get(`/v1/accounts/${master}`);
        return body.status === 'connected' ? body : undefined;
      },
      20_000,
      200,
    );
    expect(back).toMatchObject({ status: 'connected', currency: 'USD' });
  });

  it('shows a wrong password as an error with the broker reason, and connects once the password is corrected', async () => {
    fake.addBrokerAccount({ server: SERVER, login: '7003', password: 'right-secret' });
    const created = await api.post('/v1/accounts', { name: 'Typo', platform: 'mt5', login: '7003', password: 'wrong-secret', server: SERVER });
    expect(created.body.status).toBe('error');
    expect(created.body.statusDetail).toContain('E_AUTH');
    expect(JSON.stringify(created.body)).not.toContain('wrong-secret');
    const fixed = await api.patch(`/v1/accounts/${created.body.id}`, { password: 'right-secret' });
    expect(fixed.body.status).toBe('connected');
    await system.syncNow(true);
    const account = await api.get(`/v1/accounts/${created.body.id}`);
    expect(account.body).toMatchObject({ status: 'connected', balance: 10_000, currency: 'USD' });

    const deleted = await api.delete(`/v1/accounts/${created.body.id}`);
    expect(deleted.status).toBe(204);
    expect(fake.accountByLogin('7003')).toBeUndefined();
  });
});

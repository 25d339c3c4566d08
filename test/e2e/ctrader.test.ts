import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { fakeCloudOptions } from '../support/fake-metaapi/cloud-options';
import { FakeMetaApi } from '../support/fake-metaapi/fake-metaapi';
import { FakeCtrader } from '../support/fake-ctrader/fake-ctrader';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

const SERVER = 'FakeBroker-Live';
const TENANT = 'tenant-ctrader';

type Copy = { action: string; status: string; reason?: string; slaveVolume?: number; masterPositionId?: string };

/**
 * cTrader accounts end to end: added through the API and authorized through OAuth at the fake
 * cTrader (its consent page, its token endpoint, the callback on this API), then copied from an
 * MT5 master (the real MetaApi SDK against the fake MetaApi) and into an MT5 slave, through the
 * cTrader adapter against the fake cTrader server, whose every message is held to Spotware's
 * published definitions. Tokens expire and are refreshed; a revoked grant stops the account.
 */
describe('cTrader accounts, authorized through OAuth, copied to and from MetaTrader', () => {
  let metaApi: FakeMetaApi;
  let ctrader: FakeCtrader;
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;
  let mt5Master: string;
  let mt5Slave: string;
  let ctraderSlave: string;
  let ctraderMaster: string;
  let slaveCtid: number;
  let slaveMarket: string;
  let masterMarket: string;
  let toCtrader: string;

  const sync = () => system.syncNow(true).then(() => system.drain());
  const mt5MasterAtBroker = () => FakeMetaApi.brokerAccountId(SERVER, '7201');
  const mt5SlaveAtBroker = () => FakeMetaApi.brokerAccountId(SERVER, '7202');
  const copies = async (mappingId: string): Promise<Copy[]> => (await api.get(`/v1/copies?mappingId=${mappingId}&limit=50`)).body.items;

  /** Adds a cTrader account and goes through the consent page and the callback, as a trader's browser would. */
  const authorize = async (name: string, ctid: number): Promise<string> => {
    const created = await api.post('/v1/accounts', { name, platform: 'ctrader', login: String(ctid), server: 'demo' });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ platform: 'ctrader', status: 'connecting' });
    const redirect = new URL(ctrader.consent(created.body.authorizationUrl, [ctid]));
    // The trader's browser comes back with no token of ours.
    const callback = await apiClient(system.url).get(`${redirect.pathname}${redirect.search}`);
    expect(callback.status, callback.text).toBe(200);
    expect(callback.body).toEqual({ accountId: created.body.id, status: 'connected' });
    return created.body.id;
  };

  beforeAll(async () => {
    metaApi = await FakeMetaApi.start();
    metaApi.addBrokerAccount({ server: SERVER, login: '7201', password: 'mt5-master' });
    metaApi.addBrokerAccount({ server: SERVER, login: '7202', password: 'mt5-slave' });
    ctrader = await FakeCtrader.start();
    const slave = ctrader.addAccount({ hedging: true, balance: 100_000 });
    const master = ctrader.addAccount({ hedging: true, balance: 100_000 });
    slaveCtid = slave.ctidTraderAccountId;
    slaveMarket = slave.marketAccountId;
    masterMarket = master.marketAccountId;
    const { token, ...metaApiOptions } = fakeCloudOptions(metaApi);
    system = await startTestSystem({
      manualSync: true,
      metaApiToken: token,
      metaApiOptions,
      ctrader: {
        app: { clientId: ctrader.clientId, clientSecret: ctrader.clientSecret },
        hosts: { live: ctrader.wsUrl, demo: ctrader.wsUrl },
        authUrl: ctrader.url,
        tokenUrl: `${ctrader.url}/apps/token`,
      },
    });
    api = apiClient(system.url, await tokenFor(system.url, TENANT));
    mt5Master = (await api.post('/v1/accounts', { name: 'MT5 master', platform: 'mt5', login: '7201', password: 'mt5-master', server: SERVER })).body.id;
    mt5Slave = (await api.post('/v1/accounts', { name: 'MT5 slave', platform: 'mt5', login: '7202', password: 'mt5-slave', server: SERVER })).body.id;
    ctraderSlave = await authorize('cTrader slave', slaveCtid);
    ctraderMaster = await authorize('cTrader master', master.ctidTraderAccountId);
    toCtrader = (
      await api.post('/v1/copy-mappings', {
        masterAccountId: mt5Master,
        slaveAccountId: ctraderSlave,
        sizing: { mode: 'multiplier', multiplier: 1 },
        copyStopLoss: true,
        copyTakeProfit: true,
      })
    ).body.id;
    await api.post('/v1/copy-mappings', { masterAccountId: ctraderMaster, slaveAccountId: mt5Slave, sizing: { mode: 'multiplier', multiplier: 2 } });
    await sync();
  });

  afterAll(async () => {
    await system?.stop();
    await metaApi?.stop();
    await ctrader?.stop();
  });

  it('lists ctrader among the platforms, and refuses what a cTrader account cannot be given, naming the field', async () => {
    const platforms = (await api.get('/v1/platforms')).body.items;
    expect(platforms).toContainEqual(
      expect.objectContaining({ id: 'ctrader', capabilities: expect.objectContaining({ hedging: true, netting: true, units: 'lots' }) }),
    );
    const withPassword = await api.post('/v1/accounts', { name: 'x', platform: 'ctrader', login: String(slaveCtid), password: 'secret', server: 'demo' });
    expect(withPassword.status).toBe(400);
    expect(withPassword.body.errors.map((error: { path: string }) => error.path)).toEqual(['password']);
    const badServer = await api.post('/v1/accounts', { name: 'x', platform: 'ctrader', login: '123', server: 'cTrader-Live' });
    expect(badServer.body.errors.map((error: { path: string }) => error.path)).toEqual(['server']);
  });

  it('takes a state once: the same callback again is a 400 naming state', async () => {
    const created = await api.post('/v1/accounts', { name: 'again', platform: 'ctrader', login: '99887766', server: 'live' });
    const state = new URL(created.body.authorizationUrl).searchParams.get('state');
    const browser = apiClient(system.url);
    const unknown = await browser.get(`/v1/oauth/ctrader/callback?code=nope&state=${state}x`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors.map((error: { path: string }) => error.path)).toEqual(['state']);
    // A code cTrader does not know: 400 naming code, and the state is spent.
    const refused = await browser.get(`/v1/oauth/ctrader/callback?code=not-a-code&state=${state}`);
    expect(refused.status).toBe(400);
    expect(refused.body.errors.map((error: { path: string }) => error.path)).toEqual(['code']);
    const spent = await browser.get(`/v1/oauth/ctrader/callback?code=not-a-code&state=${state}`);
    expect(spent.body.errors.map((error: { path: string }) => error.path)).toEqual(['state']);
    expect(JSON.stringify([created.body, refused.body])).not.toContain(ctrader.clientSecret);
  });

  it('reads each cTrader account once a pass: positions, orders and funds from one reconcile', async () => {
    const reconciles = () => ctrader.received().filter((message) => message.name === 'ProtoOAReconcileReq').length;
    const before = reconciles();
    await system.syncNow(true);
    // The master and the slave: one reconcile each, not one for each of the three reads.
    expect(reconciles() - before).toBe(2);
  });

  it('copies an MT5 master trade into the cTrader slave: the open with its stops, a stop move, a partial close and the close', async () => {
    const opened = metaApi.market.traderTrade(mt5MasterAtBroker(), { symbol: 'EURUSD', side: 'buy', volume: 0.1, stopLoss: 1.05, takeProfit: 1.2 });
    await sync();
    await eventually(async () => (ctrader.market.getPositions(slaveMarket).length === 1 ? true : undefined), 10_000);
    expect(ctrader.market.getPositions(slaveMarket)).toEqual([
      expect.objectContaining({ symbol: 'EURUSD', side: 'buy', volume: 0.1, stopLoss: 1.05, takeProfit: 1.2 }),
    ]);
    metaApi.market.traderModify(mt5MasterAtBroker(), opened.positionId!, { stopLoss: 1.06 });
    await sync();
    await eventually(async () => (ctrader.market.getPositions(slaveMarket)[0]?.stopLoss === 1.06 ? true : undefined), 10_000);
    metaApi.market.closePosition(mt5MasterAtBroker(), opened.positionId!, { volume: 0.04 });
    await sync();
    await eventually(async () => (ctrader.market.getPositions(slaveMarket)[0]?.volume === 0.06 ? true : undefined), 10_000);
    metaApi.market.closePosition(mt5MasterAtBroker(), opened.positionId!, {});
    await sync();
    await eventually(async () => (ctrader.market.getPositions(slaveMarket).length === 0 ? true : undefined), 10_000);
    const records = (await copies(toCtrader)).map((copy) => [copy.action, copy.status, copy.slaveVolume]);
    expect(records).toEqual([
      ['close', 'placed', 0.06],
      ['partialClose', 'placed', 0.04],
      ['modify', 'placed', undefined],
      ['open', 'placed', 0.1],
    ]);
  });

  it('copies a cTrader master trade into the MT5 slave at twice its volume, and its close', async () => {
    const opened = ctrader.market.traderTrade(masterMarket, { symbol: 'GBPUSD', side: 'sell', volume: 0.05 });
    await sync();
    await eventually(async () => (metaApi.market.getPositions(mt5SlaveAtBroker()).length === 1 ? true : undefined), 10_000);
    expect(metaApi.market.getPositions(mt5SlaveAtBroker())).toEqual([expect.objectContaining({ symbol: 'GBPUSD', side: 'sell', volume: 0.1 })]);
    ctrader.market.traderClose(masterMarket, opened.positionId!);
    await sync();
    await eventually(async () => (metaApi.market.getPositions(mt5SlaveAtBroker()).length === 0 ? true : undefined), 10_000);
  });

  it('refreshes an expired access token and copies on, with no failed copy', async () => {
    const before = ctrader.tokensOf(slaveCtid);
    for (const token of before.accessTokens) ctrader.expireAccessToken(token);
    metaApi.market.traderTrade(mt5MasterAtBroker(), { symbol: 'EURUSD', side: 'sell', volume: 0.02 });
    await sync();
    await eventually(async () => (ctrader.market.getPositions(slaveMarket).length === 1 ? true : undefined), 10_000);
    const after = ctrader.tokensOf(slaveCtid);
    expect(after.accessTokens).toHaveLength(1);
    expect(before.accessTokens).not.toContain(after.accessTokens[0]);
    expect((await copies(toCtrader)).filter((copy) => copy.status === 'failed')).toEqual([]);
  });

  it('marks the account error once the trader revoked the grant, and fails its copies BROKER_AUTH_FAILED, never in a loop', async () => {
    for (const token of ctrader.tokensOf(slaveCtid).refreshTokens) ctrader.revokeGrant(token);
    metaApi.market.traderTrade(mt5MasterAtBroker(), { symbol: 'EURUSD', side: 'buy', volume: 0.03 });
    await sync();
    const failed = await eventually(async () =>
      (await copies(toCtrader)).find(
        (copy) => copy.action === 'open' && copy.status !== 'pending' && copy.slaveVolume === undefined && copy.status === 'failed',
      ),
    );
    expect(failed).toMatchObject({ status: 'failed', reason: 'BROKER_AUTH_FAILED' });
    await sync();
    await eventually(async () => ((await api.get(`/v1/accounts/${ctraderSlave}`)).body.status === 'error' ? true : undefined), 10_000);
    expect((await api.get(`/v1/accounts/${ctraderSlave}`)).body.statusDetail).toMatch(/authoriz/i);
  });

  it('authorizes the account again with a new consent, and copies on', async () => {
    const again = await api.post(`/v1/accounts/${ctraderSlave}/authorization`, {});
    expect(again.status, again.text).toBe(200);
    const redirect = new URL(ctrader.consent(again.body.authorizationUrl, [slaveCtid]));
    expect((await apiClient(system.url).get(`${redirect.pathname}${redirect.search}`)).body).toEqual({ accountId: ctraderSlave, status: 'connected' });
    const before = ctrader.market.getPositions(slaveMarket).length;
    metaApi.market.traderTrade(mt5MasterAtBroker(), { symbol: 'GBPUSD', side: 'buy', volume: 0.04 });
    await sync();
    await eventually(async () => (ctrader.market.getPositions(slaveMarket).length === before + 1 ? true : undefined), 10_000);
    expect(ctrader.market.getPositions(slaveMarket)).toContainEqual(expect.objectContaining({ symbol: 'GBPUSD', volume: 0.04 }));
  });
});

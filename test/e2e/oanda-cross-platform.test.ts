import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { fakeCloudOptions } from '../support/fake-metaapi/cloud-options';
import { FakeMetaApi } from '../support/fake-metaapi/fake-metaapi';
import { FakeOanda } from '../support/fake-oanda/fake-oanda';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

const SERVER = 'FakeBroker-Live';
const TENANT = 'tenant-cross-platform';

/**
 * Copying across platforms, end to end: the local system with the MetaApi gateway (the real SDK
 * against the fake MetaApi) and the OANDA gateway (plain fetch against the fake OANDA, whose
 * every answer is held to OANDA's published v20 document). An MT5 master's lots become an OANDA
 * slave's units through the symbols' contract sizes (`notional` sizing), `EURUSD` becomes
 * `EUR_USD`, and the way back.
 */
describe('copying between MetaTrader (MetaApi) and OANDA', () => {
  let metaApi: FakeMetaApi;
  let oanda: FakeOanda;
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;
  let mt5: string;
  let oandaAccount: string;
  let oandaV20Id: string;

  const oandaTrades = () => oanda.market.getPositions(oanda.marketAccountId(oandaV20Id));
  const mt5AtBroker = () => FakeMetaApi.brokerAccountId(SERVER, '7101');
  const sync = () => system.syncNow(true).then(() => system.drain());

  beforeAll(async () => {
    metaApi = await FakeMetaApi.start();
    metaApi.addBrokerAccount({ server: SERVER, login: '7101', password: 'mt5-secret' });
    oanda = await FakeOanda.start();
    oandaV20Id = oanda.addAccount({ token: 'oanda-token-slave', hedging: true, balance: 100_000 });
    const { token, ...metaApiOptions } = fakeCloudOptions(metaApi);
    system = await startTestSystem({
      manualSync: true,
      metaApiToken: token,
      metaApiOptions,
      oandaHosts: { practice: { rest: oanda.url, stream: oanda.url }, live: { rest: oanda.url, stream: oanda.url } },
    });
    api = apiClient(system.url, await tokenFor(system.url, TENANT));
    const master = await api.post('/v1/accounts', { name: 'MT5', platform: 'mt5', login: '7101', password: 'mt5-secret', server: SERVER });
    expect(master.body).toMatchObject({ platform: 'mt5', status: 'connected' });
    mt5 = master.body.id;
    const slave = await api.post('/v1/accounts', { name: 'OANDA', platform: 'oanda', login: oandaV20Id, password: 'oanda-token-slave', server: 'practice' });
    expect(slave.status, slave.text).toBe(201);
    expect(slave.body).toMatchObject({ platform: 'oanda', status: 'connected' });
    oandaAccount = slave.body.id;
  });

  afterAll(async () => {
    await system?.stop();
    await metaApi?.stop();
    await oanda?.stop();
  });

  it('refuses an OANDA account whose token does not open it, saying so without the token', async () => {
    const refused = await api.post('/v1/accounts', { name: 'bad', platform: 'oanda', login: oandaV20Id, password: 'not-the-token', server: 'live' });
    expect(refused.status).toBeLessThan(500);
    expect(refused.text).not.toContain('not-the-token');
    if (refused.status === 201) expect(refused.body).toMatchObject({ status: 'error' });
  });

  it('refuses a sizing that would trade 0.1 units for 0.1 lots, naming notional', async () => {
    const refused = await api.post('/v1/copy-mappings', { masterAccountId: mt5, slaveAccountId: oandaAccount, sizing: { mode: 'multiplier', multiplier: 1 } });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'SIZING_ACROSS_UNITS' });
    expect(refused.body.detail).toContain('notional');
  });

  it('copies an MT5 buy of 0.10 EURUSD as 10,000 EUR_USD units with its stops; a partial close of 0.04 leaves 6,000; the close flattens it', async () => {
    const mapping = await api.post('/v1/copy-mappings', { masterAccountId: mt5, slaveAccountId: oandaAccount, sizing: { mode: 'notional', multiplier: 1 } });
    expect(mapping.status, mapping.text).toBe(201);
    await sync(); // the master's (empty) baseline

    const quote = metaApi.market.getQuote('EURUSD')!;
    const stopLoss = Number((quote.bid - 0.005).toFixed(5));
    const takeProfit = Number((quote.ask + 0.005).toFixed(5));
    const opened = metaApi.market.traderTrade(mt5AtBroker(), { symbol: 'EURUSD', side: 'buy', volume: 0.1, stopLoss, takeProfit });
    await sync();
    const trade = await eventually(async () => oandaTrades()[0], 10_000);
    expect(trade).toMatchObject({ symbol: 'EUR_USD', side: 'buy', volume: 10_000, stopLoss, takeProfit });
    const open = (await api.get(`/v1/copies?mappingId=${mapping.body.id}&limit=10`)).body.items.find((copy: { action: string }) => copy.action === 'open');
    expect(open).toMatchObject({ status: 'placed', masterVolume: 0.1, slaveVolume: 10_000, slaveSymbol: 'EUR_USD', masterPositionId: opened.positionId });

    // The master moves its stop: the OANDA trade's stop loss order follows, the take profit stays.
    const movedStop = Number((stopLoss + 0.002).toFixed(5));
    metaApi.market.traderModify(mt5AtBroker(), opened.positionId!, { stopLoss: movedStop });
    await sync();
    await eventually(async () => (oandaTrades()[0]?.stopLoss === movedStop ? true : undefined), 10_000);
    expect(oandaTrades()[0]).toMatchObject({ takeProfit });

    metaApi.market.traderClose(mt5AtBroker(), opened.positionId!, 0.04);
    await sync();
    await eventually(async () => (oandaTrades()[0]?.volume === 6_000 ? true : undefined), 10_000);

    metaApi.market.traderClose(mt5AtBroker(), opened.positionId!);
    await sync();
    await eventually(async () => (oandaTrades().length === 0 ? true : undefined), 10_000);
    const actions = (await api.get(`/v1/copies?mappingId=${mapping.body.id}&limit=10`)).body.items.map(
      (copy: { action: string; status: string; slaveVolume?: number }) => [copy.action, copy.status, copy.slaveVolume],
    );
    expect(actions).toEqual([
      ['close', 'placed', 6_000],
      ['partialClose', 'placed', 4_000],
      ['modify', 'placed', undefined],
      ['open', 'placed', 10_000],
    ]);
    await api.delete(`/v1/copy-mappings/${mapping.body.id}`);
  });

  it('copies the other way: 25,000 EUR_USD units on OANDA become 0.25 EURUSD lots on MT5, and the close follows', async () => {
    const mapping = await api.post('/v1/copy-mappings', { masterAccountId: oandaAccount, slaveAccountId: mt5, sizing: { mode: 'notional' } });
    expect(mapping.status, mapping.text).toBe(201);
    await sync();
    const opened = oanda.market.traderTrade(oanda.marketAccountId(oandaV20Id), { symbol: 'EUR_USD', side: 'sell', volume: 25_000 });
    await sync();
    const copy = await eventually(async () => metaApi.market.getPositions(mt5AtBroker())[0], 10_000);
    expect(copy).toMatchObject({ symbol: 'EURUSD', side: 'sell', volume: 0.25 });
    oanda.market.traderClose(oanda.marketAccountId(oandaV20Id), opened.positionId!);
    await sync();
    await eventually(async () => (metaApi.market.getPositions(mt5AtBroker()).length === 0 ? true : undefined), 10_000);
  });
});

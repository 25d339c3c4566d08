import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { createSimulatedAccount } from '../support/api-capture';
import { fakeCloudOptions } from '../support/fake-metaapi/cloud-options';
import { FakeMetaApi } from '../support/fake-metaapi/fake-metaapi';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

type Copy = { action: string; status: string; reason?: string; slaveVolume?: number; masterPositionId?: string };

/**
 * Netting accounts (MT5 netting, one position per symbol) through the local runtime: a master
 * position that grows is an add-on, copied as one order the slave's netting broker adds to the
 * copy (a hedging slave keeps it as a second trade of the copy); one that shrinks is a partial
 * close; one that reverses is a close and an open.
 */
describe('a netting master', () => {
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;
  let master: string;
  let nettingSlave: string;
  let hedgingSlave: string;
  let toNetting: string;
  let toHedging: string;

  const sync = async () => {
    await system.syncNow(true);
    await system.drain();
  };
  const copies = async (mappingId: string): Promise<Copy[]> => (await api.get(`/v1/copies?mappingId=${mappingId}&limit=50`)).body.items;
  const slavePositions = (account: string) => system.market.getPositions(account);

  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-netting'));
    master = await createSimulatedAccount(api, 'netting-master');
    nettingSlave = await createSimulatedAccount(api, 'netting-slave');
    hedgingSlave = await createSimulatedAccount(api, 'hedging-slave');
    system.market.setNetting(master, true);
    system.market.setNetting(nettingSlave, true);
    toNetting = (await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: nettingSlave, sizing: { mode: 'multiplier', multiplier: 2 } }))
      .body.id;
    toHedging = (await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: hedgingSlave, sizing: { mode: 'multiplier', multiplier: 1 } }))
      .body.id;
    await sync();
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('copies 0.10 then an add-on of 0.05 as 0.30 on a netting slave at x2, one position', async () => {
    const opened = system.market.traderTrade(master, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    await sync();
    system.market.traderTrade(master, { symbol: 'EURUSD', side: 'buy', volume: 0.05 });
    expect(system.market.getPositions(master)).toEqual([expect.objectContaining({ id: opened.positionId, volume: 0.15 })]);
    await sync();
    await eventually(async () => (slavePositions(nettingSlave)[0]?.volume === 0.3 ? true : undefined), 10_000);
    expect(slavePositions(nettingSlave)).toHaveLength(1);
    const records = await copies(toNetting);
    expect(records.map((copy) => [copy.action, copy.status, copy.slaveVolume])).toEqual([
      ['addOn', 'placed', 0.1],
      ['open', 'placed', 0.2],
    ]);
  });

  it('copies the add-on to a hedging slave as a trade of its own that the copy holds as a second leg', async () => {
    const records = await copies(toHedging);
    expect(records.map((copy) => [copy.action, copy.status, copy.slaveVolume])).toEqual([
      ['addOn', 'placed', 0.05],
      ['open', 'placed', 0.1],
    ]);
    expect(slavePositions(hedgingSlave).map((position) => [position.symbol, position.volume])).toEqual([
      ['EURUSD', 0.1],
      ['EURUSD', 0.05],
    ]);
  });

  it('copies a shrink as a partial close, and a reversal under the same id as a close and an open', async () => {
    system.market.traderTrade(master, { symbol: 'EURUSD', side: 'sell', volume: 0.05 });
    await sync();
    await eventually(async () => (slavePositions(nettingSlave)[0]?.volume === 0.2 ? true : undefined), 10_000);
    // The hedging copy (0.10 + 0.05) gives up a third, oldest first: its first trade keeps 0.05.
    await eventually(
      async () =>
        slavePositions(hedgingSlave)
          .map((position) => position.volume)
          .join() === '0.05,0.05'
          ? true
          : undefined,
      10_000,
    );

    // 0.10 long, then a sell of 0.25: the long closes, a short of 0.15 opens under a new id.
    system.market.traderTrade(master, { symbol: 'EURUSD', side: 'sell', volume: 0.25 });
    const [short] = system.market.getPositions(master);
    // MT5 netting keeps the position's identifier through a reversal.
    expect(short).toMatchObject({ side: 'sell', volume: 0.15 });
    await sync();
    await eventually(async () => {
      const [copy] = slavePositions(nettingSlave);
      return copy?.side === 'sell' && copy.volume === 0.3 && slavePositions(nettingSlave).length === 1 ? true : undefined;
    }, 10_000);
    // Both legs of the hedging copy closed; the reversal opened one short there.
    await eventually(async () => {
      const positions = slavePositions(hedgingSlave);
      return positions.length === 1 && positions[0]?.side === 'sell' && positions[0].volume === 0.15 ? true : undefined;
    }, 10_000);
    expect(
      (await copies(toHedging))
        .slice(0, 3)
        .map((copy) => [copy.action, copy.status, copy.slaveVolume])
        .sort(),
    ).toEqual([
      ['close', 'placed', 0.1],
      ['open', 'placed', 0.15],
      ['partialClose', 'placed', 0.05],
    ]);
    // The close and the open were detected in one pass (the list orders them by detection, then as it may).
    const records = (await copies(toNetting)).slice(0, 3);
    expect(records.map((copy) => [copy.action, copy.status, copy.slaveVolume]).sort()).toEqual([
      ['close', 'placed', 0.2],
      ['open', 'placed', 0.3],
      ['partialClose', 'placed', 0.1],
    ]);
    expect(records.find((copy) => copy.action === 'open')!.masterPositionId).toBe(short!.id);
  });
  it('never adds to a copy that is gone (closed on the slave by hand): the add-on is recorded ALREADY_CLOSED and nothing opens', async () => {
    const opened = system.market.traderTrade(master, { symbol: 'USDJPY', side: 'buy', volume: 0.1 });
    await sync();
    await eventually(async () => (slavePositions(nettingSlave).some((position) => position.symbol === 'USDJPY') ? true : undefined), 10_000);
    const copy = slavePositions(nettingSlave).find((position) => position.symbol === 'USDJPY')!;
    system.market.traderClose(nettingSlave, copy.id);
    system.market.traderTrade(master, { symbol: 'USDJPY', side: 'buy', volume: 0.1 });
    await sync();
    const addOn = await eventually(async () =>
      (await copies(toNetting)).find((record) => record.action === 'addOn' && record.masterPositionId === opened.positionId && record.status !== 'pending'),
    );
    expect(addOn).toMatchObject({ status: 'skipped', reason: 'ALREADY_CLOSED' });
    expect(slavePositions(nettingSlave).some((position) => position.symbol === 'USDJPY')).toBe(false);
  });
});

/** The same through MetaApi: MT5 netting accounts (their margin mode says so) with the real SDK against the fake MetaApi. */
describe('an MT5 netting master through MetaApi', () => {
  const SERVER = 'FakeBroker-Netting';
  let fake: FakeMetaApi;
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    fake = await FakeMetaApi.start();
    fake.addBrokerAccount({ server: SERVER, login: '8101', password: 'master-secret', netting: true });
    fake.addBrokerAccount({ server: SERVER, login: '8102', password: 'slave-secret', netting: true });
    const { token, ...metaApiOptions } = fakeCloudOptions(fake);
    system = await startTestSystem({ manualSync: true, metaApiToken: token, metaApiOptions });
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-mt5-netting'));
  });

  afterAll(async () => {
    await system?.stop();
    await fake?.stop();
  });

  it('puts 0.10 then +0.05 on the master as 0.15 on the slave, one position', async () => {
    const master = (await api.post('/v1/accounts', { name: 'M', platform: 'mt5', login: '8101', password: 'master-secret', server: SERVER })).body.id;
    const slave = (await api.post('/v1/accounts', { name: 'S', platform: 'mt5', login: '8102', password: 'slave-secret', server: SERVER })).body.id;
    const mapping = await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } });
    expect(mapping.status).toBe(201);
    const sync = async () => {
      await system.syncNow(true);
      await system.drain();
    };
    await sync();
    const masterAtBroker = FakeMetaApi.brokerAccountId(SERVER, '8101');
    const slaveAtBroker = FakeMetaApi.brokerAccountId(SERVER, '8102');
    fake.market.traderTrade(masterAtBroker, { symbol: 'GBPUSD', side: 'sell', volume: 0.1 });
    await sync();
    await eventually(async () => (fake.market.getPositions(slaveAtBroker)[0]?.volume === 0.1 ? true : undefined), 10_000);
    fake.market.traderTrade(masterAtBroker, { symbol: 'GBPUSD', side: 'sell', volume: 0.05 });
    await sync();
    await eventually(async () => (fake.market.getPositions(slaveAtBroker)[0]?.volume === 0.15 ? true : undefined), 10_000);
    expect(fake.market.getPositions(slaveAtBroker)).toEqual([expect.objectContaining({ side: 'sell', volume: 0.15 })]);
    const actions = (await api.get(`/v1/copies?mappingId=${mapping.body.id}`)).body.items.map((copy: Copy) => [copy.action, copy.status, copy.slaveVolume]);
    expect(actions).toEqual([
      ['addOn', 'placed', 0.05],
      ['open', 'placed', 0.1],
    ]);
  });
});

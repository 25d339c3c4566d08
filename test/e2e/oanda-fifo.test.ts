import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { FakeOanda } from '../support/fake-oanda/fake-oanda';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

type Copy = { action: string; status: string; reason?: string; masterPositionId?: string; slaveVolume?: number };

/**
 * A US-style OANDA slave: no hedging, trades of an instrument close oldest first (FIFO), and
 * OANDA refuses a close out of that order. The master closes its newer position first; the
 * engine closes the slave's oldest trades instead (other copies', of any volume) and the copies
 * exchange trades, so each master position still holds its volume on the slave.
 */
describe('a FIFO slave', () => {
  let oanda: FakeOanda;
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;
  let masterMarket: string;
  let slaveMarket: string;
  let mappingId: string;
  let skewMs = 0;

  const sync = async () => {
    await system.syncNow(true);
    await system.drain();
  };
  const slaveTrades = () => oanda.market.getPositions(slaveMarket);
  const copies = async (): Promise<Copy[]> => (await api.get(`/v1/copies?mappingId=${mappingId}&limit=50`)).body.items;

  beforeAll(async () => {
    oanda = await FakeOanda.start();
    const hosts = { practice: { rest: oanda.url, stream: oanda.url }, live: { rest: oanda.url, stream: oanda.url } };
    // The runtime's clock runs ahead by `skewMs`: a refused close's retry is a minute away.
    system = await startTestSystem({ manualSync: true, oandaHosts: hosts, now: () => new Date(Date.now() + skewMs) });
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-fifo'));
    const masterId = oanda.addAccount({ token: 'master-token', hedging: true });
    const slaveId = oanda.addAccount({ token: 'slave-token', hedging: false, fifo: true, balance: 100_000 });
    masterMarket = oanda.marketAccountId(masterId);
    slaveMarket = oanda.marketAccountId(slaveId);
    const master = await api.post('/v1/accounts', { name: 'master', platform: 'oanda', login: masterId, password: 'master-token', server: 'practice' });
    const slave = await api.post('/v1/accounts', { name: 'US slave', platform: 'oanda', login: slaveId, password: 'slave-token', server: 'live' });
    expect([master.body.status, slave.body.status]).toEqual(['connected', 'connected']);
    mappingId = (
      await api.post('/v1/copy-mappings', { masterAccountId: master.body.id, slaveAccountId: slave.body.id, sizing: { mode: 'multiplier', multiplier: 1 } })
    ).body.id;
    await sync();
  });

  afterAll(async () => {
    await system?.stop();
    await oanda?.stop();
  });

  it('closes the oldest trade when the master closes its newer position first, and the last close flattens the slave', async () => {
    const older = oanda.market.traderTrade(masterMarket, { symbol: 'EUR_USD', side: 'buy', volume: 1_000, stopLoss: 1.07 });
    await sync();
    const newer = oanda.market.traderTrade(masterMarket, { symbol: 'EUR_USD', side: 'buy', volume: 1_000, stopLoss: 1.06 });
    await sync();
    await eventually(async () => (slaveTrades().length === 2 ? true : undefined), 10_000);
    const [oldestTrade, newerTrade] = slaveTrades();
    expect([oldestTrade!.stopLoss, newerTrade!.stopLoss]).toEqual([1.07, 1.06]);

    // The master closes its newer position: OANDA would refuse closing the newer trade.
    oanda.market.closePosition(masterMarket, newer.positionId!, {});
    await sync();
    await eventually(async () => (slaveTrades().length === 1 ? true : undefined), 10_000);
    // The oldest trade went; the one left is the older master position's copy now, with its stop.
    expect(slaveTrades()).toEqual([expect.objectContaining({ id: newerTrade!.id, volume: 1_000, stopLoss: 1.07 })]);
    const closeOfNewer = (await copies()).find((copy) => copy.action === 'close' && copy.masterPositionId === newer.positionId);
    expect(closeOfNewer).toMatchObject({ status: 'placed' });

    oanda.market.closePosition(masterMarket, older.positionId!, {});
    await sync();
    await eventually(async () => (slaveTrades().length === 0 ? true : undefined), 10_000);
    const closes = (await copies()).filter((copy) => copy.action === 'close');
    expect(closes.map((copy) => copy.status)).toEqual(['placed', 'placed']);
  });

  it('closes in FIFO order across copies of other volumes: the closing copy takes the oldest trades, the others keep their volume and stops', async () => {
    const small = oanda.market.traderTrade(masterMarket, { symbol: 'EUR_USD', side: 'buy', volume: 1_000, stopLoss: 1.07 });
    await sync();
    const large = oanda.market.traderTrade(masterMarket, { symbol: 'EUR_USD', side: 'buy', volume: 2_000, stopLoss: 1.06 });
    await sync();
    await eventually(async () => (slaveTrades().length === 2 ? true : undefined), 10_000);
    const [smallTrade, largeTrade] = slaveTrades();
    expect([smallTrade!.volume, largeTrade!.volume]).toEqual([1_000, 2_000]);

    // A quarter of the larger one closes: its copy takes 500 off the oldest trade, not its own.
    oanda.market.closePosition(masterMarket, large.positionId!, { volume: 500 });
    await sync();
    await eventually(async () => (slaveTrades()[0]?.volume === 500 ? true : undefined), 10_000);
    expect(slaveTrades().map((trade) => [trade.id, trade.volume])).toEqual([
      [smallTrade!.id, 500],
      [largeTrade!.id, 2_000],
    ]);

    // Then the rest of it: 1,500 more, oldest first. What is left is the smaller copy's 1,000, with its stop.
    oanda.market.closePosition(masterMarket, large.positionId!, {});
    await sync();
    await eventually(async () => (slaveTrades().length === 1 && slaveTrades()[0]?.volume === 1_000 ? true : undefined), 10_000);
    expect(slaveTrades()).toEqual([expect.objectContaining({ id: largeTrade!.id, volume: 1_000, stopLoss: 1.07 })]);
    const ofLarge = (await copies()).filter((copy) => copy.masterPositionId === large.positionId && copy.action !== 'open');
    expect(ofLarge.map((copy) => [copy.action, copy.status, copy.slaveVolume])).toEqual([
      ['close', 'placed', 1_500],
      ['partialClose', 'placed', 500],
    ]);

    // Its stop moves on the master: the trade it now holds alone follows.
    oanda.market.modifyPosition(masterMarket, small.positionId!, { stopLoss: 1.075 });
    await sync();
    await eventually(async () => (slaveTrades()[0]?.stopLoss === 1.075 ? true : undefined), 10_000);

    oanda.market.closePosition(masterMarket, small.positionId!, {});
    await sync();
    await eventually(async () => (slaveTrades().length === 0 ? true : undefined), 10_000);
    expect((await copies()).find((copy) => copy.masterPositionId === small.positionId && copy.action === 'close')).toMatchObject({
      status: 'placed',
      slaveVolume: 1_000,
    });
  });

  it("refuses, recorded FIFO_VIOLATION, a close that would take copies' trades on both sides of a trade of the trader's own, and closes nothing", async () => {
    const first = oanda.market.traderTrade(masterMarket, { symbol: 'USD_JPY', side: 'buy', volume: 1_000 });
    await sync();
    await eventually(async () => (slaveTrades().some((trade) => trade.symbol === 'USD_JPY') ? true : undefined), 10_000);
    oanda.market.traderTrade(slaveMarket, { symbol: 'USD_JPY', side: 'buy', volume: 500 });
    const second = oanda.market.traderTrade(masterMarket, { symbol: 'USD_JPY', side: 'buy', volume: 2_000 });
    await sync();
    const volumes = () =>
      slaveTrades()
        .filter((trade) => trade.symbol === 'USD_JPY')
        .map((trade) => trade.volume);
    await eventually(async () => (volumes().length === 3 ? true : undefined), 10_000);
    // The second copy's 2,000 would take the first copy's 1,000, then 1,000 behind the trader's 500.
    oanda.market.closePosition(masterMarket, second.positionId!, {});
    await sync();
    const failed = await eventually(async () =>
      (await copies()).find((copy) => copy.action === 'close' && copy.masterPositionId === second.positionId && copy.status !== 'pending'),
    );
    expect(failed).toMatchObject({ status: 'failed', reason: 'BROKER_FIFO_VIOLATION' });
    expect(volumes()).toEqual([1_000, 500, 2_000]);
    // The first copy closes as usual (its trade is the oldest).
    oanda.market.closePosition(masterMarket, first.positionId!, {});
    await sync();
    await eventually(async () => (volumes().join() === '500,2000' ? true : undefined), 10_000);
  });

  it("refuses, recorded FIFO_VIOLATION, to close behind an older trade of the trader's own, closes nothing, and closes once that trade is gone", async () => {
    const own = oanda.market.traderTrade(slaveMarket, { symbol: 'GBP_USD', side: 'sell', volume: 3_000 });
    const first = oanda.market.traderTrade(masterMarket, { symbol: 'GBP_USD', side: 'sell', volume: 1_000 });
    await sync();
    const gbp = () => slaveTrades().filter((trade) => trade.symbol === 'GBP_USD');
    await eventually(async () => (gbp().length === 2 ? true : undefined), 10_000);
    oanda.market.closePosition(masterMarket, first.positionId!, {});
    await sync();
    const failed = await eventually(async () =>
      (await copies()).find((copy) => copy.action === 'close' && copy.masterPositionId === first.positionId && copy.status !== 'pending'),
    );
    expect(failed).toMatchObject({ status: 'failed', reason: 'BROKER_FIFO_VIOLATION' });
    expect(gbp().map((trade) => trade.volume)).toEqual([3_000, 1_000]);
    // The master is flat and the slave is not: the close is tried again, a minute later, and
    // goes through once the trader's own trade is closed.
    oanda.market.closePosition(slaveMarket, own.positionId!, {});
    await sync();
    expect(gbp().map((trade) => trade.volume)).toEqual([1_000]);
    skewMs += 60_000;
    await sync();
    await eventually(async () => (gbp().length === 0 ? true : undefined), 10_000);
    const closes = (await copies()).filter((copy) => copy.action === 'close' && copy.masterPositionId === first.positionId);
    expect(closes.map((copy) => copy.status).sort()).toEqual(['failed', 'placed']);
  });
});

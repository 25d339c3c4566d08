import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, type LocalSystem } from '../../local/local-system';
import { silentLog } from '../../shared/ports/log';
import { createRuntime } from '../../shared/runtime/runtime';
import { FakeOanda } from '../support/fake-oanda/fake-oanda';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';
import { watchByPush } from '../support/watch-by-push';

const TENANT = 'tenant-oanda-stream';

/**
 * An OANDA master as the sync Lambda watches it: `watchShard` holding the master's transactions
 * stream at the fake OANDA, each pushed transaction read into the diff; the local system's
 * DynamoDB Local, SQS emulator and copy workers copy to an OANDA slave.
 */
describe('an OANDA master watched by its transactions stream', () => {
  let oanda: FakeOanda;
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    oanda = await FakeOanda.start({ transactionHeartbeatMs: 500 });
    const hosts = { practice: { rest: oanda.url, stream: oanda.url }, live: { rest: oanda.url, stream: oanda.url } };
    system = await startTestSystem({ manualSync: true, oandaHosts: hosts });
    api = apiClient(system.url, await tokenFor(system.url, TENANT));
  });

  afterAll(async () => {
    await system?.stop();
    await oanda?.stop();
  });

  it('copies an open, a partial close and a close as the stream tells of them, with no poll of the master', async () => {
    const masterId = oanda.addAccount({ token: 'master-token' });
    const slaveId = oanda.addAccount({ token: 'slave-token' });
    const master = await api.post('/v1/accounts', { name: 'master', platform: 'oanda', login: masterId, password: 'master-token', server: 'practice' });
    const slave = await api.post('/v1/accounts', { name: 'slave', platform: 'oanda', login: slaveId, password: 'slave-token', server: 'practice' });
    expect([master.body.status, slave.body.status]).toEqual(['connected', 'connected']);
    const mapping = await api.post('/v1/copy-mappings', {
      masterAccountId: master.body.id,
      slaveAccountId: slave.body.id,
      sizing: { mode: 'multiplier', multiplier: 2 },
    });
    expect(mapping.status, mapping.text).toBe(201);

    const runtime = createRuntime(system.runtime.config, {
      log: silentLog,
      credentials: LOCAL_CREDENTIALS,
      gateways: {},
      oandaHosts: { practice: { rest: oanda.url, stream: oanda.url }, live: { rest: oanda.url, stream: oanda.url } },
    });
    const stop = watchByPush(runtime, 'oanda-watch');
    try {
      const masterMarket = oanda.marketAccountId(masterId);
      const slaveTrades = () => oanda.market.getPositions(oanda.marketAccountId(slaveId));
      // The first pass reads the master (its baseline); let its stream synchronize.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const opened = oanda.market.traderTrade(masterMarket, { symbol: 'EUR_USD', side: 'buy', volume: 3_000 });
      await eventually(async () => (slaveTrades()[0]?.volume === 6_000 ? true : undefined), 10_000);
      expect(slaveTrades()).toEqual([expect.objectContaining({ symbol: 'EUR_USD', side: 'buy', volume: 6_000 })]);

      oanda.market.closePosition(masterMarket, opened.positionId!, { volume: 1_000 });
      await eventually(async () => (slaveTrades()[0]?.volume === 4_000 ? true : undefined), 10_000);

      oanda.market.closePosition(masterMarket, opened.positionId!, {});
      await eventually(async () => (slaveTrades().length === 0 ? true : undefined), 10_000);
      const actions = (await api.get(`/v1/copies?mappingId=${mapping.body.id}`)).body.items.map((copy: { action: string; status: string }) => [
        copy.action,
        copy.status,
      ]);
      expect(actions).toEqual([
        ['close', 'placed'],
        ['partialClose', 'placed'],
        ['open', 'placed'],
      ]);
    } finally {
      await stop();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, type LocalSystem } from '../../local/local-system';
import { silentLog } from '../../shared/ports/log';
import { createRuntime } from '../../shared/runtime/runtime';
import { FakeCtrader } from '../support/fake-ctrader/fake-ctrader';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';
import { watchByPush } from '../support/watch-by-push';

const TENANT = 'tenant-ctrader-stream';

/**
 * A cTrader master as the sync Lambda watches it: `watchShard` holding the account on the Open
 * API's socket, each pushed execution event read into the diff; the local system's DynamoDB
 * Local, SQS emulator and copy workers copy to a cTrader slave. Polls are a minute apart: what
 * is copied within the test came by the push.
 */
describe('a cTrader master watched by its execution events', () => {
  let ctrader: FakeCtrader;
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;
  const options = () => ({
    app: { clientId: ctrader.clientId, clientSecret: ctrader.clientSecret },
    hosts: { live: ctrader.wsUrl, demo: ctrader.wsUrl },
    authUrl: ctrader.url,
    tokenUrl: `${ctrader.url}/apps/token`,
  });

  beforeAll(async () => {
    ctrader = await FakeCtrader.start();
    system = await startTestSystem({ manualSync: true, ctrader: options() });
    api = apiClient(system.url, await tokenFor(system.url, TENANT));
  });

  afterAll(async () => {
    await system?.stop();
    await ctrader?.stop();
  });

  const authorize = async (name: string, ctid: number): Promise<string> => {
    const created = await api.post('/v1/accounts', { name, platform: 'ctrader', login: String(ctid), server: 'demo' });
    const redirect = new URL(ctrader.consent(created.body.authorizationUrl, [ctid]));
    expect((await apiClient(system.url).get(`${redirect.pathname}${redirect.search}`)).body).toMatchObject({ status: 'connected' });
    return created.body.id;
  };

  it('copies an open, a partial close and a close as the events tell of them, with no poll of the master', async () => {
    const masterAccount = ctrader.addAccount();
    const slaveAccount = ctrader.addAccount();
    const master = await authorize('master', masterAccount.ctidTraderAccountId);
    const slave = await authorize('slave', slaveAccount.ctidTraderAccountId);
    const mapping = await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 2 } });
    expect(mapping.status, mapping.text).toBe(201);

    const { app, hosts, authUrl, tokenUrl } = options();
    const runtime = createRuntime(system.runtime.config, {
      log: silentLog,
      credentials: LOCAL_CREDENTIALS,
      gateways: {},
      ctrader: { hosts, app: async () => app, oauth: { authUrl, tokenUrl, redirectUri: () => `${system.url}/v1/oauth/ctrader/callback` } },
    });
    const stop = watchByPush(runtime, 'ctrader-watch');
    try {
      const slaveTrades = () => ctrader.market.getPositions(slaveAccount.marketAccountId);
      // The first pass reads the master (its baseline); let its stream synchronize.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const opened = ctrader.market.traderTrade(masterAccount.marketAccountId, { symbol: 'EURUSD', side: 'buy', volume: 0.03 });
      await eventually(async () => (slaveTrades()[0]?.volume === 0.06 ? true : undefined), 10_000);
      ctrader.market.closePosition(masterAccount.marketAccountId, opened.positionId!, { volume: 0.01 });
      await eventually(async () => (slaveTrades()[0]?.volume === 0.04 ? true : undefined), 10_000);
      ctrader.market.closePosition(masterAccount.marketAccountId, opened.positionId!, {});
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

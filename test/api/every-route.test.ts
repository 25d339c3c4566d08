import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes } from '../../functions/api/routes';
import type { LocalSystem } from '../../local/local-system';
import { createSimulatedAccount } from '../support/api-capture';
import { FakeCtrader } from '../support/fake-ctrader/fake-ctrader';
import { apiClient, startTestSystem, tokenFor } from '../support/local-api';
import { openApiAnswers } from '../support/openapi-validator';

/**
 * Drives every route of the API through its success and its errors, as a frontend meets
 * them. The test's API client holds every answer to the OpenAPI document (status, content
 * type, body); at the end, every operation must have been answered both ways.
 */
describe('every route, answered as the OpenAPI document says', () => {
  let system: LocalSystem;
  let ctrader: FakeCtrader;
  let api: ReturnType<typeof apiClient>;
  let anonymous: ReturnType<typeof apiClient>;
  let token: string;
  const ids = { master: '', slave: '', spare: '', mt5: '', mapping: '', position: '', order: '' };

  beforeAll(async () => {
    ctrader = await FakeCtrader.start();
    system = await startTestSystem({
      manualSync: true,
      ctrader: {
        app: { clientId: ctrader.clientId, clientSecret: ctrader.clientSecret },
        hosts: { live: ctrader.wsUrl, demo: ctrader.wsUrl },
        authUrl: ctrader.url,
        tokenUrl: `${ctrader.url}/apps/token`,
      },
    });
    token = await tokenFor(system.url, 'tenant-every-route');
    api = apiClient(system.url, token);
    anonymous = apiClient(system.url);
    ids.master = await createSimulatedAccount(api, 'route-master');
    ids.slave = await createSimulatedAccount(api, 'route-slave');
    ids.spare = await createSimulatedAccount(api, 'route-spare');
  });

  afterAll(async () => {
    await system?.stop();
    await ctrader?.stop();
  });

  const expectStatus = async (answer: Promise<{ status: number; text: string }>, status: number) => {
    const { status: got, text } = await answer;
    expect(got, text).toBe(status);
  };

  it('answers the public routes', async () => {
    await expectStatus(anonymous.get('/health'), 200);
    await expectStatus(anonymous.get('/openapi.json'), 200);
  });

  it("answers cTrader's OAuth redirect: the account it connects, and a state it does not know", async () => {
    const { ctidTraderAccountId } = ctrader.addAccount();
    const created = await api.post('/v1/accounts', { name: 'cTrader', platform: 'ctrader', login: String(ctidTraderAccountId), server: 'demo' });
    expect(created.status, created.text).toBe(201);
    const redirect = new URL(ctrader.consent(created.body.authorizationUrl, [ctidTraderAccountId]));
    await expectStatus(anonymous.get(`${redirect.pathname}${redirect.search}`), 200);
    await expectStatus(anonymous.get(`${redirect.pathname}${redirect.search}`), 400);
    // Authorized again (a grant revoked): a new consent page; a MetaTrader account has none.
    const again = await api.post(`/v1/accounts/${created.body.id}/authorization`, {});
    expect(again.status, again.text).toBe(200);
    expect(again.body.authorizationUrl).not.toBe(created.body.authorizationUrl);
    await expectStatus(api.post(`/v1/accounts/${ids.master}/authorization`, {}), 422);
    await expectStatus(api.post('/v1/accounts/acc_nope/authorization', {}), 404);
    await expectStatus(api.patch(`/v1/accounts/${created.body.id}`, { password: 'not-for-ctrader' }), 400);
  });

  it('answers the tenant routes, their bad input and a missing token', async () => {
    await expectStatus(api.get('/v1/platforms'), 200);
    await expectStatus(anonymous.get('/v1/platforms'), 401);
    await expectStatus(api.get('/v1/audit-log?limit=5'), 200);
    await expectStatus(api.get('/v1/audit-log?limit=0'), 400);
    await expectStatus(api.post('/v1/trades/demo', { accountId: ids.spare }), 201);
    await expectStatus(api.post('/v1/trades/demo', { accountId: 'acc_nope' }), 404);
    await expectStatus(api.post('/v1/trades/demo', {}), 400);
  });

  it('answers the account routes', async () => {
    await expectStatus(api.post('/v1/accounts', { name: 'mt5', platform: 'mt5', login: '5001', password: 'secret', server: 'Broker-Demo' }), 201);
    const mt5 = (await api.get('/v1/accounts?limit=100')).body.items.find((account: { name: string }) => account.name === 'mt5');
    ids.mt5 = mt5.id;
    await expectStatus(api.post('/v1/accounts', { name: 'again', platform: 'simulated', login: 'route-master', password: 'p', server: 'Sim' }), 409);
    await expectStatus(api.post('/v1/accounts', { name: 'x', platform: 'mt9' }), 400);
    await expectStatus(api.post('/v1/accounts', 'x'.repeat(70_000)), 413);
    await expectStatus(api.get('/v1/accounts?limit=1000'), 400);
    await expectStatus(api.get(`/v1/accounts/${ids.master}`), 200);
    await expectStatus(api.get('/v1/accounts/acc_nope'), 404);
    await expectStatus(api.patch(`/v1/accounts/${ids.spare}`, { name: 'renamed' }), 200);
    await expectStatus(api.patch(`/v1/accounts/${ids.spare}`, { platform: 'mt4' }), 400);
    await expectStatus(api.patch('/v1/accounts/acc_nope', { name: 'n' }), 404);
    await expectStatus(api.post(`/v1/accounts/${ids.master}/sync`), 202);
    await expectStatus(api.post('/v1/accounts/acc_nope/sync'), 404);
    // An mt5 account on a server without MetaApi: the sync says why in the account's status.
    const unreachable = await api.post(`/v1/accounts/${ids.mt5}/sync`);
    expect(unreachable.body).toMatchObject({ status: 'error', statusDetail: expect.stringContaining('NOT_CONFIGURED') });
    await expectStatus(api.get(`/v1/accounts/${ids.master}/positions`), 200);
    await expectStatus(api.get('/v1/accounts/acc_nope/positions'), 404);
    await expectStatus(api.get(`/v1/accounts/${ids.master}/orders`), 200);
    await expectStatus(api.get('/v1/accounts/acc_nope/orders'), 404);
  });

  it('answers the history routes, with dates as days or instants', async () => {
    await expectStatus(api.get(`/v1/accounts/${ids.spare}/trades?from=2026-01-01&to=2026-12-31`), 200);
    await expectStatus(api.get(`/v1/accounts/${ids.spare}/trades?from=yesterday`), 400);
    await expectStatus(api.get('/v1/accounts/acc_nope/trades'), 404);
    await expectStatus(api.get(`/v1/accounts/${ids.spare}/stats?from=2026-01-01T00:00:00Z`), 200);
    await expectStatus(api.get(`/v1/accounts/${ids.spare}/stats?to=2026-13-01`), 400);
    await expectStatus(api.get('/v1/accounts/acc_nope/stats'), 404);
    await expectStatus(api.get(`/v1/accounts/${ids.spare}/equity?interval=day&cachebuster=1`), 200);
    await expectStatus(api.get(`/v1/accounts/${ids.spare}/equity?interval=minute`), 400);
    await expectStatus(api.get('/v1/accounts/acc_nope/equity'), 404);
  });

  it('answers the copy mapping routes', async () => {
    const created = await api.post('/v1/copy-mappings', {
      masterAccountId: ids.master,
      slaveAccountId: ids.slave,
      sizing: { mode: 'multiplier', multiplier: 1 },
    });
    expect(created.status, created.text).toBe(201);
    ids.mapping = created.body.id;
    await system.syncNow(true);
    await expectStatus(
      api.post('/v1/copy-mappings', { masterAccountId: ids.master, slaveAccountId: ids.slave, sizing: { mode: 'multiplier', multiplier: 1 } }),
      409,
    );
    await expectStatus(
      api.post('/v1/copy-mappings', { masterAccountId: ids.master, slaveAccountId: ids.master, sizing: { mode: 'multiplier', multiplier: 1 } }),
      422,
    );
    await expectStatus(
      api.post('/v1/copy-mappings', { masterAccountId: ids.master, slaveAccountId: 'acc_nope', sizing: { mode: 'multiplier', multiplier: 1 } }),
      404,
    );
    await expectStatus(api.post('/v1/copy-mappings', { masterAccountId: ids.master }), 400);
    await expectStatus(api.get('/v1/copy-mappings'), 200);
    await expectStatus(api.get('/v1/copy-mappings?limit=-1'), 400);
    await expectStatus(api.get(`/v1/copy-mappings/${ids.mapping}`), 200);
    await expectStatus(api.get('/v1/copy-mappings/map_nope'), 404);
    await expectStatus(api.patch(`/v1/copy-mappings/${ids.mapping}`, { copyTakeProfit: false }), 200);
    await expectStatus(api.patch(`/v1/copy-mappings/${ids.mapping}`, { reverse: 'yes' }), 400);
    await expectStatus(api.patch('/v1/copy-mappings/map_nope', { reverse: true }), 404);
    await expectStatus(api.get(`/v1/copy-mappings/${ids.mapping}/copies`), 200);
    await expectStatus(api.get('/v1/copy-mappings/map_nope/copies'), 404);
    await expectStatus(api.get(`/v1/copies?mappingId=${ids.mapping}&status=placed`), 200);
    await expectStatus(api.get('/v1/copies?status=unknown'), 400);
    // The account is used by the mapping.
    await expectStatus(api.delete(`/v1/accounts/${ids.slave}`), 409);
  });

  it('answers the protection routes', async () => {
    await expectStatus(api.put(`/v1/accounts/${ids.slave}/protection`, { maxOpenPositions: 5, onBreach: 'stopCopying' }), 200);
    await expectStatus(api.put(`/v1/accounts/${ids.slave}/protection`, { maxOpenPositions: 2.5 }), 400);
    await expectStatus(api.put('/v1/accounts/acc_nope/protection', { maxOpenPositions: 5 }), 404);
    await expectStatus(api.get(`/v1/accounts/${ids.slave}/protection`), 200);
    await expectStatus(api.get('/v1/accounts/acc_nope/protection'), 404);
    await expectStatus(api.post(`/v1/accounts/${ids.slave}/protection/reset`), 200);
    await expectStatus(api.post('/v1/accounts/acc_nope/protection/reset'), 404);
  });

  it('answers the trading routes, their refusals and their idempotency answers', async () => {
    const placed = await api.post(`/v1/accounts/${ids.master}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    expect(placed.status, placed.text).toBe(201);
    ids.position = placed.body.positionId;
    const quote = system.market.getQuote('EURUSD')!;
    const pending = await api.post(`/v1/accounts/${ids.master}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.1, type: 'limit', price: quote.bid - 0.01 });
    expect(pending.status, pending.text).toBe(201);
    ids.order = pending.body.orderId;
    await expectStatus(api.post(`/v1/accounts/${ids.master}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.001 }), 422);
    await expectStatus(api.post(`/v1/accounts/${ids.master}/orders`, { symbol: 'EURUSD', side: 'long', volume: 0.1 }), 400);
    await expectStatus(api.post('/v1/accounts/acc_nope/orders', { symbol: 'EURUSD', side: 'buy', volume: 0.1 }), 404);
    await expectStatus(api.post(`/v1/accounts/${ids.mt5}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 }), 503);
    // The same Idempotency-Key with another body is refused.
    const keyed = (body: unknown) =>
      fetch(`${system.url}/v1/accounts/${ids.spare}/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'every-route-1' },
        body: JSON.stringify(body),
      });
    const first = await keyed({ symbol: 'GBPUSD', side: 'buy', volume: 0.1 });
    expect(openApiAnswers.problems('POST', `/v1/accounts/${ids.spare}/orders`, first.status, first.headers.get('content-type'), await first.json())).toEqual(
      [],
    );
    const reused = await keyed({ symbol: 'GBPUSD', side: 'sell', volume: 0.1 });
    expect(reused.status).toBe(422);
    expect(openApiAnswers.problems('POST', `/v1/accounts/${ids.spare}/orders`, reused.status, reused.headers.get('content-type'), await reused.json())).toEqual(
      [],
    );

    await expectStatus(api.patch(`/v1/accounts/${ids.master}/positions/${ids.position}`, { stopLoss: quote.bid - 0.005 }), 204);
    await expectStatus(api.patch(`/v1/accounts/${ids.master}/positions/${ids.position}`, { stopLoss: quote.ask + 0.05 }), 422);
    await expectStatus(api.patch(`/v1/accounts/${ids.master}/positions/${ids.position}`, { stopLoss: 'none' }), 400);
    await expectStatus(api.patch(`/v1/accounts/${ids.master}/positions/999999`, { stopLoss: quote.bid - 0.005 }), 404);
    await expectStatus(api.post(`/v1/accounts/${ids.master}/positions/${ids.position}/close`, { volume: 0.05 }), 200);
    await expectStatus(api.post(`/v1/accounts/${ids.master}/positions/${ids.position}/close`, { volume: 0 }), 400);
    await expectStatus(api.post(`/v1/accounts/${ids.master}/positions/999999/close`), 404);
    await expectStatus(api.delete(`/v1/accounts/${ids.master}/orders/${ids.order}`), 204);
    await expectStatus(api.delete(`/v1/accounts/${ids.master}/orders/999999`), 404);
  });

  it('answers the deletes: a mapping with open copies is 409 until they close', async () => {
    const trade = await api.post(`/local/simulator/accounts/${ids.master}/trades`, { symbol: 'XAUUSD', side: 'buy', volume: 0.1 });
    await system.syncNow(true);
    await system.drain();
    await expectStatus(api.delete(`/v1/copy-mappings/${ids.mapping}`), 409);
    await expectStatus(api.post('/v1/copy-mappings/map_nope/close-all'), 404);
    const replay = { from: '2026-01-01', to: '2026-02-01', mapping: { sizing: { mode: 'multiplier', multiplier: 1 } }, slaveStartingBalance: 1000 };
    await expectStatus(api.post('/v1/replays', { ...replay, masterAccountId: ids.spare }), 201);
    await expectStatus(api.post('/v1/replays', { ...replay, masterAccountId: 'acc_nope' }), 404);
    await expectStatus(api.post('/v1/replays', { ...replay, masterAccountId: ids.spare, slaveStartingBalance: 0 }), 400);
    await api.post(`/local/simulator/accounts/${ids.master}/positions/${trade.body.positionId}/close`, {});
    await api.post(`/local/simulator/accounts/${ids.master}/positions/${ids.position}/close`, {});
    await system.syncNow(true);
    await system.drain();
    await expectStatus(api.post(`/v1/copy-mappings/${ids.mapping}/close-all`), 202);
    await expectStatus(api.delete(`/v1/copy-mappings/${ids.mapping}`), 204);
    await expectStatus(api.delete('/v1/copy-mappings/map_nope'), 404);
    await expectStatus(api.delete(`/v1/accounts/${ids.spare}`), 204);
    await expectStatus(api.delete('/v1/accounts/acc_nope'), 404);
  });

  it('has answered every operation with a success and, where it can fail, with a problem', () => {
    const answered = new Map<string, Set<number>>();
    for (const { operationId, status } of openApiAnswers.checked) answered.set(operationId, (answered.get(operationId) ?? new Set()).add(status));
    const operations = Object.values(openApiAnswers.document.paths).flatMap((methods) =>
      Object.values(methods as Record<string, { operationId: string; security: unknown[] }>),
    );
    expect(operations).toHaveLength(apiRoutes.length);
    for (const operation of operations) {
      const statuses = [...(answered.get(operation.operationId) ?? [])];
      expect(
        statuses.some((status) => status < 300),
        `${operation.operationId} answered ${statuses.join(', ') || 'nothing'}`,
      ).toBe(true);
      if (operation.security.length > 0) {
        expect(
          statuses.some((status) => status >= 400),
          `${operation.operationId} answered ${statuses.join(', ')}`,
        ).toBe(true);
      }
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../functions/api/http';
import { createRouter } from '../../functions/api/router';
import { apiRoutes } from '../../functions/api/routes';
import { LOCAL_CREDENTIALS, type LocalSystem } from '../../local/local-system';
import { silentLog } from '../../shared/ports/log';
import { createRuntime } from '../../shared/runtime/runtime';
import { createSimulatedAccount, type ApiClient } from '../support/api-capture';
import { apiClient, startTestSystem, tokenFor } from '../support/local-api';

/** 10 s into a minute: the window ends 50 s later. */
const START = Date.parse('2031-05-06T07:08:10.000Z');

describe('per-tenant rate limits', () => {
  let system: LocalSystem;
  let clock = START;
  let alice: ApiClient;
  let account: string;

  beforeAll(async () => {
    system = await startTestSystem({
      manualSync: true,
      now: () => new Date(clock),
      settings: { RATE_LIMIT_PER_MINUTE: '6', TRADE_RATE_LIMIT_PER_MINUTE: '2' },
    });
    alice = apiClient(system.url, await tokenFor(system.url, 'rate-alice'));
    account = await createSimulatedAccount(alice, 'limited'); // provisioning: counted against the trading limit
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('answers 429 with Retry-After past the limit, and serves the next window', async () => {
    for (let request = 1; request <= 6; request += 1) expect((await alice.get('/v1/accounts')).status).toBe(200);
    const refused = await alice.get('/v1/accounts');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('50');
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body).toMatchObject({ status: 429, title: 'Too many requests' });

    clock = START + 30_000;
    const later = await alice.get('/v1/accounts');
    expect(later.status).toBe(429);
    expect(later.headers.get('retry-after')).toBe('20');

    clock = START + 50_000; // the next minute starts
    expect((await alice.get('/v1/accounts')).status).toBe(200);
  });

  it('limits trading routes tighter and on their own', async () => {
    clock = START + 120_000;
    const trade = () => alice.post(`/v1/accounts/${account}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.01 });
    expect((await trade()).status).toBe(201);
    expect((await trade()).status).toBe(201);
    const refused = await trade();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('50');
    const close = await alice.post(`/v1/accounts/${account}/positions/1/close`, {});
    expect(close.status).toBe(429);
    // The rest of the API still answers: its limit is separate.
    expect((await alice.get(`/v1/accounts/${account}`)).status).toBe(200);
  });

  it('counts each tenant on its own', async () => {
    clock = START + 180_000;
    for (let request = 0; request < 6; request += 1) await alice.get('/v1/accounts');
    expect((await alice.get('/v1/accounts')).status).toBe(429);
    const bob = apiClient(system.url, await tokenFor(system.url, 'rate-bob'));
    expect((await bob.get('/v1/accounts')).status).toBe(200);
  });

  it('holds across instances: two routers on the same table share one count', async () => {
    clock = START + 240_000;
    const otherRuntime = createRuntime(system.runtime.config, { gateways: {}, log: silentLog, credentials: LOCAL_CREDENTIALS, now: () => new Date(clock) });
    const instance = createRouter(apiRoutes, otherRuntime);
    const event = (): ApiEvent =>
      ({
        version: '2.0',
        rawPath: '/v1/accounts',
        rawQueryString: '',
        headers: {},
        requestContext: { http: { method: 'GET', path: '/v1/accounts' }, requestId: 'r', authorizer: { jwt: { claims: { sub: 'rate-carol' }, scopes: [] } } },
        isBase64Encoded: false,
      }) as unknown as ApiEvent;
    const carol = apiClient(system.url, await tokenFor(system.url, 'rate-carol'));
    for (let request = 0; request < 3; request += 1) expect((await carol.get('/v1/accounts')).status).toBe(200);
    for (let request = 0; request < 3; request += 1) expect((await instance(event())).statusCode).toBe(200);
    expect((await carol.get('/v1/accounts')).status).toBe(429);
    expect((await instance(event())).statusCode).toBe(429);
    otherRuntime.clients.dynamo.destroy();
  });

  it('does not limit the unauthenticated routes', async () => {
    for (let request = 0; request < 10; request += 1) expect((await apiClient(system.url).get('/health')).status).toBe(200);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Route } from '../../functions/api/http';
import { apiRoutes } from '../../functions/api/routes';
import type { LocalSystem } from '../../local/local-system';
import { createSimulatedAccount, type ApiClient } from '../support/api-capture';
import { apiClient, startTestSystem, tokenFor } from '../support/local-api';

/**
 * How each route of the router is checked for tenant isolation. A route missing here fails
 * the first test, so a new route cannot ship unchecked.
 * - `owned`: addresses a resource of the tenant by id (path, or body for creations that
 *   reference accounts): another tenant's id is 404 and nothing changes.
 * - `list`: lists the tenant's own items: never another tenant's.
 * - `create`: makes a new resource of the caller's own; it must not appear to anyone else.
 * - `public`: holds no tenant data at all.
 * - `state`: reached without a token (a broker's OAuth redirect): the single-use state it carries
 *   was made for one tenant's account and reaches that one only (`test/e2e/ctrader.test.ts`
 *   checks a state taken once, unknown ones refused, and answers that show no secret).
 */
type Check =
  | { kind: 'owned'; body?: (ids: TenantIds) => unknown; query?: string }
  | { kind: 'list' }
  | { kind: 'create' }
  | { kind: 'public' }
  | { kind: 'state' };

interface TenantIds {
  master: string;
  slave: string;
  mapping: string;
  position: string;
  order: string;
}

const plan: Record<string, Check> = {
  'GET /health': { kind: 'public' },
  'GET /openapi.json': { kind: 'public' },
  'GET /v1/platforms': { kind: 'public' },
  'GET /v1/oauth/ctrader/callback': { kind: 'state' },
  'GET /v1/audit-log': { kind: 'list' },
  'POST /v1/trades/demo': { kind: 'owned', body: (ids) => ({ accountId: ids.master }) },
  'POST /v1/accounts': { kind: 'create' },
  'GET /v1/accounts': { kind: 'list' },
  'GET /v1/accounts/{id}': { kind: 'owned' },
  'PATCH /v1/accounts/{id}': { kind: 'owned', body: () => ({ name: 'taken over', password: 'stolen-password-1', server: 'Evil' }) },
  'DELETE /v1/accounts/{id}': { kind: 'owned' },
  'POST /v1/accounts/{id}/authorization': { kind: 'owned' },
  'GET /v1/accounts/{id}/positions': { kind: 'owned' },
  'GET /v1/accounts/{id}/stats': { kind: 'owned' },
  'GET /v1/accounts/{id}/equity': { kind: 'owned' },
  'POST /v1/accounts/{id}/sync': { kind: 'owned' },
  'GET /v1/accounts/{id}/orders': { kind: 'owned' },
  'GET /v1/accounts/{id}/trades': { kind: 'owned', query: '?from=2000-01-01T00:00:00Z&to=2000-06-01T00:00:00Z' },
  'POST /v1/accounts/{id}/orders': { kind: 'owned', body: () => ({ symbol: 'EURUSD', side: 'sell', volume: 1 }) },
  'PATCH /v1/accounts/{id}/positions/{positionId}': { kind: 'owned', body: () => ({ stopLoss: null, takeProfit: 9 }) },
  'POST /v1/accounts/{id}/positions/{positionId}/close': { kind: 'owned', body: () => ({ volume: 0.1 }) },
  'DELETE /v1/accounts/{id}/orders/{orderId}': { kind: 'owned' },
  'PUT /v1/accounts/{id}/protection': { kind: 'owned', body: () => ({ maxOpenPositions: 1, onBreach: 'closeAll' }) },
  'GET /v1/accounts/{id}/protection': { kind: 'owned' },
  'POST /v1/accounts/{id}/protection/reset': { kind: 'owned' },
  'POST /v1/copy-mappings': {
    kind: 'owned',
    body: (ids) => ({ masterAccountId: ids.slave, slaveAccountId: ids.master, sizing: { mode: 'multiplier', multiplier: 1 } }),
  },
  'GET /v1/copy-mappings': { kind: 'list' },
  'GET /v1/copies': { kind: 'list' },
  'GET /v1/copy-mappings/{id}': { kind: 'owned' },
  'PATCH /v1/copy-mappings/{id}': { kind: 'owned', body: () => ({ enabled: false }) },
  'DELETE /v1/copy-mappings/{id}': { kind: 'owned' },
  'GET /v1/copy-mappings/{id}/copies': { kind: 'owned' },
  'POST /v1/copy-mappings/{id}/close-all': { kind: 'owned' },
  'POST /v1/replays': {
    kind: 'owned',
    body: (ids) => ({
      masterAccountId: ids.master,
      from: '2026-01-01',
      to: '2026-02-01',
      mapping: { sizing: { mode: 'multiplier', multiplier: 1 } },
      slaveStartingBalance: 1000,
    }),
  },
};

const keyOf = (route: Route) => `${route.method} ${route.path}`;

/** The route's path with the given tenant's ids in its parameters. */
const pathFor = (route: Route, ids: TenantIds): string =>
  route.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    if (name === 'positionId') return ids.position;
    if (name === 'orderId') return ids.order;
    return route.path.startsWith('/v1/copy-mappings') ? ids.mapping : ids.master;
  });

describe('tenant isolation, route by route', () => {
  let system: LocalSystem;
  let alice: ApiClient;
  let bob: ApiClient;
  let a: TenantIds;
  let b: TenantIds;

  const setUp = async (api: ApiClient, name: string): Promise<TenantIds> => {
    const master = await createSimulatedAccount(api, `${name}-master`);
    const slave = await createSimulatedAccount(api, `${name}-slave`);
    const mapping = (await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } }))
      .body.id;
    await system.syncNow(true); // the master's baseline: what follows is copied
    const position = (await api.post(`/v1/accounts/${master}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.2, stopLoss: 1.0 })).body.positionId;
    const order = (await api.post(`/v1/accounts/${master}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.1, type: 'limit', price: 0.9 })).body.orderId;
    await api.put(`/v1/accounts/${master}/protection`, { maxOpenPositions: 5 });
    await api.post('/v1/trades/demo', { accountId: master });
    await system.syncNow(true);
    await system.drain();
    await system.syncNow(true);
    return { master, slave, mapping, position, order };
  };

  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
    alice = apiClient(system.url, await tokenFor(system.url, 'iso-alice'));
    bob = apiClient(system.url, await tokenFor(system.url, 'iso-bob'));
    a = await setUp(alice, 'alice');
    b = await setUp(bob, 'bob');
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('has a tenancy check for every route of the router, and no check for a route that is gone', () => {
    expect(apiRoutes.map(keyOf).sort()).toEqual(Object.keys(plan).sort());
  });

  it("gives another tenant 404 for every id of alice's, on every route that takes one, and changes nothing", async () => {
    const before = await snapshot(alice, a, system);
    const owned = apiRoutes.filter((route) => plan[keyOf(route)]?.kind === 'owned');
    expect(owned.length).toBeGreaterThanOrEqual(18);
    for (const route of owned) {
      const check = plan[keyOf(route)] as Extract<Check, { kind: 'owned' }>;
      const body = route.body ? (check.body?.(a) ?? {}) : undefined;
      if (body !== undefined) expect(route.body!.safeParse(body).success, `${keyOf(route)}: the sample body must be valid`).toBe(true);
      const response = await bob.raw(route.method, `${pathFor(route, a)}${check.query ?? ''}`, body);
      expect(response.status, `${keyOf(route)} with alice's ids`).toBe(404);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(response.text).not.toContain(a.master);
    }
    expect(await snapshot(alice, a, system)).toEqual(before);
  });

  it("gives 404 for alice's positions and orders also on bob's own account", async () => {
    const tickets = apiRoutes.filter((route) => /\{(positionId|orderId)\}/.test(route.path));
    expect(tickets.length).toBeGreaterThanOrEqual(3);
    const before = await snapshot(alice, a, system);
    for (const route of tickets) {
      const check = plan[keyOf(route)] as Extract<Check, { kind: 'owned' }>;
      const path = pathFor(route, { ...b, position: a.position, order: a.order });
      const response = await bob.raw(route.method, path, route.body ? (check.body?.(a) ?? {}) : undefined);
      expect(response.status, keyOf(route)).toBe(404);
    }
    expect(await snapshot(alice, a, system)).toEqual(before);
  });

  it("refuses a mapping from bob's account onto alice's account, either way round", async () => {
    const sizing = { mode: 'multiplier', multiplier: 1 };
    expect((await bob.post('/v1/copy-mappings', { masterAccountId: b.master, slaveAccountId: a.slave, sizing })).status).toBe(404);
    expect((await bob.post('/v1/copy-mappings', { masterAccountId: a.master, slaveAccountId: b.slave, sizing })).status).toBe(404);
  });

  it("never lists another tenant's items", async () => {
    const lists = apiRoutes.filter((route) => plan[keyOf(route)]?.kind === 'list');
    expect(lists.map(keyOf).sort()).toEqual(['GET /v1/accounts', 'GET /v1/audit-log', 'GET /v1/copies', 'GET /v1/copy-mappings']);
    for (const route of lists) {
      const mine = await bob.get(`${route.path}?limit=100`);
      expect(mine.status).toBe(200);
      expect(mine.body.items.length, `${keyOf(route)} lists bob's own items`).toBeGreaterThan(0);
      for (const id of Object.values(a)) expect(mine.text, keyOf(route)).not.toContain(id);
    }
    for (const path of [
      `/v1/accounts/${b.master}/positions`,
      `/v1/accounts/${b.master}/orders`,
      `/v1/accounts/${b.master}/trades`,
      `/v1/copy-mappings/${b.mapping}/copies`,
    ]) {
      const mine = await bob.get(path);
      expect(mine.status, path).toBe(200);
      expect(mine.body.items.length, `${path} has bob's own items`).toBeGreaterThan(0);
      for (const id of [a.master, a.slave, a.mapping, a.position, a.order]) expect(mine.text, path).not.toContain(id);
    }
    // A filter naming alice's ids finds nothing of hers.
    for (const query of [`accountId=${a.master}`, `accountId=${a.slave}`, `mappingId=${a.mapping}`]) {
      const filtered = await bob.get(`/v1/copies?${query}`);
      expect(filtered.status, query).toBe(200);
      expect(filtered.body.items, query).toEqual([]);
    }
  });

  it("refuses a cursor from another tenant's list", async () => {
    for (const path of ['/v1/accounts', '/v1/copy-mappings', '/v1/audit-log', '/v1/copies']) {
      const page = await alice.get(`${path}?limit=1`);
      expect(page.body.nextCursor, path).toEqual(expect.any(String));
      const stolen = await bob.get(`${path}?cursor=${page.body.nextCursor}`);
      expect(stolen.status, path).toBe(400);
      expect(stolen.body.errors[0].path).toBe('cursor');
    }
  });

  it("creates what bob posts in bob's tenant only", async () => {
    const created = await createSimulatedAccount(bob, 'bob-new');
    expect((await alice.get(`/v1/accounts/${created}`)).status).toBe(404);
    expect((await alice.get('/v1/accounts?limit=100')).text).not.toContain(created);
  });

  it('takes the tenant from the verified token only, never from the request', async () => {
    const forged = await apiClient(system.url, `${(await tokenFor(system.url, 'iso-bob')).slice(0, -4)}AAAA`).get(`/v1/accounts/${b.master}`);
    expect(forged.status).toBe(401);
    const spoofed = await bob.raw('GET', `/v1/accounts/${a.master}?tenantId=iso-alice`);
    expect(spoofed.status).toBe(404);
    const withField = await bob.post('/v1/accounts', { name: 'x', platform: 'simulated', login: 'x', password: 'x', server: 'x', tenantId: 'iso-alice' });
    expect(withField.status).toBe(400);
    expect(withField.body.errors[0].path).toBe('tenantId');
  });
});

/** Everything of alice's that a request of bob's could have changed. */
const snapshot = async (alice: ApiClient, ids: TenantIds, system: LocalSystem) => {
  const read = async (path: string) => {
    const response = await alice.get(path);
    return { status: response.status, body: response.body };
  };
  const stripVolatile = (value: unknown) =>
    JSON.parse(JSON.stringify(value), (key, field) => (['profit', 'equity', 'updatedAt', 'lastSyncAt', 'balance'].includes(key) ? undefined : field));
  return stripVolatile({
    accounts: await read('/v1/accounts?limit=100'),
    master: await read(`/v1/accounts/${ids.master}`),
    mapping: await read(`/v1/copy-mappings/${ids.mapping}`),
    protection: await read(`/v1/accounts/${ids.master}/protection`),
    trades: await read(`/v1/accounts/${ids.master}/trades`),
    audit: (await read('/v1/audit-log?limit=100')).body.items.length,
    brokerPositions: system.market.getPositions(ids.master).map(({ id, volume, stopLoss, takeProfit }) => ({ id, volume, stopLoss, takeProfit })),
    brokerOrders: system.market.getPendingOrders(ids.master).map(({ id }) => id),
  });
};

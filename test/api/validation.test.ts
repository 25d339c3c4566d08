import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corsHeaders } from '../../functions/api/cors';
import type { LocalSystem } from '../../local/local-system';
import { createSimulatedAccount, type ApiClient } from '../support/api-capture';
import { apiClient, startTestSystem, tokenFor } from '../support/local-api';

const APP = 'https://app.example.com';
const ADMIN = 'https://admin.example.com';

const paths = (response: { body: { errors?: { path: string }[] } }) => (response.body.errors ?? []).map((error) => error.path);

describe('what users expect the API to refuse', () => {
  let system: LocalSystem;
  let api: ApiClient;
  let a: string;
  let b: string;
  let c: string;

  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true, settings: { CORS_ORIGIN: `${APP}, ${ADMIN}` } });
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-validation'));
    a = await createSimulatedAccount(api, 'a');
    b = await createSimulatedAccount(api, 'b');
    c = await createSimulatedAccount(api, 'c');
  });

  afterAll(async () => {
    await system?.stop();
  });

  const mapping = (master: string, slave: string, extra: Record<string, unknown> = {}) =>
    api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 }, ...extra });

  it('refuses a mapping from an account to itself with 422 naming slaveAccountId', async () => {
    const response = await mapping(a, a);
    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(paths(response)).toEqual(['slaveAccountId']);
  });

  it('refuses a mapping that closes a cycle (A->B, B->A and A->B->C->A) with 422', async () => {
    expect((await mapping(a, b)).status).toBe(201);
    const back = await mapping(b, a);
    expect(back.status).toBe(422);
    expect(paths(back)).toEqual(['slaveAccountId']);
    expect((await mapping(b, c)).status).toBe(201);
    const around = await mapping(c, a);
    expect(around.status).toBe(422);
    expect(paths(around)).toEqual(['slaveAccountId']);
  });

  it('refuses to delete an account a mapping uses with 409, and deletes it once the mapping is gone', async () => {
    const used = await createSimulatedAccount(api, 'used');
    const other = await createSimulatedAccount(api, 'other');
    const created = await mapping(other, used);
    const refused = await api.delete(`/v1/accounts/${used}`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain(created.body.id);
    expect((await api.get(`/v1/accounts/${used}`)).status).toBe(200);
    await api.delete(`/v1/copy-mappings/${created.body.id}`);
    expect((await api.delete(`/v1/accounts/${used}`)).status).toBe(204);
  });

  it('names every unknown field, each on its own', async () => {
    const response = await api.post('/v1/accounts', { name: 'x', platform: 'simulated', login: 'x', password: 'x', server: 'x', nickname: 'n', colour: 'red' });
    expect(response.status).toBe(400);
    expect(paths(response).sort()).toEqual(['colour', 'nickname']);
    const nested = await mapping(a, c, { sizing: { mode: 'multiplier', multiplier: 1, factor: 2 } });
    expect(paths(nested)).toEqual(['sizing.factor']);
  });

  it.each([
    ['a negative volume', { sizing: { mode: 'fixedVolume', volume: -0.1 } }, 'sizing.volume'],
    ['a multiplier of 0', { sizing: { mode: 'multiplier', multiplier: 0 } }, 'sizing.multiplier'],
    ['a percent over 100', { sizing: { mode: 'riskPercent', percent: 101 } }, 'sizing.percent'],
    ['a negative maxVolume', { maxVolume: -1 }, 'maxVolume'],
    ['minVolume above maxVolume', { minVolume: 2, maxVolume: 1 }, 'minVolume'],
  ])('refuses %s naming the field', async (_label, extra, field) => {
    const response = await mapping(a, c, extra);
    expect(response.status).toBe(400);
    expect(paths(response)).toContain(field);
  });

  it('refuses an OANDA account on a server other than practice or live, naming server', async () => {
    const created = await api.post('/v1/accounts', { name: 'o', platform: 'oanda', login: '101-004-1-001', password: 'token', server: 'OANDA-Demo' });
    expect(created.status).toBe(400);
    expect(paths(created)).toEqual(['server']);
    expect(created.body.errors[0].message).toContain('practice');
  });

  it('refuses a negative trade volume and a protection percent over 100 naming the field', async () => {
    const trade = await api.post(`/v1/accounts/${a}/orders`, { symbol: 'EURUSD', side: 'buy', volume: -1 });
    expect(trade.status).toBe(400);
    expect(paths(trade)).toEqual(['volume']);
    const close = await api.post(`/v1/accounts/${a}/positions/1/close`, { volume: 0 });
    expect(paths(close)).toEqual(['volume']);
    const protection = await api.put(`/v1/accounts/${a}/protection`, { maxDrawdownPercent: 150 });
    expect(protection.status).toBe(400);
    expect(paths(protection)).toEqual(['maxDrawdownPercent']);
  });

  it('refuses a body over 64 KiB with 413', async () => {
    const response = await api.post('/v1/accounts', { name: 'x'.repeat(70 * 1024), platform: 'simulated', login: 'x', password: 'x', server: 'x' });
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });

  it('refuses malformed JSON with 400', async () => {
    const response = await api.raw('POST', '/v1/accounts', '{"name": "x",');
    expect(response.status).toBe(400);
    expect(paths(response)).toEqual(['(body)']);
  });

  it('refuses a tampered cursor with 400 naming cursor, on every paged list', async () => {
    const forged = Buffer.from(JSON.stringify({ pk: 'TENANT#someone-else', sk: 'ACCOUNT#x' })).toString('base64url');
    for (const path of [
      '/v1/accounts',
      '/v1/copy-mappings',
      '/v1/audit-log',
      `/v1/accounts/${a}/trades`,
      `/v1/copy-mappings/${(await mapping(a, c)).body.id}/copies`,
    ]) {
      for (const cursor of [forged, 'not-a-cursor', '%7B']) {
        const response = await api.get(`${path}?cursor=${cursor}`);
        expect(response.status, `${path} ${cursor}`).toBe(400);
        expect(paths(response), path).toEqual(['cursor']);
      }
    }
  });

  it('refuses a bad limit naming limit', async () => {
    for (const limit of ['0', '101', 'ten']) {
      const response = await api.get(`/v1/accounts?limit=${limit}`);
      expect(response.status).toBe(400);
      expect(paths(response)).toEqual(['limit']);
    }
  });

  it('answers a wrong method with 405 and the allowed ones', async () => {
    const response = await api.raw('PUT', `/v1/accounts/${a}`, {});
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')?.split(', ').sort()).toEqual(['DELETE', 'GET', 'PATCH']);
    expect((await api.raw('DELETE', '/v1/platforms')).status).toBe(405);
  });

  it('answers an id that cannot exist with 404, not an error', async () => {
    for (const id of ['x'.repeat(300), '%E0%A4%A', 'a%2Fb', '..']) {
      const response = await api.get(`/v1/accounts/${id}`);
      expect(response.status, id).toBe(404);
    }
  });
});

describe('CORS for the configured frontend origins', () => {
  let system: LocalSystem;

  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true, settings: { CORS_ORIGIN: `${APP},${ADMIN}` } });
  });

  afterAll(async () => {
    await system?.stop();
  });

  const fetchFrom = (origin: string, path: string, init: RequestInit = {}) =>
    fetch(`${system.url}${path}`, { ...init, headers: { origin, ...(init.headers as Record<string, string>) } });

  it('allows a listed origin on API answers, also on problems, and exposes Retry-After', async () => {
    for (const origin of [APP, ADMIN]) {
      const health = await fetchFrom(origin, '/health');
      expect(health.headers.get('access-control-allow-origin')).toBe(origin);
      expect(health.headers.get('vary')).toContain('Origin');
      expect(health.headers.get('access-control-expose-headers')).toContain('retry-after');
    }
    const unauthorized = await fetchFrom(APP, '/v1/accounts');
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('access-control-allow-origin')).toBe(APP);
    const token = await tokenFor(system.url, 'cors-tenant');
    const missing = await fetchFrom(APP, '/v1/accounts/acc_missing', { headers: { authorization: `Bearer ${token}` } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('does not allow an origin that is not listed', async () => {
    const response = await fetchFrom('https://evil.example.com', '/health');
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a preflight with the allowed methods and headers', async () => {
    const preflight = await fetchFrom(APP, '/v1/accounts/x/orders', {
      method: 'OPTIONS',
      headers: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP);
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET,POST,PUT,PATCH,DELETE');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization,content-type,idempotency-key');
    const refused = await fetchFrom('https://evil.example.com', '/v1/accounts', { method: 'OPTIONS' });
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows any origin with *, one origin always, and nothing without a setting', () => {
    expect(corsHeaders('*', 'https://anything.example')['access-control-allow-origin']).toBe('*');
    expect(corsHeaders('*', undefined)['access-control-allow-origin']).toBe('*');
    expect(corsHeaders(APP, APP)['access-control-allow-origin']).toBe(APP);
    expect(corsHeaders(`${APP}/`, APP)['access-control-allow-origin']).toBe(APP);
    expect(corsHeaders(APP, ADMIN)['access-control-allow-origin']).toBeUndefined();
    expect(corsHeaders(undefined, APP)).toEqual({});
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { apiClient, startTestSystem, tokenFor } from '../support/local-api';

describe('limits per tenant', () => {
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;
  const account = async (name: string) => api.post('/v1/accounts', { name, platform: 'simulated', login: name, password: `${name}-secret`, server: 'Sim' });

  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true, settings: { MAX_ACCOUNTS_PER_TENANT: '4', MAX_MAPPINGS_PER_TENANT: '2', MAX_SLAVES_PER_MASTER: '1' } });
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-quotas'));
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('answers 422 naming the limit and its setting, for accounts, mappings and slaves of one master', async () => {
    const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map(async (name) => (await account(name)).body.id as string));
    const fifth = await account('e');
    expect(fifth.status).toBe(422);
    expect(fifth.body.detail).toBe('This tenant has reached its limit of 4 accounts (MAX_ACCOUNTS_PER_TENANT)');

    const mapping = (master: string | undefined, slave: string | undefined) =>
      api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } });
    expect((await mapping(a, b)).status).toBe(201);
    const second = await mapping(a, c);
    expect(second.status).toBe(422);
    expect(second.body.detail).toBe('This tenant has reached its limit of 1 slaves copying one master (MAX_SLAVES_PER_MASTER)');
    const cd = await mapping(c, d);
    expect(cd.status).toBe(201);
    const third = await mapping(d, b);
    expect(third.status).toBe(422);
    expect(third.body.detail).toBe('This tenant has reached its limit of 2 copy mappings (MAX_MAPPINGS_PER_TENANT)');

    // A deleted mapping and a deleted account free their places.
    expect((await api.delete(`/v1/copy-mappings/${cd.body.id}`)).status).toBeLessThan(300);
    expect((await mapping(d, b)).status).toBe(201);
    expect((await api.delete(`/v1/accounts/${c}`)).status).toBeLessThan(300);
    expect((await account('e')).status).toBe(201);
  });
});

describe('the broker rate limit', () => {
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true, settings: { TRADE_RATE_LIMIT_PER_MINUTE: '3', RATE_LIMIT_PER_MINUTE: '1000' } });
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-broker-limit'));
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('counts routes that reach a broker without trading (sync now, provisioning) against the trading limit, not the API one', async () => {
    const created = await api.post('/v1/accounts', { name: 'one', platform: 'simulated', login: 'one', password: 'one-secret', server: 'Sim' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await api.post(`/v1/accounts/${id}/sync`, {})).status).toBe(202);
    expect((await api.post(`/v1/accounts/${id}/sync`, {})).status).toBe(202);
    const fourth = await api.post(`/v1/accounts/${id}/sync`, {});
    expect(fourth.status).toBe(429);
    expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThan(0);
    // Reads of what is stored stay on the API limit: the history is stored too.
    expect((await api.get(`/v1/accounts/${id}`)).status).toBe(200);
    expect((await api.get(`/v1/accounts/${id}/positions`)).status).toBe(200);
    expect((await api.get(`/v1/accounts/${id}/trades`)).status).toBe(200);
    expect((await api.get(`/v1/accounts/${id}/stats`)).status).toBe(200);
  });
});

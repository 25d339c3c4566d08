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

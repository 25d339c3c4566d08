import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, type CopierClient, type CopyRecord, createCopierClient, type Problem } from '../../client';
import { CLIENT_DIR, type GeneratedClientFiles, generateClientFiles } from '../../client/generate';
import { apiRoutes } from '../../functions/api/routes';
import type { LocalSystem } from '../../local/local-system';
import { createSimulatedAccount } from '../support/api-capture';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

/** The committed files that differ from `generated`, each with its first differing line, or nothing when all match. */
const staleFiles = async (generated: GeneratedClientFiles): Promise<string[]> => {
  const stale: string[] = [];
  for (const [name, text] of Object.entries(generated)) {
    const committed = await readFile(join(CLIENT_DIR, name), 'utf8').catch(() => undefined);
    if (committed === text) continue;
    if (committed === undefined) {
      stale.push(`client/${name} is missing`);
      continue;
    }
    const [was, is] = [committed.split('\n'), text.split('\n')];
    const line = was.findIndex((content, index) => content !== is[index]);
    const at = line === -1 ? was.length : line;
    stale.push(`client/${name} line ${at + 1}: committed ${JSON.stringify(was[at])}, the routes give ${JSON.stringify(is[at])}`);
  }
  return stale;
};

describe('the committed typed client', () => {
  it('is exactly what the routes generate (otherwise: run npm run client)', async () => {
    const stale = await staleFiles(await generateClientFiles());
    expect(stale, `The typed client is out of date with the API's routes: run npm run client and commit client/.\n${stale.join('\n')}\n`).toEqual([]);
  });

  it('is found out of date when a route changes and the client is not regenerated', async () => {
    const [first, ...rest] = apiRoutes;
    const changed = await generateClientFiles([{ ...first!, summary: `${first!.summary}, changed` }, ...rest]);
    expect((await staleFiles(changed)).map((entry) => entry.split(' ')[0])).toEqual(['client/openapi.json', 'client/schema.ts']);
  });
});

describe('the typed client against the local system', () => {
  let system: LocalSystem;
  let client: CopierClient;
  let tokensAsked = 0;

  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
    const token = await tokenFor(system.url, 'tenant-typed-client');
    client = createCopierClient({
      baseUrl: `${system.url}/`,
      token: async () => {
        tokensAsked += 1;
        return token;
      },
    });
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('lists the accounts of the tenant, asking the token getter for each /v1 request only', async () => {
    const { data, error, response } = await client.GET('/v1/accounts', { params: { query: { limit: 10 } } });
    expect(response.status).toBe(200);
    expect(error).toBeUndefined();
    expect(data?.items).toEqual([]);
    expect(tokensAsked).toBe(1);

    const health = await client.GET('/health');
    expect(health.data?.status).toBe('ok');
    expect(tokensAsked).toBe(1);
  });

  it('creates an account and answers 201 with the account, never its password', async () => {
    const { data, response } = await client.POST('/v1/accounts', {
      body: { name: 'typed master', platform: 'simulated', login: 'typed-1', password: 'typed-secret', server: 'Sim' },
    });
    expect(response.status).toBe(201);
    const account: Account | undefined = data;
    expect(account).toMatchObject({ name: 'typed master', platform: 'simulated', login: 'typed-1', server: 'Sim', roles: [] });
    expect(JSON.stringify(account)).not.toContain('typed-secret');
    const listed = await client.GET('/v1/accounts');
    expect(listed.data?.items.map((item) => item.id)).toEqual([account?.id]);
  });

  it('gives a typed problem for an account that does not exist', async () => {
    const { data, error, response } = await client.GET('/v1/accounts/{id}', { params: { path: { id: 'acc_nowhere' } } });
    expect(response.status).toBe(404);
    expect(data).toBeUndefined();
    const problem: Problem | undefined = error;
    expect(problem).toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  it('gives the problem of a body the API refuses, field by field', async () => {
    const { error, response } = await client.POST('/v1/accounts', {
      // @ts-expect-error the platform is one the API knows: a typo is a compile error in a frontend
      body: { name: 'typo', platform: 'mt9', login: 'typo', password: 'p', server: 'Sim' },
    });
    expect(response.status).toBe(400);
    expect(error?.code).toBe('INVALID_REQUEST');
    expect(error?.errors?.map((entry) => entry.path)).toEqual(['platform']);
  });

  it("creates a copy mapping and reads its copies of the master's trades", async () => {
    const master = (await client.GET('/v1/accounts')).data?.items[0]?.id ?? '';
    const slave = await createSimulatedAccount(apiClient(system.url, await tokenFor(system.url, 'tenant-typed-client')), 'typed slave');
    const created = await client.POST('/v1/copy-mappings', {
      body: { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 2 } },
    });
    expect(created.response.status).toBe(201);
    const mappingId = created.data?.id ?? '';
    expect(created.data).toMatchObject({ masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 2 } });

    expect((await client.POST('/v1/accounts/{id}/sync', { params: { path: { id: master } } })).response.status).toBe(202);
    system.market.traderTrade(master, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    expect((await client.POST('/v1/accounts/{id}/sync', { params: { path: { id: master } } })).response.status).toBe(202);

    const copies: CopyRecord[] = await eventually(async () => {
      const { data } = await client.GET('/v1/copy-mappings/{id}/copies', { params: { path: { id: mappingId } } });
      return data?.items.some((copy) => copy.status !== 'pending') ? data.items : undefined;
    });
    expect(copies).toEqual([expect.objectContaining({ action: 'open', status: 'placed', symbol: 'EURUSD', masterVolume: 0.1, slaveVolume: 0.2 })]);
  });
});

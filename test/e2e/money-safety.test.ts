import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { mappingDefaults, type CopyMapping } from '../../shared/domain/copy-mapping';
import { newId } from '../../shared/use-cases/manage-accounts';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

interface BrokerTruth {
  positions: { id: string; symbol: string; side: string; volume: number }[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `during` while `target[method]` fails with `message`, then puts the method back. */
const failing = async <T, K extends string>(target: Record<K, unknown>, method: K, message: string, during: () => Promise<T>): Promise<T> => {
  const original = target[method];
  target[method] = async () => {
    throw new Error(message);
  };
  try {
    return await during();
  } finally {
    target[method] = original;
  }
};

/** The findings of the money-safety review, each tried as a user meets it: over HTTP, with no pause between steps. */
describe('money safety, over the API of the running system', () => {
  let system: LocalSystem;
  let tenant = 0;

  beforeAll(async () => {
    // Accounts that are no master are read once an hour here, so a master's first sync is the
    // one that finds its first trade (the case a newcomer meets in the README's flow).
    system = await startTestSystem({ slaveSyncIntervalMs: 3_600_000 });
  });
  afterAll(async () => system?.stop());

  const newTenant = async () => {
    tenant += 1;
    const api = apiClient(system.url, await tokenFor(system.url, `safety-${tenant}`));
    const account = async (login: string) => {
      const created = await api.post('/v1/accounts', { name: login, platform: 'simulated', login: `${tenant}-${login}`, password: 'x', server: 'Sim' });
      expect(created.status).toBe(201);
      return created.body.id as string;
    };
    const broker = async (accountId: string) => (await api.get<BrokerTruth>(`/local/simulator/accounts/${accountId}`)).body;
    const copies = async (mappingId: string) =>
      (await api.get(`/v1/copy-mappings/${mappingId}/copies`)).body.items as { action: string; status: string; reason?: string; masterPositionId?: string }[];
    return { api, account, broker, copies, tenantId: `safety-${tenant}` };
  };

  it("copies the first trade of the README's by-hand flow, made the moment the mapping exists", async () => {
    const { api, account, broker, copies } = await newTenant();
    const master = await account('1');
    const slave = await account('2');
    const mapping = await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 2 } });
    expect(mapping.status).toBe(201);
    const trade = await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    expect(trade.status).toBe(201);
    const copied = await eventually(async () => ((await broker(slave)).positions.length > 0 ? (await broker(slave)).positions : undefined), 5000);
    expect(copied).toMatchObject([{ symbol: 'EURUSD', side: 'buy', volume: 0.2 }]);
    const placed = await eventually(async () => {
      const items = await copies(mapping.body.id);
      return items.every((item) => item.status !== 'pending') ? items : undefined;
    });
    expect(placed).toMatchObject([{ action: 'open', status: 'placed', masterPositionId: trade.body.positionId }]);
  });

  it('records a master position that existed before the mapping once, as OPENED_BEFORE_MAPPING, and copies nothing of it', async () => {
    const { api, account, broker, copies } = await newTenant();
    const master = await account('1');
    const slave = await account('2');
    const before = await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'GBPUSD', side: 'sell', volume: 0.3 });
    await sleep(20);
    const mapping = await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } });
    const records = await eventually(async () => {
      const items = await copies(mapping.body.id);
      return items.length > 0 && items.every((item) => item.status !== 'pending') ? items : undefined;
    });
    await sleep(600); // several more sync passes: still one record
    expect(await copies(mapping.body.id)).toEqual(records);
    expect(records).toMatchObject([{ action: 'open', status: 'skipped', reason: 'OPENED_BEFORE_MAPPING', masterPositionId: before.body.positionId }]);
    expect((await broker(slave)).positions).toEqual([]);
  });

  it('records what opened while a mapping was disabled as OPENED_BEFORE_MAPPING, and copies what opens after it is enabled', async () => {
    const { api, account, broker, copies } = await newTenant();
    const master = await account('1');
    const slave = await account('2');
    const mapping = (
      await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, enabled: false, sizing: { mode: 'multiplier', multiplier: 1 } })
    ).body;
    const whileOff = await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    await sleep(400);
    expect((await api.patch(`/v1/copy-mappings/${mapping.id}`, { enabled: true })).status).toBe(200);
    const afterOn = await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'USDJPY', side: 'sell', volume: 0.2 });
    await eventually(async () => ((await broker(slave)).positions.length === 1 ? true : undefined));
    const records = await eventually(async () => {
      const items = await copies(mapping.id);
      return items.length === 2 && items.every((item) => item.status !== 'pending') ? items : undefined;
    });
    const byTicket = Object.fromEntries(records.map((record) => [record.masterPositionId, record]));
    expect(byTicket[whileOff.body.positionId]).toMatchObject({ status: 'skipped', reason: 'OPENED_BEFORE_MAPPING' });
    expect(byTicket[afterOn.body.positionId]).toMatchObject({ status: 'placed' });
    expect((await broker(slave)).positions).toMatchObject([{ symbol: 'USDJPY', side: 'sell', volume: 0.2 }]);
  });

  it('lets one of two racing mappings A->B and B->A through (201, 422), and a trade on A makes exactly one position on B', async () => {
    const { api, account, broker } = await newTenant();
    const a = await account('A');
    const b = await account('B');
    const body = (master: string, slave: string) => ({ masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } });
    const [ab, ba] = await Promise.all([api.post('/v1/copy-mappings', body(a, b)), api.post('/v1/copy-mappings', body(b, a))]);
    expect([ab.status, ba.status].sort()).toEqual([201, 422]);
    const [master, slave] = ab.status === 201 ? [a, b] : [b, a];
    await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    await eventually(async () => ((await broker(slave)).positions.length > 0 ? true : undefined));
    await sleep(1500); // ten sync passes: a loop would have multiplied by now
    expect((await broker(slave)).positions).toHaveLength(1);
    expect((await broker(master)).positions).toHaveLength(1);
    expect((await api.get('/v1/copy-mappings')).body.items).toHaveLength(1);
  });

  it('refuses a second mapping of the same pair with 409', async () => {
    const { api, account } = await newTenant();
    const [m, s] = [await account('1'), await account('2')];
    const body = { masterAccountId: m, slaveAccountId: s, sizing: { mode: 'multiplier', multiplier: 1 } };
    expect((await api.post('/v1/copy-mappings', body)).status).toBe(201);
    const twice = await api.post('/v1/copy-mappings', { ...body, sizing: { mode: 'fixedVolume', volume: 0.01 } });
    expect(twice.status).toBe(409);
    expect(twice.body.detail).toMatch(/already copies this master to this slave/);
    // Two at once: still one.
    const [x, y] = [await account('3'), await account('4')];
    const racing = await Promise.all([0, 1, 2].map(() => api.post('/v1/copy-mappings', { ...body, masterAccountId: x, slaveAccountId: y })));
    expect(racing.map((response) => response.status).sort()).toEqual([201, 409, 409]);
  });

  it('refuses a second account on the same (platform, server, login) with 409, also when both are added at once', async () => {
    const { api } = await newTenant();
    const account = { name: 'mine', platform: 'simulated', login: '12345', password: 'x', server: 'Sim' };
    expect((await api.post('/v1/accounts', account)).status).toBe(201);
    const again = await api.post('/v1/accounts', { ...account, name: 'mine again', server: ' sim ' });
    expect(again.status).toBe(409);
    expect(again.text).not.toContain('"x"');
    const racing = await Promise.all([0, 1].map(() => api.post('/v1/accounts', { ...account, login: '999' })));
    expect(racing.map((response) => response.status).sort()).toEqual([201, 409]);
    expect((await api.get('/v1/accounts')).body.items).toHaveLength(2);
    // Another tenant may hold the same login.
    const other = apiClient(system.url, await tokenFor(system.url, `safety-other-${tenant}`));
    expect((await other.post('/v1/accounts', account)).status).toBe(201);
  });

  it('never copies a trade back onto its own origin path, even with a cycle the API would refuse already stored; a chain A->B->C copies through', async () => {
    const { api, account, broker, copies, tenantId } = await newTenant();
    const [a, b, c] = [await account('A'), await account('B'), await account('C')];
    const ab = (await api.post('/v1/copy-mappings', { masterAccountId: a, slaveAccountId: b, sizing: { mode: 'multiplier', multiplier: 1 } })).body;
    const bc = (await api.post('/v1/copy-mappings', { masterAccountId: b, slaveAccountId: c, sizing: { mode: 'multiplier', multiplier: 1 } })).body;
    // A cycle C->A written past the API (as a race or an old bug could have left it).
    const now = new Date().toISOString();
    const ca: CopyMapping = {
      ...mappingDefaults,
      id: newId('map'),
      tenantId,
      masterAccountId: c,
      slaveAccountId: a,
      sizing: { mode: 'multiplier', multiplier: 1 },
      activeSince: now,
      createdAt: now,
      updatedAt: now,
    };
    await system.runtime.mappings.create(ca, { graphVersion: (await system.runtime.mappings.graph(tenantId)).version });

    await api.post(`/local/simulator/accounts/${a}/trades`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    await eventually(async () => ((await broker(c)).positions.length === 1 ? true : undefined), 5000);
    await eventually(async () => {
      const items = await copies(ca.id);
      return items.length > 0 && items.every((item) => item.status !== 'pending') ? items : undefined;
    }, 5000);
    await sleep(1500);
    const loop = await copies(ca.id);
    expect(loop).toMatchObject([{ action: 'open', status: 'skipped', reason: 'COPY_LOOP' }]);
    expect((await broker(a)).positions).toHaveLength(1);
    expect((await broker(b)).positions).toHaveLength(1);
    expect((await broker(c)).positions).toHaveLength(1);
    expect(await copies(ab.id)).toMatchObject([{ status: 'placed' }]);
    expect(await copies(bc.id)).toMatchObject([{ status: 'placed' }]);
  });

  describe('Idempotency-Key on trades', () => {
    const order = { symbol: 'EURUSD', side: 'buy', volume: 0.1 };
    const client = async () => {
      const { account, broker, tenantId } = await newTenant();
      const token = await tokenFor(system.url, tenantId);
      const send = async (accountId: string, key: string | undefined, body: unknown = order) => {
        const response = await fetch(`${system.url}/v1/accounts/${accountId}/orders`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(key !== undefined ? { 'idempotency-key': key } : {}) },
          body: JSON.stringify(body),
        });
        return { status: response.status, text: await response.text(), replayed: response.headers.get('idempotent-replayed') };
      };
      return { account, broker, send };
    };

    it('places one position for the same key sent twice, and answers the same body twice', async () => {
      const { account, broker, send } = await client();
      const id = await account('1');
      const first = await send(id, 'order-1');
      const second = await send(id, 'order-1');
      expect(first.status).toBe(201);
      expect(second).toEqual({ ...first, replayed: 'true' });
      expect((await broker(id)).positions).toHaveLength(1);
      // A new key is a new trade.
      expect((await send(id, 'order-2')).status).toBe(201);
      expect((await broker(id)).positions).toHaveLength(2);
    });

    it('places one position for the same key sent twice at once', async () => {
      const { account, broker, send } = await client();
      const id = await account('1');
      const answers = await Promise.all([send(id, 'burst'), send(id, 'burst')]);
      expect(answers.map((answer) => answer.status).sort()).toEqual(answers.some((answer) => answer.status === 409) ? [201, 409] : [201, 201]);
      expect((await broker(id)).positions).toHaveLength(1);
    });

    it('refuses the same key with another body (422) and a key that is not printable text (400)', async () => {
      const { account, broker, send } = await client();
      const id = await account('1');
      expect((await send(id, 'k')).status).toBe(201);
      const other = await send(id, 'k', { ...order, volume: 0.2 });
      expect(other.status).toBe(422);
      expect(JSON.parse(other.text).detail).toMatch(/different request/);
      const bad = await send(id, 'x'.repeat(129));
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text).errors).toEqual([{ path: 'Idempotency-Key', message: 'must be 1-128 printable ASCII characters' }]);
      expect((await broker(id)).positions).toHaveLength(1);
    });

    it('answers 201 for a trade the broker filled even when the audit write after it fails, and the retry places nothing more', async () => {
      const { account, broker, send } = await client();
      const id = await account('1');
      const first = await failing(system.runtime.audit, 'append', 'DynamoDB unavailable', () => send(id, 'audit-down'));
      expect(first.status).toBe(201);
      const retry = await send(id, 'audit-down');
      expect(retry.status).toBe(201);
      expect(JSON.parse(retry.text)).toEqual(JSON.parse(first.text));
      expect((await broker(id)).positions).toHaveLength(1);
    });

    it('resumes a key whose first attempt died after the broker filled: the retry finds the order by its client id', async () => {
      const { account, broker, send } = await client();
      const id = await account('1');
      // The first attempt reaches the broker, then its process dies before it answers or keeps an answer.
      const first = await failing(system.runtime.idempotency, 'complete', 'process died', () => send(id, 'died'));
      expect(first.status).toBe(201);
      expect((await broker(id)).positions).toHaveLength(1);
      // Its key is still leased: a retry right away is told to wait; after the lease it resumes.
      const early = await send(id, 'died');
      expect(early.status).toBe(409);
      const realNow = system.runtime.now;
      system.runtime.now = () => new Date(Date.now() + 120_000);
      try {
        const retry = await send(id, 'died');
        expect(retry.status).toBe(201);
        expect(JSON.parse(retry.text)).toEqual(JSON.parse(first.text));
      } finally {
        system.runtime.now = realNow;
      }
      expect((await broker(id)).positions).toHaveLength(1);
    });
  });
});

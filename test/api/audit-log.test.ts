import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { createSimulatedAccount, type ApiClient } from '../support/api-capture';
import { apiClient, startTestSystem, tokenFor } from '../support/local-api';

interface Entry {
  id: string;
  at: string;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string;
  details: Record<string, unknown>;
}

const PASSWORDS = ['audit-first-password-4711', 'audit-second-password-0815'];

describe('the audit log', () => {
  let system: LocalSystem;
  let alice: ApiClient;
  let bob: ApiClient;
  const expected: { action: string; resourceType: string; resourceId: string }[] = [];
  let entries: Entry[];

  const all = async (api: ApiClient): Promise<Entry[]> => {
    const found: Entry[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.get(`/v1/audit-log?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      found.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    return found;
  };

  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
    alice = apiClient(system.url, await tokenFor(system.url, 'audit-alice'));
    bob = apiClient(system.url, await tokenFor(system.url, 'audit-bob'));
    const did = (action: string, resourceType: string, resourceId: string) => expected.push({ action, resourceType, resourceId });

    const master = await createSimulatedAccount(alice, 'audit-master', PASSWORDS[0]);
    did('account.create', 'account', master);
    const slave = await createSimulatedAccount(alice, 'audit-slave');
    did('account.create', 'account', slave);
    await alice.patch(`/v1/accounts/${slave}`, { name: 'renamed slave', password: PASSWORDS[1] });
    did('account.update', 'account', slave);
    const mapping = (await alice.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } }))
      .body.id;
    did('mapping.create', 'copyMapping', mapping);
    await alice.patch(`/v1/copy-mappings/${mapping}`, { enabled: false });
    did('mapping.update', 'copyMapping', mapping);
    await alice.put(`/v1/accounts/${slave}/protection`, { maxOpenPositions: 2 });
    did('protection.put', 'protection', slave);
    await alice.post(`/v1/accounts/${slave}/protection/reset`);
    did('protection.reset', 'protection', slave);
    const position = (await alice.post(`/v1/accounts/${slave}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 })).body.positionId;
    did('trade.place', 'position', position);
    await alice.patch(`/v1/accounts/${slave}/positions/${position}`, { stopLoss: 1.0 });
    did('position.modify', 'position', position);
    await alice.post(`/v1/accounts/${slave}/positions/${position}/close`, {});
    did('position.close', 'position', position);
    const order = (await alice.post(`/v1/accounts/${slave}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.1, type: 'limit', price: 0.9 })).body.orderId;
    did('trade.place', 'order', order);
    await alice.delete(`/v1/accounts/${slave}/orders/${order}`);
    did('order.cancel', 'order', order);
    await alice.post('/v1/trades/demo', { accountId: slave });
    did('trades.demo', 'account', slave);
    await alice.delete(`/v1/copy-mappings/${mapping}`);
    did('mapping.delete', 'copyMapping', mapping);
    await alice.delete(`/v1/accounts/${slave}`);
    did('account.delete', 'account', slave);
    // Reads and refusals change nothing and leave no entry.
    await alice.get('/v1/accounts');
    await alice.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: master, sizing: { mode: 'multiplier', multiplier: 1 } });

    await createSimulatedAccount(bob, 'bob-account');
    entries = await all(alice);
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('records every change the tenant made, newest first, with actor, action and resource', () => {
    expect(entries.map(({ action, resourceType, resourceId }) => ({ action, resourceType, resourceId }))).toEqual([...expected].reverse());
    for (const entry of entries) {
      expect(entry).toEqual({
        id: expect.any(String),
        at: expect.any(String),
        actor: 'user:audit-alice',
        action: expect.any(String),
        resourceType: expect.any(String),
        resourceId: expect.any(String),
        details: expect.any(Object),
      });
    }
    const times = entries.map((entry) => Date.parse(entry.at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(new Set(entries.map((entry) => entry.id)).size).toBe(entries.length);
  });

  it('says what changed without any secret', () => {
    const update = entries.find((entry) => entry.action === 'account.update')!;
    expect(update.details).toMatchObject({ before: { name: 'audit-slave' }, after: { name: 'renamed slave' }, passwordChanged: true });
    const trade = entries.find((entry) => entry.action === 'trade.place' && entry.resourceType === 'position')!;
    expect(trade.details).toMatchObject({ symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.1, clientId: expect.stringMatching(/^api/) });
    const text = JSON.stringify(entries);
    for (const password of PASSWORDS) expect(text).not.toContain(password);
    expect(text).not.toContain('encryptedPassword');
  });

  it('shows a tenant only its own entries', async () => {
    const bobs = await all(bob);
    expect(bobs.map((entry) => entry.action)).toEqual(['account.create']);
    expect(bobs[0]!.actor).toBe('user:audit-bob');
    const aliceIds = new Set(entries.map((entry) => entry.id));
    expect(bobs.some((entry) => aliceIds.has(entry.id))).toBe(false);
  });

  it("refuses another tenant's cursor", async () => {
    const page = await alice.get('/v1/audit-log?limit=1');
    const stolen = await bob.get(`/v1/audit-log?cursor=${page.body.nextCursor}`);
    expect(stolen.status).toBe(400);
    expect(stolen.body.errors[0].path).toBe('cursor');
  });
});

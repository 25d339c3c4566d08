import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { createSimulatedAccount } from '../support/api-capture';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

type Copy = {
  id: string;
  mappingId: string;
  status: string;
  reason?: string;
  symbol: string;
  detectedAt: string;
  masterAccountId: string;
  slaveAccountId: string;
};

describe('GET /v1/copies: every copy of the tenant, filtered', () => {
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;
  let master: string;
  let slaveA: string;
  let slaveB: string;
  let mappingA: string;
  let mappingB: string;

  const all = async (query: string, limit = 2): Promise<Copy[]> => {
    const items: Copy[] = [];
    let cursor: string | undefined;
    do {
      const answer = await api.get(`/v1/copies?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(answer.status, answer.text).toBe(200);
      items.push(...answer.body.items);
      cursor = answer.body.nextCursor;
    } while (cursor);
    return items;
  };

  beforeAll(async () => {
    system = await startTestSystem();
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-feed'));
    master = await createSimulatedAccount(api, 'feed-master');
    slaveA = await createSimulatedAccount(api, 'feed-slave-a');
    slaveB = await createSimulatedAccount(api, 'feed-slave-b');
    mappingA = (await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slaveA, sizing: { mode: 'multiplier', multiplier: 1 } })).body
      .id;
    // The second slave takes only gold: the EURUSD trade is skipped there.
    mappingB = (
      await api.post('/v1/copy-mappings', {
        masterAccountId: master,
        slaveAccountId: slaveB,
        sizing: { mode: 'multiplier', multiplier: 1 },
        symbols: { include: ['XAUUSD'] },
      })
    ).body.id;
    await system.syncNow(true);
    for (const symbol of ['EURUSD', 'XAUUSD']) {
      await api.post(`/local/simulator/accounts/${master}/trades`, { symbol, side: 'buy', volume: 0.1 });
      await eventually(async () => ((await all('')).filter((copy) => copy.symbol === symbol).length === 2 ? true : undefined), 10_000);
    }
    // Another tenant's copies exist too.
    const other = apiClient(system.url, await tokenFor(system.url, 'tenant-feed-other'));
    const otherMaster = await createSimulatedAccount(other, 'other-master');
    const otherSlave = await createSimulatedAccount(other, 'other-slave');
    await other.post('/v1/copy-mappings', { masterAccountId: otherMaster, slaveAccountId: otherSlave, sizing: { mode: 'multiplier', multiplier: 1 } });
    await system.syncNow(true);
    await other.post(`/local/simulator/accounts/${otherMaster}/trades`, { symbol: 'EURUSD', side: 'sell', volume: 0.1 });
    await eventually(async () => ((await other.get('/v1/copies')).body.items.length === 1 ? true : undefined), 10_000);
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('lists every copy of the tenant newest first, and nothing of another tenant', async () => {
    const copies = await all('');
    expect(copies).toHaveLength(4);
    expect(new Set(copies.map((copy) => copy.mappingId))).toEqual(new Set([mappingA, mappingB]));
    const times = copies.map((copy) => copy.detectedAt);
    expect(times).toEqual([...times].sort().reverse());
  });

  it('filters by status, mapping and account (as master or as slave)', async () => {
    const skipped = await all('&status=skipped');
    expect(skipped).toEqual([expect.objectContaining({ mappingId: mappingB, symbol: 'EURUSD', reason: 'SYMBOL_FILTERED' })]);
    expect((await all('&status=placed')).map((copy) => `${copy.mappingId}:${copy.symbol}`).sort()).toEqual(
      [`${mappingA}:EURUSD`, `${mappingA}:XAUUSD`, `${mappingB}:XAUUSD`].sort(),
    );
    expect((await all(`&mappingId=${mappingA}`)).every((copy) => copy.mappingId === mappingA)).toBe(true);
    expect(await all(`&accountId=${master}`)).toHaveLength(4);
    expect((await all(`&accountId=${slaveB}&status=placed`)).map((copy) => copy.symbol)).toEqual(['XAUUSD']);
    expect(await all('&accountId=acc_not_mine')).toEqual([]);
  });

  it('takes a time window, as date-times or dates, and ignores parameters it does not know', async () => {
    const copies = await all('');
    // One master event, two mappings: the gold copies were detected after the EURUSD ones.
    const gold = copies.find((copy) => copy.symbol === 'XAUUSD')!.detectedAt;
    const euro = copies.find((copy) => copy.symbol === 'EURUSD')!.detectedAt;
    expect(gold > euro).toBe(true);
    expect((await all(`&from=${encodeURIComponent(gold)}`)).map((copy) => copy.symbol)).toEqual(['XAUUSD', 'XAUUSD']);
    expect((await all(`&to=${encodeURIComponent(gold)}`)).map((copy) => copy.symbol)).toEqual(['EURUSD', 'EURUSD']);
    expect(await all(`&to=${encodeURIComponent(euro)}`)).toEqual([]);
    const oldest = copies.at(-1)!;
    const today = oldest.detectedAt.slice(0, 10);
    const tomorrow = new Date(Date.parse(today) + 86_400_000).toISOString().slice(0, 10);
    expect(await all(`&from=${today}&to=${tomorrow}&_=${Date.now()}`)).toHaveLength(4);
  });

  it('answers 400 naming the field for a bad filter', async () => {
    const bad = await api.get('/v1/copies?status=done&from=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_REQUEST');
    expect(bad.body.errors.map((error: { path: string }) => error.path).sort()).toEqual(['from', 'status']);
    const reversed = await api.get('/v1/copies?from=2026-12-02&to=2026-12-01');
    expect(reversed.status).toBe(400);
    expect(reversed.body.errors).toEqual([{ path: 'from', message: 'must be before to' }]);
  });
});

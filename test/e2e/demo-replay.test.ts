import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TENANT, demoTraderStep, seedDemo } from '../../local/demo';
import type { LocalSystem } from '../../local/local-system';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

type Copy = { action: string; status: string; masterPositionId?: string; slaveVolume?: number };
type Replayed = { masterPositionId: string; slaveVolume?: number; skipped?: string };
type Trade = { positionId: string; volume: number };

/** A seeded random, so a failure can be run again as it was. */
const seeded = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};

/**
 * The acceptance: the demo master trades by itself (opens, stop moves, partial and full
 * closes, the demo trader's own moves) and live copying follows; a replay of its day with each
 * demo mapping's settings gives every master position the slave volume live copying gave it.
 *
 * The trader's moves are paced by the copier (each move is synced and its copies done before the
 * next), as at the demo's cadence of seconds: a position opened and partly closed between two
 * reads of the master is copied live at the volume it was seen with, while the replay reads the
 * broker's history, which has both.
 */
describe("a replay of the demo master's day", () => {
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;
  let demo: Awaited<ReturnType<typeof seedDemo>>;
  let trades: Trade[];
  const started = new Date(Date.now() - 60_000).toISOString();

  beforeAll(async () => {
    system = await startTestSystem();
    demo = await seedDemo(system, mkdtempSync(join(tmpdir(), 'mt-copier-demo-')));
    api = apiClient(system.url, await tokenFor(system.url, DEMO_TENANT));
    await system.syncNow(true);
    const random = seeded(11);
    for (let move = 0; move < 30; move += 1) {
      demoTraderStep(system, demo.masterAccountId, random);
      await system.syncNow(true);
      await system.drain();
    }
    // The day ends flat: every master position closed, every copy done, the history synced.
    for (const position of system.market.getPositions(demo.masterAccountId)) system.market.traderClose(demo.masterAccountId, position.id);
    await system.syncNow(true);
    await system.drain();
    await eventually(
      async () => {
        await system.syncNow(true);
        const slaves = await Promise.all(demo.slaveAccountIds.map(async (id) => (await api.get(`/local/simulator/accounts/${id}`)).body.positions.length));
        const pending = (await api.get('/v1/copies?status=pending')).body.items.length;
        return slaves.every((count) => count === 0) && pending === 0 ? true : undefined;
      },
      20_000,
      500,
    );
    // Each closed position of the master is in its stored history (the sync keeps it every second here).
    const closedPositions = new Set(
      ((await api.get(`/v1/copies?mappingId=${demo.mappingIds[0]}&limit=100`)).body.items as Copy[])
        .filter((copy) => copy.action === 'open')
        .map((copy) => copy.masterPositionId),
    );
    trades = await eventually(
      async () => {
        await system.syncNow(true);
        const { items } = (await api.get(`/v1/accounts/${demo.masterAccountId}/trades?from=${started}&limit=100`)).body as { items: Trade[] };
        const stored = new Set(items.map((trade) => trade.positionId));
        return [...closedPositions].every((id) => stored.has(id as string)) ? items : undefined;
      },
      20_000,
      500,
    );
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('traded a day worth comparing: several positions, one of them closed in parts', () => {
    const closesPerPosition = new Map<string, number>();
    for (const trade of trades) closesPerPosition.set(trade.positionId, (closesPerPosition.get(trade.positionId) ?? 0) + 1);
    expect(closesPerPosition.size).toBeGreaterThanOrEqual(4);
    expect(Math.max(...closesPerPosition.values())).toBeGreaterThan(1);
  });

  it('gives each master position the slave volume live copying gave it, on both demo mappings', async () => {
    for (const mappingId of demo.mappingIds) {
      const mapping = (await api.get(`/v1/copy-mappings/${mappingId}`)).body;
      const live = ((await api.get(`/v1/copies?mappingId=${mappingId}&limit=100`)).body.items as Copy[]).filter(
        (copy) => copy.action === 'open' && copy.status === 'placed',
      );
      expect(live.length).toBeGreaterThanOrEqual(4);
      const answer = await api.post('/v1/replays', {
        masterAccountId: demo.masterAccountId,
        from: started,
        to: new Date(Date.now() + 60_000).toISOString(),
        mapping: { sizing: mapping.sizing },
        slaveStartingBalance: 10_000,
      });
      expect(answer.status, answer.text).toBe(201);
      // What the slave held of each position is the sum of what its closes took.
      const replayed = new Map<string, number>();
      for (const trade of answer.body.trades as Replayed[]) {
        expect(trade.skipped, trade.masterPositionId).toBeUndefined();
        replayed.set(trade.masterPositionId, Number(((replayed.get(trade.masterPositionId) ?? 0) + (trade.slaveVolume ?? 0)).toFixed(8)));
      }
      for (const copy of live) {
        expect(replayed.get(copy.masterPositionId as string), `position ${copy.masterPositionId} on ${mappingId}`).toBe(copy.slaveVolume);
      }
      expect([...replayed.keys()].sort()).toEqual(live.map((copy) => copy.masterPositionId).sort());
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { createSimulatedAccount } from '../support/api-capture';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

type Copy = { action: string; status: string; symbol: string; slaveVolume?: number; masterPositionId?: string };

/** The what-if replay against what live copying did with the same master trades. */
describe('POST /v1/replays', () => {
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;
  let master: string;
  let mappingId: string;
  const started = new Date(Date.now() - 60_000).toISOString();
  const settings = { sizing: { mode: 'multiplier', multiplier: 2 }, symbols: { exclude: ['USDJPY'] }, maxVolume: 0.5 };

  beforeAll(async () => {
    system = await startTestSystem();
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-replay'));
    master = await createSimulatedAccount(api, 'replay-master');
    const slave = await createSimulatedAccount(api, 'replay-slave');
    mappingId = (await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, ...settings })).body.id;
    await system.syncNow(true);
    // Four master trades, each opened and closed in full; the live copies are the record.
    for (const [symbol, volume] of [
      ['EURUSD', 0.1],
      ['GBPUSD', 0.33],
      ['XAUUSD', 0.4],
      ['USDJPY', 0.2],
    ] as const) {
      const opened = await api.post(`/local/simulator/accounts/${master}/trades`, { symbol, side: 'buy', volume });
      await eventually(async () => {
        const { items } = (await api.get(`/v1/copies?mappingId=${mappingId}`)).body as { items: Copy[] };
        return items.some((copy) => copy.symbol === symbol && copy.action === 'open' && copy.status !== 'pending') ? true : undefined;
      }, 10_000);
      await api.post(`/local/simulator/accounts/${master}/positions/${opened.body.positionId}/close`, {});
    }
    // The sync keeps the master's closed trades (every second locally).
    await eventually(
      async () => {
        await system.syncNow(true);
        const { items } = (await api.get(`/v1/accounts/${master}/trades?from=${started}`)).body as { items: unknown[] };
        return items.length === 4 ? true : undefined;
      },
      20_000,
      500,
    );
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('gives the same slave volumes as live copying gave for the same trades, and touches no broker', async () => {
    const slaveBefore = (await api.get(`/v1/copies?mappingId=${mappingId}`)).body.items.length;
    const answer = await api.post('/v1/replays', {
      masterAccountId: master,
      from: started,
      to: new Date(Date.now() + 60_000).toISOString(),
      mapping: settings,
      slaveStartingBalance: 10_000,
    });
    expect(answer.status, answer.text).toBe(201);
    const live = ((await api.get(`/v1/copies?mappingId=${mappingId}`)).body.items as Copy[]).filter((copy) => copy.action === 'open');
    const liveBySymbol = Object.fromEntries(live.map((copy) => [copy.symbol, copy.status === 'placed' ? copy.slaveVolume : 'skipped']));
    const replayed = answer.body.trades as { symbol: string; slaveVolume?: number; skipped?: string }[];
    expect(Object.fromEntries(replayed.map((trade) => [trade.symbol, trade.skipped ? 'skipped' : trade.slaveVolume]))).toEqual(liveBySymbol);
    // 0.1 x 2, 0.33 x 2, 0.4 x 2 capped at 0.5; USDJPY excluded.
    expect(liveBySymbol).toEqual({ EURUSD: 0.2, GBPUSD: 0.5, XAUUSD: 0.5, USDJPY: 'skipped' });
    expect(answer.body.summary).toMatchObject({ copied: 3, skipped: { SYMBOL_FILTERED: 1 } });
    expect((await api.get(`/v1/copies?mappingId=${mappingId}`)).body.items).toHaveLength(slaveBefore);
  });

  it('refuses a window over 366 days, or one that ends before it starts, naming the field', async () => {
    const long = await api.post('/v1/replays', {
      masterAccountId: master,
      from: '2025-01-01',
      to: '2026-01-03',
      mapping: settings,
      slaveStartingBalance: 10_000,
    });
    expect(long.status).toBe(400);
    expect(long.body.errors).toEqual([{ path: 'to', message: 'the window may span at most 366 days' }]);
    const backwards = await api.post('/v1/replays', {
      masterAccountId: master,
      from: '2026-02-01',
      to: '2026-01-01',
      mapping: settings,
      slaveStartingBalance: 10_000,
    });
    expect(backwards.body.errors).toEqual([{ path: 'from', message: 'must be before to' }]);
    expect(
      (await api.post('/v1/replays', { masterAccountId: 'acc_nope', from: '2026-01-01', to: '2026-02-01', mapping: settings, slaveStartingBalance: 1 })).status,
    ).toBe(404);
  });
});

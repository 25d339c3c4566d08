import { z } from 'zod';
import type { AccountBook } from '../../shared/domain/account-book';
import type { Runtime } from '../../shared/runtime/runtime';
import { syncShard } from '../../shared/use-cases/sync-accounts';

export const syncEventSchema = z.object({
  shard: z.number().int().min(0).default(0),
  shards: z.number().int().min(1).default(1),
});

/** A book or account without changes is rewritten at most this often (fresh funds, bounded writes). */
export const BOOK_REFRESH_MS = 60_000;

/** Books this container committed; kept across warm invocations (see SyncDependencies.bookCache). */
const bookCache = new Map<string, AccountBook>();

export interface LoopClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: LoopClock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

/**
 * The cadence of one scheduled invocation: a pass every `intervalMs` (the next one interval
 * after the previous began, or at once when a slow pass already took longer) for as long as
 * a pass may still begin (`lastStartAt`), the other accounts included once per
 * `slaveIntervalMs`. A master so waits at most one interval or one pass, also across the
 * minute boundary where the next invocation takes over.
 */
export const runSyncLoop = async (
  options: { intervalMs: number; slaveIntervalMs: number; lastStartAt: number; clock?: LoopClock },
  pass: (includeSlaves: boolean) => Promise<number>,
): Promise<{ passes: number; events: number }> => {
  const clock = options.clock ?? realClock;
  let passes = 0;
  let events = 0;
  let lastSlaveSync = Number.NEGATIVE_INFINITY;
  for (let due = clock.now(); due <= options.lastStartAt; ) {
    const wait = due - clock.now();
    if (wait > 0) await clock.sleep(wait);
    const began = clock.now();
    const includeSlaves = began - lastSlaveSync >= options.slaveIntervalMs;
    if (includeSlaves) lastSlaveSync = began;
    events += await pass(includeSlaves);
    passes += 1;
    due = Math.max(began + options.intervalMs, clock.now());
  }
  return { passes, events };
};

/** One pass over a shard with the container's runtime and book cache. */
export const shardPass = (runtime: Runtime, event: z.infer<typeof syncEventSchema>) => async (includeSlaves: boolean): Promise<number> =>
  (await syncShard({ ...runtime, bookRefreshMs: BOOK_REFRESH_MS, bookCache }, { shard: event.shard, shards: event.shards, includeSlaves })).events;

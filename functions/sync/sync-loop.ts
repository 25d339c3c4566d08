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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One scheduled invocation: polls the shard's masters every MASTER_POLL_INTERVAL_MS and
 * the other accounts every SLAVE_SYNC_INTERVAL_MS until the time budget is spent. The
 * schedule fires every minute, so the budget is a little under a minute.
 */
export const runSyncLoop = async (
  runtime: Runtime,
  event: z.infer<typeof syncEventSchema>,
  remainingMs: () => number,
): Promise<{ passes: number; events: number }> => {
  const { MASTER_POLL_INTERVAL_MS: interval, SLAVE_SYNC_INTERVAL_MS: slaveInterval } = runtime.config;
  let passes = 0;
  let events = 0;
  let lastSlaveSync = Number.NEGATIVE_INFINITY;
  while (remainingMs() > interval + 5_000 || passes === 0) {
    const started = Date.now();
    const includeSlaves = started - lastSlaveSync >= slaveInterval;
    if (includeSlaves) lastSlaveSync = started;
    const result = await syncShard({ ...runtime, bookRefreshMs: BOOK_REFRESH_MS, bookCache }, { shard: event.shard, shards: event.shards, includeSlaves });
    passes += 1;
    events += result.events;
    const elapsed = Date.now() - started;
    if (remainingMs() <= interval + 5_000) break;
    await sleep(Math.max(0, interval - elapsed));
  }
  return { passes, events };
};

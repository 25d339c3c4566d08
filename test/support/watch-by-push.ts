import { BOOK_REFRESH_MS } from '../../functions/sync/sync-loop';
import type { Runtime } from '../../shared/runtime/runtime';
import { watchShard } from '../../shared/use-cases/watch-shard';

/**
 * One shard watched as the sync Lambda watches it (`watchShard`, streams held), with polls a
 * minute apart: whatever a test sees copied within seconds came by the broker's push. Returns
 * the function that stops it.
 */
export const watchByPush = (runtime: Runtime, owner: string): (() => Promise<void>) => {
  const controller = new AbortController();
  const running = watchShard(
    { ...runtime, bookRefreshMs: BOOK_REFRESH_MS, bookCache: new Map() },
    {
      owner,
      shard: 0,
      shards: 1,
      endsAt: Date.now() + 120_000,
      pollIntervalMs: 60_000,
      slaveIntervalMs: 60_000,
      reconcileIntervalMs: 600_000,
      streaming: true,
      leaseMs: 10_000,
      handOverMs: 1_000,
      syncWaitMs: 8_000,
      signal: controller.signal,
    },
  );
  return async () => {
    controller.abort();
    await running;
  };
};

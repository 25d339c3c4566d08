import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { lambdaRuntime } from '../lambda-runtime';
import { runSyncLoop, shardPass, syncEventSchema } from './sync-loop';

/** The last pass of a minute begins at most this long after the invocation started (the schedule fires every 60 s). */
const LAST_PASS_START_MS = 56_000;
/** Time a pass may take after it began (MetaApi reads are bounded well under this). */
const PASS_ALLOWANCE_MS = 12_000;

/** EventBridge target, every minute per shard: `{ "shard": i, "shards": N }`. */
export const handler = middy<unknown, { passes: number; events: number }>().handler(async (event, context: Context) => {
  const runtime = await lambdaRuntime('sync');
  const shard = syncEventSchema.parse(event ?? {});
  const lastStartAt = Date.now() + Math.min(LAST_PASS_START_MS, context.getRemainingTimeInMillis() - PASS_ALLOWANCE_MS);
  return runSyncLoop(
    { intervalMs: runtime.config.MASTER_POLL_INTERVAL_MS, slaveIntervalMs: runtime.config.SLAVE_SYNC_INTERVAL_MS, lastStartAt },
    shardPass(runtime, shard),
  );
});

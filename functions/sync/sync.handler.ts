import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { lambdaRuntime } from '../lambda-runtime';
import { runSyncLoop, syncEventSchema } from './sync-loop';

/** EventBridge target, every minute per shard: `{ "shard": i, "shards": N }`. */
export const handler = middy<unknown, { passes: number; events: number }>().handler(async (event, context: Context) => {
  const runtime = await lambdaRuntime('sync');
  // The minute's budget ends 10 s before the next schedule fires.
  const deadline = Date.now() + Math.min(context.getRemainingTimeInMillis() - 5_000, 50_000);
  return runSyncLoop(runtime, syncEventSchema.parse(event ?? {}), () => deadline - Date.now());
});

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { tracerFor } from '../../shared/adapters/tracing/xray-tracing';
import { loggerFor } from '../../shared/adapters/logging/powertools-log';
import type { Context } from 'aws-lambda';
import type { ShardWatchResult } from '../../shared/use-cases/watch-shard';
import { watchShard } from '../../shared/use-cases/watch-shard';
import { lambdaRuntime } from '../lambda-runtime';
import { STOP_ALLOWANCE_MS, syncEventSchema, watchDependencies, watchOptions } from './sync-loop';

/**
 * EventBridge target, every minute per shard: `{ "shard": i, "shards": N }`. The invocation
 * that owns the shard's lease watches it until shortly before its timeout (15 minutes in the
 * stack); the others return at once, or take over from an owner that is ending.
 */
export const handler = middy<unknown, ShardWatchResult>()
  // Every log line of the invocation carries its request id, cold start and function.
  .use(injectLambdaContext(loggerFor('sync'), { resetKeys: true }))
  // A trace per invocation: the AWS SDK requests and the broker calls are its subsegments.
  .use(captureLambdaHandler(tracerFor('sync'), { captureResponse: false }))
  .handler(async (event, context: Context) => {
    const runtime = await lambdaRuntime('sync');
    const shard = syncEventSchema.parse(event ?? {});
    const endsAt = Date.now() + context.getRemainingTimeInMillis() - STOP_ALLOWANCE_MS;
    return watchShard(watchDependencies(runtime), watchOptions(runtime, shard, context.awsRequestId, endsAt));
  });

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { loggerFor } from '../../shared/adapters/logging/powertools-log';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { lambdaRuntime } from '../lambda-runtime';
import { copyBatchDependencies, processCopyBatch } from './copy-worker';

/** SQS consumer of the copy-signal FIFO queue (ReportBatchItemFailures). */
export const handler = middy<SQSEvent, SQSBatchResponse>()
  // Every log line of the invocation carries its request id, cold start and function.
  .use(injectLambdaContext(loggerFor('copy'), { resetKeys: true }))
  .handler(async (event, context) =>
    processCopyBatch(copyBatchDependencies(await lambdaRuntime('copy')), event, { remainingMs: () => context.getRemainingTimeInMillis() }),
  );

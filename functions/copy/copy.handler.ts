import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { tracerFor } from '../../shared/adapters/tracing/xray-tracing';
import { loggerFor } from '../../shared/adapters/logging/powertools-log';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { lambdaRuntime } from '../lambda-runtime';
import { copyBatchDependencies, processCopyBatch } from './copy-worker';

/** SQS consumer of the copy-signal FIFO queue (ReportBatchItemFailures). */
export const handler = middy<SQSEvent, SQSBatchResponse>()
  // Every log line of the invocation carries its request id, cold start and function.
  .use(injectLambdaContext(loggerFor('copy'), { resetKeys: true }))
  // A trace per invocation: the AWS SDK requests and the broker calls are its subsegments.
  .use(captureLambdaHandler(tracerFor('copy'), { captureResponse: false }))
  .handler(async (event, context) =>
    processCopyBatch(copyBatchDependencies(await lambdaRuntime('copy')), event, { remainingMs: () => context.getRemainingTimeInMillis() }),
  );

import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { lambdaRuntime } from '../lambda-runtime';
import { copyBatchDependencies, processCopyBatch } from './copy-worker';

/** SQS consumer of the copy-signal FIFO queue (ReportBatchItemFailures). */
export const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event, context) =>
  processCopyBatch(copyBatchDependencies(await lambdaRuntime('copy')), event, { remainingMs: () => context.getRemainingTimeInMillis() }),
);

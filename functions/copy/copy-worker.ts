import { ChangeMessageVisibilityBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { copySignalSchema } from '../../shared/schemas/copy-signal.schema';
import type { Runtime } from '../../shared/runtime/runtime';
import { CopyRetryLaterError, copySignal } from '../../shared/use-cases/copy-signal';

/** How long a claim on a copy record holds: longer than one copy can take, shorter than the queue's visibility. */
export const COPY_LEASE_MS = 45_000;

/**
 * Processes a batch of copy signals in order and reports failures one by one, so one poison
 * message fails alone. On a FIFO queue a failed message also fails the later messages of
 * its group in the batch: a slave never sees a close before the open it follows.
 */
export const processCopyBatch = async (runtime: Runtime, event: SQSEvent): Promise<SQSBatchResponse> => {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  const blockedGroups = new Map<string, number>();
  const comeBack: { id: string; receiptHandle: string; delaySeconds: number }[] = [];
  for (const message of event.Records) {
    const group = message.attributes.MessageGroupId ?? message.messageId;
    const blockedFor = blockedGroups.get(group);
    if (blockedFor !== undefined) {
      failures.push({ itemIdentifier: message.messageId });
      if (blockedFor > 0) comeBack.push({ id: message.messageId, receiptHandle: message.receiptHandle, delaySeconds: blockedFor });
      continue;
    }
    try {
      const parsed = copySignalSchema.safeParse(JSON.parse(message.body));
      if (!parsed.success) throw new Error(`malformed copy signal: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`);
      await copySignal(
        { ...runtime, leaseMs: COPY_LEASE_MS, onFinished: runtime.onCopyFinished },
        parsed.data,
      );
    } catch (error) {
      const later = error instanceof CopyRetryLaterError;
      runtime.log[later ? 'info' : 'error']('copy signal not finished', {
        messageId: message.messageId,
        reason: error instanceof Error ? error.message : String(error),
      });
      failures.push({ itemIdentifier: message.messageId });
      // A signal that asked to come back later returns after its own delay instead of the
      // queue's whole visibility timeout; poison keeps the full timeout on its way to the DLQ.
      const delaySeconds = later ? Math.min(Math.max(error.delaySeconds, 1), 900) : 0;
      if (later) comeBack.push({ id: message.messageId, receiptHandle: message.receiptHandle, delaySeconds });
      blockedGroups.set(group, delaySeconds);
    }
  }
  await shortenVisibility(runtime, comeBack);
  return { batchItemFailures: failures };
};

const shortenVisibility = async (runtime: Runtime, messages: { id: string; receiptHandle: string; delaySeconds: number }[]): Promise<void> => {
  for (let start = 0; start < messages.length; start += 10) {
    const batch = messages.slice(start, start + 10);
    try {
      await runtime.clients.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: runtime.config.COPY_QUEUE_URL,
          Entries: batch.map((message) => ({ Id: message.id, ReceiptHandle: message.receiptHandle, VisibilityTimeout: message.delaySeconds })),
        }),
      );
    } catch (error) {
      // Only the retry delay is lost: the message still comes back after the full timeout.
      runtime.log.warn('could not shorten visibility of retried copy signals', { error: String(error) });
    }
  }
};

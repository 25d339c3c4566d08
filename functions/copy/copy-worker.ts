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
  const blockedGroups = new Set<string>();
  for (const message of event.Records) {
    const group = message.attributes.MessageGroupId ?? message.messageId;
    if (blockedGroups.has(group)) {
      failures.push({ itemIdentifier: message.messageId });
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
      blockedGroups.add(group);
    }
  }
  return { batchItemFailures: failures };
};

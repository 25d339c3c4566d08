import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { linkTicketOf } from '../../shared/domain/master-events';
import { type Log, type LogKeys, withLogKeys } from '../../shared/ports/log';
import type { CopySignal, SignalDeliveries } from '../../shared/ports/stores';
import type { Runtime } from '../../shared/runtime/runtime';
import { copySignalSchema } from '../../shared/schemas/copy-signal.schema';
import { type CopyDependencies, CopyRetryLaterError, copySignal } from '../../shared/use-cases/copy-signal';

/**
 * How long one signal may work at the broker: a connect, a lookup, a quote or funds read and
 * the order itself, each within its own broker budget (MetaApi's in the copy function: 8 s to
 * connect, 4 s a request, 8 s a trade), with room for DynamoDB.
 */
export const COPY_DEADLINE_MS = 15_000;

/**
 * The longest a broker call can still be on its way after the deadline (the longest single
 * budget, a trade's 8 s, and a margin): only then may another delivery take the claim over
 * and look the client id up.
 */
export const BROKER_CALL_MARGIN_MS = 10_000;

/** How long a claim on a copy record holds: the deadline and the margin, shorter than the copy function's timeout. */
export const COPY_LEASE_MS = COPY_DEADLINE_MS + BROKER_CALL_MARGIN_MS;

/** A signal is started only with this much of the invocation left, so no invocation ends mid-signal. */
export const START_SIGNAL_MIN_REMAINING_MS = COPY_DEADLINE_MS + 2_000;

type Message = SQSEvent['Records'][number];
type Failure = { messageId: string; comeBackAfterSeconds?: number };

/** What the copy worker works with, by name. */
export interface CopyBatchDependencies {
  copy: CopyDependencies;
  deliveries: SignalDeliveries;
  log: Log;
}

/** The worker's dependencies from the runtime: its stores, brokers and queue, and the deadlines above. */
export const copyBatchDependencies = (runtime: Runtime): CopyBatchDependencies => ({
  copy: {
    copyContext: runtime.copyContext,
    accounts: runtime.accounts,
    mappings: runtime.mappings,
    copies: runtime.copies,
    protections: runtime.protections,
    queue: runtime.queue,
    brokers: runtime.brokers,
    now: runtime.now,
    log: runtime.log,
    metrics: runtime.metrics,
    leaseMs: COPY_LEASE_MS,
    deadlineMs: COPY_DEADLINE_MS,
    deferSeconds: runtime.config.COPY_DEFER_SECONDS,
    worker: runtime.copyWorker,
    onFinished: runtime.onCopyFinished,
  },
  deliveries: runtime.deliveries,
  log: runtime.log,
});

/**
 * Processes a batch of copy signals and reports failures one by one, so one poison message
 * fails alone. Each slave's signals (its FIFO group) run in order, and a failed signal also
 * fails the later ones of its group: a slave never sees a close before the open it follows.
 * Different slaves run side by side, so one slow broker does not hold up the others.
 */
export const processCopyBatch = async (
  deps: CopyBatchDependencies,
  event: SQSEvent,
  options: { remainingMs?: () => number } = {},
): Promise<SQSBatchResponse> => {
  const groups = new Map<string, Message[]>();
  for (const message of event.Records) {
    const group = message.attributes.MessageGroupId ?? message.messageId;
    groups.set(group, [...(groups.get(group) ?? []), message]);
  }
  const failed = (await Promise.all([...groups.values()].map((messages) => processGroup(deps, messages, options.remainingMs)))).flat();
  const byId = new Map(event.Records.map((record) => [record.messageId, record]));
  const returned = failed.flatMap((failure) => {
    const message = byId.get(failure.messageId);
    return message && failure.comeBackAfterSeconds ? [{ receiptHandle: message.receiptHandle, delaySeconds: failure.comeBackAfterSeconds }] : [];
  });
  if (returned.length > 0) {
    try {
      await deps.deliveries.returnLater(returned);
    } catch (error) {
      // Only the retry delay is lost: the messages still come back after the full timeout.
      deps.log.warn('could not shorten visibility of retried copy signals', { error, messages: returned.length });
    }
  }
  const failedIds = new Set(failed.map((failure) => failure.messageId));
  // In the batch's own order, as the event source expects.
  return { batchItemFailures: event.Records.filter((record) => failedIds.has(record.messageId)).map((record) => ({ itemIdentifier: record.messageId })) };
};

/** The keys every log line of a signal carries, as far as the message says them. */
const signalKeys = (signal: CopySignal | undefined): LogKeys =>
  signal
    ? {
        tenantId: signal.tenantId,
        mappingId: signal.mappingId,
        masterAccountId: signal.masterAccountId,
        slaveAccountId: signal.slaveAccountId,
        eventId: signal.event.id,
        eventKind: signal.event.kind,
        masterTicket: linkTicketOf(signal.event),
      }
    : {};

const processGroup = async (deps: CopyBatchDependencies, messages: Message[], remainingMs?: () => number): Promise<Failure[]> => {
  for (const [index, message] of messages.entries()) {
    if (remainingMs && remainingMs() < START_SIGNAL_MIN_REMAINING_MS) {
      // Not enough of the invocation left for a whole signal: the rest of the group comes back
      // at once to the next invocation, rather than dying with a claim half done.
      return messages.slice(index).map((held) => ({ messageId: held.messageId, comeBackAfterSeconds: 1 }));
    }
    let signal: CopySignal | undefined;
    try {
      const parsed = copySignalSchema.safeParse(JSON.parse(message.body));
      if (!parsed.success) throw new Error(`malformed copy signal: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`);
      const parsedSignal = parsed.data;
      signal = parsedSignal;
      await withLogKeys(signalKeys(parsedSignal), () => copySignal(deps.copy, parsedSignal));
    } catch (error) {
      const later = error instanceof CopyRetryLaterError;
      deps.log[later ? 'info' : 'error']('copy signal not finished', { messageId: message.messageId, ...signalKeys(signal), error });
      // A signal that asked to come back later returns after its own delay (and the rest of
      // its group with it) instead of the queue's whole visibility timeout; poison keeps the
      // full timeout on its way to the DLQ.
      const comeBackAfterSeconds = later ? Math.min(Math.max(error.delaySeconds, 1), 900) : undefined;
      return messages.slice(index).map((held) => ({ messageId: held.messageId, comeBackAfterSeconds }));
    }
  }
  return [];
};

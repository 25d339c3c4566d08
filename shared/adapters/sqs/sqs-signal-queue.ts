import { ChangeMessageVisibilityBatchCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { copyRecordId } from '../../domain/copy-record';
import type { CopySignal, ReturnedDelivery, SignalDeliveries, SignalQueue } from '../../ports/stores';

const BATCH = 10;

/** Batches on their way to SQS at once. */
const IN_FLIGHT = 16;

/**
 * The copy-signal FIFO queue. Messages are grouped by slave account, so one slave sees its
 * masters' events in order while slaves are served in parallel, and deduplicated by
 * (mapping, event), so a change detected twice is delivered once.
 */
export class SqsSignalQueue implements SignalQueue, SignalDeliveries {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /**
   * Sends the signals in batches of ten, as they come. A batch goes out once every earlier
   * batch with a signal of one of its slaves is in the queue, so each slave's signals keep
   * their order; batches of different slaves go side by side (a fan-out to a thousand slaves
   * is a hundred batches at once, not one after another). When a batch fails, the later
   * batches of its slaves are not sent: the caller sends the whole list again, and SQS
   * deduplicates what had arrived.
   */
  async send(signals: CopySignal[]): Promise<void> {
    const batches: CopySignal[][] = [];
    for (let start = 0; start < signals.length; start += BATCH) batches.push(signals.slice(start, start + BATCH));
    const lastOfSlave = new Map<string, Promise<void>>();
    const slots = new Slots(IN_FLIGHT);
    const sends = batches.map((batch) => {
      const slaves = [...new Set(batch.map((signal) => signal.slaveAccountId))];
      const before = slaves.map((slave) => lastOfSlave.get(slave)).filter((sent): sent is Promise<void> => sent !== undefined);
      const sent = Promise.all(before).then(() => slots.run(() => this.sendBatch(batch)));
      for (const slave of slaves) lastOfSlave.set(slave, sent);
      return sent;
    });
    const results = await Promise.allSettled(sends);
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  async returnLater(deliveries: ReturnedDelivery[]): Promise<void> {
    for (let start = 0; start < deliveries.length; start += BATCH) {
      const batch = deliveries.slice(start, start + BATCH);
      const result = await this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((delivery, index) => ({ Id: String(index), ReceiptHandle: delivery.receiptHandle, VisibilityTimeout: delivery.delaySeconds })),
        }),
      );
      if (result.Failed && result.Failed.length > 0) {
        throw new Error(
          `SQS refused to return ${result.Failed.length} of ${batch.length} copy signals: ${result.Failed.map((failure) => failure.Code).join(', ')}`,
        );
      }
    }
  }

  private async sendBatch(batch: CopySignal[]): Promise<void> {
    const result = await this.client.send(
      new SendMessageBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: batch.map((signal, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify(signal),
          MessageGroupId: signal.slaveAccountId,
          MessageDeduplicationId: copyRecordId(signal.mappingId, signal.event.id),
        })),
      }),
    );
    if (result.Failed && result.Failed.length > 0) {
      const codes = result.Failed.map((failure) => failure.Code).join(', ');
      throw new Error(`SQS refused ${result.Failed.length} of ${batch.length} copy signals: ${codes}`);
    }
  }
}

/** At most `size` tasks at once; the others wait their turn in order. */
class Slots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finished task hands its slot straight to the next in line.
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}

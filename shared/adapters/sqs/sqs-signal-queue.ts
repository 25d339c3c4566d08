import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { copyRecordId } from '../../domain/copy-record';
import type { CopySignal, SignalQueue } from '../../ports/stores';

const BATCH = 10;

/**
 * The copy-signal FIFO queue. Messages are grouped by slave account, so one slave sees its
 * masters' events in order while slaves are served in parallel, and deduplicated by
 * (mapping, event), so a change detected twice is delivered once.
 */
export class SqsSignalQueue implements SignalQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(signals: CopySignal[]): Promise<void> {
    for (let start = 0; start < signals.length; start += BATCH) {
      const batch = signals.slice(start, start + BATCH);
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
}

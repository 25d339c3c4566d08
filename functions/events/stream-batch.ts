import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { itemChangeOf } from '../../shared/adapters/dynamodb/item-changes';
import { type ItemChange, type PublishDependencies, publishLiveEvents } from '../../shared/use-cases/publish-live-events';

/**
 * One batch of the main table's stream, told to the tenants watching: each record's images
 * become an item change, and the changes are published together, in stream order. Delivery
 * failures are the use case's to swallow (live events are best effort), and a record whose
 * images cannot be read is skipped with an error logged: reading it again would fail again.
 * Only a publish that throws reports the batch as failed, from its first record, so the
 * event source mapping's bisection, retry cap and record age bound what it costs the stream.
 */
export const publishStreamBatch = async (deps: PublishDependencies, event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const changes: ItemChange[] = [];
  for (const record of event.Records) {
    if (!record.dynamodb) continue;
    try {
      changes.push(itemChangeOf(record.dynamodb));
    } catch (error) {
      deps.log.error('stream record not readable: skipped', { eventID: record.eventID, sequenceNumber: record.dynamodb.SequenceNumber, error });
    }
  }
  try {
    await publishLiveEvents(deps, changes);
    return { batchItemFailures: [] };
  } catch (error) {
    deps.log.error('live events not published: the batch is retried', { records: event.Records.length, error });
    const first = event.Records.find((record) => record.dynamodb?.SequenceNumber)?.dynamodb?.SequenceNumber;
    return { batchItemFailures: first ? [{ itemIdentifier: first }] : [] };
  }
};

import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type Shard,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import type { StreamImages } from '../../shared/adapters/dynamodb/item-changes';
import type { Log } from '../../shared/ports/log';

export interface TableStreamReaderOptions {
  dynamo: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  tableName: string;
  /** Called with each batch of records, in the shard's order; the next read waits for it. */
  onRecords: (records: StreamImages[]) => Promise<void>;
  log: Log;
  /** @default 100 */
  pollIntervalMs?: number;
}

/** How often the shard list is read again for shards that split off. */
const RESCAN_MS = 5_000;

/**
 * The local stand-in for a Lambda event source mapping on a DynamoDB stream: reads the
 * table's stream from the moment it starts (LATEST of the open shards, then every shard that
 * opens later from its start) and hands each batch of records on. It runs only while someone
 * listens (the live events hub starts and stops it), so an idle `npm start` reads nothing.
 */
export class TableStreamReader {
  /** Each start is a generation: a loop whose generation is over ends at its next turn. */
  private generation = 0;
  private current?: { generation: number; positioned: Promise<void>; loop: Promise<void> };

  constructor(private readonly options: TableStreamReaderOptions) {}

  /** Starts reading (if not already) and resolves once positioned: every change from then on is read. */
  start(): Promise<void> {
    if (this.current) return this.current.positioned;
    const generation = ++this.generation;
    let positioned!: () => void;
    const ready = new Promise<void>((resolve) => {
      positioned = resolve;
    });
    const loop = this.read(generation, positioned)
      .catch((error: unknown) => this.options.log.warn('table stream reader stopped', { error }))
      .finally(positioned);
    this.current = { generation, positioned: ready, loop };
    return ready;
  }

  async stop(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    this.generation += 1;
    await current?.loop;
  }

  private async read(generation: number, positioned: () => void): Promise<void> {
    const running = () => this.generation === generation;
    const { dynamo, streams, tableName, onRecords, log } = this.options;
    const interval = this.options.pollIntervalMs ?? 100;
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    const streamArn = Table?.LatestStreamArn;
    if (!streamArn) throw new Error(`table ${tableName} has no stream`);
    const known = new Set<string>();
    const iterators = new Map<string, string>();
    const open = async (shard: Shard, type: ShardIteratorType) => {
      if (!shard.ShardId) return;
      known.add(shard.ShardId);
      const { ShardIterator } = await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: type }));
      if (ShardIterator) iterators.set(shard.ShardId, ShardIterator);
    };
    const scan = async (type: ShardIteratorType) => {
      for (const shard of await this.shards(streamArn)) {
        if (!shard.ShardId || known.has(shard.ShardId)) continue;
        // A shard already closed when the reader started holds only the past.
        if (type === 'LATEST' && shard.SequenceNumberRange?.EndingSequenceNumber) {
          known.add(shard.ShardId);
          continue;
        }
        await open(shard, type);
      }
    };
    await scan('LATEST');
    positioned();
    let scannedAt = Date.now();
    while (running()) {
      let records = 0;
      for (const [shardId, iterator] of [...iterators]) {
        try {
          const result = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
          const batch = (result.Records ?? []).flatMap((record) => (record.dynamodb ? [record.dynamodb as StreamImages] : []));
          records += batch.length;
          if (batch.length > 0) await onRecords(batch);
          if (result.NextShardIterator) iterators.set(shardId, result.NextShardIterator);
          else iterators.delete(shardId);
        } catch (error) {
          // An expired iterator (the reader was paused too long) reads on from now: live
          // events are for what happens while someone watches.
          log.warn('table stream read failed; reading on from now', { shardId, error });
          iterators.delete(shardId);
          await open({ ShardId: shardId }, 'LATEST').catch(() => undefined);
        }
      }
      // Shards split off the ones read (or a shard to read again) are read from their start.
      if (Date.now() - scannedAt >= RESCAN_MS || iterators.size === 0) {
        await scan(known.size === 0 ? 'LATEST' : 'TRIM_HORIZON');
        scannedAt = Date.now();
      }
      if (records === 0 && running()) await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }

  private async shards(streamArn: string): Promise<Shard[]> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const { StreamDescription } = await this.options.streams.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }));
      shards.push(...(StreamDescription?.Shards ?? []));
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start);
    return shards;
  }
}

import {
  GetItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { copyClientId, type CopyRecord, type FinalCopyRecord, type PendingCopyRecord } from '../../domain/copy-record';
import { ConcurrentUpdateError } from '../../domain/errors';
import type { PositionLink } from '../../domain/position-link';
import type { ClaimOptions, ClaimResult, CopyEffects, CopyFilter, CopyStore, Page, PageRequest } from '../../ports/stores';
import { auditItem } from './audit-log';
import { decodeCursor, fromItem, isConditionFailure, page, queryAll, tenantKey, toItem, type TableRef } from './table';
import { required } from '../../domain/required';

/**
 * A record is keyed by the client id of its broker side effect, which is derived from
 * (mapping, event): one record per (mapping, event) as before, and a trade found at a
 * broker with one of our client ids leads straight to the record that placed it.
 */
export const copyRecordKey = (tenantId: string, clientId: string) => ({ pk: tenantKey(tenantId), sk: `COPY#${clientId}` });
export const linkKey = (tenantId: string, mappingId: string, masterTicket: string) => ({
  pk: tenantKey(tenantId),
  sk: `LINK#${mappingId}#${masterTicket}`,
});

/** A mapping's copies, newest first; the tenant is part of the partition like everywhere else. */
const timelineKey = (tenantId: string, mappingId: string) => `COPIES#${tenantId}#${mappingId}`;

/** All of a tenant's copies, newest first (gsi2). */
const tenantTimelineKey = (tenantId: string) => `COPIES#${tenantId}`;

/** How many reads one page of a filtered list may take before it answers with what it found and a cursor. */
const MAX_READS_PER_PAGE = 10;

/** How long a closed position link is kept (DynamoDB TTL on `expiresAt`). */
export const CLOSED_LINK_TTL_SECONDS = 7 * 24 * 3600;

interface Lease {
  leaseUntil?: number;
  workerEpoch?: number;
}
type StoredRecord = CopyRecord & Lease;

const withoutLease = <R extends CopyRecord>(stored: R & Lease): R => {
  const { leaseUntil: _l, workerEpoch: _w, ...record } = stored;
  return record as unknown as R;
};

/**
 * Copy records and position links. A record's `attempts` doubles as a fencing token: only
 * the worker holding the latest claim can finish it.
 */
export class DynamoCopyStore implements CopyStore {
  constructor(
    private readonly table: TableRef,
    private readonly auditTable: TableRef,
  ) {}

  async claim(record: PendingCopyRecord, options: ClaimOptions): Promise<ClaimResult> {
    const { attempts: _a, status: _s, ...fixed } = record;
    const names: Record<string, string> = { '#status': 'status', '#attempts': 'attempts', '#lease': 'leaseUntil', '#epoch': 'workerEpoch' };
    const values: Record<string, unknown> = {
      ':pending': 'pending',
      ':zero': 0,
      ':one': 1,
      ':now': options.now.getTime(),
      ':lease': options.now.getTime() + options.leaseMs,
      ':epoch': options.worker?.epoch ?? 0,
    };
    const sets = ['#status = if_not_exists(#status, :pending)', '#attempts = if_not_exists(#attempts, :zero) + :one', '#lease = :lease', '#epoch = :epoch'];
    // A worker that supersedes older ones takes their claims over at once: they are known dead.
    const takeable = options.worker?.supersedes ? '(#lease < :now OR #epoch < :epoch OR attribute_not_exists(#epoch))' : '#lease < :now';
    const firstOnly: Record<string, unknown> = {
      ...fixed,
      gsi1pk: timelineKey(record.tenantId, record.mappingId),
      gsi1sk: `${record.detectedAt}#${record.id}`,
      gsi2pk: tenantTimelineKey(record.tenantId),
      gsi2sk: `${record.detectedAt}#${record.id}`,
      entity: 'copy',
    };
    Object.entries(firstOnly).forEach(([field, value], index) => {
      if (value === undefined) return;
      names[`#c${index}`] = field;
      values[`:c${index}`] = value;
      sets.push(`#c${index} = if_not_exists(#c${index}, :c${index})`);
    });
    try {
      const { Attributes } = await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: toItem(copyRecordKey(record.tenantId, record.clientId)),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `attribute_not_exists(pk) OR (#status = :pending AND ${takeable})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: toItem(values),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const claimed = fromItem<StoredRecord>(required(Attributes, 'the claimed copy record'));
      // The condition admits only a new or a pending record, so what comes back is pending.
      if (claimed.status !== 'pending') throw new Error(`claimed copy record ${record.id} is ${claimed.status}`);
      return { outcome: 'claimed', record: withoutLease(claimed), resumed: claimed.attempts > 1 };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const old = (error as { Item?: Record<string, AttributeValue> }).Item;
      const existing = old ? fromItem<StoredRecord>(old) : await this.getStored(record.tenantId, record.clientId);
      if (existing && existing.status !== 'pending') return { outcome: 'done', record: withoutLease(existing) };
      return { outcome: 'busy', leaseUntil: existing?.leaseUntil };
    }
  }

  async finish(record: FinalCopyRecord, effects: CopyEffects = {}): Promise<void> {
    const { tenantId, clientId, attempts } = record;
    const changes: Record<string, unknown> = {
      status: record.status,
      ...(record.status === 'placed'
        ? {
            slavePositionId: record.slavePositionId,
            slaveOrderId: record.slaveOrderId,
            slaveVolume: record.slaveVolume,
            slavePrice: record.slavePrice,
            slippagePips: record.slippagePips,
            stopLoss: record.stopLoss,
            takeProfit: record.takeProfit,
          }
        : { reason: record.reason, reasonDetail: record.reasonDetail }),
      slaveSymbol: record.slaveSymbol,
      side: record.side,
      sentAt: record.sentAt,
      completedAt: record.completedAt,
      latencyMs: record.latencyMs,
    };
    const names: Record<string, string> = { '#attempts': 'attempts', '#lease': 'leaseUntil', '#status': 'status' };
    const values: Record<string, unknown> = { ':attempts': attempts, ':pending': 'pending' };
    const sets: string[] = [];
    Object.entries(changes).forEach(([field, value], index) => {
      if (value === undefined) return;
      names[`#u${index}`] = field;
      values[`:u${index}`] = value;
      sets.push(`#u${index} = :u${index}`);
    });
    const items: TransactWriteItem[] = [
      {
        Update: {
          TableName: this.table.tableName,
          Key: toItem(copyRecordKey(tenantId, clientId)),
          UpdateExpression: `SET ${sets.join(', ')} REMOVE #lease, workerEpoch`,
          ConditionExpression: '#status = :pending AND #attempts = :attempts',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: toItem(values),
        },
      },
    ];
    if (effects.link) {
      const link = effects.link;
      // A closed link is history: it expires, so the reconcile's reads of a mapping's links stay flat.
      const expiresAt = link.closedAt ? Math.floor(Date.parse(link.closedAt) / 1000) + CLOSED_LINK_TTL_SECONDS : undefined;
      items.push({
        Put: {
          TableName: this.table.tableName,
          Item: toItem({ ...linkKey(link.tenantId, link.mappingId, link.masterTicket), entity: 'link', ...link, expiresAt }),
        },
      });
    }
    if (effects.refusedClose) {
      const { tenantId: linkTenant, mappingId, masterTicket, refused } = effects.refusedClose;
      // Only this field: the link may have moved on since it was read (FIFO relinks), and it stays as it is.
      items.push({
        Update: {
          TableName: this.table.tableName,
          Key: toItem(linkKey(linkTenant, mappingId, masterTicket)),
          UpdateExpression: 'SET #refused = :refused',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#refused': 'closeRefused' },
          ExpressionAttributeValues: toItem({ ':refused': refused }),
        },
      });
    }
    if (effects.audit) items.push({ Put: { TableName: this.auditTable.tableName, Item: auditItem(effects.audit) } });
    try {
      await this.table.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
    } catch (error) {
      if (isConditionFailure(error)) throw new ConcurrentUpdateError(`copy record ${record.id} was taken over`);
      throw error;
    }
  }

  async release(record: PendingCopyRecord): Promise<void> {
    try {
      await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: toItem(copyRecordKey(record.tenantId, record.clientId)),
          UpdateExpression: 'SET #lease = :zero',
          ConditionExpression: '#status = :pending AND #attempts = :attempts',
          ExpressionAttributeNames: { '#lease': 'leaseUntil', '#status': 'status', '#attempts': 'attempts' },
          ExpressionAttributeValues: toItem({ ':zero': 0, ':pending': 'pending', ':attempts': record.attempts }),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async getLink(tenantId: string, mappingId: string, masterTicket: string): Promise<PositionLink | undefined> {
    const { Item } = await this.table.client.send(
      new GetItemCommand({ TableName: this.table.tableName, Key: toItem(linkKey(tenantId, mappingId, masterTicket)), ConsistentRead: true }),
    );
    return Item ? fromItem<PositionLink>(Item) : undefined;
  }

  async relinkLegs(changes: readonly { before: PositionLink; after: PositionLink }[]): Promise<void> {
    if (changes.length === 0) return;
    const items: TransactWriteItem[] = changes.map(({ before, after }) => ({
      Put: {
        TableName: this.table.tableName,
        Item: toItem({ ...linkKey(after.tenantId, after.mappingId, after.masterTicket), entity: 'link', ...after }),
        ConditionExpression: '#ticket = :ticket AND #volume = :volume AND #rev = :rev AND attribute_not_exists(closedAt)',
        ExpressionAttributeNames: { '#ticket': 'slaveTicket', '#volume': 'slaveVolume', '#rev': 'appliedRev' },
        ExpressionAttributeValues: toItem({ ':ticket': before.slaveTicket, ':volume': before.slaveVolume, ':rev': before.appliedRev }),
      },
    }));
    try {
      await this.table.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
    } catch (error) {
      if (isConditionFailure(error)) throw new ConcurrentUpdateError(`the links of ${changes.map(({ before }) => before.masterTicket).join(', ')} moved on`);
      throw error;
    }
  }

  async listOpenLinks(tenantId: string, mappingId: string): Promise<PositionLink[]> {
    const items = await queryAll(this.table, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      FilterExpression: 'attribute_not_exists(closedAt)',
      ExpressionAttributeValues: toItem({ ':pk': tenantKey(tenantId), ':prefix': `LINK#${mappingId}#` }),
      ConsistentRead: true,
    });
    return items.map((item) => fromItem<PositionLink>(item));
  }

  async listByMapping(tenantId: string, mappingId: string, request: PageRequest): Promise<Page<CopyRecord>> {
    const result = await this.table.client.send(
      new QueryCommand({
        TableName: this.table.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: toItem({ ':pk': timelineKey(tenantId, mappingId) }),
        ScanIndexForward: false,
        Limit: request.limit,
        ExclusiveStartKey: decodeCursor(request.cursor, {
          partitionAttribute: 'gsi1pk',
          partitionValue: timelineKey(tenantId, mappingId),
          sortAttribute: 'gsi1sk',
          skPrefix: '',
          tenantPk: tenantKey(tenantId),
        }),
      }),
    );
    const items = (result.Items ?? []).map((item) => withoutLease(fromItem<StoredRecord>(item)));
    return page(items, result.LastEvaluatedKey);
  }

  async list(tenantId: string, filter: CopyFilter, request: PageRequest): Promise<Page<CopyRecord>> {
    // One mapping's copies have their own timeline (gsi1); the rest are read from the tenant's (gsi2).
    const [index, partitionAttribute, sortAttribute, partition] = filter.mappingId
      ? (['gsi1', 'gsi1pk', 'gsi1sk', timelineKey(tenantId, filter.mappingId)] as const)
      : (['gsi2', 'gsi2pk', 'gsi2sk', tenantTimelineKey(tenantId)] as const);
    const names: Record<string, string> = { '#pk': partitionAttribute };
    const values: Record<string, unknown> = { ':pk': partition };
    let keyCondition = '#pk = :pk';
    // `<detectedAt>#<id>` sorts by time: [from, to) is a range of the sort key (`to#...` sorts after `to`).
    if (filter.from !== undefined || filter.to !== undefined) names['#sk'] = sortAttribute;
    if (filter.from !== undefined) values[':from'] = filter.from;
    if (filter.to !== undefined) values[':to'] = filter.to;
    if (filter.from !== undefined && filter.to !== undefined) keyCondition += ' AND #sk BETWEEN :from AND :to';
    else if (filter.from !== undefined) keyCondition += ' AND #sk >= :from';
    else if (filter.to !== undefined) keyCondition += ' AND #sk < :to';
    const filters: string[] = [];
    if (filter.status) {
      names['#status'] = 'status';
      values[':status'] = filter.status;
      filters.push('#status = :status');
    }
    if (filter.accountId) {
      values[':account'] = filter.accountId;
      filters.push('(masterAccountId = :account OR slaveAccountId = :account)');
    }
    let startKey = decodeCursor(request.cursor, {
      partitionAttribute,
      partitionValue: partition,
      sortAttribute,
      skPrefix: '',
      tenantPk: tenantKey(tenantId),
    });
    const items: CopyRecord[] = [];
    for (let read = 0; read < MAX_READS_PER_PAGE && items.length < request.limit; read += 1) {
      // A filter applies after the limit: each read asks for what is still missing, so the
      // last key read is exactly where the next page starts.
      const result = await this.table.client.send(
        new QueryCommand({
          TableName: this.table.tableName,
          IndexName: index,
          KeyConditionExpression: keyCondition,
          ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: toItem(values),
          ScanIndexForward: false,
          Limit: request.limit - items.length,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(result.Items ?? []).map((item) => withoutLease(fromItem<StoredRecord>(item))));
      startKey = result.LastEvaluatedKey;
      if (!startKey) break;
    }
    return page(items, startKey);
  }

  async get(tenantId: string, mappingId: string, eventId: string): Promise<CopyRecord | undefined> {
    return this.findByClientId(tenantId, copyClientId(mappingId, eventId));
  }

  async findByClientId(tenantId: string, clientId: string): Promise<CopyRecord | undefined> {
    const stored = await this.getStored(tenantId, clientId);
    return stored ? withoutLease(stored) : undefined;
  }

  private async getStored(tenantId: string, clientId: string): Promise<StoredRecord | undefined> {
    const { Item } = await this.table.client.send(
      new GetItemCommand({ TableName: this.table.tableName, Key: toItem(copyRecordKey(tenantId, clientId)), ConsistentRead: true }),
    );
    return Item ? fromItem<StoredRecord>(Item) : undefined;
  }
}

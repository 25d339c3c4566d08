import {
  type AttributeValue,
  type DynamoDBClient,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ValidationError } from '../../domain/errors';
import type { Page } from '../../ports/stores';

/**
 * Single-table design of the Main table (see docs/data-model.md):
 * every item's partition key starts with its tenant, so one tenant's query can never
 * return another's items. `gsi1` is overloaded: sync shards and copy-record timelines.
 */
export interface TableRef {
  client: DynamoDBClient;
  tableName: string;
}

export const tenantKey = (tenantId: string): string => `TENANT#${tenantId}`;

/** Virtual sync shards: accounts hash into 16; a sync of N shards takes every v with v % N == shard. */
export const VIRTUAL_SYNC_SHARDS = 16;

export const virtualShardOf = (accountId: string): number => {
  let hash = 0;
  for (let i = 0; i < accountId.length; i += 1) hash = (hash * 31 + accountId.charCodeAt(i)) >>> 0;
  return hash % VIRTUAL_SYNC_SHARDS;
};

export const syncShardKey = (virtualShard: number): string => `SYNC#${virtualShard}`;

export const toItem = (value: Record<string, unknown>): Record<string, AttributeValue> =>
  marshall(value, { removeUndefinedValues: true, convertClassInstanceToMap: false });

export const fromItem = <T>(item: Record<string, AttributeValue>): T => {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, gsi2pk: _g3, gsi2sk: _g4, expiresAt: _e, entity: _n, ...rest } = unmarshall(item);
  return rest as T;
};

/** Cursors are the last evaluated key, base64url-encoded; a cursor must point into the caller's own partition. */
export const encodeCursor = (key: Record<string, AttributeValue> | undefined): string | undefined =>
  key ? Buffer.from(JSON.stringify(unmarshall(key)), 'utf8').toString('base64url') : undefined;

export const decodeCursor = (
  cursor: string | undefined,
  expected: { partitionAttribute: string; partitionValue: string; skPrefix: string; sortAttribute?: string; tenantPk?: string },
): Record<string, AttributeValue> | undefined => {
  if (cursor === undefined) return undefined;
  const invalid = (): never => {
    throw new ValidationError('Invalid cursor', [{ path: 'cursor', message: 'is not a cursor this list returned' }]);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return invalid();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return invalid();
  const key = parsed as Record<string, unknown>;
  const sortAttribute = expected.sortAttribute ?? 'sk';
  const allowed = new Set(['pk', 'sk', expected.partitionAttribute, sortAttribute]);
  if (Object.keys(key).some((name) => !allowed.has(name))) return invalid();
  if (Object.values(key).some((value) => typeof value !== 'string')) return invalid();
  if (key[expected.partitionAttribute] !== expected.partitionValue) return invalid();
  if (expected.tenantPk !== undefined && key.pk !== expected.tenantPk) return invalid();
  const sort = key[sortAttribute];
  if (typeof sort !== 'string' || !sort.startsWith(expected.skPrefix)) return invalid();
  return marshall(key);
};

export const page = <T>(items: T[], lastKey: Record<string, AttributeValue> | undefined): Page<T> => {
  const nextCursor = encodeCursor(lastKey);
  return nextCursor ? { items, nextCursor } : { items };
};

/** The code of each item of a cancelled transaction, in the order of its items (`ConditionalCheckFailed`, `None`...). */
export const cancellationCodes = (error: unknown): (string | undefined)[] =>
  ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((reason) => reason.Code);

/** A transaction cancelled only because another one held one of its items at that moment: nothing was written. */
const onlyConflicted = (error: unknown): boolean => {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return false;
  const codes = cancellationCodes(error);
  return codes.includes('TransactionConflict') && codes.every((code) => code === 'TransactionConflict' || code === 'None' || code === undefined);
};

/**
 * Sends a transaction, and sends it again (up to `attempts` times, a few ms apart) when
 * DynamoDB cancelled it only for a conflict with another transaction on a shared item (two
 * account creates of one tenant meet on its count item). A cancellation for a condition is
 * thrown at once, for the caller to read.
 */
export const transactWrite = async (table: TableRef, input: TransactWriteItemsCommandInput, attempts = 5): Promise<void> => {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await table.client.send(new TransactWriteItemsCommand(input));
      return;
    } catch (error) {
      if (attempt >= attempts || !onlyConflicted(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 20));
    }
  }
};

export const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'ConditionalCheckFailedException' || error.name === 'TransactionCanceledException');

/** Every item a query matches, following LastEvaluatedKey through all pages. */
export const queryAll = async (
  table: TableRef,
  input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>,
): Promise<Record<string, AttributeValue>[]> => {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const result = await table.client.send(new QueryCommand({ ...input, TableName: table.tableName, ExclusiveStartKey: start }));
    items.push(...(result.Items ?? []));
    start = result.LastEvaluatedKey;
  } while (start);
  return items;
};

import { PutItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import type { IdempotencyStart, IdempotencyStore, StoredResponse } from '../../ports/idempotency';
import { fromItem, isConditionFailure, tenantKey, toItem, type TableRef } from './table';

/** The key is hashed into the sort key: a client's key is any printable text up to 128 characters. */
const idempotencyKey = (tenantId: string, key: string) =>
  toItem({ pk: tenantKey(tenantId), sk: `IDEMPOTENCY#${createHash('sha256').update(key).digest('hex')}` });

interface StoredKey {
  fingerprint: string;
  state: 'running' | 'done';
  leaseUntil?: number;
  attempts: number;
  response?: StoredResponse;
  /** Epoch seconds: DynamoDB's TTL removes the key a day after its first use. */
  expiresAt: number;
}

/** One item per (tenant, key) in the tenant's partition; its TTL ends it after `keepMs`. */
export class DynamoIdempotencyStore implements IdempotencyStore {
  constructor(private readonly table: TableRef) {}

  async begin(tenantId: string, key: string, fingerprint: string, options: { now: Date; leaseMs: number; keepMs: number }): Promise<IdempotencyStart> {
    const now = options.now.getTime();
    try {
      await this.table.client.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: {
            ...idempotencyKey(tenantId, key),
            ...toItem({
              entity: 'idempotency',
              fingerprint,
              state: 'running',
              leaseUntil: now + options.leaseMs,
              attempts: 1,
              expiresAt: Math.floor((now + options.keepMs) / 1000),
            }),
          },
          // A key past its day is free again even before TTL has removed it.
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :nowSeconds',
          ExpressionAttributeValues: toItem({ ':nowSeconds': Math.floor(now / 1000) }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { outcome: 'started', resumed: false };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const old = (error as { Item?: Record<string, AttributeValue> }).Item;
      if (!old) throw error;
      return this.existing(tenantId, key, fingerprint, fromItem<StoredKey>(old), now, options.leaseMs);
    }
  }

  private async existing(tenantId: string, key: string, fingerprint: string, stored: StoredKey, now: number, leaseMs: number): Promise<IdempotencyStart> {
    if (stored.fingerprint !== fingerprint) return { outcome: 'mismatch' };
    if (stored.state === 'done' && stored.response) return { outcome: 'replay', response: stored.response };
    const leaseLeft = (stored.leaseUntil ?? 0) - now;
    if (leaseLeft > 0) return { outcome: 'inProgress', retryAfterSeconds: Math.max(1, Math.ceil(leaseLeft / 1000)) };
    // The attempt before stopped without an answer: take the key over, fenced by its attempt count.
    try {
      await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: idempotencyKey(tenantId, key),
          UpdateExpression: 'SET leaseUntil = :lease, attempts = attempts + :one',
          ConditionExpression: '#state = :running AND attempts = :attempts',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: toItem({ ':lease': now + leaseMs, ':one': 1, ':running': 'running', ':attempts': stored.attempts }),
        }),
      );
      return { outcome: 'started', resumed: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { outcome: 'inProgress', retryAfterSeconds: 1 };
    }
  }

  async complete(tenantId: string, key: string, fingerprint: string, response: StoredResponse): Promise<void> {
    await this.table.client.send(
      new UpdateItemCommand({
        TableName: this.table.tableName,
        Key: idempotencyKey(tenantId, key),
        UpdateExpression: 'SET #state = :done, #response = :response REMOVE leaseUntil',
        ConditionExpression: 'fingerprint = :fingerprint',
        ExpressionAttributeNames: { '#state': 'state', '#response': 'response' },
        ExpressionAttributeValues: toItem({ ':done': 'done', ':response': response, ':fingerprint': fingerprint }),
      }),
    );
  }

  async release(tenantId: string, key: string, fingerprint: string): Promise<void> {
    try {
      await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: idempotencyKey(tenantId, key),
          UpdateExpression: 'SET leaseUntil = :zero',
          ConditionExpression: '#state = :running AND fingerprint = :fingerprint',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: toItem({ ':zero': 0, ':running': 'running', ':fingerprint': fingerprint }),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}

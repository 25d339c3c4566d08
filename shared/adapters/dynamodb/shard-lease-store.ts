import { DeleteItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { ShardLease, ShardLeaseStore } from '../../ports/stores';
import { fromItem, isConditionFailure, toItem, type TableRef } from './table';

/** System items, outside every tenant's partition (no tenant can read them through the API). */
const leaseKey = (shardKey: string) => toItem({ pk: `SYSTEM#SHARD#${shardKey}`, sk: 'LEASE' });

/** One item per shard; its TTL removes a lease a day after its last renewal. */
export class DynamoShardLeaseStore implements ShardLeaseStore {
  constructor(private readonly table: TableRef) {}

  async get(shardKey: string): Promise<ShardLease | undefined> {
    const { Item } = await this.table.client.send(new GetItemCommand({ TableName: this.table.tableName, Key: leaseKey(shardKey), ConsistentRead: true }));
    return Item ? fromItem<ShardLease>(Item) : undefined;
  }

  async acquire(shardKey: string, lease: ShardLease, options: { now: number; previousOwner?: string }): Promise<boolean> {
    const values: Record<string, unknown> = { ':now': options.now };
    let condition = 'attribute_not_exists(pk) OR #until < :now';
    if (options.previousOwner !== undefined) {
      condition += ' OR #owner = :previous';
      values[':previous'] = options.previousOwner;
    }
    return this.put(lease, shardKey, condition, values);
  }

  renew(shardKey: string, lease: ShardLease): Promise<boolean> {
    return this.put(lease, shardKey, '#owner = :owner', { ':owner': lease.owner });
  }

  async release(shardKey: string, owner: string): Promise<void> {
    try {
      await this.table.client.send(
        new DeleteItemCommand({
          TableName: this.table.tableName,
          Key: leaseKey(shardKey),
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: toItem({ ':owner': owner }),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  private async put(lease: ShardLease, shardKey: string, condition: string, values: Record<string, unknown>): Promise<boolean> {
    const names: Record<string, string> = {};
    if (condition.includes('#owner')) names['#owner'] = 'owner';
    if (condition.includes('#until')) names['#until'] = 'until';
    try {
      await this.table.client.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: {
            ...leaseKey(shardKey),
            ...toItem({ entity: 'shardLease', ...lease, expiresAt: Math.floor(lease.until / 1000) + 86_400 }),
          },
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: toItem(values),
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }
}

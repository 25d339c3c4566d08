import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { Account } from '../../domain/account';
import type { CopyMapping } from '../../domain/copy-mapping';
import { ConflictError, NotFoundError } from '../../domain/errors';
import type { AccountStore, Page, PageRequest, SyncShardContents } from '../../ports/stores';
import {
  VIRTUAL_SYNC_SHARDS,
  decodeCursor,
  fromItem,
  isConditionFailure,
  page,
  queryAll,
  syncShardKey,
  tenantKey,
  toItem,
  virtualShardOf,
  type TableRef,
} from './table';
import { updateExpression } from './update-expression';

export const accountKey = (tenantId: string, accountId: string) => toItem({ pk: tenantKey(tenantId), sk: `ACCOUNT#${accountId}` });

export class DynamoAccountStore implements AccountStore {
  constructor(private readonly table: TableRef) {}

  async create(account: Account): Promise<void> {
    try {
      await this.table.client.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: toItem({
            pk: tenantKey(account.tenantId),
            sk: `ACCOUNT#${account.id}`,
            gsi1pk: syncShardKey(virtualShardOf(account.id)),
            gsi1sk: `ACCOUNT#${account.id}`,
            entity: 'account',
            ...account,
          }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new ConflictError(`account ${account.id} exists`);
      throw error;
    }
  }

  async get(tenantId: string, accountId: string): Promise<Account | undefined> {
    const { Item } = await this.table.client.send(
      new GetItemCommand({ TableName: this.table.tableName, Key: accountKey(tenantId, accountId), ConsistentRead: true }),
    );
    return Item ? fromItem<Account>(Item) : undefined;
  }

  async list(tenantId: string, request: PageRequest): Promise<Page<Account>> {
    const result = await this.table.client.send(
      new QueryCommand({
        TableName: this.table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: toItem({ ':pk': tenantKey(tenantId), ':prefix': 'ACCOUNT#' }),
        Limit: request.limit,
        ExclusiveStartKey: decodeCursor(request.cursor, { partitionAttribute: 'pk', partitionValue: tenantKey(tenantId), skPrefix: 'ACCOUNT#' }),
      }),
    );
    return page((result.Items ?? []).map((item) => fromItem<Account>(item)), result.LastEvaluatedKey);
  }

  async update(tenantId: string, accountId: string, changes: Partial<Account>): Promise<Account> {
    const { id: _i, tenantId: _t, createdAt: _c, ...settable } = changes;
    const expression = updateExpression({ ...settable, updatedAt: changes.updatedAt ?? new Date().toISOString() });
    try {
      const { Attributes } = await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: accountKey(tenantId, accountId),
          ...expression,
          ConditionExpression: 'attribute_exists(pk)',
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem<Account>(Attributes!);
    } catch (error) {
      if (isConditionFailure(error)) throw new NotFoundError('account');
      throw error;
    }
  }

  async delete(tenantId: string, accountId: string): Promise<void> {
    await this.table.client.send(new DeleteItemCommand({ TableName: this.table.tableName, Key: accountKey(tenantId, accountId) }));
  }

  async listSyncShard(shard: number, shards: number): Promise<SyncShardContents> {
    const contents: SyncShardContents = { accounts: [], mappings: [] };
    for (let virtual = 0; virtual < VIRTUAL_SYNC_SHARDS; virtual += 1) {
      if (virtual % shards !== shard) continue;
      const items = await queryAll(this.table, {
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: toItem({ ':pk': syncShardKey(virtual) }),
      });
      for (const item of items) {
        const entity = item.entity?.S;
        if (entity === 'account') contents.accounts.push(fromItem<Account>(item));
        else if (entity === 'mapping') contents.mappings.push(fromItem<CopyMapping>(item));
      }
    }
    return contents;
  }
}

import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { CopyMapping } from '../../domain/copy-mapping';
import { ConflictError, NotFoundError } from '../../domain/errors';
import type { MappingStore, Page, PageRequest } from '../../ports/stores';
import { decodeCursor, fromItem, isConditionFailure, page, queryAll, syncShardKey, tenantKey, toItem, virtualShardOf, type TableRef } from './table';
import { updateExpression } from './update-expression';

export const mappingKey = (tenantId: string, mappingId: string) => toItem({ pk: tenantKey(tenantId), sk: `MAPPING#${mappingId}` });

/** Mappings live in their tenant's partition and, through gsi1, in the sync shard of their master. */
export class DynamoMappingStore implements MappingStore {
  constructor(private readonly table: TableRef) {}

  async create(mapping: CopyMapping): Promise<void> {
    try {
      await this.table.client.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: toItem({
            pk: tenantKey(mapping.tenantId),
            sk: `MAPPING#${mapping.id}`,
            gsi1pk: syncShardKey(virtualShardOf(mapping.masterAccountId)),
            gsi1sk: `MAPPING#${mapping.id}`,
            entity: 'mapping',
            ...mapping,
          }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new ConflictError(`mapping ${mapping.id} exists`);
      throw error;
    }
  }

  async get(tenantId: string, mappingId: string): Promise<CopyMapping | undefined> {
    const { Item } = await this.table.client.send(
      new GetItemCommand({ TableName: this.table.tableName, Key: mappingKey(tenantId, mappingId), ConsistentRead: true }),
    );
    return Item ? fromItem<CopyMapping>(Item) : undefined;
  }

  async list(tenantId: string, request: PageRequest): Promise<Page<CopyMapping>> {
    const result = await this.table.client.send(
      new QueryCommand({
        TableName: this.table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: toItem({ ':pk': tenantKey(tenantId), ':prefix': 'MAPPING#' }),
        Limit: request.limit,
        ExclusiveStartKey: decodeCursor(request.cursor, { partitionAttribute: 'pk', partitionValue: tenantKey(tenantId), skPrefix: 'MAPPING#' }),
      }),
    );
    return page((result.Items ?? []).map((item) => fromItem<CopyMapping>(item)), result.LastEvaluatedKey);
  }

  async listAll(tenantId: string): Promise<CopyMapping[]> {
    const items = await queryAll(this.table, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: toItem({ ':pk': tenantKey(tenantId), ':prefix': 'MAPPING#' }),
      ConsistentRead: true,
    });
    return items.map((item) => fromItem<CopyMapping>(item));
  }

  async update(tenantId: string, mappingId: string, changes: Partial<CopyMapping>): Promise<CopyMapping> {
    const { id: _i, tenantId: _t, createdAt: _c, masterAccountId: _m, slaveAccountId: _s, ...settable } = changes;
    try {
      const { Attributes } = await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: mappingKey(tenantId, mappingId),
          ...updateExpression({ ...settable, updatedAt: changes.updatedAt ?? new Date().toISOString() }),
          ConditionExpression: 'attribute_exists(pk)',
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem<CopyMapping>(Attributes!);
    } catch (error) {
      if (isConditionFailure(error)) throw new NotFoundError('copy mapping');
      throw error;
    }
  }

  async delete(tenantId: string, mappingId: string): Promise<void> {
    await this.table.client.send(new DeleteItemCommand({ TableName: this.table.tableName, Key: mappingKey(tenantId, mappingId) }));
  }
}

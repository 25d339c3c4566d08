import {
  DeleteItemCommand,
  GetItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import type { CopyMapping } from '../../domain/copy-mapping';
import { ConcurrentUpdateError, ConflictError, NotFoundError } from '../../domain/errors';
import type { MappingGraph, MappingStore, Page, PageRequest } from '../../ports/stores';
import {
  cancellationCodes,
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
import { required } from '../../domain/required';

export const mappingKey = (tenantId: string, mappingId: string) => toItem({ pk: tenantKey(tenantId), sk: `MAPPING#${mappingId}` });

/** The item whose `version` every change of a tenant's mapping graph moves on. */
export const mappingGraphKey = (tenantId: string) => toItem({ pk: tenantKey(tenantId), sk: 'GRAPH' });

/** The graph item moves from `version` to the next one, or the transaction it is part of fails. */
export const moveGraph = (table: TableRef, tenantId: string, version: number): TransactWriteItem => ({
  Update: {
    TableName: table.tableName,
    Key: mappingGraphKey(tenantId),
    UpdateExpression: 'SET #version = :next, #entity = :entity',
    ConditionExpression: version === 0 ? 'attribute_not_exists(#version) OR #version = :current' : '#version = :current',
    ExpressionAttributeNames: { '#version': 'version', '#entity': 'entity' },
    ExpressionAttributeValues: toItem({ ':next': version + 1, ':current': version, ':entity': 'graph' }),
  },
});

/**
 * Mappings live in their tenant's partition and, through gsi1, in the sync shard of their
 * master. Creating one is a transaction with the tenant's graph item, conditional on the
 * version the caller checked: cycle and duplicate checks hold even when requests race.
 */
export class DynamoMappingStore implements MappingStore {
  constructor(private readonly table: TableRef) {}

  async create(mapping: CopyMapping, options: { graphVersion: number }): Promise<void> {
    try {
      await this.table.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Put: {
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
              },
            },
            moveGraph(this.table, mapping.tenantId, options.graphVersion),
          ],
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const [mappingCode, graphCode] = cancellationCodes(error);
      if (mappingCode === 'ConditionalCheckFailed') throw new ConflictError(`mapping ${mapping.id} exists`, 'MAPPING_EXISTS');
      if (graphCode === 'ConditionalCheckFailed' || graphCode === 'TransactionConflict') {
        throw new ConcurrentUpdateError(`the mapping graph of ${mapping.tenantId} moved past version ${options.graphVersion}`);
      }
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
    return page(
      (result.Items ?? []).map((item) => fromItem<CopyMapping>(item)),
      result.LastEvaluatedKey,
    );
  }

  async listAll(tenantId: string): Promise<CopyMapping[]> {
    const items = await queryAll(this.table, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: toItem({ ':pk': tenantKey(tenantId), ':prefix': 'MAPPING#' }),
      ConsistentRead: true,
    });
    return items.map((item) => fromItem<CopyMapping>(item));
  }

  async graph(tenantId: string): Promise<MappingGraph> {
    // The version first, then the mappings: every mapping written at that version or before
    // is in the (strongly consistent) query that follows.
    const { Item } = await this.table.client.send(
      new GetItemCommand({ TableName: this.table.tableName, Key: mappingGraphKey(tenantId), ConsistentRead: true }),
    );
    const version = Item?.version?.N ? Number(Item.version.N) : 0;
    return { version, mappings: await this.listAll(tenantId) };
  }

  async update(tenantId: string, mappingId: string, changes: Partial<CopyMapping>, options: { enabledAt?: string } = {}): Promise<CopyMapping> {
    const { id: _i, tenantId: _t, createdAt: _c, masterAccountId: _m, slaveAccountId: _s, activeSince: _a, announcedSince: _n, ...settable } = changes;
    const fields = { ...settable, updatedAt: changes.updatedAt ?? new Date().toISOString() };
    if (options.enabledAt !== undefined && changes.enabled === true) {
      // Enabled by this very change: it copies what opens from now on, not what opened while it was off.
      const enabling = updateExpression({ ...fields, activeSince: options.enabledAt });
      try {
        return await this.send(tenantId, mappingId, enabling, '#enabled = :off', { '#enabled': 'enabled' }, { ':off': { BOOL: false } });
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    return this.send(tenantId, mappingId, updateExpression(fields));
  }

  private async send(
    tenantId: string,
    mappingId: string,
    expression: ReturnType<typeof updateExpression>,
    condition?: string,
    names: Record<string, string> = {},
    values: Record<string, { BOOL: boolean }> = {},
  ): Promise<CopyMapping> {
    try {
      const { Attributes } = await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: mappingKey(tenantId, mappingId),
          ...expression,
          ExpressionAttributeNames: { ...expression.ExpressionAttributeNames, ...names },
          ExpressionAttributeValues: { ...expression.ExpressionAttributeValues, ...values },
          ConditionExpression: ['attribute_exists(pk)', condition].filter(Boolean).join(' AND '),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem<CopyMapping>(required(Attributes, 'the updated mapping item'));
    } catch (error) {
      if (isConditionFailure(error)) throw new NotFoundError('copy mapping');
      throw error;
    }
  }

  async markAnnounced(tenantId: string, mappingId: string, activeSince: string): Promise<void> {
    try {
      await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: mappingKey(tenantId, mappingId),
          UpdateExpression: 'SET announcedSince = :since',
          // Mappings stored before activeSince existed started at their creation.
          ConditionExpression: 'activeSince = :since OR (attribute_not_exists(activeSince) AND createdAt = :since)',
          ExpressionAttributeValues: toItem({ ':since': activeSince }),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Removing an edge never closes a cycle, so a deletion needs no graph version. */
  async delete(tenantId: string, mappingId: string): Promise<void> {
    await this.table.client.send(new DeleteItemCommand({ TableName: this.table.tableName, Key: mappingKey(tenantId, mappingId) }));
  }
}

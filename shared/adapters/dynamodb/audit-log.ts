import { PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import type { AuditEntry, AuditLog, Page, PageRequest } from '../../ports/stores';
import { decodeCursor, fromItem, page, tenantKey, toItem, type TableRef } from './table';

/** The item an audit entry is stored as; only ever put, never updated or deleted. */
export const auditItem = (entry: AuditEntry) => {
  const id = `${entry.at}#${randomUUID().slice(0, 8)}`;
  return toItem({ pk: tenantKey(entry.tenantId), sk: id, id, ...entry });
};

/** Append-only audit log in its own table, newest first. The writers' roles may only put. */
export class DynamoAuditLog implements AuditLog {
  constructor(private readonly table: TableRef) {}

  async append(entry: AuditEntry): Promise<void> {
    await this.table.client.send(
      new PutItemCommand({ TableName: this.table.tableName, Item: auditItem(entry), ConditionExpression: 'attribute_not_exists(pk)' }),
    );
  }

  async list(tenantId: string, request: PageRequest): Promise<Page<AuditEntry & { id: string }>> {
    const result = await this.table.client.send(
      new QueryCommand({
        TableName: this.table.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: toItem({ ':pk': tenantKey(tenantId) }),
        ScanIndexForward: false,
        Limit: request.limit,
        ExclusiveStartKey: decodeCursor(request.cursor, { partitionAttribute: 'pk', partitionValue: tenantKey(tenantId), skPrefix: '' }),
      }),
    );
    return page(
      (result.Items ?? []).map((item) => fromItem<AuditEntry & { id: string }>(item)),
      result.LastEvaluatedKey,
    );
  }
}

import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AccountProtection, ProtectionStatus } from '../../domain/protection';
import type { ProtectionStore } from '../../ports/stores';
import { fromItem, tenantKey, toItem, type TableRef } from './table';

const protectionKey = (tenantId: string, accountId: string) => ({ pk: tenantKey(tenantId), sk: `PROTECTION#${accountId}` });

/** One item per slave account: its risk rules and their state. */
export class DynamoProtectionStore implements ProtectionStore {
  constructor(private readonly table: TableRef) {}

  async get(tenantId: string, accountId: string): Promise<AccountProtection | undefined> {
    const { Item } = await this.table.client.send(
      new GetItemCommand({ TableName: this.table.tableName, Key: toItem(protectionKey(tenantId, accountId)), ConsistentRead: true }),
    );
    return Item ? fromItem<AccountProtection>(Item) : undefined;
  }

  async put(protection: AccountProtection): Promise<void> {
    await this.table.client.send(
      new PutItemCommand({
        TableName: this.table.tableName,
        Item: toItem({ ...protectionKey(protection.tenantId, protection.accountId), entity: 'protection', ...protection }),
      }),
    );
  }

  async updateStatus(tenantId: string, accountId: string, status: ProtectionStatus): Promise<void> {
    await this.table.client.send(
      new UpdateItemCommand({
        TableName: this.table.tableName,
        Key: toItem(protectionKey(tenantId, accountId)),
        UpdateExpression: 'SET #status = :status, updatedAt = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: toItem({ ':status': status, ':now': new Date().toISOString() }),
      }),
    );
  }

  async delete(tenantId: string, accountId: string): Promise<void> {
    await this.table.client.send(new DeleteItemCommand({ TableName: this.table.tableName, Key: toItem(protectionKey(tenantId, accountId)) }));
  }
}

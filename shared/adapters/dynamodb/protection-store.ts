import { DeleteItemCommand, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { defaultProtectionStatus, type AccountProtection, type ProtectionStatus } from '../../domain/protection';
import type { ProtectionStore } from '../../ports/stores';
import { fromItem, tenantKey, toItem, type TableRef } from './table';

export const protectionKey = (tenantId: string, accountId: string) => ({ pk: tenantKey(tenantId), sk: `PROTECTION#${accountId}` });

/** One item per slave account: its risk rules and their state. */
export class DynamoProtectionStore implements ProtectionStore {
  constructor(private readonly table: TableRef) {}

  async get(tenantId: string, accountId: string): Promise<AccountProtection | undefined> {
    const { Item } = await this.table.client.send(
      new GetItemCommand({ TableName: this.table.tableName, Key: toItem(protectionKey(tenantId, accountId)), ConsistentRead: true }),
    );
    return Item ? fromItem<AccountProtection>(Item) : undefined;
  }

  /**
   * Sets the rules in one UpdateItem, so a status the copy engine records at the same moment
   * (a breach) is kept rather than overwritten by a stale read; a given `status` replaces it.
   */
  async put(protection: Omit<AccountProtection, 'status'> & { status?: ProtectionStatus }): Promise<void> {
    await this.table.client.send(
      new UpdateItemCommand({
        TableName: this.table.tableName,
        Key: toItem(protectionKey(protection.tenantId, protection.accountId)),
        UpdateExpression: `SET #entity = :entity, #tenant = :tenant, #account = :account, #rules = :rules, #updatedAt = :updatedAt, #status = ${
          protection.status ? ':status' : 'if_not_exists(#status, :status)'
        }`,
        ExpressionAttributeNames: {
          '#entity': 'entity',
          '#tenant': 'tenantId',
          '#account': 'accountId',
          '#rules': 'rules',
          '#updatedAt': 'updatedAt',
          '#status': 'status',
        },
        ExpressionAttributeValues: toItem({
          ':entity': 'protection',
          ':tenant': protection.tenantId,
          ':account': protection.accountId,
          ':rules': protection.rules,
          ':updatedAt': protection.updatedAt,
          ':status': protection.status ?? defaultProtectionStatus,
        }),
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

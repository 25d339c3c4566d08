import { DeleteItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ClosedTrade } from '../../domain/trading';
import type { DemoTradeStore } from '../../ports/stores';
import { fromItem, queryAll, tenantKey, toItem, type TableRef } from './table';
import { required } from '../../domain/required';

const prefixOf = (accountId: string): string => `DEMOTRADE#${accountId}#`;

/**
 * Demo trades in the tenant's partition of the Main table, sorted by close time per account
 * (`DEMOTRADE#<accountId>#<closedAt>#<id>`), so a date range is one key-range query.
 */
export class DynamoDemoTradeStore implements DemoTradeStore {
  constructor(private readonly table: TableRef) {}

  async add(tenantId: string, accountId: string, trades: ClosedTrade[]): Promise<void> {
    await Promise.all(
      trades.map((trade) =>
        this.table.client.send(
          new PutItemCommand({
            TableName: this.table.tableName,
            Item: toItem({ pk: tenantKey(tenantId), sk: `${prefixOf(accountId)}${trade.closedAt}#${trade.id}`, entity: 'demoTrade', accountId, ...trade }),
          }),
        ),
      ),
    );
  }

  async list(tenantId: string, accountId: string, range: { from: string; to: string }): Promise<ClosedTrade[]> {
    const items = await this.query({
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: toItem({
        ':pk': tenantKey(tenantId),
        ':from': `${prefixOf(accountId)}${range.from}`,
        ':to': `${prefixOf(accountId)}${range.to}`,
      }),
    });
    return items
      .map((item) => {
        const { accountId: _a, ...trade } = fromItem<ClosedTrade & { accountId: string }>(item);
        return trade;
      })
      .filter((trade) => trade.closedAt >= range.from && trade.closedAt < range.to);
  }

  async deleteAll(tenantId: string, accountId: string): Promise<void> {
    const items = await this.query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: toItem({ ':pk': tenantKey(tenantId), ':prefix': prefixOf(accountId) }),
      ProjectionExpression: 'pk, sk',
    });
    await Promise.all(
      items.map((item) =>
        this.table.client.send(new DeleteItemCommand({ TableName: this.table.tableName, Key: { pk: required(item.pk, 'pk'), sk: required(item.sk, 'sk') } })),
      ),
    );
  }

  private async query(condition: {
    KeyConditionExpression: string;
    ExpressionAttributeValues: Record<string, AttributeValue>;
    ProjectionExpression?: string;
  }): Promise<Record<string, AttributeValue>[]> {
    return queryAll(this.table, { ...condition, ConsistentRead: true });
  }
}

import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { OAuthState, OAuthStateStore } from '../../ports/stores';
import { fromItem, isConditionFailure, type TableRef, toItem } from './table';

/** One item per pending authorization, keyed by the hash of its state (the state itself is never stored); TTL ends it. */
const stateKey = (hash: string) => toItem({ pk: `OAUTH#${hash}`, sk: 'STATE' });

export class DynamoOAuthStateStore implements OAuthStateStore {
  constructor(private readonly table: TableRef) {}

  async put(state: OAuthState): Promise<void> {
    await this.table.client.send(
      new PutItemCommand({
        TableName: this.table.tableName,
        Item: {
          ...stateKey(state.hash),
          ...toItem({
            entity: 'oauthState',
            tenantId: state.tenantId,
            accountId: state.accountId,
            until: state.expiresAt,
            expiresAt: Math.floor(Date.parse(state.expiresAt) / 1000),
          }),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async take(hash: string, now: Date): Promise<Omit<OAuthState, 'hash'> | undefined> {
    try {
      const { Attributes } = await this.table.client.send(
        new DeleteItemCommand({ TableName: this.table.tableName, Key: stateKey(hash), ConditionExpression: 'attribute_exists(pk)', ReturnValues: 'ALL_OLD' }),
      );
      if (!Attributes) return undefined;
      const stored = fromItem<{ tenantId: string; accountId: string; until: string }>(Attributes);
      // Past its time it is gone all the same (TTL may not have removed it yet).
      if (Date.parse(stored.until) <= now.getTime()) return undefined;
      return { tenantId: stored.tenantId, accountId: stored.accountId, expiresAt: stored.until };
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }
}

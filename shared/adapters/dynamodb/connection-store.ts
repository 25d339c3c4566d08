import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { queryAll, type TableRef, tenantKey, toItem } from './table';

/** API Gateway closes a WebSocket connection after two hours at most: no item needs to outlive that. */
export const CONNECTION_LIFETIME_SECONDS = 2 * 60 * 60;

const CONNECTION_PREFIX = 'CONN#';

const connectionKey = (tenantId: string, connectionId: string) => ({ pk: tenantKey(tenantId), sk: `${CONNECTION_PREFIX}${connectionId}` });

/**
 * The open live-event connections of API Gateway's WebSocket API, one item per connection in
 * the connections table: `pk = TENANT#<tenantId>`, `sk = CONN#<connectionId>`, `expiresAt`
 * (TTL, epoch seconds) two hours after connecting. A connection is only ever found through
 * its tenant's partition, so a tenant's events cannot reach another tenant's connections.
 * An item past its `expiresAt` is a connection API Gateway has closed already: it is not
 * listed, even before TTL removes it.
 */
export class DynamoConnectionStore {
  constructor(
    private readonly table: TableRef,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async put(tenantId: string, connectionId: string): Promise<void> {
    const connectedAt = this.now();
    await this.table.client.send(
      new PutItemCommand({
        TableName: this.table.tableName,
        Item: toItem({
          ...connectionKey(tenantId, connectionId),
          tenantId,
          connectionId,
          connectedAt: connectedAt.toISOString(),
          expiresAt: Math.floor(connectedAt.getTime() / 1000) + CONNECTION_LIFETIME_SECONDS,
        }),
      }),
    );
  }

  /** Forgets a connection; one already forgotten is not an error. */
  async delete(tenantId: string, connectionId: string): Promise<void> {
    await this.table.client.send(new DeleteItemCommand({ TableName: this.table.tableName, Key: toItem(connectionKey(tenantId, connectionId)) }));
  }

  /** The ids of the tenant's connections that may still be open. */
  async list(tenantId: string): Promise<string[]> {
    const items = await queryAll(this.table, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      FilterExpression: 'expiresAt > :now',
      ExpressionAttributeValues: toItem({ ':pk': tenantKey(tenantId), ':prefix': CONNECTION_PREFIX, ':now': Math.floor(this.now().getTime() / 1000) }),
      ProjectionExpression: 'sk',
    });
    return items.flatMap((item) => (item.sk?.S ? [item.sk.S.slice(CONNECTION_PREFIX.length)] : []));
  }

  /** Whether the tenant has any connection that may still be open. */
  async watched(tenantId: string): Promise<boolean> {
    return (await this.list(tenantId)).length > 0;
  }
}

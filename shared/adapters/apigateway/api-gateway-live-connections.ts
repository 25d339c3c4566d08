import { type ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { LiveEvent } from '../../domain/live-events';
import type { LiveConnections } from '../../ports/live-connections';
import type { Log } from '../../ports/log';

/** Where a tenant's WebSocket connection ids are kept (the connections table in AWS). */
export interface ConnectionRegistry {
  list(tenantId: string): Promise<string[]>;
  delete(tenantId: string, connectionId: string): Promise<void>;
  watched(tenantId: string): Promise<boolean>;
}

/** API Gateway answers 410 (`GoneException`) for a connection that closed: it will never take a message again. */
const isGone = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'GoneException' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410);

/**
 * `LiveConnections` on API Gateway's WebSocket API: each event is one message (its JSON),
 * posted through the stage's management API (`POST /@connections/{id}`) to every connection
 * of the tenant, in the order given. The connections of a tenant are sent to side by side,
 * each its events one after the other. A connection found gone is forgotten; any other
 * failure is logged for that connection alone and ends only that connection's delivery (what
 * follows would arrive out of order with a gap), never another's.
 */
export class ApiGatewayLiveConnections implements LiveConnections {
  constructor(
    private readonly client: ApiGatewayManagementApiClient,
    private readonly connections: ConnectionRegistry,
    private readonly log: Log,
  ) {}

  watched(tenantId: string): Promise<boolean> {
    return this.connections.watched(tenantId);
  }

  async send(tenantId: string, events: LiveEvent[]): Promise<void> {
    if (events.length === 0) return;
    const connectionIds = await this.connections.list(tenantId);
    await Promise.all(connectionIds.map((connectionId) => this.sendTo(tenantId, connectionId, events)));
  }

  private async sendTo(tenantId: string, connectionId: string, events: LiveEvent[]): Promise<void> {
    for (const [index, event] of events.entries()) {
      try {
        await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: JSON.stringify(event) }));
      } catch (error) {
        if (isGone(error)) {
          await this.forget(tenantId, connectionId);
          return;
        }
        this.log.warn('live events not delivered to a connection', { tenantId, connectionId, type: event.type, undelivered: events.length - index, error });
        return;
      }
    }
  }

  private async forget(tenantId: string, connectionId: string): Promise<void> {
    try {
      await this.connections.delete(tenantId, connectionId);
      this.log.info('live connection gone: forgotten', { tenantId, connectionId });
    } catch (error) {
      // Its TTL removes it later; until then each send tries it once more and finds it gone.
      this.log.warn('live connection gone but not forgotten', { tenantId, connectionId, error });
    }
  }
}

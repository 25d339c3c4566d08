import type { LiveEvent } from '../domain/live-events';

/**
 * The open live-event connections of tenants (API Gateway WebSocket connections in AWS, the
 * local runtime's WebSocket server on `npm start`). Delivery is at most once and best
 * effort: a frontend that reconnects reads the API for what it missed.
 */
export interface LiveConnections {
  /** Whether any connection of the tenant is open: nothing is prepared for a tenant no one watches. */
  watched(tenantId: string): Promise<boolean>;
  /** Sends the events to every open connection of the tenant; a connection found gone is forgotten. */
  send(tenantId: string, events: LiveEvent[]): Promise<void>;
}

import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { LiveEvent } from '../../shared/domain/live-events';
import type { LiveConnections } from '../../shared/ports/live-connections';

/** Where the live events are served, on the API's own port (as the contract says). */
export const LIVE_EVENTS_PATH = '/v1/events';

/** A socket whose client reads slower than this much queued output is dropped rather than buffered without end. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * The local stand-in for the API Gateway WebSocket API: `GET /v1/events?token=<JWT>` upgrades
 * to a WebSocket when the token verifies (as the `$connect` authorizer does in AWS), and is
 * refused with 401 otherwise. Connections are kept by the token's `sub`: a tenant is sent its
 * own events only.
 */
export class LocalLiveHub implements LiveConnections {
  private readonly sockets = new Map<string, Set<WebSocket>>();
  private readonly server = new WebSocketServer({ noServer: true });

  /**
   * @param verify the tenant of a token, or undefined when it does not verify
   * @param watching started before the first connection is accepted (a connection is open
   *   only once its events will be read) and stopped when the last one closes
   */
  constructor(
    private readonly verify: (token: string) => Promise<string | undefined>,
    private readonly watching?: { start(): Promise<void>; stop(): Promise<void> },
  ) {}

  /** Takes the upgrades of `http` on the live events path; other upgrades are refused. */
  attach(http: Server): void {
    http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.upgrade(request, socket, head).catch(() => socket.destroy());
    });
  }

  get connected(): number {
    let count = 0;
    for (const set of this.sockets.values()) count += set.size;
    return count;
  }

  async watched(tenantId: string): Promise<boolean> {
    return (this.sockets.get(tenantId)?.size ?? 0) > 0;
  }

  async send(tenantId: string, events: LiveEvent[]): Promise<void> {
    for (const socket of this.sockets.get(tenantId) ?? []) {
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        socket.terminate();
        continue;
      }
      for (const event of events) socket.send(JSON.stringify(event));
    }
  }

  async close(): Promise<void> {
    for (const set of this.sockets.values()) for (const socket of set) socket.terminate();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== LIVE_EVENTS_PATH) return refuse(socket, 404, 'Not Found');
    const token = url.searchParams.get('token');
    const tenantId = token ? await this.verify(token) : undefined;
    if (!tenantId) return refuse(socket, 401, 'Unauthorized');
    await this.watching?.start();
    this.server.handleUpgrade(request, socket, head, (webSocket) => {
      const set = this.sockets.get(tenantId) ?? new Set<WebSocket>();
      set.add(webSocket);
      this.sockets.set(tenantId, set);
      this.changed();
      webSocket.on('close', () => {
        set.delete(webSocket);
        if (set.size === 0 && this.sockets.get(tenantId) === set) this.sockets.delete(tenantId);
        this.changed();
      });
      // What a client sends is not read: the channel is one way (a ping is answered by ws itself).
      webSocket.on('message', () => {});
      webSocket.on('error', () => webSocket.terminate());
    });
  }

  private changed(): void {
    if (this.connected === 0) void this.watching?.stop();
  }
}

const refuse = (socket: Duplex, status: number, text: string): void => {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
};

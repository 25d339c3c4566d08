import WebSocket from 'ws';
import { BrokerError, isBrokerError } from '../../domain/broker-errors';
import { CtraderRefusal, refusalOf } from './ctrader-errors';
import { type CtraderMessage, fromPoints, payloadTypes } from './ctrader-protocol';

/** Silence after which a socket is taken for dead: two of cTrader's heartbeats and a half. */
const SILENT_MS = 25_000;

export interface CtraderApp {
  clientId: string;
  clientSecret: string;
}

export interface CtraderSessionOptions {
  /** The Open API's JSON endpoint, e.g. `wss://live.ctraderapi.com:5036`. */
  url: string;
  /** The application's credentials, read when the socket opens. */
  app: () => Promise<CtraderApp>;
  /** Budget of one request. */
  timeoutMs: number;
  /** How often a heartbeat is sent on a quiet socket (cTrader asks for one every 10 s). */
  heartbeatMs?: number;
  /** Requests per second the session sends at most (cTrader allows 50; 5 for historical data). */
  maxRequestsPerSecond?: number;
  maxHistoryRequestsPerSecond?: number;
}

/** A message that settles a request, or one more on its way (an order accepted before it fills). */
export type Settle = (message: CtraderMessage) => boolean;

interface Waiter {
  settle: Settle;
  seen: CtraderMessage[];
  resolve: (messages: CtraderMessage[]) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
}

const HISTORY_TYPES: ReadonlySet<number> = new Set([payloadTypes.dealListReq, payloadTypes.orderListReq]);

/**
 * One WebSocket to the cTrader Open API, shared by the accounts of one environment: the
 * application is authorized once per socket, each account once (`authorizeAccount`). Requests
 * are matched to answers by `clientMsgId`; an error answer rejects with a classified
 * `BrokerError`; a socket that closes rejects what waits with CONNECTION (a trade's outcome is
 * then unknown and looked up). Pushed messages (execution events, spots, token invalidations)
 * go to `onPush` listeners. A heartbeat keeps a quiet socket open. Requests are paced below
 * cTrader's limits. Tokens and secrets are sent to cTrader's host only and never logged.
 */
export class CtraderSession {
  private socket: WebSocket | undefined;
  private opening: Promise<WebSocket> | undefined;
  private readonly waiters = new Map<string, Waiter>();
  private readonly accounts = new Map<number, Promise<void>>();
  private readonly listeners = new Set<(message: CtraderMessage) => void>();
  private readonly dropListeners = new Set<() => void>();
  private readonly sent: number[] = [];
  private readonly sentHistory: number[] = [];
  private counter = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;
  /** When the socket last said anything (cTrader sends a heartbeat every 10 s). */
  private lastHeard = 0;
  /** Spot prices pushed on this socket, per account and symbol, and the subscriptions behind them (both gone with the socket). */
  private readonly spots = new Map<string, { bid: number; ask: number; time: number }>();
  private readonly spotSubscriptions = new Set<string>();

  constructor(private readonly options: CtraderSessionOptions) {}

  /** Listens to pushed messages; returns the function that stops it. */
  onPush(listener: (message: CtraderMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Listens to the socket dropping (what was pushed may have been missed); returns the function that stops it. */
  onDrop(listener: () => void): () => void {
    this.dropListeners.add(listener);
    return () => this.dropListeners.delete(listener);
  }

  /**
   * Authorizes an account on this socket once (again after the socket reopened or cTrader
   * invalidated its token). `accessToken` is asked only when the account is not authorized yet.
   */
  authorizeAccount(ctidTraderAccountId: number, accessToken: () => Promise<string>): Promise<void> {
    let authorized = this.accounts.get(ctidTraderAccountId);
    if (!authorized) {
      authorized = (async () => {
        const token = await accessToken();
        try {
          await this.request(payloadTypes.accountAuthReq, { ctidTraderAccountId, accessToken: token }, only(payloadTypes.accountAuthRes));
        } catch (error) {
          // Authorized on this socket already (by a request that raced this one): it is what was asked.
          if (!(isBrokerError(error) && error.cause instanceof CtraderRefusal && error.cause.errorCode === 'ALREADY_LOGGED_IN')) throw error;
        }
      })();
      this.accounts.set(ctidTraderAccountId, authorized);
      authorized.catch(() => {
        if (this.accounts.get(ctidTraderAccountId) === authorized) this.accounts.delete(ctidTraderAccountId);
      });
    }
    return authorized;
  }

  /** Forgets an account's authorization (its token was invalidated, its session ended): the next request authorizes again. */
  forgetAccount(ctidTraderAccountId: number): void {
    this.accounts.delete(ctidTraderAccountId);
    // Its spots stop with it.
    for (const key of [...this.spotSubscriptions]) if (key.startsWith(`${ctidTraderAccountId}#`)) this.spotSubscriptions.delete(key);
    for (const key of [...this.spots.keys()]) if (key.startsWith(`${ctidTraderAccountId}#`)) this.spots.delete(key);
  }

  /**
   * Sends one request and resolves with the messages that answered it, the settling one last.
   * A lost answer is TIMEOUT or CONNECTION: for a trade request its outcome is unknown.
   */
  async request(payloadType: number, payload: Record<string, unknown>, settle: Settle): Promise<CtraderMessage[]> {
    const socket = await this.open();
    await this.pace(HISTORY_TYPES.has(payloadType));
    this.counter += 1;
    const clientMsgId = `mc-${Date.now().toString(36)}-${this.counter}`;
    return new Promise<CtraderMessage[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(clientMsgId);
        reject(new BrokerError('TIMEOUT', `cTrader did not answer ${payloadType} within ${this.options.timeoutMs} ms`));
        // A socket that lets a request go unanswered is not trusted again: the next request opens a new one.
        if (this.socket === socket) this.drop(new BrokerError('TIMEOUT', 'the cTrader socket let a request go unanswered'));
      }, this.options.timeoutMs);
      timer.unref?.();
      this.waiters.set(clientMsgId, { settle, seen: [], resolve, reject, timer });
      socket.send(JSON.stringify({ clientMsgId, payloadType, payload }), (error) => {
        if (!error) return;
        const waiter = this.waiters.get(clientMsgId);
        if (!waiter) return;
        this.waiters.delete(clientMsgId);
        clearTimeout(waiter.timer);
        reject(new BrokerError('CONNECTION', 'the cTrader socket failed while sending', { cause: error }));
      });
    });
  }

  /** Closes the socket; what waits fails with CONNECTION. */
  close(): void {
    this.closed = true;
    this.drop(new BrokerError('CONNECTION', 'the cTrader session was closed'));
  }

  /** The last spot price of a symbol for an account, while its subscription on this socket stands. */
  spot(ctidTraderAccountId: number, symbolId: number): { bid: number; ask: number; time: number } | undefined {
    return this.spots.get(`${ctidTraderAccountId}#${symbolId}`);
  }

  /** Whether the account's spots of a symbol are subscribed on the socket as it is now. */
  spotSubscribed(ctidTraderAccountId: number, symbolId: number): boolean {
    return this.spotSubscriptions.has(`${ctidTraderAccountId}#${symbolId}`);
  }

  /** Notes a subscription made on the socket as it is now (a new socket has none). */
  markSpotSubscribed(ctidTraderAccountId: number, symbolId: number): void {
    this.spotSubscriptions.add(`${ctidTraderAccountId}#${symbolId}`);
  }

  private open(): Promise<WebSocket> {
    if (this.closed) return Promise.reject(new BrokerError('CONNECTION', 'the cTrader session is closed'));
    // A socket silent past two heartbeats (a frozen Lambda thawed, a half-open connection) is dead: a new one is opened.
    if (this.socket && this.socket.readyState === WebSocket.OPEN && Date.now() - this.lastHeard > SILENT_MS) {
      this.drop(new BrokerError('TIMEOUT', 'the cTrader socket fell silent'));
    }
    if (this.socket && this.socket.readyState === WebSocket.OPEN) return Promise.resolve(this.socket);
    this.opening ??= this.connect().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async connect(): Promise<WebSocket> {
    const socket = await new Promise<WebSocket>((resolve, reject) => {
      const candidate = new WebSocket(this.options.url, { handshakeTimeout: this.options.timeoutMs });
      candidate.once('open', () => resolve(candidate));
      candidate.once('error', (error) => reject(new BrokerError('CONNECTION', 'cTrader could not be reached', { cause: error })));
    });
    this.lastHeard = Date.now();
    socket.on('message', (data) => {
      this.lastHeard = Date.now();
      this.receive(String(data));
    });
    socket.on('close', () => {
      // What waited has no answer: for a trade, its outcome is unknown.
      if (this.socket === socket) this.drop(new BrokerError('TIMEOUT', 'the cTrader socket closed before the answer'));
    });
    socket.on('error', () => socket.terminate());
    this.socket = socket;
    const heartbeatMs = this.options.heartbeatMs ?? 10_000;
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ payloadType: payloadTypes.heartbeat, payload: {} }));
    }, heartbeatMs);
    this.heartbeat.unref?.();
    try {
      const app = await this.options.app();
      await this.request(payloadTypes.applicationAuthReq, { clientId: app.clientId, clientSecret: app.clientSecret }, only(payloadTypes.applicationAuthRes));
    } catch (error) {
      this.drop(new BrokerError('CONNECTION', 'the cTrader application was not authorized'));
      throw error;
    }
    return socket;
  }

  private drop(error: BrokerError): void {
    const socket = this.socket;
    this.socket = undefined;
    this.accounts.clear();
    this.spots.clear();
    this.spotSubscriptions.clear();
    clearInterval(this.heartbeat);
    if (socket && socket.readyState !== WebSocket.CLOSED) socket.terminate();
    for (const [id, waiter] of this.waiters) {
      this.waiters.delete(id);
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    if (socket) for (const listener of this.dropListeners) listener();
  }

  private receive(text: string): void {
    let message: CtraderMessage;
    try {
      message = JSON.parse(text) as CtraderMessage;
    } catch {
      return;
    }
    if (message.payloadType === payloadTypes.heartbeat) return;
    const waiter = message.clientMsgId ? this.waiters.get(message.clientMsgId) : undefined;
    if (waiter && message.clientMsgId) {
      const refusal = refusalOf(message);
      if (refusal) {
        this.waiters.delete(message.clientMsgId);
        clearTimeout(waiter.timer);
        waiter.reject(refusal);
        return;
      }
      waiter.seen.push(message);
      if (waiter.settle(message)) {
        this.waiters.delete(message.clientMsgId);
        clearTimeout(waiter.timer);
        waiter.resolve(waiter.seen);
      }
    }
    if (message.payloadType === payloadTypes.accountsTokenInvalidatedEvent) {
      for (const id of (message.payload?.ctidTraderAccountIds as number[] | undefined) ?? []) this.forgetAccount(Number(id));
    }
    if (message.payloadType === payloadTypes.accountDisconnectEvent) this.forgetAccount(Number(message.payload?.ctidTraderAccountId));
    if (message.payloadType === payloadTypes.spotEvent) {
      const spot = message.payload as { ctidTraderAccountId: number; symbolId: number; bid?: number; ask?: number; timestamp?: number };
      const key = `${Number(spot.ctidTraderAccountId)}#${spot.symbolId}`;
      const previous = this.spots.get(key);
      const bid = spot.bid !== undefined ? fromPoints(spot.bid) : previous?.bid;
      const ask = spot.ask !== undefined ? fromPoints(spot.ask) : previous?.ask;
      if (bid !== undefined && ask !== undefined) this.spots.set(key, { bid, ask, time: spot.timestamp ?? Date.now() });
    }
    if (message.payloadType === payloadTypes.clientDisconnectEvent) {
      this.drop(new BrokerError('CONNECTION', 'cTrader ended the session'));
    }
    for (const listener of this.listeners) listener(message);
  }

  /** Waits until one more request fits in the last second's budget. */
  private async pace(history: boolean): Promise<void> {
    const limits: [number[], number][] = [[this.sent, this.options.maxRequestsPerSecond ?? 40]];
    if (history) limits.push([this.sentHistory, this.options.maxHistoryRequestsPerSecond ?? 4]);
    for (;;) {
      const now = Date.now();
      let wait = 0;
      for (const [times, limit] of limits) {
        while (times.length > 0 && (times[0] ?? 0) <= now - 1000) times.shift();
        if (times.length >= limit) wait = Math.max(wait, (times[0] ?? now) + 1000 - now);
      }
      if (wait <= 0) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const now = Date.now();
    for (const [times] of limits) times.push(now);
  }
}

/** Settles on the one answer of this type. */
export const only =
  (payloadType: number): Settle =>
  (message) =>
    message.payloadType === payloadType;

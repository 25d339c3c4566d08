import { withDeadline } from '../../domain/deadline';
import type { Deal } from '../../domain/trading';
import type { AccountStream, AccountView } from '../../ports/broker';
import { toDeals, type OandaTransaction } from './oanda-models';
import type { OandaBrokerPort } from './oanda-port';
import { SynchronizationWaiters } from '../synchronization-waiters';

export interface OandaStreamOptions {
  /** OANDA's streaming base (`https://stream-fxpractice.oanda.com`). */
  streamUrl: string;
  accountId: string;
  /** The account's token, asked for at every (re)connection. Never logged. */
  token: () => Promise<string>;
  /** The port the account is read through with that token. */
  port: (token: string) => OandaBrokerPort;
  fetch: typeof fetch;
  /** Budget of opening the stream (its answer's headers). */
  connectMs: number;
  /** Silence after which the stream counts as dead: OANDA sends a HEARTBEAT every 5 s. */
  heartbeatTimeoutMs: number;
  /** First wait before reopening a stream that failed; doubled up to `maxReopenDelayMs`. */
  reopenDelayMs: number;
  maxReopenDelayMs: number;
}

/** The most deals a stream keeps for the sync to take: beyond, the oldest go (a history read over RPC has them). */
const DEALS_KEPT = 5_000;

/** A stream line: a transaction, or a heartbeat naming the last transaction. */
interface StreamLine extends Partial<OandaTransaction> {
  type?: string;
  lastTransactionID?: string;
}

/**
 * One account's v20 transaction stream (`GET /v3/accounts/{id}/transactions/stream` on the
 * streaming host), as an `AccountStream`. The stream says that something happened; what the
 * account looks like is then read over REST (open trades, pending orders and summary as of one
 * transaction), so the view is never a state assembled from deltas.
 *
 * - The view exists only while the stream is open and the account was read since it opened: a
 *   stream that dropped or fell silent (no heartbeat within `heartbeatTimeoutMs`) shows nothing,
 *   and the sync reads the account over RPC meanwhile; it reopens by itself, backing off.
 * - Every transaction, and a heartbeat naming a transaction the view has not seen, reads the
 *   account again (reads coalesce: one runs at a time, one more after it) and calls `onChange`.
 *   Other heartbeats refresh the funds only, without `onChange`.
 * - ORDER_FILL transactions become deals for `takeDeals` (a deal may come twice).
 */
export class OandaAccountStream implements AccountStream {
  private closed = false;
  /** Counts (re)connections; reads and timers of an older connection are ignored. */
  private generation = 0;
  /** The connection whose stream is open now. */
  private openGeneration: number | undefined;
  private current: { generation: number; view: AccountView; lastTransactionID?: string } | undefined;
  private controller: AbortController | undefined;
  private port: OandaBrokerPort | undefined;
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  private reopenTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private reading = false;
  private readAgain = false;
  private deals: Deal[] = [];
  private readonly waiters = new SynchronizationWaiters();

  constructor(
    private readonly options: OandaStreamOptions,
    private readonly onChange: () => void,
  ) {
    void this.open();
  }

  view(): AccountView | undefined {
    const current = this.current;
    return !this.closed && current && current.generation === this.openGeneration ? current.view : undefined;
  }

  synchronized(timeoutMs: number): Promise<boolean> {
    if (this.view()) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return this.waiters.wait(timeoutMs, () => this.view() !== undefined);
  }

  takeDeals(): Deal[] {
    const taken = this.deals;
    this.deals = [];
    return taken;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.openGeneration = undefined;
    clearTimeout(this.watchdog);
    clearTimeout(this.reopenTimer);
    this.controller?.abort();
    this.waiters.settle(false);
  }

  private async open(): Promise<void> {
    if (this.closed) return;
    this.generation += 1;
    const generation = this.generation;
    const controller = new AbortController();
    this.controller = controller;
    try {
      const token = await this.options.token();
      this.port = this.options.port(token);
      const base = this.options.streamUrl.replace(/\/+$/, '');
      const url = `${base}/v3/accounts/${encodeURIComponent(this.options.accountId)}/transactions/stream`;
      const response = await withDeadline(
        () =>
          this.options.fetch(url, {
            headers: { Authorization: `Bearer ${token}`, 'Accept-Datetime-Format': 'RFC3339' },
            signal: controller.signal,
          }),
        this.options.connectMs,
        'OANDA transaction stream',
      );
      if (!response.ok || !response.body) {
        await response.body?.cancel().catch(() => undefined);
        throw new Error(`the transaction stream answered ${response.status}`);
      }
      if (this.closed || generation !== this.generation) return;
      this.openGeneration = generation;
      this.failures = 0;
      this.armWatchdog(generation, controller);
      this.readAccount();
      await this.follow(response.body, generation, controller);
    } catch {
      // Refused, unreachable, dropped or silent: the account is read over RPC until it reopens.
    } finally {
      controller.abort();
      if (generation === this.generation && !this.closed) {
        this.openGeneration = undefined;
        this.current = undefined;
        clearTimeout(this.watchdog);
        this.failures += 1;
        const delay = Math.min(this.options.maxReopenDelayMs, this.options.reopenDelayMs * 2 ** Math.min(this.failures - 1, 10));
        this.reopenTimer = setTimeout(() => void this.open(), delay);
        this.reopenTimer.unref?.();
      }
    }
  }

  /** Reads the stream's lines until it ends, fails or is aborted. */
  private async follow(body: ReadableStream<Uint8Array>, generation: number, controller: AbortController): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.closed || generation !== this.generation) return;
        this.armWatchdog(generation, controller);
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
          const line = buffer.slice(0, end).trim();
          buffer = buffer.slice(end + 1);
          if (line) this.line(line);
        }
      }
    } finally {
      reader.releaseLock();
    }
  }

  private line(text: string): void {
    let line: StreamLine;
    try {
      line = JSON.parse(text) as StreamLine;
    } catch {
      return;
    }
    if (line.type === 'HEARTBEAT') {
      if (this.current?.lastTransactionID !== undefined && line.lastTransactionID === this.current.lastTransactionID) this.refreshFunds();
      else this.readAccount();
      return;
    }
    if (line.type === 'ORDER_FILL' && typeof line.id === 'string') {
      this.deals.push(...toDeals(line as OandaTransaction));
      if (this.deals.length > DEALS_KEPT) this.deals.splice(0, this.deals.length - DEALS_KEPT);
    }
    this.readAccount();
  }

  /** Reads the account as of one transaction; a read asked for while one runs runs once after it. */
  private readAccount(): void {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    void (async () => {
      try {
        do {
          this.readAgain = false;
          const generation = this.openGeneration;
          const port = this.port;
          if (this.closed || generation === undefined || !port) return;
          try {
            const snapshot = await port.snapshot();
            if (this.closed || generation !== this.openGeneration) continue;
            this.current = { generation, ...snapshot };
            this.waiters.settle(true);
            this.onChange();
          } catch {
            // The view would miss what the stream announced: none until a read succeeds (the next heartbeat asks again).
            if (generation === this.openGeneration) this.current = undefined;
          }
        } while (this.readAgain);
      } finally {
        this.reading = false;
      }
    })();
  }

  /** The funds as of now, when nothing happened since the view was read (no `onChange`: positions and orders are as they were). */
  private refreshFunds(): void {
    const port = this.port;
    const current = this.current;
    if (!port || !current || this.reading) return;
    void port.funds().then(
      ({ account, lastTransactionID }) => {
        if (this.current !== current || this.closed) return;
        if (lastTransactionID !== current.lastTransactionID) this.readAccount();
        else this.current = { ...current, view: { ...current.view, account } };
      },
      () => undefined,
    );
  }

  /** Aborts the connection when it stays silent past `heartbeatTimeoutMs`. */
  private armWatchdog(generation: number, controller: AbortController): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (generation === this.generation) controller.abort();
    }, this.options.heartbeatTimeoutMs);
    this.watchdog.unref?.();
  }
}

import type { AccountInformation, Deal, PendingOrder, Position } from '../../domain/trading';
import { withDeadline } from '../../domain/deadline';
import type { AccountStream, AccountView, BrokerAccountRef } from '../../ports/broker';
import type { MetaApiCloud } from './metaapi-cloud';
import {
  toAccountInformation,
  toDeal,
  toPendingOrder,
  toPosition,
  type MetaApiAccountInformation,
  type MetaApiDeal,
  type MetaApiOrder,
  type MetaApiPosition,
} from './metaapi-models';
import { StreamListenerBase, type StreamingConnection } from './metaapi-sdk';
import { SynchronizationWaiters } from '../synchronization-waiters';

/** How long a failed attempt to open a stream waits before the next (the RPC poll covers the gap). */
const REOPEN_DELAY_MS = 30_000;

/** The most deals a stream keeps for the sync to take: beyond, the oldest go (the next history read over RPC has them). */
const DEALS_KEPT = 5_000;

/**
 * One account's MetaApi streaming connection (`getStreamingConnection`), as an `AccountStream`.
 *
 * - It keeps no history (`NothingKeptHistoryStorage`) and asks for none before it opened.
 * - Its view is the SDK's terminal state, trusted only once the positions, orders and deals of
 *   the latest synchronization have arrived (not when MetaApi merely accepted it) and while the
 *   terminal is connected to the broker; otherwise the sync reads the account over RPC.
 * - `onChange` is called once per turn of the event loop after position or order updates, and
 *   after every (re)synchronization: the sync coalesces, diffs and dedups, so an update the SDK
 *   delivers twice (it can, during synchronization) changes nothing.
 * - The SDK reconnects and resubscribes by itself (also after MetaApi refused a subscription
 *   with 429); opening is retried here only when finding or connecting the account failed.
 */
export class MetaApiAccountStream implements AccountStream {
  private connection: StreamingConnection | undefined;
  private closed = false;
  private changePending = false;
  private readonly waiters = new SynchronizationWaiters();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private brokerConnected = false;
  /** Deals pushed since the last `takeDeals` (at most `DEALS_KEPT`: an hourly history read over RPC catches up on more). */
  private deals: Deal[] = [];
  /**
   * Per terminal instance: the synchronization under way and whether its orders and deals
   * have arrived. The SDK's own `synchronized` is set once MetaApi accepts the synchronize
   * request, before any position arrives: a view trusted then would be empty, and every
   * master position would look closed.
   */
  private readonly instances = new Map<string, { synchronizationId?: string; orders: boolean; deals: boolean }>();

  constructor(
    private readonly cloud: MetaApiCloud,
    private readonly ref: BrokerAccountRef,
    private readonly onChange: () => void,
  ) {
    void this.open();
  }

  view(): AccountView | undefined {
    const connection = this.connection;
    // The SDK clears its flag when the socket drops; ours waits for the data of the latest synchronization.
    if (!connection || this.closed || !connection.synchronized || !this.ready()) return undefined;
    const terminal = connection.terminalState;
    if (!terminal.connected || !terminal.connectedToBroker || !terminal.accountInformation) return undefined;
    return {
      positions: (terminal.positions as unknown as MetaApiPosition[]).map(toPosition).filter((position): position is Position => position !== undefined),
      orders: (terminal.orders as unknown as MetaApiOrder[]).map(toPendingOrder).filter((order): order is PendingOrder => order !== undefined),
      account: toAccountInformation(terminal.accountInformation as unknown as MetaApiAccountInformation) satisfies AccountInformation,
    };
  }

  synchronized(timeoutMs: number): Promise<boolean> {
    if (this.view()) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return this.waiters.wait(timeoutMs, () => this.view() !== undefined);
  }

  /**
   * The account's deals MetaApi pushed since the last call (trade deals only; the same deal may
   * come twice, after a resynchronization): the sync stores them as it would deals read over RPC.
   */
  takeDeals(): Deal[] {
    const taken = this.deals;
    this.deals = [];
    return taken;
  }

  private addDeal(deal: Deal): void {
    this.deals.push(deal);
    if (this.deals.length > DEALS_KEPT) this.deals.splice(0, this.deals.length - DEALS_KEPT);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.waiters.settle(false);
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await withDeadline(() => connection.close(), this.cloud.timeouts.requestMs, 'MetaApi stream close').catch(() => undefined);
  }

  private ready(): boolean {
    for (const instance of this.instances.values()) if (instance.synchronizationId && instance.orders && instance.deals) return true;
    return false;
  }

  private instance(instanceIndex: string) {
    let instance = this.instances.get(instanceIndex);
    if (!instance) this.instances.set(instanceIndex, (instance = { orders: false, deals: false }));
    return instance;
  }

  private changed(): void {
    if (this.changePending || this.closed) return;
    this.changePending = true;
    // After the SDK has applied the whole packet to its terminal state (every listener of it runs first).
    setImmediate(() => {
      this.changePending = false;
      if (!this.closed) this.onChange();
    });
  }

  private synchronizedNow(): void {
    // The SDK marks its state synchronized after its listeners ran: look on the next turn.
    setImmediate(() => {
      const synchronized = this.view() !== undefined;
      if (synchronized) this.waiters.settle(true);
      this.changed();
    });
  }

  private async open(): Promise<void> {
    try {
      const connection = await this.cloud.openStream(this.ref, this.listener());
      if (this.closed) {
        await connection.close().catch(() => undefined);
        return;
      }
      this.connection = connection;
    } catch {
      // Not at MetaApi, not deployed, or MetaApi unreachable: the account is polled over RPC
      // meanwhile, and that sync records why it cannot be read.
      if (!this.closed) this.retryTimer = setTimeout(() => void this.open(), REOPEN_DELAY_MS);
    }
  }

  private listener(): InstanceType<typeof StreamListenerBase> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const stream = this;
    const reset = (instanceIndex: string): void => void stream.instances.set(instanceIndex, { orders: false, deals: false });
    return new (class extends StreamListenerBase {
      override async onConnected(instanceIndex: string): Promise<void> {
        reset(instanceIndex);
      }
      override async onDisconnected(instanceIndex: string): Promise<void> {
        reset(instanceIndex);
      }
      override async onStreamClosed(instanceIndex: string): Promise<void> {
        reset(instanceIndex);
      }
      override async onSynchronizationStarted(
        instanceIndex: string,
        _specifications: unknown,
        _positions: unknown,
        _orders: unknown,
        synchronizationId: string,
      ): Promise<void> {
        stream.instances.set(instanceIndex, { synchronizationId, orders: false, deals: false });
      }
      override async onPendingOrdersSynchronized(instanceIndex: string, synchronizationId: string): Promise<void> {
        const instance = stream.instance(instanceIndex);
        if (instance.synchronizationId === synchronizationId) instance.orders = true;
      }
      override async onPositionsUpdated(): Promise<void> {
        stream.changed();
      }
      override async onPendingOrdersUpdated(): Promise<void> {
        stream.changed();
      }
      override async onDealAdded(_instanceIndex: string, deal: unknown): Promise<void> {
        const mapped = toDeal(deal as MetaApiDeal);
        if (mapped && !stream.closed) stream.addDeal(mapped);
      }
      override async onDealsSynchronized(instanceIndex: string, synchronizationId: string): Promise<void> {
        const instance = stream.instance(instanceIndex);
        if (instance.synchronizationId === synchronizationId) instance.deals = true;
        stream.synchronizedNow();
      }
      override async onBrokerConnectionStatusChanged(_instanceIndex: string, connected: boolean): Promise<void> {
        // A terminal that reconnected to its broker may hold a state the book has not seen.
        if (connected === stream.brokerConnected) return;
        stream.brokerConnected = connected;
        if (connected) stream.synchronizedNow();
      }
    })();
  }
}

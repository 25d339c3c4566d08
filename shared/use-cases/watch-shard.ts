import type { Account } from '../domain/account';
import type { CopyMapping } from '../domain/copy-mapping';
import type { AccountStream, AccountView } from '../ports/broker';
import type { ShardLease, ShardLeaseStore } from '../ports/stores';
import { brokerRef } from './broker-directory';
import { syncAccount, type AccountSyncOptions, type SyncDependencies } from './sync-accounts';

export interface WatchClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: WatchClock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

export interface ShardWatchOptions {
  shard: number;
  shards: number;
  /** This invocation, as the lease names its owner. */
  owner: string;
  /** Epoch ms: the invocation stops watching then (its own deadline, less the time to stop). */
  endsAt: number;
  /** A pass every so often: masters without a synchronized stream are read over RPC in it. */
  pollIntervalMs: number;
  /** Accounts that are not masters are read this often. */
  slaveIntervalMs: number;
  /** Every master is read over RPC this often (catches what a stream missed; re-sends what slaves miss). */
  reconcileIntervalMs: number;
  /** Hold masters' streams (platforms that push); off: every master is polled as before. */
  streaming: boolean;
  /** A renewed lease lasts this long: a dead owner's shard is free this long after its last pass. */
  leaseMs: number;
  /** This long before `endsAt` the owner asks for a successor (more than the schedule's period plus `syncWaitMs`). */
  handOverMs: number;
  /** How long a successor waits for its streams to synchronize before it takes over anyway. */
  syncWaitMs: number;
  /** Accounts read at the broker at once. */
  concurrency?: number;
  clock?: WatchClock;
  /** Stops the watch before `endsAt` (the local runtime's stop, tests). */
  signal?: AbortSignal;
}

export interface WatchDependencies extends SyncDependencies {
  shardLeases: ShardLeaseStore;
}

export interface ShardWatchResult {
  /** `skipped`: another invocation owns the shard and is not ending yet. */
  role: 'owner' | 'skipped';
  /** The invocation this one took the shard over from. */
  tookOverFrom?: string;
  /** The lease went to a successor (or was lost) before `endsAt`. */
  handedOver: boolean;
  passes: number;
  /** Master syncs fed by a stream (no read at the broker). */
  streamSyncs: number;
  /** Account syncs that read the broker over RPC. */
  rpcSyncs: number;
  events: number;
}

export const shardLeaseKey = (shard: number, shards: number): string => `${shard}/${shards}`;

/**
 * One sync invocation of one shard (EventBridge starts one per shard every minute; an
 * invocation may run for up to 15 minutes):
 *
 * 1. The shard's lease is free (or its owner died): this invocation takes it and watches.
 * 2. An owner holds it and is not ending: nothing to do, the invocation returns at once.
 * 3. The owner is ending (past `handOverAfter`): this invocation opens and synchronizes the
 *    masters' streams first, then takes the lease over; the owner sees its next renewal
 *    fail and stops. For a few seconds both may sync the same master: every event id,
 *    book write and copy claim is deduplicated, so nothing is copied twice.
 *
 * While it owns the shard, masters' streams feed the diff as updates arrive; every
 * `pollIntervalMs` a pass reads over RPC the masters whose stream is not synchronized
 * (and renews the lease and follows the shard's membership); every `reconcileIntervalMs`
 * every master is read over RPC (positions and orders; funds from the stream).
 */
export const watchShard = async (deps: WatchDependencies, options: ShardWatchOptions): Promise<ShardWatchResult> => {
  const clock = options.clock ?? realClock;
  const key = shardLeaseKey(options.shard, options.shards);
  const result: ShardWatchResult = { role: 'skipped', handedOver: false, passes: 0, streamSyncs: 0, rpcSyncs: 0, events: 0 };
  const lease = (): ShardLease => ({
    owner: options.owner,
    until: Math.min(clock.now() + options.leaseMs, options.endsAt + options.leaseMs),
    handOverAfter: options.endsAt - options.handOverMs,
  });
  const current = await deps.shardLeases.get(key);
  const held = current !== undefined && current.until > clock.now() && current.owner !== options.owner;
  if (held && clock.now() < current.handOverAfter) return result;

  const watcher = new ShardWatcher(deps, options, result);
  try {
    if (held) {
      // Hand-over: this invocation's streams are synchronized before the owner lets go.
      await watcher.refresh();
      await watcher.synchronized(options.syncWaitMs);
    }
    const taken = await deps.shardLeases.acquire(key, lease(), { now: clock.now(), previousOwner: held ? current.owner : undefined });
    if (!taken) return result;
    result.role = 'owner';
    if (held) result.tookOverFrom = current.owner;
    deps.log.info('shard watch started', { shard: key, owner: options.owner, tookOverFrom: result.tookOverFrom });

    let lastSlaves = Number.NEGATIVE_INFINITY;
    let lastReconcile = Number.NEGATIVE_INFINITY;
    for (let due = clock.now(); due <= options.endsAt && !options.signal?.aborted; ) {
      const wait = due - clock.now();
      if (wait > 0) await sleepUnless(clock, wait, options.signal);
      if (options.signal?.aborted) break;
      const began = clock.now();
      if (!(await deps.shardLeases.renew(key, lease()))) {
        result.handedOver = true;
        break;
      }
      await watcher.refresh();
      const includeSlaves = began - lastSlaves >= options.slaveIntervalMs;
      if (includeSlaves) lastSlaves = began;
      const reconcile = began - lastReconcile >= options.reconcileIntervalMs;
      if (reconcile) lastReconcile = began;
      await watcher.pass({ includeSlaves, reconcile });
      result.passes += 1;
      due = Math.max(began + options.pollIntervalMs, clock.now());
    }
    return result;
  } finally {
    await watcher.close();
    // Ending without a successor: the lease is freed at once, so the next minute's invocation starts at once.
    if (result.role === 'owner' && !result.handedOver) await deps.shardLeases.release(key, options.owner).catch(() => undefined);
    if (result.role === 'owner') deps.log.info('shard watch ended', { shard: key, owner: options.owner, ...result });
  }
};

const sleepUnless = (clock: WatchClock, ms: number, signal: AbortSignal | undefined): Promise<void> =>
  signal
    ? new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        signal.addEventListener('abort', done);
        void clock.sleep(ms).then(done);
      })
    : clock.sleep(ms);

/** A stream's view is diffed only this long after another writer's read of the same master (push latency is far below it). */
export const STREAM_SETTLE_MS = 1_000;

/** What a stream and an RPC read must agree on: which positions and orders, their volumes, prices and stops. */
const bookShape = (view: Pick<AccountView, 'positions' | 'orders'>): string =>
  JSON.stringify([
    view.positions.map((position) => [position.id, position.volume, position.stopLoss ?? null, position.takeProfit ?? null]).sort(),
    view.orders.map((order) => [order.id, order.volume, order.price, order.stopLoss ?? null, order.takeProfit ?? null]).sort(),
  ]);

type SyncKind = 'stream' | 'poll' | 'reconcile';
const rank: Record<SyncKind, number> = { stream: 0, poll: 1, reconcile: 2 };

interface Member {
  account: Account;
  mappings: CopyMapping[];
}

/**
 * The shard's accounts and the masters' streams of one invocation. Syncs of one account run
 * one at a time; a sync asked for while one runs is run once after it (the strongest asked).
 */
class ShardWatcher {
  private members = new Map<string, Member>();
  private readonly streams = new Map<string, AccountStream>();
  private readonly running = new Map<string, { next?: SyncKind; done: Promise<void> }>();
  private leaseRead: { at: number; lease: Promise<ShardLease | undefined> } | undefined;
  /** The book version each master's stream last wrote (see `settleLeft`). */
  private readonly streamWrote = new Map<string, number | undefined>();
  /** Stream changes are acted on only once the shard is owned (a successor only synchronizes). */
  private closed = false;

  constructor(
    private readonly deps: WatchDependencies,
    private readonly options: ShardWatchOptions,
    private readonly result: ShardWatchResult,
  ) {}

  /** Follows the shard's membership: streams for new masters, none for accounts that left it. */
  async refresh(): Promise<void> {
    const { accounts, mappings } = await this.deps.accounts.listSyncShard(this.options.shard, this.options.shards);
    const members = new Map<string, Member>();
    for (const account of accounts) members.set(account.id, { account, mappings: [] });
    for (const mapping of mappings) members.get(mapping.masterAccountId)?.mappings.push(mapping);
    this.members = members;
    for (const [accountId, stream] of this.streams) {
      const member = members.get(accountId);
      if (!member || member.mappings.length === 0) {
        this.streams.delete(accountId);
        await stream.close();
      }
    }
    if (!this.options.streaming || this.closed) return;
    for (const [accountId, member] of members) {
      if (member.mappings.length === 0 || this.streams.has(accountId)) continue;
      const gateway = this.gatewayOf(member.account);
      if (!gateway?.watch) continue;
      const stream = gateway.watch(brokerRef(member.account), () => this.changed(accountId));
      this.streams.set(accountId, stream);
    }
  }

  /** Waits (at most `timeoutMs`) for every master's stream to synchronize. */
  async synchronized(timeoutMs: number): Promise<void> {
    await Promise.all([...this.streams.values()].map((stream) => stream.synchronized(timeoutMs)));
  }

  /** One pass: masters without a view and due accounts over RPC, the rest from their streams. */
  async pass(due: { includeSlaves: boolean; reconcile: boolean }): Promise<void> {
    const work: [string, SyncKind][] = [];
    for (const [accountId, member] of this.members) {
      const isMaster = member.mappings.length > 0;
      if (!isMaster && !due.includeSlaves) continue;
      work.push([accountId, isMaster && due.reconcile ? 'reconcile' : 'poll']);
    }
    const queue = [...work];
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next; next = queue.shift()) await this.request(next[0], next[1]);
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency ?? 16, Math.max(queue.length, 1)) }, worker));
  }

  async close(): Promise<void> {
    this.closed = true;
    const streams = [...this.streams.values()];
    this.streams.clear();
    await Promise.all(streams.map((stream) => stream.close()));
    await Promise.all([...this.running.values()].map((entry) => entry.done));
  }

  private owned(): boolean {
    return this.result.role === 'owner' && !this.result.handedOver && !this.closed;
  }

  private changed(accountId: string): void {
    if (this.owned()) void this.request(accountId, 'stream');
  }

  private request(accountId: string, kind: SyncKind): Promise<void> {
    const entry = this.running.get(accountId);
    if (entry) {
      if (entry.next === undefined || rank[kind] > rank[entry.next]) entry.next = kind;
      return entry.done;
    }
    const state: { next?: SyncKind; done: Promise<void> } = { done: Promise.resolve() };
    this.running.set(accountId, state);
    state.done = (async () => {
      try {
        for (let current: SyncKind | undefined = kind; current !== undefined; ) {
          await this.sync(accountId, current);
          current = state.next;
          state.next = undefined;
        }
      } finally {
        this.running.delete(accountId);
      }
    })();
    return state.done;
  }

  /**
   * A diff never compares a book with an older read of the master (that would close, and
   * then reopen, a slave's copy). Reads of different sources are not ordered with each
   * other, so:
   *
   * - while the master's stream is synchronized, its view is what is diffed, and only against
   *   a book this stream wrote, or one written at least `STREAM_SETTLE_MS` before (an RPC
   *   read, the invocation before this one): by then the stream holds what that writer saw;
   * - the reconcile read over RPC then only checks the stream: a stream whose positions and
   *   orders differ from MetaApi's twice in a row missed something, and is closed (it opens
   *   and synchronizes afresh on the next pass) while the master is read over RPC;
   * - a master without a synchronized stream is read over RPC, as before streaming;
   * - past `handOverAfter` the lease is read before every sync: once a successor holds it,
   *   this invocation writes nothing more.
   */
  private async sync(accountId: string, kind: SyncKind): Promise<void> {
    const member = this.members.get(accountId);
    if (!member) return;
    const stream = this.streams.get(accountId);
    try {
      if (!(await this.stillOwner())) return;
      if (stream?.view() && member.mappings.length > 0) {
        if (kind === 'reconcile' && !(await this.streamHolds(member, stream))) {
          this.deps.log.warn('stream missed a change of the master; it synchronizes again', { tenantId: member.account.tenantId, accountId });
          this.streams.delete(accountId);
          await stream.close();
          await this.syncOver(member, { reconcile: true });
          return;
        }
        const settle = this.settleLeft(accountId);
        if (settle > 0) await new Promise((resolve) => setTimeout(resolve, settle));
        const view = stream.view();
        if (!view || this.streams.get(accountId) !== stream || !(await this.stillOwner())) return;
        await this.syncOver(member, { view, reconcile: kind === 'reconcile' });
        this.streamWrote.set(accountId, this.deps.bookCache?.get(accountId)?.version);
        return;
      }
      // No synchronized stream: a change it announced is read by the next pass.
      if (kind === 'stream') return;
      await this.syncOver(member, { reconcile: kind === 'reconcile' && member.mappings.length > 0 });
    } catch (error) {
      this.deps.log.error('sync failed', { tenantId: member.account.tenantId, accountId, error });
    }
  }

  /** How long to wait before a view may be diffed against the master's current book. */
  private settleLeft(accountId: string): number {
    const cached = this.deps.bookCache?.get(accountId);
    if (cached && cached.version === this.streamWrote.get(accountId)) return 0;
    // Another writer, or one not known: its read is at most as new as the book's sync time (or now).
    const now = this.deps.now().getTime();
    const writtenAt = cached ? Date.parse(cached.syncedAt) : now;
    return writtenAt + STREAM_SETTLE_MS - now;
  }

  /** Before `handOverAfter` the renewal of every pass suffices; after it, the lease is read. */
  private async stillOwner(): Promise<boolean> {
    if (Date.now() < this.options.endsAt - this.options.handOverMs) return this.owned();
    if (!this.owned()) return false;
    // One read serves the syncs of a quarter second.
    if (!this.leaseRead || Date.now() - this.leaseRead.at > 250) {
      this.leaseRead = { at: Date.now(), lease: this.deps.shardLeases.get(shardLeaseKey(this.options.shard, this.options.shards)) };
    }
    const lease = await this.leaseRead.lease;
    if (lease?.owner === this.options.owner) return true;
    this.result.handedOver = true;
    return false;
  }

  private async syncOver(member: Member, options: AccountSyncOptions): Promise<void> {
    const events = await syncAccount(this.deps, member.account, member.mappings, options);
    this.result.events += events.length;
    if (options.view) this.result.streamSyncs += 1;
    else this.result.rpcSyncs += 1;
  }

  /**
   * Whether the stream shows what MetaApi answers over RPC (positions and orders: two
   * requests). A trade between the read and the look makes them differ once: the check is
   * repeated once, after `STREAM_SETTLE_MS`, with a new read.
   */
  private async streamHolds(member: Member, stream: AccountStream): Promise<boolean> {
    const port = await this.deps.brokers.connect(member.account);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, STREAM_SETTLE_MS));
      const [positions, orders] = await Promise.all([port.getPositions(), port.getPendingOrders()]);
      const view = stream.view();
      if (!view) return true; // no longer synchronized: the next pass reads the master over RPC
      if (bookShape({ positions, orders }) === bookShape(view)) return true;
    }
    return false;
  }

  private gatewayOf(account: Account) {
    try {
      return this.deps.brokers.gateway(account.platform);
    } catch {
      return undefined;
    }
  }
}

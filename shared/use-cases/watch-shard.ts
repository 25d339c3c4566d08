import type { Account } from '../domain/account';
import { isBrokerError } from '../domain/broker-errors';
import type { AccountBook } from '../domain/account-book';
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
  /**
   * End after the first pass when the shard has no master to watch (its slaves are read in
   * that pass): the next scheduled invocation looks again, so an idle shard costs a short
   * invocation a minute instead of an owner all month.
   */
  endWhenIdle?: boolean;
  /**
   * The most masters' streams this invocation holds (what the function's memory was sized
   * for, `SYNC_STREAM_CAPACITY`); masters beyond it are polled over RPC, with a warning and
   * the `MastersNotStreamed` metric. @default no limit
   */
  maxStreams?: number;
  /**
   * The shard's accounts and mappings are listed again this often (16 queries a listing),
   * not on every pass: a new master is watched up to this much later, and a removed
   * mapping's signals are skipped by the copy worker meanwhile. @default every pass
   */
  membershipIntervalMs?: number;
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
  /** Ended after one pass: the shard had no master to watch (`endWhenIdle`). */
  idle?: boolean;
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

    // The lease is renewed on a heartbeat of its own, not between passes: a slow pass (many
    // unreachable accounts) never lets it expire under a live owner. A renewal that fails for
    // lack of an answer is tried again on the next beat; the lease counts as held only until
    // the last renewal's lease minus a margin, and the watch stops acting past that.
    watcher.renewedAt = clock.now();
    const heartbeat = setInterval(
      () => {
        void deps.shardLeases.renew(key, lease()).then(
          (renewed) => {
            if (renewed) watcher.renewedAt = clock.now();
            else result.handedOver = true;
          },
          (error: unknown) => deps.log.warn('shard lease renewal failed; retried on the next beat', { shard: key, error }),
        );
      },
      Math.max(100, Math.floor(options.leaseMs / 3)),
    );
    try {
      let lastSlaves = Number.NEGATIVE_INFINITY;
      let reportedNotStreamed = 0;
      let lastRefresh = Number.NEGATIVE_INFINITY;
      let lastReconcile = Number.NEGATIVE_INFINITY;
      for (let due = clock.now(); due <= options.endsAt && !options.signal?.aborted; ) {
        const wait = due - clock.now();
        if (wait > 0) await sleepUnless(clock, wait, options.signal);
        if (options.signal?.aborted || !watcher.owned()) break;
        const began = clock.now();
        try {
          if (began - lastRefresh >= (options.membershipIntervalMs ?? 0)) {
            await watcher.refresh();
            lastRefresh = began;
          }
          const includeSlaves = began - lastSlaves >= options.slaveIntervalMs;
          const reconcile = began - lastReconcile >= options.reconcileIntervalMs;
          await watcher.pass({ includeSlaves, reconcile });
          deps.metrics.emit({}, [
            { name: 'SyncPassDuration', unit: 'Milliseconds', value: clock.now() - began },
            ...(watcher.notStreamed > 0 ? [{ name: 'MastersNotStreamed', unit: 'Count', value: watcher.notStreamed } as const] : []),
          ]);
          if (watcher.notStreamed !== reportedNotStreamed) {
            reportedNotStreamed = watcher.notStreamed;
            if (reportedNotStreamed > 0) {
              deps.log.warn('more masters in the shard than streams it was sized for: the rest are polled over RPC', {
                shard: key,
                masters: watcher.masterCount(),
                maxStreams: options.maxStreams,
                polled: reportedNotStreamed,
              });
            }
          }
          if (includeSlaves) lastSlaves = began;
          if (reconcile) lastReconcile = began;
          result.passes += 1;
          if (options.endWhenIdle && watcher.masterCount() === 0) {
            result.idle = true;
            break;
          }
        } catch (error) {
          // A store that did not answer (throttled, unreachable): the next pass tries again.
          deps.log.error('shard pass failed', { shard: key, error });
        }
        due = Math.max(began + options.pollIntervalMs, clock.now());
      }
      if (!watcher.owned() && !options.signal?.aborted && clock.now() < options.endsAt) {
        if (!result.handedOver)
          deps.log.warn('shard lease lapsed: no renewal answered in time; the next invocation takes the shard', { shard: key, owner: options.owner });
        result.handedOver = true;
      }
    } finally {
      clearInterval(heartbeat);
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

/**
 * How long after another writer's book a stream's view is not trusted to close what the
 * stream has not shown (see `withUnconfirmed`): push latency is milliseconds; a stream waiting
 * out a gap in its packet sequence shows an older state for up to the SDK's ordering timeout (3 s).
 */
export const STREAM_SETTLE_MS = 4_000;

/** A stream that differed from an RPC read is compared again this much later, with a new read. */
const RECHECK_MS = 1_000;

const idsOf = (view: Pick<AccountView, 'positions' | 'orders'>): Set<string> =>
  new Set([...view.positions.map((position) => `p:${position.id}`), ...view.orders.map((order) => `o:${order.id}`)]);

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
  /** When this invocation's last RPC read of each account completed (epoch ms; see `withUnconfirmed`). */
  private readonly rpcReadDone = new Map<string, number>();
  /** The book version each master's stream last wrote, and when another writer last wrote one (epoch ms). */
  private readonly streamWrote = new Map<string, number | undefined>();
  private readonly foreignWrite = new Map<string, number>();
  /** What each stream has shown since it opened: positions (`p:<id>`) and orders (`o:<id>`). */
  private readonly seenBy = new WeakMap<AccountStream, Set<string>>();
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
    this.notStreamed = 0;
    if (!this.options.streaming || this.closed) return;
    const capacity = this.options.maxStreams ?? Number.POSITIVE_INFINITY;
    // By id, so the same masters keep their streams from pass to pass and invocation to invocation.
    for (const [accountId, member] of [...members].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (member.mappings.length === 0 || this.streams.has(accountId)) continue;
      const gateway = this.gatewayOf(member.account);
      if (!gateway?.watch) continue;
      if (this.streams.size >= capacity) {
        // Over what the function's memory was sized for: polled over RPC every pass instead.
        this.notStreamed += 1;
        continue;
      }
      const stream = gateway.watch(brokerRef(member.account), () => this.changed(accountId));
      this.streams.set(accountId, stream);
    }
  }

  /** Masters of the shard left without a stream at the last refresh: beyond `maxStreams`. */
  notStreamed = 0;

  /** The shard's accounts that are copied from (as of the last refresh). */
  masterCount(): number {
    return [...this.members.values()].filter((member) => member.mappings.length > 0).length;
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

  /** When the lease was last renewed (epoch ms). */
  renewedAt = Number.NEGATIVE_INFINITY;

  /** Owner, not handed over, and the last renewal's lease (less a margin) still running. */
  owned(): boolean {
    const margin = Math.min(5_000, this.options.leaseMs / 3);
    const now = (this.options.clock ?? realClock).now();
    return this.result.role === 'owner' && !this.result.handedOver && !this.closed && now < this.renewedAt + this.options.leaseMs - margin;
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
   * - while the master's stream is synchronized, its view is what is diffed, as each update
   *   arrives; what another writer put in the book and the stream has not shown yet is not
   *   closed by it for `STREAM_SETTLE_MS` (`withUnconfirmed`);
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
        if (!(await this.stillOwner())) return;
        const used: AccountView[] = [];
        const current = (previous: AccountBook | undefined): AccountView | undefined => {
          const view = this.streams.get(accountId) === stream ? stream.view() : undefined;
          if (!view) return undefined;
          used.push(view);
          return this.withUnconfirmed(accountId, stream, view, previous);
        };
        if (current(undefined)) {
          await this.syncOver(member, {
            view: current,
            reconcile: kind === 'reconcile',
            history: true,
            streamDeals: () => (this.streams.get(accountId) === stream ? (stream.takeDeals?.() ?? []) : []),
          });
          this.streamWrote.set(accountId, this.deps.bookCache?.get(accountId)?.version);
          const seen = this.seenBy.get(stream) ?? new Set<string>();
          for (const view of used) for (const id of idsOf(view)) seen.add(id);
          this.seenBy.set(stream, seen);
          return;
        }
        // The stream lost its synchronization while this sync waited: read the master over RPC instead.
      }
      // No synchronized stream: a change it announced is read by the next pass.
      if (kind === 'stream') return;
      await this.syncOver(member, { reconcile: kind === 'reconcile' && member.mappings.length > 0, history: true });
    } catch (error) {
      this.deps.log.error('sync failed', { tenantId: member.account.tenantId, accountId, error });
    }
  }

  /**
   * The view to diff against `previous`. A view may be a little older than a book another
   * writer wrote (an RPC read, the invocation before this one; reads of different sources are
   * not ordered with each other), and an older view lacks what was opened since: diffed as it
   * is, that would close a slave's copy. So a position or order of the book that this stream
   * has never shown, and that is missing from its view, counts as still there for
   * `STREAM_SETTLE_MS` after that book was written (a live stream is far faster); past that,
   * its absence is a close. Everything the stream has shown, it may close at once, and opens
   * and changes are never held back.
   */
  private withUnconfirmed(accountId: string, stream: AccountStream, view: AccountView, previous: AccountBook | undefined): AccountView {
    if (!previous) return view;
    // The last book another writer wrote (not this stream: its own writes hold only what it showed).
    if (previous.version !== this.streamWrote.get(accountId)) {
      this.foreignWrite.set(accountId, Math.max(Date.parse(previous.syncedAt), this.rpcReadDone.get(accountId) ?? Number.NEGATIVE_INFINITY));
    }
    const writtenAt = this.foreignWrite.get(accountId) ?? Number.NEGATIVE_INFINITY;
    if (this.deps.now().getTime() >= writtenAt + STREAM_SETTLE_MS) return view;
    const seen = this.seenBy.get(stream) ?? new Set<string>();
    const shown = idsOf(view);
    const positions = previous.positions
      .filter((position) => !shown.has(`p:${position.id}`) && !seen.has(`p:${position.id}`))
      .map(({ rev: _rev, detectedAt: _detected, baseline: _baseline, ...position }) => position);
    const orders = previous.orders
      .filter((order) => !shown.has(`o:${order.id}`) && !seen.has(`o:${order.id}`))
      .map(({ rev: _rev, detectedAt: _detected, baseline: _baseline, ...order }) => order);
    if (positions.length === 0 && orders.length === 0) return view;
    return { ...view, positions: [...view.positions, ...positions], orders: [...view.orders, ...orders] };
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
    try {
      const events = await syncAccount(this.deps, member.account, member.mappings, options);
      this.result.events += events.length;
    } finally {
      if (options.view) this.result.streamSyncs += 1;
      else {
        this.result.rpcSyncs += 1;
        this.rpcReadDone.set(member.account.id, this.deps.now().getTime());
      }
    }
  }

  /**
   * Whether the stream shows what MetaApi answers over RPC (positions and orders: two
   * requests). A trade between the read and the look makes them differ once: the check is
   * repeated once, `RECHECK_MS` later, with a new read.
   */
  private async streamHolds(member: Member, stream: AccountStream): Promise<boolean> {
    try {
      const port = await this.deps.brokers.connect(member.account);
      for (let attempt = 0; attempt < 2; attempt += 1) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, RECHECK_MS));
        const [positions, orders] = await Promise.all([port.getPositions(), port.getPendingOrders()]);
        const view = stream.view();
        if (!view) return true; // no longer synchronized: the next pass reads the master over RPC
        if (bookShape({ positions, orders }) === bookShape(view)) return true;
      }
      return false;
    } catch (error) {
      if (!isBrokerError(error)) throw error;
      // The check could not read the master: its RPC connection is opened afresh next time,
      // and the stream goes on feeding the diff meanwhile.
      this.deps.brokers.forget(member.account.id);
      this.deps.log.warn('reconcile check of a streamed master failed', { tenantId: member.account.tenantId, accountId: member.account.id, code: error.code });
      return true;
    }
  }

  private gatewayOf(account: Account) {
    try {
      return this.deps.brokers.gateway(account.platform);
    } catch {
      return undefined;
    }
  }
}

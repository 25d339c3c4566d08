import { z } from 'zod';
import type { AccountBook } from '../../shared/domain/account-book';
import type { Runtime } from '../../shared/runtime/runtime';
import type { SyncDependencies } from '../../shared/use-cases/sync-accounts';
import type { ShardWatchOptions, WatchDependencies } from '../../shared/use-cases/watch-shard';

export const syncEventSchema = z.object({
  shard: z.number().int().min(0).default(0),
  shards: z.number().int().min(1).default(1),
});

/** A book without changes is rewritten at most this often (its positions' profit); funds are written on change. */
export const BOOK_REFRESH_MS = 60_000;

/** A shard's lease outlives its owner's last renewal by this much (a dead owner's shard is free again after it). */
export const SHARD_LEASE_MS = 30_000;
/** How long a successor waits for its streams to synchronize before it takes over anyway. */
export const STREAM_SYNC_WAIT_MS = 30_000;

/**
 * How often a watching invocation lists its shard's accounts and mappings again: a new
 * mapping's master is watched within this (a pass every 5 s would list 16 buckets 518,400
 * times a month for what changes a few times a day).
 */
export const MEMBERSHIP_INTERVAL_MS = 30_000;
/**
 * An owner asks for a successor this long before it stops: the schedule's minute, the
 * successor's synchronization and a margin, so the successor takes over while the owner
 * still watches.
 */
export const HAND_OVER_MS = 60_000 + STREAM_SYNC_WAIT_MS + 20_000;
/** An invocation stops watching this long before its timeout (closing streams, releasing the lease). */
export const STOP_ALLOWANCE_MS = 15_000;

/**
 * The container's runtime as the shard watch needs it, with a book cache of this invocation
 * only: a warm container that owns the shard again a quarter of an hour later must not diff
 * against the books it wrote then (another owner has moved them on since).
 */
/** What a sync pass works with, by name, from the runtime; `bookCache` lives as long as the caller's loop. */
export const syncDependencies = (runtime: Runtime, bookCache: Map<string, AccountBook> = new Map()): SyncDependencies => ({
  accounts: runtime.accounts,
  books: runtime.books,
  mappings: runtime.mappings,
  copies: runtime.copies,
  protections: runtime.protections,
  queue: runtime.queue,
  brokers: runtime.brokers,
  now: runtime.now,
  log: runtime.log,
  metrics: runtime.metrics,
  bookRefreshMs: BOOK_REFRESH_MS,
  bookCache,
  tradeHistory: runtime.tradeHistory,
  history: {
    backfillDays: runtime.config.HISTORY_BACKFILL_DAYS,
    minIntervalMs: runtime.config.HISTORY_MIN_INTERVAL_MS,
    masterIntervalMs: runtime.config.MASTER_HISTORY_INTERVAL_MS,
    maxIntervalMs: 3_600_000,
  },
  equityPointIntervalMs: runtime.config.EQUITY_POINT_INTERVAL_MS,
  historyState: new Map(),
  accountState: new Map(),
});

/** The shard watch's dependencies: a sync pass's, a fresh book cache per invocation, and the shard leases. */
export const watchDependencies = (runtime: Runtime): WatchDependencies => ({ ...syncDependencies(runtime), shardLeases: runtime.shardLeases });

/** The watch of one invocation: the settings' cadence, until `endsAt`. */
export const watchOptions = (runtime: Runtime, event: z.infer<typeof syncEventSchema>, owner: string, endsAt: number): ShardWatchOptions => ({
  shard: event.shard,
  shards: event.shards,
  owner,
  endsAt,
  pollIntervalMs: runtime.config.MASTER_POLL_INTERVAL_MS,
  slaveIntervalMs: runtime.config.SLAVE_SYNC_INTERVAL_MS,
  reconcileIntervalMs: runtime.config.MASTER_RECONCILE_INTERVAL_MS,
  streaming: runtime.config.MASTER_STREAMING === 'on',
  ...(runtime.config.SYNC_STREAM_CAPACITY !== undefined ? { maxStreams: runtime.config.SYNC_STREAM_CAPACITY } : {}),
  endWhenIdle: true,
  membershipIntervalMs: MEMBERSHIP_INTERVAL_MS,
  leaseMs: SHARD_LEASE_MS,
  handOverMs: HAND_OVER_MS,
  syncWaitMs: STREAM_SYNC_WAIT_MS,
});

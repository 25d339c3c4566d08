import type { Account } from '../domain/account';
import type { AccountBook } from '../domain/account-book';
import type { CopyMapping } from '../domain/copy-mapping';
import type { CopyRecord, FinalCopyRecord, PendingCopyRecord } from '../domain/copy-record';
import type { MasterEvent } from '../domain/master-events';
import type { PositionLink, RefusedClose } from '../domain/position-link';
import type { AccountProtection, ProtectionStatus } from '../domain/protection';
import type { ClosedTrade, Deal, HistoryTrade } from '../domain/trading';
import type { EquityPoint } from '../domain/trade-stats';

export interface PageRequest {
  limit: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** What one sync shard has to look after: its accounts and the mappings whose master is among them. */
export interface SyncShardContents {
  accounts: Account[];
  mappings: CopyMapping[];
}

/** A pending OAuth authorization: the hash of the state handed to the broker, and the account it is for. */
export interface OAuthState {
  hash: string;
  tenantId: string;
  accountId: string;
  expiresAt: string;
}

/** Pending OAuth authorizations (cTrader): each state is taken once, and only before it expires. */
export interface OAuthStateStore {
  put(state: OAuthState): Promise<void>;
  /** Takes the state away: what it was for, or undefined when unknown, taken already or expired. */
  take(hash: string, now: Date): Promise<Omit<OAuthState, 'hash'> | undefined>;
}

export interface AccountStore {
  /** Creates the account; ConflictError if the id exists or the tenant has an account on the same (platform, server, login). */
  /**
   * Adds an account. With `maxAccounts`, refuses it (QuotaExceededError) when the tenant
   * already has that many, counted in the same transaction, so two creates at once cannot
   * both take the last place.
   */
  create(account: Account, options?: { maxAccounts?: number }): Promise<void>;
  get(tenantId: string, accountId: string): Promise<Account | undefined>;
  list(tenantId: string, page: PageRequest): Promise<Page<Account>>;
  /**
   * Overwrites the given fields and `updatedAt`; NotFoundError if absent. A new `server` that
   * makes the account the same login as another of the tenant's is a ConflictError.
   */
  update(tenantId: string, accountId: string, changes: Partial<Omit<Account, 'id' | 'tenantId' | 'createdAt' | 'platform' | 'login'>>): Promise<Account>;
  /**
   * Deletes the account and frees its login. With `graphVersion`, only while the tenant's
   * mapping graph is still at that version (the caller checked no mapping uses the account
   * at it) and the graph moves on: ConcurrentUpdateError otherwise.
   */
  delete(tenantId: string, accountId: string, options?: { graphVersion?: number }): Promise<void>;
  /** Accounts and master mappings of sync shard `shard` of `shards`, across tenants. */
  listSyncShard(shard: number, shards: number): Promise<SyncShardContents>;
}

/** A tenant's mappings as one graph, with the version every change of the graph moves on. */
export interface MappingGraph {
  version: number;
  mappings: CopyMapping[];
}

export interface MappingStore {
  /**
   * Creates the mapping only if the tenant's graph is still at `graphVersion` (the version the
   * caller checked it against) and moves the graph to the next version, atomically: two
   * creations checked against the same graph cannot both land. ConcurrentUpdateError when the
   * graph moved on (check again), ConflictError when the id exists.
   */
  create(mapping: CopyMapping, options: { graphVersion: number }): Promise<void>;
  get(tenantId: string, mappingId: string): Promise<CopyMapping | undefined>;
  list(tenantId: string, page: PageRequest): Promise<Page<CopyMapping>>;
  /** Every mapping of a tenant (for fan-out and checks); tenants have few. */
  listAll(tenantId: string): Promise<CopyMapping[]>;
  /** Every mapping of a tenant and the graph's version: no mapping of a later version is missing from an earlier one. */
  graph(tenantId: string): Promise<MappingGraph>;
  /**
   * Overwrites the given fields; NotFoundError if absent. With `enabledAt`, a mapping that
   * was disabled and is enabled by this change gets `activeSince = enabledAt`, decided
   * atomically with the change.
   */
  update(
    tenantId: string,
    mappingId: string,
    changes: Partial<Omit<CopyMapping, 'id' | 'tenantId' | 'createdAt' | 'activeSince' | 'announcedSince'>>,
    options?: { enabledAt?: string },
  ): Promise<CopyMapping>;
  /**
   * Notes that the master's book was announced to the mapping for its start `activeSince`;
   * does nothing when the mapping started again meanwhile (or is gone): that start is
   * announced on the next pass.
   */
  markAnnounced(tenantId: string, mappingId: string, activeSince: string): Promise<void>;
  delete(tenantId: string, mappingId: string): Promise<void>;
}

export interface BookStore {
  get(tenantId: string, accountId: string): Promise<AccountBook | undefined>;
  /**
   * Writes the book if the stored version is still `book.version - 1` (or none exists for
   * version 1); otherwise ConcurrentUpdateError and nothing is written.
   */
  put(book: AccountBook): Promise<void>;
}

export type ClaimResult =
  | { outcome: 'claimed'; record: PendingCopyRecord; resumed: boolean }
  | { outcome: 'done'; record: FinalCopyRecord }
  /** Held by another delivery; `leaseUntil` (epoch ms) is when it may be taken over. */
  | { outcome: 'busy'; leaseUntil?: number };

/**
 * The copy worker that claims: claims carry its `epoch` (when it started). A worker that
 * `supersedes` older ones knows every worker started before it is dead (the local runtime:
 * its DATA_DIR lock keeps one runtime at a time), so it takes their claims over at once
 * instead of waiting for their leases.
 */
export interface CopyWorkerIdentity {
  epoch: number;
  supersedes: boolean;
}

export interface ClaimOptions {
  now: Date;
  leaseMs: number;
  worker?: CopyWorkerIdentity;
}

export interface AuditEntry {
  tenantId: string;
  at: string;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string;
  details: Record<string, unknown>;
}

export interface CopyEffects {
  link?: PositionLink;
  audit?: AuditEntry;
  refusedClose?: { tenantId: string; mappingId: string; masterTicket: string; refused: RefusedClose };
}

export interface CopyStore {
  /**
   * Takes the record of (mapping, event) for processing. A new record is created pending;
   * a pending record whose lease ran out is taken over (`resumed`: an earlier attempt may
   * have reached the broker), and so is one held by a worker the claiming worker supersedes;
   * a record in progress elsewhere is `busy`; a finished one is `done`. At most one live
   * worker holds a record at a time.
   */
  claim(record: PendingCopyRecord, options: ClaimOptions): Promise<ClaimResult>;
  /**
   * Records the end of a claimed record, with the link change and audit entry, atomically.
   * `refusedClose` notes on an open link (only that field changes) that the slave's broker
   * refused its close for good, so the reconcile tries again later.
   */
  finish(record: FinalCopyRecord, effects?: CopyEffects): Promise<void>;
  /** Gives a claimed record back (deferred or retried later): pending, lease released. */
  release(record: PendingCopyRecord): Promise<void>;
  getLink(tenantId: string, mappingId: string, masterTicket: string): Promise<PositionLink | undefined>;
  listOpenLinks(tenantId: string, mappingId: string): Promise<PositionLink[]>;
  /**
   * Open links of one slave take new legs, atomically: each change only if its link is still
   * open and still holds the ticket and volume it was read with (ConcurrentUpdateError
   * otherwise). A FIFO account closes its oldest trades first: the copy that must close takes
   * the oldest trades and the others take its own (see `copy-signal.ts`, `closeOverLegs`).
   */
  relinkLegs(changes: readonly { before: PositionLink; after: PositionLink }[]): Promise<void>;
  listByMapping(tenantId: string, mappingId: string, page: PageRequest): Promise<Page<CopyRecord>>;
  /**
   * Every copy of the tenant, newest first (by detection), narrowed by `filter`. A page holds at
   * most `limit` records; it may hold fewer and still have a `nextCursor` when a filter leaves
   * little of what was read.
   */
  list(tenantId: string, filter: CopyFilter, page: PageRequest): Promise<Page<CopyRecord>>;
  get(tenantId: string, mappingId: string, eventId: string): Promise<CopyRecord | undefined>;
  /** The record whose broker side effect carries `clientId` (one record per client id). */
  findByClientId(tenantId: string, clientId: string): Promise<CopyRecord | undefined>;
}

/** What a tenant's copies can be narrowed to; `from <= detectedAt < to`. */
export interface CopyFilter {
  status?: CopyRecord['status'];
  /** Copies from or to this account (as master or as slave). */
  accountId?: string;
  mappingId?: string;
  from?: string;
  to?: string;
}

export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  list(tenantId: string, page: PageRequest): Promise<Page<AuditEntry & { id: string }>>;
}

/** A master event addressed to one mapping: the unit of work of the copy worker. */
export interface CopySignal {
  tenantId: string;
  mappingId: string;
  masterAccountId: string;
  slaveAccountId: string;
  event: MasterEvent;
  enqueuedAt: string;
}

export interface SignalQueue {
  /** Sends every signal; ordered per slave account; duplicates of one (mapping, event) collapse. */
  send(signals: CopySignal[]): Promise<void>;
}

/** A received signal the worker gives back, to come again after its own delay. */
export interface ReturnedDelivery {
  receiptHandle: string;
  delaySeconds: number;
}

/** The consumer's side of the copy queue: what the worker may do with signals it received. */
export interface SignalDeliveries {
  /**
   * Makes received signals visible again after their own delays rather than the queue's
   * whole visibility timeout. Best effort: a signal whose return is lost still comes back,
   * after the full timeout.
   */
  returnLater(deliveries: ReturnedDelivery[]): Promise<void>;
}

export interface ProtectionStore {
  get(tenantId: string, accountId: string): Promise<AccountProtection | undefined>;
  /** Sets the rules; keeps the status unless `status` is given (a reset gives it). */
  put(protection: Omit<AccountProtection, 'status'> & { status?: ProtectionStatus }): Promise<void>;
  /** Changes only the status (equity marks, breach, reset). */
  updateStatus(tenantId: string, accountId: string, status: ProtectionStatus): Promise<void>;
  delete(tenantId: string, accountId: string): Promise<void>;
}

/** Closed trades inserted as demo data (POST /v1/trades/demo), listed with the broker's history. */
export interface DemoTradeStore {
  add(tenantId: string, accountId: string, trades: ClosedTrade[]): Promise<void>;
  /** The account's demo trades closed in `from <= closedAt < to`. */
  list(tenantId: string, accountId: string, range: { from: string; to: string }): Promise<ClosedTrade[]>;
  /** Removes every demo trade of the account (when the account is deleted). */
  deleteAll(tenantId: string, accountId: string): Promise<void>;
}

/** Everything the copy worker reads before it acts on a signal. */
export interface CopyContext {
  mapping?: CopyMapping;
  slave?: Account;
  protection?: AccountProtection;
  link?: PositionLink;
  /** The copy record that placed the master's trade, when that trade is itself a copy. */
  origin?: CopyRecord;
}

export interface CopyContextRequest {
  mappingId: string;
  slaveAccountId: string;
  protection: boolean;
  linkTicket?: string;
  /** The master trade's client id, when it is one of ours: its record is read too. */
  originClientId?: string;
}

export interface CopyContextLoader {
  /** Reads the mapping, the slave account and, when asked, its protection, a link and an origin record, in one round trip. */
  load(tenantId: string, request: CopyContextRequest): Promise<CopyContext>;
}

/** Who watches a sync shard's streams, and until when (see `ShardLeaseStore`). */
export interface ShardLease {
  owner: string;
  /** Epoch ms: past it, the lease is free (its owner died or stopped renewing). */
  until: number;
  /** Epoch ms: from then on the owner is ending and wants a successor to take over. */
  handOverAfter: number;
}

/**
 * One lease per sync shard makes one sync invocation the owner of the shard's streams. The
 * owner renews it on every pass; a successor takes it over once the owner asked for one
 * (`handOverAfter`), after it synchronized its own streams; the owner sees the renewal fail
 * and stops. Every change is conditional, so two invocations never both hold it.
 */
export interface ShardLeaseStore {
  get(shardKey: string): Promise<ShardLease | undefined>;
  /**
   * Takes the lease when it is free (absent, expired, or `previousOwner` still holds it as
   * read): true when taken, false when another invocation holds it now.
   */
  acquire(shardKey: string, lease: ShardLease, options: { now: number; previousOwner?: string }): Promise<boolean>;
  /** Extends the owner's lease; false when it is no longer the owner. */
  renew(shardKey: string, lease: ShardLease): Promise<boolean>;
  /** Frees the lease at once, if `owner` still holds it. */
  release(shardKey: string, owner: string): Promise<void>;
}

/** How far an account's deal history is stored: every deal before `syncedTo` is in the store. */
export interface HistoryCursor {
  tenantId: string;
  accountId: string;
  syncedTo: string;
  /** When the history was last read, and the account's balance then (a new balance means new deals). */
  syncedAt: string;
  balance?: number;
  /** The broker returned its most deals for a window: older deals may be missing (said on the account's history). */
  truncatedBefore?: string;
}

/**
 * An account's deals, closed trades and equity points, as the sync stored them: what the
 * history routes answer from without asking the broker. Every write is idempotent (keyed by
 * the broker's ids and times), so a sync that died halfway writes the same items again.
 */
export interface TradeHistoryStore {
  getCursor(tenantId: string, accountId: string): Promise<HistoryCursor | undefined>;
  putCursor(cursor: HistoryCursor): Promise<void>;
  putDeals(tenantId: string, accountId: string, deals: Deal[]): Promise<void>;
  /** Every stored deal of one position, oldest first. */
  dealsOfPosition(tenantId: string, accountId: string, positionId: string): Promise<Deal[]>;
  putTrades(tenantId: string, accountId: string, trades: HistoryTrade[]): Promise<void>;
  /** Trades with `from <= closedAt < to`, newest first. */
  listTrades(tenantId: string, accountId: string, range: { from: string; to: string }): Promise<HistoryTrade[]>;
  /** A point at its minute; `rollUp` also keeps it as its hour's and day's point (the first of each). */
  putEquityPoint(tenantId: string, accountId: string, point: EquityPoint, rollUp: { hour: boolean; day: boolean }): Promise<void>;
  /** Points with `from <= at < to`, oldest first, at the resolution asked. */
  listEquity(tenantId: string, accountId: string, range: { from: string; to: string }, interval: EquityInterval): Promise<EquityPoint[]>;
}

export type EquityInterval = 'minute' | 'hour' | 'day';

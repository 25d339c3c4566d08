import type { Account } from '../domain/account';
import type { AccountBook } from '../domain/account-book';
import { describeBrokerError, isBrokerError } from '../domain/broker-errors';
import { activeSinceOf, needsAnnouncement, type CopyMapping } from '../domain/copy-mapping';
import { ConcurrentUpdateError } from '../domain/errors';
import { masterOpenTime } from '../domain/copy-planning';
import { announceBook, diffBook, isOpen, type MasterEvent } from '../domain/master-events';
import type { MetricValue, Metrics } from '../ports/metrics';
import { reconcileMapping } from '../domain/reconcile';
import type { AccountView } from '../ports/broker';
import { type Log, withLogKeys } from '../ports/log';
import type { Deal } from '../domain/trading';
import { DEFAULT_HISTORY_SETTINGS, type HistorySettings, historyDue, storeDeals, syncHistory } from './sync-history';
import type { AccountStore, BookStore, CopySignal, CopyStore, MappingStore, ProtectionStore, SignalQueue, TradeHistoryStore } from '../ports/stores';
import type { BrokerDirectory } from './broker-directory';
import { markSlaveEquity } from './protect-slave';

export interface SyncDependencies {
  accounts: AccountStore;
  books: BookStore;
  mappings: MappingStore;
  copies: CopyStore;
  protections: ProtectionStore;
  queue: SignalQueue;
  brokers: BrokerDirectory;
  now: () => Date;
  log: Log;
  metrics: Metrics;
  /** A book without changes is still rewritten this often, to keep funds and profit fresh. */
  bookRefreshMs: number;
  /** Where deals, closed trades and equity points are kept; without it, no history is kept. */
  tradeHistory?: TradeHistoryStore;
  /** @default DEFAULT_HISTORY_SETTINGS */
  history?: HistorySettings;
  /** @default EQUITY_POINT_INTERVAL_MS */
  equityPointIntervalMs?: number;
  /**
   * What this process last kept of each account's history (its last equity point, its last
   * deal read and the balance then), so a pass decides without a read: the account item in
   * hand may be older than this process's own last write.
   */
  historyState?: Map<string, HistoryState>;
  /**
   * What this process last wrote of each account's state (status, funds), so a pass writes
   * only what changed: the account item in hand may be older than this process's own write.
   */
  accountState?: Map<string, WrittenAccountState>;
  /**
   * The books this process last committed, so a warm sync loop polls a master without
   * reading its book back every time. Safe because every book write is conditional on the
   * version: a book moved on by another process fails the write and is read afresh.
   */
  bookCache?: Map<string, AccountBook>;
}

/** Events that start something new go to enabled mappings only; the rest to every mapping, so a disabled mapping still closes what it opened. */
const opensSomething = (event: MasterEvent): boolean => event.kind === 'positionOpened' || event.kind === 'orderPlaced' || event.kind === 'positionIncreased';

export const signalsFor = (events: MasterEvent[], mappings: CopyMapping[], enqueuedAt: string): CopySignal[] =>
  events.flatMap((event) =>
    mappings
      .filter((mapping) => mapping.enabled || !opensSomething(event))
      .map((mapping) => ({
        tenantId: mapping.tenantId,
        mappingId: mapping.id,
        masterAccountId: mapping.masterAccountId,
        slaveAccountId: mapping.slaveAccountId,
        event,
        enqueuedAt,
      })),
  );

/** An account's state as last written: what the API shows. */
export type WrittenAccountState = Pick<Account, 'status' | 'statusDetail' | 'balance' | 'equity' | 'currency' | 'lastSyncAt'>;

/**
 * Equity moves with every tick of an open position. A move of this share of the balance (0.1 %,
 * ten dollars on ten thousand) is written at the pass that sees it; a smaller one waits until
 * `EQUITY_DRIFT_WRITE_MS` after the last write, so an account whose positions drift is
 * rewritten at most once a minute, as before, and an account that does not move is not.
 */
export const EQUITY_WRITE_FRACTION = 0.001;
export const EQUITY_DRIFT_WRITE_MS = 60_000;

/** `lastSyncAt` is rewritten at least this often while nothing changes: it tells the sync is alive. */
export const LAST_SYNC_HEARTBEAT_MS = 15 * 60_000;

/**
 * Why the account's state must be written now, or undefined. On change, not on a clock:
 * status, balance and currency at once; equity at once past `EQUITY_WRITE_FRACTION` of the
 * balance, a smaller move (a cent or more) once `EQUITY_DRIFT_WRITE_MS` passed; an unchanged
 * account only renews `lastSyncAt` every `LAST_SYNC_HEARTBEAT_MS`. Never more writes than the
 * rewrite a minute it replaces.
 */
export const accountStateChange = (written: WrittenAccountState, next: WrittenAccountState, now: Date): string | undefined => {
  if (written.status !== next.status || written.statusDetail !== next.statusDetail) return 'status';
  if (next.balance === undefined) return undefined;
  if (written.balance !== next.balance || written.currency !== next.currency) return 'balance';
  const equity = next.equity ?? next.balance;
  const sinceWrite = written.lastSyncAt ? now.getTime() - Date.parse(written.lastSyncAt) : Number.POSITIVE_INFINITY;
  // Money in cents: 10,010.00 - 10,000.00 is ten dollars, whatever the binary fractions say.
  const movedCents = written.equity === undefined ? Number.POSITIVE_INFINITY : Math.floor(Math.abs(equity - written.equity) * 100 + 1e-6);
  if (movedCents >= Math.max(1, Math.round(Math.abs(next.balance) * EQUITY_WRITE_FRACTION * 100))) return 'equity';
  if (movedCents >= 1 && sinceWrite >= EQUITY_DRIFT_WRITE_MS) return 'equity drift';
  if (sinceWrite >= LAST_SYNC_HEARTBEAT_MS) return 'heartbeat';
  return undefined;
};

/**
 * Marks an account's connection state and funds, writing only what changed (see
 * `accountStateChange`): the API shows a balance at most one sync old, without a write per
 * account per pass.
 */
const recordAccountState = async (
  deps: SyncDependencies,
  account: Account,
  state: Pick<Account, 'status' | 'statusDetail'> & Partial<Pick<Account, 'balance' | 'equity' | 'currency' | 'equityPointAt'>>,
): Promise<void> => {
  const now = deps.now();
  const { equityPointAt, ...visible } = state;
  const written: WrittenAccountState = deps.accountState?.get(account.id) ?? account;
  const next: WrittenAccountState = { ...written, ...visible, ...(visible.balance !== undefined ? { lastSyncAt: now.toISOString() } : {}) };
  if (!accountStateChange(written, next, now) && !equityPointAt) return;
  await deps.accounts.update(account.tenantId, account.id, {
    ...state,
    statusDetail: state.statusDetail,
    ...(state.balance !== undefined ? { lastSyncAt: next.lastSyncAt } : {}),
  });
  deps.accountState?.set(account.id, {
    status: next.status,
    statusDetail: next.statusDetail,
    balance: next.balance,
    equity: next.equity,
    currency: next.currency,
    lastSyncAt: next.lastSyncAt,
  });
};

export interface AccountSyncOptions {
  /** Also re-send what the master's slaves are missing (see `reconcile`). */
  reconcile?: boolean;
  /** Keep the account's history (equity points, deals and trades) when due: passes that read the account at the broker. */
  history?: boolean;
  /**
   * The deals the account's stream pushed since the last sync: stored as they come, so the
   * history of a streamed master is read over RPC only at the longest interval (a catch-up).
   */
  streamDeals?: () => Deal[];
  /**
   * The account as its stream pushed it: no read at the broker at all. Asked for after the
   * book is loaded, with that book (see `watchShard`'s rule for what a stream may close);
   * undefined (the stream lost its synchronization meanwhile): nothing is synced.
   */
  view?: (previous: AccountBook | undefined) => AccountView | undefined;
}

/** The account as the broker has it now: pushed (a stream's view) or read over RPC. */
const readAccount = async (deps: SyncDependencies, account: Account): Promise<AccountView> => {
  const port = await deps.brokers.connect(account);
  if (port.readAccount) return port.readAccount();
  const [positions, orders, information] = await Promise.all([port.getPositions(), port.getPendingOrders(), port.getAccountInformation()]);
  return { positions, orders, account: information };
};

/**
 * One sync of one account: reads it at the broker, diffs it against its book and, for a
 * master, sends one copy signal per (event, mapping) BEFORE committing the new book. If the
 * commit then loses a race or the process dies, the next sync diffs the old book again and
 * sends the same events under the same ids: they are deduplicated downstream, never lost.
 */
export const syncAccount = (
  deps: SyncDependencies,
  account: Account,
  masterMappings: CopyMapping[],
  options: AccountSyncOptions = {},
): Promise<MasterEvent[]> =>
  // Every line logged on the way (a broker adapter's too) names the account.
  withLogKeys({ tenantId: account.tenantId, accountId: account.id }, () => syncOneAccount(deps, account, masterMappings, options));

const syncOneAccount = async (deps: SyncDependencies, account: Account, masterMappings: CopyMapping[], options: AccountSyncOptions): Promise<MasterEvent[]> => {
  const now = deps.now();
  const loadBook = async () => deps.bookCache?.get(account.id) ?? (await deps.books.get(account.tenantId, account.id));
  let view: AccountView;
  let previous: AccountBook | undefined;
  if (options.view) {
    previous = await loadBook();
    const pushed = options.view(previous);
    if (!pushed) return [];
    view = pushed;
  } else {
    try {
      view = await readAccount(deps, account);
    } catch (error) {
      if (!isBrokerError(error)) throw error;
      deps.brokers.forget(account.id);
      deps.log.warn('account unreachable', { tenantId: account.tenantId, accountId: account.id, code: error.code });
      const status = error.errorClass === 'terminal' ? 'error' : 'disconnected';
      await recordAccountState(deps, account, { status, statusDetail: describeBrokerError(error) });
      return [];
    }
    previous = await loadBook();
  }
  const { book, events } = diffBook(previous, view, { tenantId: account.tenantId, accountId: account.id, now });
  const isMaster = masterMappings.length > 0;
  // A mapping that starts (created, or enabled again) is sent every position and pending order
  // the master holds, once: the copies list then explains every master ticket from its start,
  // copied or skipped OPENED_BEFORE_MAPPING (decided by the worker from the broker's open time).
  const starting = masterMappings.filter(needsAnnouncement);
  const announcements = starting.length > 0 ? signalsFor(announceBook(book, events, now.toISOString()), starting, now.toISOString()) : [];
  const signals = [...(events.length > 0 ? signalsFor(events, masterMappings, now.toISOString()) : []), ...announcements];
  if (signals.length > 0) {
    await deps.queue.send(signals);
    // One DetectionLag point per master event (its sample count is the events detected); the
    // master and the signals sent ride along (a lag per master in Logs Insights, no metric per id).
    deps.metrics.emit({}, detectionLags(events, now), { signalsSent: signals.length, masterAccountId: account.id });
  }
  let committed = true;
  if (shouldWriteBook(previous, book, events, deps.bookRefreshMs)) {
    try {
      await deps.books.put(book);
      deps.bookCache?.set(account.id, book);
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError)) throw error;
      deps.bookCache?.delete(account.id);
      committed = false;
      deps.log.info('book moved on under a concurrent sync', { tenantId: account.tenantId, accountId: account.id });
    }
  }
  // Announced (sent before anything is noted): a pass that dies here announces again, under the same ids.
  if (committed) await Promise.all(starting.map((mapping) => deps.mappings.markAnnounced(mapping.tenantId, mapping.id, activeSinceOf(mapping))));
  if (isMaster && options.reconcile && committed && previous) await reconcile(deps, book, masterMappings);
  if (!isMaster) {
    // Slaves' loss rules are marked on every sync of theirs (and before every open).
    const protection = await deps.protections.get(account.tenantId, account.id);
    if (protection) await markSlaveEquity(deps, account, protection, view.account.equity, view.account.balance);
  }
  const point = options.history && deps.tradeHistory ? await keepEquityPoint(deps, deps.tradeHistory, account, view.account) : undefined;
  await recordAccountState(deps, account, {
    status: 'connected',
    statusDetail: undefined,
    balance: view.account.balance,
    equity: view.account.equity,
    currency: view.account.currency,
    ...(point ? { equityPointAt: point } : {}),
  });
  if (options.history && deps.tradeHistory) await keepDeals(deps, deps.tradeHistory, account, isMaster, view.account.balance, options.streamDeals);
  return events;
};

/** What a process knows of an account's history between passes. */
export interface HistoryState {
  equityPointAt?: string;
  /** Undefined until the account's cursor was read (once per process) or written. */
  cursor?: { syncedAt: string; balance?: number } | null;
  /** A history read that failed: the next is tried `minIntervalMs` later, not on every pass. */
  failedAt?: number;
}

const laterOf = (a: string | undefined, b: string | undefined): string | undefined => (!a ? b : !b ? a : a > b ? a : b);

/**
 * An equity point of the account, at most every `equityPointIntervalMs` while its funds move
 * (hourly while they do not); the first of an hour and of a day is kept as that hour's and
 * day's point too. Returns when it was kept (the account item records it with its funds).
 */
const keepEquityPoint = async (
  deps: SyncDependencies,
  tradeHistory: TradeHistoryStore,
  account: Account,
  funds: { balance: number; equity: number },
): Promise<string | undefined> => {
  const now = deps.now();
  const known = laterOf(deps.historyState?.get(account.id)?.equityPointAt, account.equityPointAt);
  const last = known ? Date.parse(known) : undefined;
  const moved = funds.balance !== account.balance || funds.equity !== account.equity;
  if (last !== undefined && now.getTime() - last < (moved ? (deps.equityPointIntervalMs ?? EQUITY_POINT_INTERVAL_MS) : 3_600_000)) return undefined;
  const at = now.toISOString();
  const previous = known ?? '';
  try {
    await tradeHistory.putEquityPoint(
      account.tenantId,
      account.id,
      { at, balance: funds.balance, equity: funds.equity },
      { hour: previous.slice(0, 13) !== at.slice(0, 13), day: previous.slice(0, 10) !== at.slice(0, 10) },
    );
    deps.historyState?.set(account.id, { ...deps.historyState.get(account.id), equityPointAt: at });
    return at;
  } catch (error) {
    deps.log.warn('equity point not kept; the next pass tries again', { error });
    return undefined;
  }
};

/**
 * The account's deals and closed trades, read when its balance moved or the longest interval
 * passed (`historyDue`). A history that cannot be read now is read by a later pass: it never
 * fails the sync.
 */
const keepDeals = async (
  deps: SyncDependencies,
  tradeHistory: TradeHistoryStore,
  account: Account,
  isMaster: boolean,
  balance: number,
  streamDeals?: () => Deal[],
): Promise<void> => {
  const kept = deps.history ?? DEFAULT_HISTORY_SETTINGS;
  // A streamed account's deals come with its updates; over RPC only the hourly catch-up.
  const settings = streamDeals ? { ...kept, minIntervalMs: kept.maxIntervalMs, masterIntervalMs: kept.maxIntervalMs } : kept;
  const state = deps.historyState?.get(account.id);
  if (state?.failedAt !== undefined && deps.now().getTime() - state.failedAt < kept.minIntervalMs) return;
  try {
    const pushed = streamDeals?.() ?? [];
    if (pushed.length > 0) await storeDeals({ ...deps, tradeHistory }, account, pushed);
    // The cursor is read once per process; after that the process knows what it wrote.
    let cursor = state?.cursor;
    if (cursor === undefined) {
      const stored = await tradeHistory.getCursor(account.tenantId, account.id);
      cursor = stored ? { syncedAt: stored.syncedAt, ...(stored.balance !== undefined ? { balance: stored.balance } : {}) } : null;
      deps.historyState?.set(account.id, { ...state, cursor });
    }
    if (historyDue(cursor ?? undefined, { balance }, isMaster, settings, deps.now())) {
      await syncHistory({ ...deps, tradeHistory }, account, { backfillDays: settings.backfillDays, balance });
      deps.historyState?.set(account.id, {
        ...deps.historyState.get(account.id),
        cursor: { syncedAt: deps.now().toISOString(), balance },
        failedAt: undefined,
      });
    }
  } catch (error) {
    // What was stored stays stored (the cursor moved past it): the next try resumes there.
    deps.historyState?.set(account.id, { ...deps.historyState.get(account.id), failedAt: deps.now().getTime() });
    deps.log.warn('trade history not read this pass; tried again after the shortest history interval', { error });
  }
};

/** Equity points are kept at most this often per account while its funds move. */
export const EQUITY_POINT_INTERVAL_MS = 5 * 60_000;

/**
 * Repairs what a lost signal left behind (a process killed with signals in flight, a message
 * that went to the DLQ): re-sends the events that bring each mapping's slave back in line
 * with the master's book. Their ids are the detection's own, so nothing is copied twice.
 */
const reconcile = async (deps: SyncDependencies, book: AccountBook, mappings: CopyMapping[]): Promise<void> => {
  const now = deps.now();
  // The links of a master's mappings are read RECONCILE_READS at a time: a master of a thousand
  // slaves is a thousand queries, and the shard's next pass waits for this one.
  const perMapping: CopySignal[][] = new Array(mappings.length);
  let next = 0;
  const reader = async (): Promise<void> => {
    for (let index = next++; index < mappings.length; index = next++) {
      const mapping = mappings[index] as CopyMapping;
      const links = await deps.copies.listOpenLinks(mapping.tenantId, mapping.id);
      perMapping[index] = signalsFor(reconcileMapping(book, mapping, links, now), [mapping], now.toISOString());
    }
  };
  await Promise.all(Array.from({ length: Math.min(RECONCILE_READS, mappings.length) }, reader));
  // In the mappings' order, as before: each slave's signals keep their order in its group.
  const signals = perMapping.flat();
  if (signals.length > 0) await deps.queue.send(signals);
};

/** Link queries of one master's reconcile at once. */
const RECONCILE_READS = 16;

/** How long after the broker's open time each new master trade was seen (clocks of two machines: a guide, not a proof). */
const detectionLags = (events: MasterEvent[], now: Date): MetricValue[] =>
  events.filter(isOpen).flatMap((event) => {
    const lag = now.getTime() - Date.parse(masterOpenTime(event));
    return Number.isFinite(lag) && lag >= 0 ? [{ name: 'DetectionLag', unit: 'Milliseconds' as const, value: lag }] : [];
  });

const shouldWriteBook = (previous: AccountBook | undefined, book: AccountBook, events: MasterEvent[], refreshMs: number): boolean => {
  if (!previous || events.length > 0) return true;
  if (previous.positions.length !== book.positions.length || previous.orders.length !== book.orders.length) return true;
  if (previous.balance !== book.balance) return true;
  return Date.parse(book.syncedAt) - Date.parse(previous.syncedAt) >= refreshMs;
};

export interface ShardSyncOptions {
  shard: number;
  shards: number;
  /** Also sync accounts that are not masters (slaves' funds and positions). */
  includeSlaves: boolean;
  /** Limits how many accounts are read at the broker at once. */
  concurrency?: number;
}

/**
 * One pass over a shard: every master, and every other account when `includeSlaves`.
 * Accounts are independent: one failing or slow account does not stop the others.
 */
export const syncShard = async (deps: SyncDependencies, options: ShardSyncOptions): Promise<{ accounts: number; events: number; failed: number }> => {
  const { accounts, mappings } = await deps.accounts.listSyncShard(options.shard, options.shards);
  const byMaster = new Map<string, CopyMapping[]>();
  for (const mapping of mappings) byMaster.set(mapping.masterAccountId, [...(byMaster.get(mapping.masterAccountId) ?? []), mapping]);
  const due = accounts.filter((account) => byMaster.has(account.id) || options.includeSlaves);
  let events = 0;
  let failed = 0;
  const queue = [...due];
  const worker = async (): Promise<void> => {
    for (let account = queue.shift(); account; account = queue.shift()) {
      try {
        events += (await syncAccount(deps, account, byMaster.get(account.id) ?? [], { reconcile: options.includeSlaves, history: true })).length;
      } catch (error) {
        failed += 1;
        deps.log.error('sync failed', { tenantId: account.tenantId, accountId: account.id, error });
      }
    }
  };
  const began = deps.now().getTime();
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 16, Math.max(due.length, 1)) }, worker));
  deps.metrics.emit({}, [{ name: 'SyncPassDuration', unit: 'Milliseconds', value: deps.now().getTime() - began }]);
  return { accounts: due.length, events, failed };
};

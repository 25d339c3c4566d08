import type { Account } from '../domain/account';
import { pairClosedTrades } from '../domain/closed-trades';
import { add, div, exact, mul, toNumber, ZERO } from '../domain/exact';
import type { Deal, HistoryTrade } from '../domain/trading';
import type { Log } from '../ports/log';
import type { CopyStore, HistoryCursor, TradeHistoryStore } from '../ports/stores';
import type { BrokerDirectory } from './broker-directory';

const DAY_MS = 24 * 3_600_000;

/** The history is read in windows of at most a week (a window's deals are stored before the cursor moves past it). */
export const HISTORY_WINDOW_MS = 7 * DAY_MS;
/** Deals of the last minute are read again next time: a broker books a deal a moment after its time. */
export const HISTORY_SETTLE_MS = 60_000;
/**
 * The most deals a broker returns for one read (MetaApi keeps at most 5,000 on some servers).
 * A window that returns this many is halved until it returns fewer, down to an hour; an hour
 * that still returns this many is stored as it is and the cursor says the history before it
 * may be missing deals.
 */
export const BROKER_DEAL_LIMIT = 5_000;
const SMALLEST_WINDOW_MS = 3_600_000;

/** How often the history is read: when the balance moved (a close, a deposit) or at the longest interval. */
export interface HistorySettings {
  /** The first read goes this far back. */
  backfillDays: number;
  /** An account whose balance moved is read again this long after the last read, at the soonest. */
  minIntervalMs: number;
  /** A master's history (its reads are MetaApi credits next to its stream) at most this often. */
  masterIntervalMs: number;
  /** Every account's history at least this often, balance moved or not. */
  maxIntervalMs: number;
}

export const DEFAULT_HISTORY_SETTINGS: HistorySettings = {
  backfillDays: 90,
  minIntervalMs: 60_000,
  masterIntervalMs: 10 * 60_000,
  maxIntervalMs: 3_600_000,
};

export interface HistorySyncDependencies {
  tradeHistory: TradeHistoryStore;
  copies: Pick<CopyStore, 'findByClientId'>;
  brokers: BrokerDirectory;
  now: () => Date;
  log: Log;
}

/** Whether an account's history is due a read now. */
export const historyDue = (
  cursor: Pick<HistoryCursor, 'syncedAt' | 'balance'> | undefined,
  account: { balance?: number },
  isMaster: boolean,
  settings: HistorySettings,
  now: Date,
): boolean => {
  if (!cursor) return true;
  const since = now.getTime() - Date.parse(cursor.syncedAt);
  if (since >= settings.maxIntervalMs) return true;
  const balanceMoved = account.balance !== undefined && account.balance !== cursor.balance;
  return balanceMoved && since >= (isMaster ? settings.masterIntervalMs : settings.minIntervalMs);
};

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * A closed trade's commission: its close's, plus the opening deals' in proportion to the
 * volume it closed; its swap: what the broker booked on its close. Exact, then to a number.
 */
const chargesOf = (close: Deal, opens: Deal[]): Pick<HistoryTrade, 'commission' | 'swap'> => {
  const openVolume = opens.reduce((sum, deal) => add(sum, exact(deal.volume)), ZERO);
  const openCommission = opens.reduce((sum, deal) => add(sum, exact(deal.commission ?? 0)), ZERO);
  const share = openVolume.n === 0n ? ZERO : mul(openCommission, div(exact(close.volume), openVolume));
  const commission = toNumber(add(exact(close.commission ?? 0), share));
  const hasCommission = close.commission !== undefined || opens.some((deal) => deal.commission !== undefined);
  return { ...(hasCommission ? { commission: Number(commission.toFixed(8)) } : {}), ...(close.swap !== undefined ? { swap: close.swap } : {}) };
};

/**
 * Stores the deals of one read and the closed trades they complete: each closing deal is
 * paired with its position's opening deals as stored (they may have come in an earlier read),
 * its charges added and, where the position was opened by a copy, the copy's mapping named.
 * Writing the same deals again writes the same items.
 */
export const storeDeals = async (deps: HistorySyncDependencies, account: Account, deals: Deal[]): Promise<number> => {
  if (deals.length === 0) return 0;
  await deps.tradeHistory.putDeals(account.tenantId, account.id, deals);
  const closes = deals.filter((deal) => deal.entry === 'out');
  const positions = [...new Set(closes.map((deal) => deal.positionId))];
  const trades: HistoryTrade[] = [];
  for (const positionId of positions) {
    const history = await deps.tradeHistory.dealsOfPosition(account.tenantId, account.id, positionId);
    const opens = history.filter((deal) => deal.entry === 'in');
    const copiedBy = opens.find((deal) => deal.clientId)?.clientId;
    const record = copiedBy ? await deps.copies.findByClientId(account.tenantId, copiedBy) : undefined;
    for (const trade of pairClosedTrades(history).trades) {
      const close = history.find((deal) => deal.id === trade.id);
      if (!close || !closes.some((deal) => deal.id === close.id)) continue;
      const before = opens.filter((deal) => Date.parse(deal.time) <= Date.parse(close.time));
      trades.push({ ...trade, ...chargesOf(close, before), ...(record ? { mappingId: record.mappingId } : {}) });
    }
  }
  await deps.tradeHistory.putTrades(account.tenantId, account.id, trades);
  return trades.length;
};

/**
 * Reads the account's deals the store does not have yet (from its cursor, or the backfill
 * window on a first read, to now), a window at a time, and stores them and the trades they
 * close before it moves the cursor past the window: a sync that dies halfway resumes at the
 * last window it finished, without gaps, and writes what it writes again as the same items.
 */
export const syncHistory = async (
  deps: HistorySyncDependencies,
  account: Account,
  options: { backfillDays: number /** The balance the broker shows now: the next read is due when it moves. */; balance?: number },
): Promise<{ deals: number; trades: number; syncedTo: string }> => {
  const now = deps.now().getTime();
  const cursor = await deps.tradeHistory.getCursor(account.tenantId, account.id);
  const settled = now - HISTORY_SETTLE_MS;
  let stored = cursor ? Date.parse(cursor.syncedTo) : now - options.backfillDays * DAY_MS;
  let truncatedBefore = cursor?.truncatedBefore;
  const port = await deps.brokers.connect(account);
  let deals = 0;
  let trades = 0;
  for (let from = stored; from < now; ) {
    let to = Math.min(from + HISTORY_WINDOW_MS, now);
    let read = await port.getDeals(iso(from), iso(to));
    while (read.length >= BROKER_DEAL_LIMIT && to - from > SMALLEST_WINDOW_MS) {
      to = from + Math.max(SMALLEST_WINDOW_MS, Math.floor((to - from) / 2));
      read = await port.getDeals(iso(from), iso(to));
    }
    if (read.length >= BROKER_DEAL_LIMIT) {
      truncatedBefore = iso(to);
      deps.log.warn('the broker returned its most deals for an hour of history: some may be missing', {
        accountId: account.id,
        from: iso(from),
        to: iso(to),
        deals: read.length,
      });
    }
    deals += read.length;
    trades += await storeDeals(deps, account, read);
    stored = Math.max(stored, Math.min(to, settled));
    await deps.tradeHistory.putCursor({
      tenantId: account.tenantId,
      accountId: account.id,
      syncedTo: iso(stored),
      syncedAt: iso(now),
      ...(options.balance !== undefined ? { balance: options.balance } : {}),
      ...(truncatedBefore ? { truncatedBefore } : {}),
    });
    from = to;
  }
  return { deals, trades, syncedTo: iso(stored) };
};

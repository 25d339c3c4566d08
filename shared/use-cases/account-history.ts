import { randomUUID } from 'node:crypto';
import { newestClosedFirst } from '../domain/closed-trades';
import { type EquityPoint, type TradeStats, tradeStats } from '../domain/trade-stats';
import { demoClosedTrades } from '../domain/demo-trades';
import { ValidationError } from '../domain/errors';
import type { ClosedTrade, HistoryTrade } from '../domain/trading';
import type { AccountStore, AuditLog, DemoTradeStore, Page, TradeHistoryStore } from '../ports/stores';
import { getAccount } from './manage-accounts';

export interface HistoryDependencies {
  accounts: AccountStore;
  demoTrades: DemoTradeStore;
  tradeHistory: TradeHistoryStore;
  audit: AuditLog;
  now: () => Date;
}

const DAY_MS = 24 * 3_600_000;
/** The range listed when the request gives none: the last 30 days. */
export const DEFAULT_TRADE_RANGE_MS = 30 * DAY_MS;
/** The longest range one request may ask for. */
export const MAX_TRADE_RANGE_MS = 366 * DAY_MS;

export interface TradeQuery {
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

const cursorProblem = () => new ValidationError('Invalid cursor', [{ path: 'cursor', message: 'is not a cursor this list returned' }]);

/** A position in the list: the close time and id of the last trade of the previous page. */
const encodeCursor = (trade: Pick<ClosedTrade, 'closedAt' | 'id'>): string =>
  Buffer.from(JSON.stringify([trade.closedAt, trade.id]), 'utf8').toString('base64url');

const decodeCursor = (cursor: string): Pick<ClosedTrade, 'closedAt' | 'id'> => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw cursorProblem();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw cursorProblem();
  const [closedAt, id] = parsed as unknown[];
  if (typeof closedAt !== 'string' || typeof id !== 'string' || Number.isNaN(Date.parse(closedAt))) throw cursorProblem();
  return { closedAt, id };
};

/** The requested range with its defaults, refused when reversed or longer than a year. */
export const tradeRange = (query: Pick<TradeQuery, 'from' | 'to'>, now: Date): { from: string; to: string } => {
  const to = query.to ? new Date(query.to) : now;
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - DEFAULT_TRADE_RANGE_MS);
  if (from.getTime() >= to.getTime()) throw new ValidationError('Invalid query: from', [{ path: 'from', message: 'must be before to' }]);
  if (to.getTime() - from.getTime() > MAX_TRADE_RANGE_MS) {
    throw new ValidationError('Invalid query: from', [{ path: 'from', message: 'the range from-to may span at most 366 days' }]);
  }
  return { from: from.toISOString(), to: to.toISOString() };
};

/**
 * Closed trades of an account with `from <= closedAt < to`, newest first: what the sync
 * stored of its history (`syncHistory`), and the demo trades inserted for it. Never asks the
 * broker: the list answers while the broker is slow or unreachable.
 */
export const listClosedTrades = async (deps: HistoryDependencies, tenantId: string, accountId: string, query: TradeQuery): Promise<Page<HistoryTrade>> => {
  await getAccount(deps, tenantId, accountId);
  const range = tradeRange(query, deps.now());
  const after = query.cursor ? decodeCursor(query.cursor) : undefined;
  const [stored, demo] = await Promise.all([deps.tradeHistory.listTrades(tenantId, accountId, range), deps.demoTrades.list(tenantId, accountId, range)]);
  const ordered = [...stored, ...demo].sort(newestClosedFirst).filter((trade) => !after || newestClosedFirst(after, trade) < 0);
  const items = ordered.slice(0, query.limit);
  const last = items[items.length - 1];
  return ordered.length > query.limit && last ? { items, nextCursor: encodeCursor(last) } : { items };
};

/** Statistics of the account's closed trades in the range (demo trades included) and its equity curve there. */
export const accountStats = async (
  deps: HistoryDependencies,
  tenantId: string,
  accountId: string,
  query: Pick<TradeQuery, 'from' | 'to'>,
): Promise<TradeStats & { from: string; to: string }> => {
  await getAccount(deps, tenantId, accountId);
  const range = tradeRange(query, deps.now());
  const span = Date.parse(range.to) - Date.parse(range.from);
  const [stored, demo, equity] = await Promise.all([
    deps.tradeHistory.listTrades(tenantId, accountId, range),
    deps.demoTrades.list(tenantId, accountId, range),
    deps.tradeHistory.listEquity(tenantId, accountId, range, span > 7 * DAY_MS ? 'hour' : 'minute'),
  ]);
  return { from: range.from, to: range.to, ...tradeStats([...stored, ...demo], equity) };
};

/** The account's balance and equity points in the range, for a chart: the hour's or the day's first point. */
export const accountEquity = async (
  deps: HistoryDependencies,
  tenantId: string,
  accountId: string,
  query: Pick<TradeQuery, 'from' | 'to'> & { interval: 'hour' | 'day' },
): Promise<{ items: EquityPoint[] }> => {
  await getAccount(deps, tenantId, accountId);
  const range = tradeRange(query, deps.now());
  return { items: await deps.tradeHistory.listEquity(tenantId, accountId, range, query.interval) };
};

/** Inserts a handful of closed demo trades into the account's history. */
export const addDemoTrades = async (deps: HistoryDependencies, tenantId: string, accountId: string): Promise<{ items: ClosedTrade[] }> => {
  await getAccount(deps, tenantId, accountId);
  const now = deps.now();
  const trades = demoClosedTrades({ now, random: Math.random, newId: () => `demo_${randomUUID().replaceAll('-', '').slice(0, 20)}` });
  await deps.demoTrades.add(tenantId, accountId, trades);
  await deps.audit.append({
    tenantId,
    at: now.toISOString(),
    actor: `user:${tenantId}`,
    action: 'trades.demo',
    resourceType: 'account',
    resourceId: accountId,
    details: { count: trades.length, tradeIds: trades.map((trade) => trade.id) },
  });
  return { items: trades.sort(newestClosedFirst) };
};

import { randomUUID } from 'node:crypto';
import { isBrokerError } from '../domain/broker-errors';
import { newestClosedFirst, pairClosedTrades } from '../domain/closed-trades';
import { demoClosedTrades } from '../domain/demo-trades';
import { ValidationError } from '../domain/errors';
import type { ClosedTrade } from '../domain/trading';
import type { AccountStore, AuditLog, DemoTradeStore, Page } from '../ports/stores';
import type { BrokerDirectory } from './broker-directory';
import { getAccount } from './manage-accounts';

export interface HistoryDependencies {
  accounts: AccountStore;
  demoTrades: DemoTradeStore;
  audit: AuditLog;
  brokers: BrokerDirectory;
  now: () => Date;
}

const DAY_MS = 24 * 3_600_000;
/** The range listed when the request gives none: the last 30 days. */
export const DEFAULT_TRADE_RANGE_MS = 30 * DAY_MS;
/** The longest range one request may ask for. */
export const MAX_TRADE_RANGE_MS = 366 * DAY_MS;
/**
 * How far before `from` the broker's deals are read to find the opening deals of positions
 * closed in the range. A close whose position opened earlier than that is not listed.
 */
export const OPEN_LOOKBACK_MS = 90 * DAY_MS;

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
 * Closed trades of an account with `from <= closedAt < to`, newest first: the broker's deals
 * paired into trades, and the demo trades inserted for the account. A deployment that cannot
 * reach the account's platform at all (`NOT_CONFIGURED`) has no broker history to show, so
 * only the demo trades are listed; any other broker failure fails the request.
 */
export const listClosedTrades = async (deps: HistoryDependencies, tenantId: string, accountId: string, query: TradeQuery): Promise<Page<ClosedTrade>> => {
  const account = await getAccount(deps, tenantId, accountId);
  const range = tradeRange(query, deps.now());
  const after = query.cursor ? decodeCursor(query.cursor) : undefined;
  const readBroker = async (): Promise<ClosedTrade[]> => {
    try {
      const port = await deps.brokers.connect(account);
      const deals = await port.getDeals(new Date(Date.parse(range.from) - OPEN_LOOKBACK_MS).toISOString(), range.to);
      return pairClosedTrades(deals).trades.filter((trade) => trade.closedAt >= range.from && trade.closedAt < range.to);
    } catch (error) {
      if (isBrokerError(error) && error.code === 'NOT_CONFIGURED') return [];
      throw error;
    }
  };
  const [fromBroker, demo] = await Promise.all([readBroker(), deps.demoTrades.list(tenantId, accountId, range)]);
  const ordered = [...fromBroker, ...demo].sort(newestClosedFirst).filter((trade) => !after || newestClosedFirst(after, trade) < 0);
  const items = ordered.slice(0, query.limit);
  const last = items[items.length - 1];
  return ordered.length > query.limit && last ? { items, nextCursor: encodeCursor(last) } : { items };
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

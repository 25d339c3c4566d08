import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { EquityPoint } from '../../domain/trade-stats';
import type { Deal, HistoryTrade } from '../../domain/trading';
import type { EquityInterval, HistoryCursor, TradeHistoryStore } from '../../ports/stores';
import { inParallel } from '../../runtime/in-parallel';
import { fromItem, queryAll, tenantKey, toItem, type TableRef } from './table';

/** Writes of one batch in flight at once (a backfill window may hold thousands of deals). */
const WRITES_AT_ONCE = 16;

/** Equity points (and the deals of positions) are kept a year: DynamoDB's TTL removes them after. */
const KEEP_SECONDS = 366 * 24 * 3600;

const dealPrefix = (accountId: string, positionId: string) => `DEAL#${accountId}#${positionId}#`;
const tradePrefix = (accountId: string) => `TRADE#${accountId}#`;
const equityPrefix = (accountId: string, interval: EquityInterval) => `EQUITY#${accountId}#${interval[0]?.toUpperCase()}#`;

/** The start of the point's hour or day, as its key. */
const bucket = (at: string, interval: EquityInterval): string =>
  interval === 'minute' ? `${at.slice(0, 16)}:00.000Z` : interval === 'hour' ? `${at.slice(0, 13)}:00:00.000Z` : `${at.slice(0, 10)}T00:00:00.000Z`;

/**
 * Trade history in the tenant's partition of the Main table: deals by account and position
 * (`DEAL#<account>#<position>#<deal>`: a position's deals are one query), closed trades by
 * account and close time (`TRADE#<account>#<closedAt>#<deal>`: a date range is one key-range
 * query), equity points by account, resolution and time (`EQUITY#<account>#M|H|D#<at>`), and
 * the account's history cursor (`HISTORY#<account>`). Every key comes from the broker's ids
 * and times, so writing the same deal or trade twice leaves one item.
 */
export class DynamoTradeHistoryStore implements TradeHistoryStore {
  constructor(private readonly table: TableRef) {}

  async getCursor(tenantId: string, accountId: string): Promise<HistoryCursor | undefined> {
    const result = await this.table.client.send(
      new GetItemCommand({ TableName: this.table.tableName, Key: toItem({ pk: tenantKey(tenantId), sk: `HISTORY#${accountId}` }), ConsistentRead: true }),
    );
    return result.Item ? fromItem<HistoryCursor>(result.Item) : undefined;
  }

  async putCursor(cursor: HistoryCursor): Promise<void> {
    await this.put({ pk: tenantKey(cursor.tenantId), sk: `HISTORY#${cursor.accountId}`, entity: 'historyCursor', ...cursor });
  }

  async putDeals(tenantId: string, accountId: string, deals: Deal[]): Promise<void> {
    const expiresAt = Math.floor(Date.now() / 1000) + KEEP_SECONDS;
    await inParallel(deals, WRITES_AT_ONCE, (deal) =>
      this.put({ pk: tenantKey(tenantId), sk: `${dealPrefix(accountId, deal.positionId)}${deal.id}`, entity: 'deal', expiresAt, ...deal }),
    );
  }

  async dealsOfPosition(tenantId: string, accountId: string, positionId: string): Promise<Deal[]> {
    const items = await queryAll(this.table, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: toItem({ ':pk': tenantKey(tenantId), ':prefix': dealPrefix(accountId, positionId) }),
      ConsistentRead: true,
    });
    return items.map((item) => fromItem<Deal>(item)).sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || (a.id < b.id ? -1 : 1));
  }

  async putTrades(tenantId: string, accountId: string, trades: HistoryTrade[]): Promise<void> {
    await inParallel(trades, WRITES_AT_ONCE, (trade) =>
      this.put({ pk: tenantKey(tenantId), sk: `${tradePrefix(accountId)}${trade.closedAt}#${trade.id}`, entity: 'trade', ...trade }),
    );
  }

  async listTrades(tenantId: string, accountId: string, range: { from: string; to: string }): Promise<HistoryTrade[]> {
    const items = await queryAll(this.table, {
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: toItem({
        ':pk': tenantKey(tenantId),
        ':from': `${tradePrefix(accountId)}${range.from}`,
        ':to': `${tradePrefix(accountId)}${range.to}`,
      }),
      ScanIndexForward: false,
    });
    return items.map((item) => fromItem<HistoryTrade>(item)).filter((trade) => trade.closedAt >= range.from && trade.closedAt < range.to);
  }

  async putEquityPoint(tenantId: string, accountId: string, point: EquityPoint, rollUp: { hour: boolean; day: boolean }): Promise<void> {
    const expiresAt = Math.floor(Date.parse(point.at) / 1000) + KEEP_SECONDS;
    const intervals: EquityInterval[] = ['minute', ...(rollUp.hour ? (['hour'] as const) : []), ...(rollUp.day ? (['day'] as const) : [])];
    await Promise.all(
      intervals.map((interval) =>
        this.put({
          pk: tenantKey(tenantId),
          sk: `${equityPrefix(accountId, interval)}${bucket(point.at, interval)}`,
          entity: 'equityPoint',
          expiresAt,
          ...point,
        }),
      ),
    );
  }

  async listEquity(tenantId: string, accountId: string, range: { from: string; to: string }, interval: EquityInterval): Promise<EquityPoint[]> {
    const prefix = equityPrefix(accountId, interval);
    const items = await queryAll(this.table, {
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: toItem({ ':pk': tenantKey(tenantId), ':from': `${prefix}${bucket(range.from, interval)}`, ':to': `${prefix}${range.to}` }),
    });
    return items
      .map((item) => fromItem<EquityPoint>(item))
      .filter((point) => point.at < range.to)
      .map(({ at, balance, equity }) => ({ at, balance, equity }));
  }

  private async put(item: Record<string, unknown>): Promise<void> {
    await this.table.client.send(new PutItemCommand({ TableName: this.table.tableName, Item: toItem(item) }));
  }
}

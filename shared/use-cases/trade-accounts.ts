import { createHash, randomBytes } from 'node:crypto';
import type { Account } from '../domain/account';
import type { TrackedOrder, TrackedPosition } from '../domain/account-book';
import { isBrokerError } from '../domain/broker-errors';
import { manualClientId } from '../domain/manual-trades';
import { NotFoundError } from '../domain/errors';
import type { OrderType, PendingOrder, Position, StopLevels, TradeOrder } from '../domain/trading';
import type { BrokerPort, TradeResult } from '../ports/broker';
import type { Log } from '../ports/log';
import type { AccountStore, AuditLog, BookStore } from '../ports/stores';
import type { BrokerDirectory } from './broker-directory';
import { getAccount } from './manage-accounts';

export interface TradingDependencies {
  accounts: AccountStore;
  books: BookStore;
  audit: AuditLog;
  brokers: BrokerDirectory;
  now: () => Date;
  log: Log;
}

export type PublicPosition = Omit<Position, 'clientId'>;
export type PublicPendingOrder = Omit<PendingOrder, 'clientId' | 'comment'>;

/** The fields the contract names, picked (not the rest removed): tracking fields added to a book later stay internal. */
const publicPosition = (position: TrackedPosition): PublicPosition =>
  withoutUndefined({
    id: position.id,
    symbol: position.symbol,
    side: position.side,
    volume: position.volume,
    openPrice: position.openPrice,
    stopLoss: position.stopLoss,
    takeProfit: position.takeProfit,
    profit: position.profit,
    openedAt: position.openedAt,
    comment: position.comment,
  });

const publicOrder = (order: TrackedOrder): PublicPendingOrder =>
  withoutUndefined({
    id: order.id,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    volume: order.volume,
    price: order.price,
    stopLoss: order.stopLoss,
    takeProfit: order.takeProfit,
    createdAt: order.createdAt,
  });

const withoutUndefined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;

/** Open positions of an account as last synced (its stored book); none before the first sync. */
export const listPositions = async (deps: Pick<TradingDependencies, 'accounts' | 'books'>, tenantId: string, accountId: string) => {
  await getAccount(deps, tenantId, accountId);
  const book = await deps.books.get(tenantId, accountId);
  return { items: (book?.positions ?? []).map(publicPosition) };
};

/** Pending orders of an account as last synced. */
export const listPendingOrders = async (deps: Pick<TradingDependencies, 'accounts' | 'books'>, tenantId: string, accountId: string) => {
  await getAccount(deps, tenantId, accountId);
  const book = await deps.books.get(tenantId, accountId);
  return { items: (book?.orders ?? []).map(publicOrder) };
};

/** A trade a user places through the API; a market order unless it says otherwise. */
export type ManualTrade = Omit<TradeOrder, 'type'> & { type?: OrderType };

/** How a trade request arrived: with an `Idempotency-Key`, and whether an earlier attempt with it stopped unanswered. */
export interface TradeRequest {
  idempotency?: { key: string; resumed: boolean };
}

/**
 * The client id of a trade request: derived from (tenant, Idempotency-Key) when it has one, so
 * every attempt of the request is the same order at the broker; fresh otherwise.
 */
const clientIdOf = (tenantId: string, request: TradeRequest): string =>
  manualClientId(request.idempotency ? createHash('sha256').update(`${tenantId}\n${request.idempotency.key}`).digest('hex') : randomBytes(10).toString('hex'));

/**
 * Runs one trade request on the account's broker. A ticket the broker does not know on this
 * account is a 404 like any other id; when the outcome is unknown (timeout, lost connection)
 * the broker is asked for what the request's client id left, and that is the answer; a
 * connection that failed is dropped so the next request opens a new one.
 */
const atBroker = async <T>(
  deps: TradingDependencies,
  account: Account,
  request: (port: BrokerPort) => Promise<T>,
  reconcile?: (port: BrokerPort) => Promise<T | undefined>,
): Promise<T> => {
  const port = await deps.brokers.connect(account);
  try {
    return await request(port);
  } catch (error) {
    if (!isBrokerError(error)) throw error;
    if (error.code === 'POSITION_NOT_FOUND') throw new NotFoundError('position');
    if (error.code === 'ORDER_NOT_FOUND') throw new NotFoundError('order');
    if (error.errorClass !== 'reconcile') throw error;
    deps.brokers.forget(account.id);
    const found = await reconcile?.(port).catch(() => undefined);
    if (found === undefined) throw error;
    deps.log.info('trade outcome reconciled by client id', { tenantId: account.tenantId, accountId: account.id, code: error.code });
    return found;
  }
};

/**
 * Records a trade the broker has made. The trade stands whatever happens here: a failure to
 * write the entry is logged, never answered as an error (a client would retry a trade that
 * was placed).
 */
const audit = async (
  deps: TradingDependencies,
  tenantId: string,
  action: string,
  resourceType: string,
  resourceId: string,
  details: Record<string, unknown>,
) => {
  try {
    await deps.audit.append({ tenantId, at: deps.now().toISOString(), actor: `user:${tenantId}`, action, resourceType, resourceId, details });
  } catch (error) {
    deps.log.error('audit entry of a trade not written', { tenantId, action, resourceType, resourceId, error });
  }
};

/**
 * Places a trade on one of the tenant's accounts, under the request's client id. A trade on a
 * master is then copied like one made in the trader's terminal: the next sync sees it.
 */
export const placeTrade = async (
  deps: TradingDependencies,
  tenantId: string,
  accountId: string,
  trade: ManualTrade,
  request: TradeRequest = {},
): Promise<{ positionId?: string; orderId?: string }> => {
  const account = await getAccount(deps, tenantId, accountId);
  const clientId = clientIdOf(tenantId, request);
  const type = trade.type ?? 'market';
  const findPlaced = async (port: BrokerPort): Promise<TradeResult | undefined> => {
    const found = await port.findByClientId(clientId);
    const positionId = found.positions[0]?.id ?? found.deals.find((deal) => deal.entry === 'in')?.positionId;
    const orderId = found.orders[0]?.id;
    return positionId || orderId ? { ...(positionId ? { positionId } : {}), ...(orderId ? { orderId } : {}) } : undefined;
  };
  const result = await atBroker<TradeResult>(
    deps,
    account,
    // An attempt of this request stopped unanswered: what it placed is the answer, and nothing is placed twice.
    async (port) =>
      (request.idempotency?.resumed ? await findPlaced(port) : undefined) ??
      port.placeOrder({
        clientId,
        symbol: trade.symbol,
        side: trade.side,
        type,
        volume: trade.volume,
        price: trade.price,
        stopLoss: trade.stopLoss,
        takeProfit: trade.takeProfit,
      }),
    findPlaced,
  );
  const placed = { ...(result.positionId ? { positionId: result.positionId } : {}), ...(result.orderId ? { orderId: result.orderId } : {}) };
  await audit(deps, tenantId, 'trade.place', result.orderId && !result.positionId ? 'order' : 'position', result.positionId ?? result.orderId ?? clientId, {
    accountId,
    clientId,
    symbol: trade.symbol,
    side: trade.side,
    type,
    volume: result.volume ?? trade.volume,
    ...(result.price !== undefined ? { price: result.price } : trade.price !== undefined ? { price: trade.price } : {}),
    ...(trade.stopLoss !== undefined ? { stopLoss: trade.stopLoss } : {}),
    ...(trade.takeProfit !== undefined ? { takeProfit: trade.takeProfit } : {}),
  });
  return placed;
};

/** Sets or removes (`null`) a position's stop loss and take profit; a level not given stays (the port's contract). */
export const modifyPosition = async (
  deps: TradingDependencies,
  tenantId: string,
  accountId: string,
  positionId: string,
  stops: StopLevels,
  _request: TradeRequest = {},
): Promise<void> => {
  const account = await getAccount(deps, tenantId, accountId);
  await atBroker(deps, account, (port) => port.modifyPosition(positionId, stops));
  await audit(deps, tenantId, 'position.modify', 'position', positionId, { accountId, ...stops });
};

/** Closes a position, or `volume` of it. */
export const closePosition = async (
  deps: TradingDependencies,
  tenantId: string,
  accountId: string,
  positionId: string,
  options: { volume?: number },
  request: TradeRequest = {},
): Promise<{ positionId: string; price?: number; volume?: number }> => {
  const account = await getAccount(deps, tenantId, accountId);
  const clientId = clientIdOf(tenantId, request);
  const closed = async (port: BrokerPort): Promise<TradeResult | undefined> => {
    const out = (await port.findByClientId(clientId)).deals.find((deal) => deal.entry === 'out' && deal.positionId === positionId);
    return out ? { positionId, price: out.price, volume: out.volume } : undefined;
  };
  const result = await atBroker<TradeResult>(
    deps,
    account,
    // A partial close sent twice would close twice: a resumed request looks for its own close first.
    async (port) => (request.idempotency?.resumed ? await closed(port) : undefined) ?? port.closePosition(positionId, { ...options, clientId }),
    closed,
  );
  await audit(deps, tenantId, 'position.close', 'position', positionId, {
    accountId,
    clientId,
    ...(result.volume !== undefined ? { volume: result.volume } : options.volume !== undefined ? { volume: options.volume } : {}),
    ...(result.price !== undefined ? { price: result.price } : {}),
    partial: options.volume !== undefined,
  });
  return { positionId, ...(result.price !== undefined ? { price: result.price } : {}), ...(result.volume !== undefined ? { volume: result.volume } : {}) };
};

/** Cancels a pending order. */
export const cancelOrder = async (
  deps: TradingDependencies,
  tenantId: string,
  accountId: string,
  orderId: string,
  request: TradeRequest = {},
): Promise<void> => {
  const account = await getAccount(deps, tenantId, accountId);
  try {
    await atBroker(deps, account, (port) => port.cancelOrder(orderId));
  } catch (error) {
    // Resumed after an attempt that stopped unanswered: an order already gone was cancelled by it.
    if (!(request.idempotency?.resumed && error instanceof NotFoundError)) throw error;
  }
  await audit(deps, tenantId, 'order.cancel', 'order', orderId, { accountId });
};

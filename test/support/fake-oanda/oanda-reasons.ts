import type { BrokerErrorCode } from '../../../shared/domain/broker-errors';

/**
 * The reasons OANDA gives, by the names of the v20 document's enums (`TransactionRejectReason`,
 * `OrderCancelReason`; `v20-schemas.json`), and how a market `BrokerError` maps onto them.
 *
 * OANDA answers a trade request it cannot carry out in one of two ways, and the document shows
 * both: a request it refuses is REJECTED (HTTP 400, an `...OrderRejectTransaction` with a
 * `rejectReason` from `TransactionRejectReason`, plus `errorCode` / `errorMessage`); a market
 * order it accepted but could not fill is CANCELLED (HTTP 201 or 200, an `orderCreateTransaction`
 * followed by an `orderCancelTransaction` whose `reason` is an `OrderCancelReason`).
 */

/** The `TransactionRejectReason` values the fake gives (spelt as the document spells them: `UNITS_MIMIMUM_NOT_MET`). */
export type RejectReason =
  | 'INTERNAL_SERVER_ERROR'
  | 'INSTRUMENT_PRICE_UNKNOWN'
  | 'ACCOUNT_LOCKED'
  | 'INSTRUMENT_NOT_TRADEABLE'
  | 'ORDER_DOESNT_EXIST'
  | 'TRADE_DOESNT_EXIST'
  | 'INSUFFICIENT_MARGIN'
  | 'INSTRUMENT_MISSING'
  | 'INSTRUMENT_UNKNOWN'
  | 'UNITS_MISSING'
  | 'UNITS_INVALID'
  | 'UNITS_PRECISION_EXCEEDED'
  | 'UNITS_LIMIT_EXCEEDED'
  | 'UNITS_MIMIMUM_NOT_MET'
  | 'PRICE_MISSING'
  | 'PRICE_INVALID'
  | 'PRICE_PRECISION_EXCEEDED'
  | 'TIME_IN_FORCE_INVALID'
  | 'TIME_IN_FORCE_GTD_TIMESTAMP_MISSING'
  | 'TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST'
  | 'CLIENT_ORDER_ID_ALREADY_EXISTS'
  | 'ORDER_FILL_POSITION_ACTION_INVALID'
  | 'TAKE_PROFIT_ON_FILL_PRICE_MISSING'
  | 'TAKE_PROFIT_ON_FILL_PRICE_INVALID'
  | 'TAKE_PROFIT_ON_FILL_PRICE_PRECISION_EXCEEDED'
  | 'STOP_LOSS_ORDER_PRICE_AND_DISTANCE_BOTH_SPECIFIED'
  | 'STOP_LOSS_ORDER_PRICE_AND_DISTANCE_BOTH_MISSING'
  | 'STOP_LOSS_ORDER_GUARANTEED_NOT_ALLOWED'
  | 'STOP_LOSS_ON_FILL_GUARANTEED_NOT_ALLOWED'
  | 'STOP_LOSS_ON_FILL_PRICE_MISSING'
  | 'STOP_LOSS_ON_FILL_PRICE_INVALID'
  | 'STOP_LOSS_ON_FILL_PRICE_PRECISION_EXCEEDED'
  | 'STOP_LOSS_ON_FILL_DISTANCE_INVALID'
  | 'STOP_LOSS_ON_FILL_PRICE_AND_DISTANCE_BOTH_SPECIFIED'
  | 'STOP_LOSS_ON_FILL_PRICE_AND_DISTANCE_BOTH_MISSING'
  | 'TRAILING_STOP_LOSS_ORDERS_NOT_SUPPORTED'
  | 'CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE'
  | 'REPLACING_ORDER_INVALID';

/** The `OrderCancelReason` values the fake gives. */
export type CancelReason =
  | 'INTERNAL_SERVER_ERROR'
  | 'ACCOUNT_LOCKED'
  | 'CLIENT_REQUEST'
  | 'MARKET_HALTED'
  | 'LINKED_TRADE_CLOSED'
  | 'INSUFFICIENT_MARGIN'
  | 'FIFO_VIOLATION'
  | 'BOUNDS_VIOLATION'
  | 'CLIENT_REQUEST_REPLACED'
  | 'INSUFFICIENT_LIQUIDITY'
  | 'TAKE_PROFIT_ON_FILL_LOSS'
  | 'LOSING_TAKE_PROFIT'
  | 'STOP_LOSS_ON_FILL_LOSS'
  | 'CLIENT_TRADE_ID_ALREADY_EXISTS';

/** Where a failure happens: it decides between a reject and a cancel. */
export type TradeRoute = 'marketOrder' | 'pendingOrder' | 'closeTrade' | 'tradeOrders' | 'cancelOrder';

/** What OANDA does instead of carrying a request out. */
export type Refusal =
  | { kind: 'reject'; reason: RejectReason }
  | { kind: 'cancel'; reason: CancelReason }
  /** An HTTP answer without a transaction (429 rate limit, 503 unavailable, 401 auth). */
  | { kind: 'http'; status: 401 | 429 | 503 }
  /** The connection drops before anything executes (a timeout or lost connection). */
  | { kind: 'drop' };

/** A market order (or a trade close, which OANDA carries out by a market order) is cancelled; anything else is rejected. */
const fillsNow = (route: TradeRoute): boolean => route === 'marketOrder' || route === 'closeTrade';

/**
 * How OANDA says what the market's `BrokerError` code says. Used for the market's own
 * failures and for the faults injected with `market.setFaults` (`rejectNext` + `code`):
 * - NO_MONEY: cancel INSUFFICIENT_MARGIN (market order, trade close) / reject INSUFFICIENT_MARGIN
 * - MARKET_CLOSED: cancel MARKET_HALTED / reject INSTRUMENT_NOT_TRADEABLE
 * - INVALID_STOPS: cancel STOP_LOSS_ON_FILL_LOSS (market order) / reject STOP_LOSS_ON_FILL_PRICE_INVALID
 *   (pending order) / reject PRICE_INVALID (a trade's dependent orders, a close or a cancel)
 * - INVALID_VOLUME: reject UNITS_INVALID; INVALID_PRICE: reject PRICE_INVALID;
 *   INVALID_FILL: reject TIME_IN_FORCE_INVALID; UNKNOWN_SYMBOL: reject INSTRUMENT_UNKNOWN
 * - DUPLICATE_CLIENT_ID: reject CLIENT_ORDER_ID_ALREADY_EXISTS
 * - FIFO_VIOLATION: cancel FIFO_VIOLATION / reject INTERNAL_SERVER_ERROR (no FIFO reject reason exists)
 * - REQUOTE: cancel INSUFFICIENT_LIQUIDITY; PRICE_CHANGED: cancel BOUNDS_VIOLATION
 *   (reject INSTRUMENT_PRICE_UNKNOWN off a market order); OFF_QUOTES: reject INSTRUMENT_PRICE_UNKNOWN
 * - TRADING_DISABLED: cancel ACCOUNT_LOCKED / reject ACCOUNT_LOCKED
 * - POSITION_NOT_FOUND: reject TRADE_DOESNT_EXIST; ORDER_NOT_FOUND: reject ORDER_DOESNT_EXIST
 * - TOO_MANY_REQUESTS: HTTP 429; BROKER_BUSY: HTTP 503; AUTH_FAILED: HTTP 401
 * - TIMEOUT, CONNECTION: the connection drops, nothing executed
 * - REJECTED, NOT_CONFIGURED, UNKNOWN: reject INTERNAL_SERVER_ERROR (the document has no
 *   generic "rejected"; its nearest is this)
 */
export const refusalOf = (code: BrokerErrorCode, route: TradeRoute): Refusal => {
  const cancelOrReject = (cancel: CancelReason, reject: RejectReason): Refusal =>
    fillsNow(route) ? { kind: 'cancel', reason: cancel } : { kind: 'reject', reason: reject };
  switch (code) {
    case 'NO_MONEY':
      return cancelOrReject('INSUFFICIENT_MARGIN', 'INSUFFICIENT_MARGIN');
    case 'MARKET_CLOSED':
      return cancelOrReject('MARKET_HALTED', 'INSTRUMENT_NOT_TRADEABLE');
    case 'INVALID_STOPS':
      if (route === 'marketOrder') return { kind: 'cancel', reason: 'STOP_LOSS_ON_FILL_LOSS' };
      return { kind: 'reject', reason: route === 'pendingOrder' ? 'STOP_LOSS_ON_FILL_PRICE_INVALID' : 'PRICE_INVALID' };
    case 'INVALID_VOLUME':
      return { kind: 'reject', reason: 'UNITS_INVALID' };
    case 'INVALID_PRICE':
      return { kind: 'reject', reason: 'PRICE_INVALID' };
    case 'INVALID_FILL':
      return { kind: 'reject', reason: 'TIME_IN_FORCE_INVALID' };
    case 'UNKNOWN_SYMBOL':
      return { kind: 'reject', reason: 'INSTRUMENT_UNKNOWN' };
    case 'DUPLICATE_CLIENT_ID':
      return { kind: 'reject', reason: 'CLIENT_ORDER_ID_ALREADY_EXISTS' };
    case 'FIFO_VIOLATION':
      return cancelOrReject('FIFO_VIOLATION', 'INTERNAL_SERVER_ERROR');
    case 'REQUOTE':
      return cancelOrReject('INSUFFICIENT_LIQUIDITY', 'INSTRUMENT_PRICE_UNKNOWN');
    case 'PRICE_CHANGED':
      return cancelOrReject('BOUNDS_VIOLATION', 'INSTRUMENT_PRICE_UNKNOWN');
    case 'OFF_QUOTES':
      return { kind: 'reject', reason: 'INSTRUMENT_PRICE_UNKNOWN' };
    case 'TRADING_DISABLED':
      return cancelOrReject('ACCOUNT_LOCKED', 'ACCOUNT_LOCKED');
    case 'POSITION_NOT_FOUND':
      return { kind: 'reject', reason: 'TRADE_DOESNT_EXIST' };
    case 'ORDER_NOT_FOUND':
      return { kind: 'reject', reason: 'ORDER_DOESNT_EXIST' };
    case 'TOO_MANY_REQUESTS':
      return { kind: 'http', status: 429 };
    case 'BROKER_BUSY':
      return { kind: 'http', status: 503 };
    case 'AUTH_FAILED':
      return { kind: 'http', status: 401 };
    case 'TIMEOUT':
    case 'CONNECTION':
      return { kind: 'drop' };
    case 'REJECTED':
    case 'NOT_CONFIGURED':
    case 'UNKNOWN':
      return { kind: 'reject', reason: 'INTERNAL_SERVER_ERROR' };
  }
};

/** Words for a reject reason, for `errorMessage` (OANDA's texts are not in the document; these say the same). */
export const rejectMessage = (reason: RejectReason): string => {
  const words: Partial<Record<RejectReason, string>> = {
    CLIENT_ORDER_ID_ALREADY_EXISTS: 'The client Order ID specified is already in use',
    TRADE_DOESNT_EXIST: 'The Trade specified does not exist',
    ORDER_DOESNT_EXIST: 'The Order specified does not exist',
    INSUFFICIENT_MARGIN: 'The Account had insufficient margin to perform the action specified',
    INSTRUMENT_UNKNOWN: 'The instrument specified is unknown',
    UNITS_INVALID: 'Order units specified are invalid',
    CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE: 'The units specified exceed the open units of the Trade',
    TRAILING_STOP_LOSS_ORDERS_NOT_SUPPORTED: 'Trailing Stop Loss Orders are not supported (by this fake)',
  };
  return words[reason] ?? `The request was rejected: ${reason}`;
};

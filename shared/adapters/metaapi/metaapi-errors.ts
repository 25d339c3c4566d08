import { BrokerError, isBrokerError, type BrokerErrorCode } from '../../domain/broker-errors';
import { DeadlineExceededError } from '../../domain/deadline';

/**
 * MetaApi trade result codes (`stringCode`) onto the domain's codes. MetaApi reports MT5
 * `TRADE_RETCODE_*` names for both platforms where one exists, MQL runtime errors (`ERR_*`)
 * otherwise; MT4 names are listed too because MetaApi passes some through. Numeric codes are
 * never used: they differ between MT4 and MT5.
 */
const tradeCodes: Record<string, BrokerErrorCode> = {
  // Not executed, may succeed in a moment.
  TRADE_RETCODE_REQUOTE: 'REQUOTE',
  ERR_REQUOTE: 'REQUOTE',
  TRADE_RETCODE_PRICE_CHANGED: 'PRICE_CHANGED',
  ERR_PRICE_CHANGED: 'PRICE_CHANGED',
  TRADE_RETCODE_PRICE_OFF: 'OFF_QUOTES',
  ERR_OFF_QUOTES: 'OFF_QUOTES',
  TRADE_RETCODE_TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
  ERR_TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
  ERR_TOO_FREQUENT_REQUESTS: 'TOO_MANY_REQUESTS',
  TRADE_RETCODE_LOCKED: 'BROKER_BUSY',
  TRADE_RETCODE_FROZEN: 'BROKER_BUSY',
  TRADE_RETCODE_ORDER_CHANGED: 'BROKER_BUSY',
  ERR_SERVER_BUSY: 'BROKER_BUSY',
  ERR_BROKER_BUSY: 'BROKER_BUSY',
  ERR_TRADE_CONTEXT_BUSY: 'BROKER_BUSY',
  // Outcome unknown: look the client id up first.
  TRADE_RETCODE_TIMEOUT: 'TIMEOUT',
  ERR_TRADE_TIMEOUT: 'TIMEOUT',
  TRADE_RETCODE_CONNECTION: 'CONNECTION',
  ERR_NO_CONNECTION: 'CONNECTION',
  // Not now, maybe later.
  TRADE_RETCODE_MARKET_CLOSED: 'MARKET_CLOSED',
  ERR_MARKET_CLOSED: 'MARKET_CLOSED',
  // Will not succeed by retrying.
  TRADE_RETCODE_NO_MONEY: 'NO_MONEY',
  ERR_NOT_ENOUGH_MONEY: 'NO_MONEY',
  TRADE_RETCODE_TRADE_DISABLED: 'TRADING_DISABLED',
  ERR_TRADE_DISABLED: 'TRADING_DISABLED',
  TRADE_RETCODE_SERVER_DISABLES_AT: 'TRADING_DISABLED',
  TRADE_RETCODE_CLIENT_DISABLES_AT: 'TRADING_DISABLED',
  TRADE_RETCODE_ONLY_REAL: 'TRADING_DISABLED',
  TRADE_RETCODE_LONG_ONLY: 'TRADING_DISABLED',
  TRADE_RETCODE_SHORT_ONLY: 'TRADING_DISABLED',
  TRADE_RETCODE_CLOSE_ONLY: 'TRADING_DISABLED',
  TRADE_RETCODE_FIFO_CLOSE: 'TRADING_DISABLED',
  TRADE_RETCODE_HEDGE_PROHIBITED: 'TRADING_DISABLED',
  ERR_TRADE_HEDGE_PROHIBITED: 'TRADING_DISABLED',
  ERR_TRADE_PROHIBITED_BY_FIFO: 'TRADING_DISABLED',
  ERR_LONGS_NOT_ALLOWED: 'TRADING_DISABLED',
  ERR_SHORTS_NOT_ALLOWED: 'TRADING_DISABLED',
  ERR_ACCOUNT_DISABLED: 'TRADING_DISABLED',
  ERR_TRADE_NOT_ALLOWED: 'TRADING_DISABLED',
  TRADE_RETCODE_REJECT: 'REJECTED',
  TRADE_RETCODE_CANCEL: 'REJECTED',
  TRADE_RETCODE_INVALID: 'REJECTED',
  TRADE_RETCODE_INVALID_FILL: 'INVALID_FILL',
  TRADE_RETCODE_INVALID_EXPIRATION: 'REJECTED',
  TRADE_RETCODE_LIMIT_ORDERS: 'REJECTED',
  TRADE_RETCODE_LIMIT_POSITIONS: 'REJECTED',
  TRADE_RETCODE_REJECT_CANCEL: 'REJECTED',
  TRADE_RETCODE_CLOSE_ORDER_EXIST: 'REJECTED',
  ERR_TRADE_TOO_MANY_ORDERS: 'REJECTED',
  ERR_TRADE_MODIFY_DENIED: 'REJECTED',
  ERR_TRADE_EXPIRATION_DENIED: 'REJECTED',
  ERR_INVALID_TRADE_PARAMETERS: 'REJECTED',
  TRADE_RETCODE_INVALID_STOPS: 'INVALID_STOPS',
  ERR_INVALID_STOPS: 'INVALID_STOPS',
  TRADE_RETCODE_INVALID_VOLUME: 'INVALID_VOLUME',
  TRADE_RETCODE_INVALID_CLOSE_VOLUME: 'INVALID_VOLUME',
  TRADE_RETCODE_LIMIT_VOLUME: 'INVALID_VOLUME',
  ERR_INVALID_TRADE_VOLUME: 'INVALID_VOLUME',
  TRADE_RETCODE_INVALID_PRICE: 'INVALID_PRICE',
  ERR_INVALID_PRICE: 'INVALID_PRICE',
  ERR_MARKET_UNKNOWN_SYMBOL: 'UNKNOWN_SYMBOL',
  ERR_UNKNOWN_SYMBOL: 'UNKNOWN_SYMBOL',
  ERR_TRADE_POSITION_NOT_FOUND: 'POSITION_NOT_FOUND',
  TRADE_RETCODE_POSITION_CLOSED: 'POSITION_NOT_FOUND',
  ERR_TRADE_ORDER_NOT_FOUND: 'ORDER_NOT_FOUND',
  TRADE_RETCODE_ERROR: 'UNKNOWN',
};

/** Codes that name a missing ticket without saying whether it was a position or an order. */
const missingTicketCodes = new Set(['ERR_INVALID_TICKET', 'TRADE_RETCODE_INVALID_ORDER']);

/** What the failed call was about, to name a missing ticket right. */
export interface ErrorContext {
  /** The ticket the call acted on, when it acted on one. */
  ticket?: 'position' | 'order';
  now?: () => number;
}

interface SdkError {
  name?: unknown;
  message?: unknown;
  stringCode?: unknown;
  details?: unknown;
  metadata?: { recommendedRetryTime?: unknown };
}

const messageOf = (error: SdkError): string => (typeof error.message === 'string' && error.message ? error.message : 'MetaApi request failed');

const notFound = (context: ErrorContext, message: string, cause: unknown): BrokerError =>
  new BrokerError(context.ticket === 'order' ? 'ORDER_NOT_FOUND' : 'POSITION_NOT_FOUND', message, { cause });

/** Milliseconds until MetaApi's recommended retry time; undefined when it gave none. */
export const retryAfterMs = (recommendedRetryTime: unknown, now: number): number | undefined => {
  if (recommendedRetryTime === undefined || recommendedRetryTime === null) return undefined;
  const at = new Date(recommendedRetryTime as string | number | Date).getTime();
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
};

/**
 * Classifies any failure of an SDK call as a `BrokerError`. Trade errors by their `stringCode`;
 * SDK and websocket errors by their name: throttling is `retry` with MetaApi's recommended
 * retry time, anything that leaves the outcome unknown (timeouts, lost or closed connections,
 * MetaApi's internal errors) is `reconcile`, a refused token is `terminal`.
 */
export const toBrokerError = (error: unknown, context: ErrorContext = {}): BrokerError => {
  if (isBrokerError(error)) return error;
  if (error instanceof DeadlineExceededError) return new BrokerError('TIMEOUT', error.message, { cause: error });
  if (typeof error !== 'object' || error === null) return new BrokerError('UNKNOWN', String(error), { cause: error });
  const sdkError = error as SdkError;
  const message = messageOf(sdkError);
  if (typeof sdkError.stringCode === 'string') {
    const code = sdkError.stringCode;
    if (missingTicketCodes.has(code)) return notFound(context, `${code}: ${message}`, error);
    return new BrokerError(tradeCodes[code] ?? 'UNKNOWN', `${code}: ${message}`, { cause: error });
  }
  switch (sdkError.name) {
    case 'TooManyRequestsError':
      return new BrokerError('TOO_MANY_REQUESTS', message, {
        cause: error,
        retryAfterMs: retryAfterMs(sdkError.metadata?.recommendedRetryTime, context.now?.() ?? Date.now()),
      });
    case 'TimeoutError':
      return new BrokerError('TIMEOUT', message, { cause: error });
    case 'NotConnectedError':
    case 'NotAuthenticatedError':
    case 'NotSynchronizedError':
    case 'InternalError':
    case 'ApiError':
    case 'ConflictError':
      return new BrokerError('CONNECTION', `${String(sdkError.name)}: ${message}`, { cause: error });
    case 'NotFoundError':
      return notFound(context, message, error);
    case 'ValidationError':
      return new BrokerError('REJECTED', `${message}${typeof sdkError.details === 'string' ? ` (${sdkError.details})` : ''}`, { cause: error });
    case 'UnauthorizedError':
    case 'ForbiddenError':
    case 'MethodAccessError':
      return new BrokerError('NOT_CONFIGURED', `MetaApi refused the token: ${message}`, { cause: error });
    default:
      // The SDK rejects pending requests with plain errors when its connection closes.
      if (/connection (has been )?closed|not (been )?initialized|socket/i.test(message)) {
        return new BrokerError('CONNECTION', message, { cause: error });
      }
      return new BrokerError('UNKNOWN', message, { cause: error });
  }
};

/** Whether a failure says the connection itself is unusable, so the next call should open a new one. */
export const meansConnectionLost = (error: BrokerError): boolean => error.code === 'CONNECTION' || error.code === 'TIMEOUT';

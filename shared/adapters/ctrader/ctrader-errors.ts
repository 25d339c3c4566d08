import { BrokerError, type BrokerErrorCode } from '../../domain/broker-errors';
import { type CtraderMessage, executionTypes, payloadTypes } from './ctrader-protocol';

/**
 * cTrader's error codes (ProtoErrorCode, ProtoOAErrorCode: names, as its answers carry them)
 * against the port's classified codes. A code not listed is REJECTED: refused, not retried.
 */
const codes: Record<string, BrokerErrorCode> = {
  // Authorization: an expired or revoked token, an account the token does not reach.
  OA_AUTH_TOKEN_EXPIRED: 'AUTH_FAILED',
  ACCOUNT_NOT_AUTHORIZED: 'AUTH_FAILED',
  RET_NO_SUCH_LOGIN: 'AUTH_FAILED',
  RET_ACCOUNT_DISABLED: 'TRADING_DISABLED',
  CH_CLIENT_AUTH_FAILURE: 'NOT_CONFIGURED',
  CH_CLIENT_NOT_AUTHENTICATED: 'CONNECTION',
  CH_ACCESS_TOKEN_INVALID: 'AUTH_FAILED',
  CH_SERVER_NOT_REACHABLE: 'BROKER_BUSY',
  CH_CTID_TRADER_ACCOUNT_NOT_FOUND: 'AUTH_FAILED',
  CH_OA_CLIENT_NOT_FOUND: 'NOT_CONFIGURED',
  // General.
  REQUEST_FREQUENCY_EXCEEDED: 'TOO_MANY_REQUESTS',
  BLOCKED_PAYLOAD_TYPE: 'TOO_MANY_REQUESTS',
  SERVER_IS_UNDER_MAINTENANCE: 'BROKER_BUSY',
  CONNECTIONS_LIMIT_EXCEEDED: 'BROKER_BUSY',
  CHANNEL_IS_BLOCKED: 'TRADING_DISABLED',
  CANT_ROUTE_REQUEST: 'CONNECTION',
  // "Deal execution is reached timeout and rejected": looked up before anything is sent again.
  TIMEOUT_ERROR: 'TIMEOUT',
  MARKET_CLOSED: 'MARKET_CLOSED',
  SYMBOL_HAS_HOLIDAY: 'MARKET_CLOSED',
  CONCURRENT_MODIFICATION: 'BROKER_BUSY',
  // Pricing and trading.
  SYMBOL_NOT_FOUND: 'UNKNOWN_SYMBOL',
  UNKNOWN_SYMBOL: 'UNKNOWN_SYMBOL',
  NO_QUOTES: 'OFF_QUOTES',
  NOT_ENOUGH_MONEY: 'NO_MONEY',
  MAX_EXPOSURE_REACHED: 'REJECTED',
  POSITION_NOT_FOUND: 'POSITION_NOT_FOUND',
  POSITION_NOT_OPEN: 'POSITION_NOT_FOUND',
  ORDER_NOT_FOUND: 'ORDER_NOT_FOUND',
  POSITION_LOCKED: 'BROKER_BUSY',
  PENDING_EXECUTION: 'BROKER_BUSY',
  TOO_MANY_POSITIONS: 'REJECTED',
  TRADING_BAD_VOLUME: 'INVALID_VOLUME',
  TRADING_BAD_STAKE: 'INVALID_VOLUME',
  TRADING_BAD_STOPS: 'INVALID_STOPS',
  PROTECTION_IS_TOO_CLOSE_TO_MARKET: 'INVALID_STOPS',
  WORSE_GSL_NOT_ALLOWED: 'INVALID_STOPS',
  TRADING_BAD_PRICES: 'INVALID_PRICE',
  TRADING_BAD_EXPIRATION_DATE: 'INVALID_PRICE',
  TRADING_DISABLED: 'TRADING_DISABLED',
  TRADING_NOT_ALLOWED: 'TRADING_DISABLED',
  SHORT_SELLING_NOT_ALLOWED: 'TRADING_DISABLED',
  UNABLE_TO_CANCEL_ORDER: 'REJECTED',
  UNABLE_TO_AMEND_ORDER: 'REJECTED',
};

/** The port's code for a cTrader error code. */
export const codeOf = (errorCode: string): BrokerErrorCode => codes[errorCode] ?? 'REJECTED';

/** Whether cTrader refused a token (expired, revoked): a refreshed one may pass. */
export const isTokenRefusal = (errorCode: string): boolean => ['CH_ACCESS_TOKEN_INVALID', 'OA_AUTH_TOKEN_EXPIRED'].includes(errorCode);

/** The cTrader error code a refusal came with (`BrokerError.cause`). */
export class CtraderRefusal extends Error {
  override readonly name = 'CtraderRefusal';
  constructor(
    readonly errorCode: string,
    description: string | undefined,
  ) {
    super(`${errorCode}${description ? `: ${description}` : ''}`);
  }
}

/**
 * The refusal an answer carries, if it is one: an error answer (ProtoErrorRes, ProtoOAErrorRes),
 * an order error (ProtoOAOrderErrorEvent), or an execution event that rejected the order.
 */
export const refusalOf = (message: CtraderMessage): BrokerError | undefined => {
  const payload = message.payload ?? {};
  const errorCode =
    message.payloadType === payloadTypes.errorRes || message.payloadType === payloadTypes.oaErrorRes || message.payloadType === payloadTypes.orderErrorEvent
      ? String(payload.errorCode ?? 'UNKNOWN_ERROR')
      : message.payloadType === payloadTypes.executionEvent && payload.executionType === executionTypes.ORDER_REJECTED
        ? String(payload.errorCode ?? 'ORDER_REJECTED')
        : undefined;
  if (errorCode === undefined) return undefined;
  const description = typeof payload.description === 'string' ? payload.description : undefined;
  const retryAfter = typeof payload.retryAfter === 'number' ? payload.retryAfter * 1000 : undefined;
  return new BrokerError(codeOf(errorCode), `cTrader refused: ${errorCode}${description ? ` (${description})` : ''}`, {
    cause: new CtraderRefusal(errorCode, description),
    ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
  });
};

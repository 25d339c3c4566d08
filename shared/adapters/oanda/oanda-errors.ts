import { BrokerError, isBrokerError, type BrokerErrorCode } from '../../domain/broker-errors';
import { DeadlineExceededError } from '../../domain/deadline';

/**
 * OANDA's reasons for refusing a request, onto the domain's codes. A refusal arrives either as
 * a reject transaction of a 4xx answer (`rejectReason`, one of the v20 document's
 * `TransactionRejectReason`s, often repeated as `errorCode`) or as an order cancelled at once
 * in a 2xx answer (`orderCancelTransaction.reason`, an `OrderCancelReason`). A reason not
 * listed here is `REJECTED`, with OANDA's reason in the message.
 */
const reasonsByCode: Partial<Record<BrokerErrorCode, readonly string[]>> = {
  // Not executed; the next attempt may go through.
  BROKER_BUSY: ['INTERNAL_SERVER_ERROR'],
  OFF_QUOTES: ['INSTRUMENT_PRICE_UNKNOWN', 'INSUFFICIENT_LIQUIDITY'],
  /** The market moved past the order's price bound. */
  PRICE_CHANGED: ['BOUNDS_VIOLATION'],
  // Not now, maybe later.
  MARKET_CLOSED: [
    'MARKET_HALTED',
    'INSTRUMENT_BID_HALTED',
    'INSTRUMENT_ASK_HALTED',
    'STOP_LOSS_ON_FILL_GUARANTEED_BID_HALTED',
    'STOP_LOSS_ON_FILL_GUARANTEED_ASK_HALTED',
  ],
  // An earlier attempt with this client id got through.
  DUPLICATE_CLIENT_ID: ['CLIENT_ORDER_ID_ALREADY_EXISTS', 'CLIENT_TRADE_ID_ALREADY_EXISTS'],
  NO_MONEY: ['INSUFFICIENT_MARGIN', 'INSUFFICIENT_FUNDS'],
  TRADING_DISABLED: [
    'ACCOUNT_NOT_ACTIVE',
    'ACCOUNT_LOCKED',
    'ACCOUNT_ORDER_CREATION_LOCKED',
    'ACCOUNT_ORDER_CANCEL_LOCKED',
    'ACCOUNT_CONFIGURATION_LOCKED',
    'ACCOUNT_NEW_POSITIONS_LOCKED',
    'ACCOUNT_ORDER_FILL_LOCKED',
    'INSTRUMENT_NOT_TRADEABLE',
    'INSTRUMENT_BID_REDUCE_ONLY',
    'INSTRUMENT_ASK_REDUCE_ONLY',
  ],
  /**
   * A US account closes oldest first. `FIFO_VIOLATION` is the cancel reason the document lists;
   * `FIFO_VIOLATION_SAFEGUARD_VIOLATION` is what OANDA's servers answer a trade close with,
   * although the document does not list it.
   */
  FIFO_VIOLATION: ['FIFO_VIOLATION', 'FIFO_VIOLATION_SAFEGUARD_VIOLATION'],
  UNKNOWN_SYMBOL: ['INSTRUMENT_MISSING', 'INSTRUMENT_UNKNOWN'],
  INVALID_VOLUME: [
    'UNITS_MISSING',
    'UNITS_INVALID',
    'UNITS_PRECISION_EXCEEDED',
    'UNITS_LIMIT_EXCEEDED',
    'UNITS_MIMIMUM_NOT_MET',
    'CLOSE_TRADE_PARTIAL_UNITS_MISSING',
    'CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE',
    'CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE',
    'CLOSEOUT_POSITION_PARTIAL_UNITS_MISSING',
    'POSITION_SIZE_EXCEEDED',
    'ACCOUNT_POSITION_VALUE_LIMIT_EXCEEDED',
  ],
  INVALID_PRICE: ['PRICE_MISSING', 'PRICE_INVALID', 'PRICE_PRECISION_EXCEEDED', 'PRICE_BOUND_INVALID', 'PRICE_BOUND_PRECISION_EXCEEDED'],
  /** A market order's time in force is its filling mode (FOK or IOC): the engine tries the next one. */
  INVALID_FILL: ['TIME_IN_FORCE_INVALID', 'ORDER_PARTIAL_FILL_OPTION_INVALID'],
  INVALID_STOPS: [
    'PRICE_DISTANCE_MISSING',
    'PRICE_DISTANCE_INVALID',
    'PRICE_DISTANCE_PRECISION_EXCEEDED',
    'PRICE_DISTANCE_MAXIMUM_EXCEEDED',
    'PRICE_DISTANCE_MINIMUM_NOT_MET',
    'LOSING_TAKE_PROFIT',
    'TAKE_PROFIT_ON_FILL_LOSS',
    'TAKE_PROFIT_ON_FILL_PRICE_MISSING',
    'TAKE_PROFIT_ON_FILL_PRICE_INVALID',
    'TAKE_PROFIT_ON_FILL_PRICE_PRECISION_EXCEEDED',
    'TAKE_PROFIT_ON_FILL_PRICE_DISTANCE_MAXIMUM_EXCEEDED',
    'STOP_LOSS_ON_FILL_LOSS',
    'STOP_LOSS_ON_FILL_PRICE_MISSING',
    'STOP_LOSS_ON_FILL_PRICE_INVALID',
    'STOP_LOSS_ON_FILL_PRICE_PRECISION_EXCEEDED',
    'STOP_LOSS_ON_FILL_PRICE_DISTANCE_MAXIMUM_EXCEEDED',
    'STOP_LOSS_ON_FILL_DISTANCE_INVALID',
    'STOP_LOSS_ON_FILL_DISTANCE_PRECISION_EXCEEDED',
    'STOP_LOSS_ON_FILL_PRICE_AND_DISTANCE_BOTH_SPECIFIED',
    'STOP_LOSS_ON_FILL_PRICE_AND_DISTANCE_BOTH_MISSING',
    'STOP_LOSS_ON_FILL_REQUIRED',
    'STOP_LOSS_ON_FILL_REQUIRED_FOR_PENDING_ORDER',
    'STOP_LOSS_ON_FILL_GUARANTEED_REQUIRED',
    'STOP_LOSS_ON_FILL_GUARANTEED_NOT_ALLOWED',
    'STOP_LOSS_ON_FILL_GUARANTEED_MINIMUM_DISTANCE_NOT_MET',
    'STOP_LOSS_ON_FILL_GUARANTEED_LEVEL_RESTRICTION_EXCEEDED',
    'STOP_LOSS_ON_FILL_GUARANTEED_HEDGING_NOT_ALLOWED',
    'STOP_LOSS_ORDER_GUARANTEED_REQUIRED',
    'STOP_LOSS_ORDER_GUARANTEED_PRICE_WITHIN_SPREAD',
    'STOP_LOSS_ORDER_GUARANTEED_NOT_ALLOWED',
    'STOP_LOSS_ORDER_GUARANTEED_HALTED_CREATE_VIOLATION',
    'STOP_LOSS_ORDER_GUARANTEED_HALTED_TIGHTEN_VIOLATION',
    'STOP_LOSS_ORDER_GUARANTEED_HEDGING_NOT_ALLOWED',
    'STOP_LOSS_ORDER_GUARANTEED_MINIMUM_DISTANCE_NOT_MET',
    'STOP_LOSS_ORDER_GUARANTEED_LEVEL_RESTRICTION_EXCEEDED',
    'STOP_LOSS_ORDER_PRICE_AND_DISTANCE_BOTH_SPECIFIED',
    'STOP_LOSS_ORDER_PRICE_AND_DISTANCE_BOTH_MISSING',
    'STOP_LOSS_ORDER_NOT_CANCELABLE',
    'STOP_LOSS_ORDER_NOT_REPLACEABLE',
    'TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_MISSING',
    'TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_INVALID',
    'TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_PRECISION_EXCEEDED',
    'TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_MAXIMUM_EXCEEDED',
    'TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_MINIMUM_NOT_MET',
    'HEDGING_GSLO_VIOLATION',
  ],
  POSITION_NOT_FOUND: ['TRADE_DOESNT_EXIST', 'CLOSEOUT_POSITION_DOESNT_EXIST'],
  ORDER_NOT_FOUND: ['ORDER_DOESNT_EXIST'],
};

/** Every listed reason with its code: the table `toBrokerError` reads. */
export const oandaReasonCodes: Readonly<Record<string, BrokerErrorCode>> = Object.fromEntries(
  Object.entries(reasonsByCode).flatMap(([code, reasons]) => (reasons ?? []).map((reason) => [reason, code as BrokerErrorCode])),
);

/** The domain code of an OANDA reason; `REJECTED` for one the table does not list. */
export const codeOfReason = (reason: string): BrokerErrorCode => oandaReasonCodes[reason] ?? 'REJECTED';

/** What a failed request was, to classify what OANDA or the network did to it. */
export interface OandaRequestContext {
  /** Named in messages: the method and the path below the account (never the host, never the token). */
  what: string;
  /** A trade request's outcome is unknown when its answer is lost (`TIMEOUT`); a read's is not (`CONNECTION`). */
  kind: 'read' | 'trade';
  /** What a 404 without a reason means: the trade or order the path names, or the account itself. */
  subject: 'position' | 'order' | 'account';
}

/** A refusal OANDA gave with a reason (a reject transaction, or an order it cancelled at once). */
export const refusal = (reason: string, what: string, detail?: string): BrokerError =>
  new BrokerError(codeOfReason(reason), `OANDA refused ${what}: ${reason}${detail ? ` (${detail})` : ''}`);

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The reason of a 4xx answer: the `rejectReason` of its reject transaction, else its `errorCode`. */
export const reasonOf = (body: unknown): string | undefined => {
  if (!isObject(body)) return undefined;
  for (const [key, value] of Object.entries(body)) {
    if (key.endsWith('RejectTransaction') && isObject(value) && typeof value.rejectReason === 'string' && value.rejectReason) return value.rejectReason;
  }
  return typeof body.errorCode === 'string' && body.errorCode ? body.errorCode : undefined;
};

const errorMessageOf = (body: unknown): string | undefined =>
  isObject(body) && typeof body.errorMessage === 'string' && body.errorMessage ? body.errorMessage : undefined;

/**
 * Milliseconds to wait from a `Retry-After` header: delta seconds or an HTTP date; undefined
 * when there is none or it does not parse.
 */
export const retryAfterMs = (header: string | null | undefined, now: number): number | undefined => {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
};

const notFoundCode = (subject: OandaRequestContext['subject']): BrokerErrorCode => {
  switch (subject) {
    case 'position':
      return 'POSITION_NOT_FOUND';
    case 'order':
      return 'ORDER_NOT_FOUND';
    default:
      return 'AUTH_FAILED';
  }
};

/**
 * Classifies a non-2xx answer. 401 and 403 are a token OANDA refuses (for this account); 404 is
 * the trade, order or account the path names, unless OANDA gives a reason; 429 is throttling
 * with its `Retry-After`. Any 5xx, 503 included, leaves a trade request's outcome unknown (a
 * gateway or balancer in front of OANDA may have passed it on before it answered, and a trade
 * close carries no client id that would stop a second one), so it is `TIMEOUT` (reconcile)
 * there and `BROKER_BUSY` (a busy broker) on a read.
 */
export const httpError = (status: number, body: unknown, retryAfter: string | null | undefined, context: OandaRequestContext, now: number): BrokerError => {
  const reason = reasonOf(body);
  const said = errorMessageOf(body);
  const detail = [reason, said].filter((part) => part !== undefined).join(': ');
  const message = `${context.what} answered ${status}${detail ? ` (${detail})` : ''}`;
  if (status === 401) return new BrokerError('AUTH_FAILED', `OANDA refused the access token: ${message}`);
  if (status === 403) return new BrokerError('AUTH_FAILED', `the access token does not allow this on the OANDA account: ${message}`);
  if (status === 429) return new BrokerError('TOO_MANY_REQUESTS', message, { retryAfterMs: retryAfterMs(retryAfter, now) });
  if (status >= 500) return new BrokerError(context.kind === 'trade' ? 'TIMEOUT' : 'BROKER_BUSY', message);
  if (reason && oandaReasonCodes[reason]) return new BrokerError(codeOfReason(reason), message);
  if (status === 404) {
    const code = notFoundCode(context.subject);
    return new BrokerError(code, code === 'AUTH_FAILED' ? `OANDA has no such account for this access token: ${message}` : message);
  }
  return new BrokerError(status >= 400 && status < 500 ? 'REJECTED' : 'UNKNOWN', message);
};

/**
 * A request that got no answer: past its deadline, or the network failed. A trade may have been
 * executed (`TIMEOUT`: look the client id up); a read simply failed (`CONNECTION`).
 */
export const transportError = (error: unknown, context: OandaRequestContext): BrokerError => {
  if (isBrokerError(error)) return error;
  const code: BrokerErrorCode = context.kind === 'trade' ? 'TIMEOUT' : 'CONNECTION';
  if (error instanceof DeadlineExceededError) return new BrokerError(code, `${context.what} did not answer within ${error.ms} ms`, { cause: error });
  const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
  return new BrokerError(code, `${context.what} failed: ${cause}`, { cause: error });
};

/** Whether a failure says the thing looked up is not there (`findByClientId` then finds nothing). */
export const isNotFound = (error: unknown): boolean => isBrokerError(error) && (error.code === 'POSITION_NOT_FOUND' || error.code === 'ORDER_NOT_FOUND');

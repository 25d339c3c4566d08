/**
 * Every broker failure is classified, because what the copy engine does next depends on it:
 * - `retry`: the request was certainly not executed and may succeed soon (requote, busy).
 * - `reconcile`: the outcome is unknown (timeout, lost connection): look the order up by
 *   its client id before anything else.
 * - `defer`: not executable now but maybe later (market closed).
 * - `terminal`: will not succeed by retrying (no money, trading disabled, invalid stops).
 */
export type BrokerErrorClass = 'retry' | 'reconcile' | 'defer' | 'terminal';

export const brokerErrorCodes = {
  REQUOTE: 'retry',
  PRICE_CHANGED: 'retry',
  OFF_QUOTES: 'retry',
  TOO_MANY_REQUESTS: 'retry',
  BROKER_BUSY: 'retry',
  TIMEOUT: 'reconcile',
  CONNECTION: 'reconcile',
  /** The broker already has an order with this client id: an earlier attempt got through. */
  DUPLICATE_CLIENT_ID: 'reconcile',
  MARKET_CLOSED: 'defer',
  NO_MONEY: 'terminal',
  TRADING_DISABLED: 'terminal',
  REJECTED: 'terminal',
  INVALID_STOPS: 'terminal',
  INVALID_VOLUME: 'terminal',
  INVALID_PRICE: 'terminal',
  INVALID_FILL: 'terminal',
  /** A US (FIFO) account refuses to close a position while an older one of the symbol is open. */
  FIFO_VIOLATION: 'terminal',
  UNKNOWN_SYMBOL: 'terminal',
  POSITION_NOT_FOUND: 'terminal',
  ORDER_NOT_FOUND: 'terminal',
  AUTH_FAILED: 'terminal',
  NOT_CONFIGURED: 'terminal',
  UNKNOWN: 'terminal',
} as const satisfies Record<string, BrokerErrorClass>;

export type BrokerErrorCode = keyof typeof brokerErrorCodes;

export const isBrokerErrorCode = (code: string): code is BrokerErrorCode => code in brokerErrorCodes;

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  readonly errorClass: BrokerErrorClass;
  constructor(
    readonly code: BrokerErrorCode,
    message: string,
    options: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.errorClass = brokerErrorCodes[code];
    this.retryAfterMs = options.retryAfterMs;
  }
  readonly retryAfterMs: number | undefined;

  /** The reason code a copy record carries for this failure. */
  get reason(): string {
    return `BROKER_${this.code}`;
  }
}

export const isBrokerError = (error: unknown): error is BrokerError => error instanceof Error && error.name === 'BrokerError';

/** The failures a user can do nothing about but wait, said in words. */
const UNAVAILABLE_IN_WORDS: Partial<Record<BrokerErrorCode, string>> = {
  CONNECTION: 'The broker cannot be reached right now',
  TIMEOUT: 'The broker did not answer in time',
  BROKER_BUSY: 'The broker is busy',
  TOO_MANY_REQUESTS: 'The broker asks to slow down',
};

/** Every broker code in a user's words: what an API answer's `detail` says (its `code` is `BROKER_<code>`). */
const BROKER_CODES_IN_WORDS: Record<BrokerErrorCode, string> = {
  REQUOTE: 'The broker requoted the price; try again',
  PRICE_CHANGED: 'The price changed before the order was filled; try again',
  OFF_QUOTES: 'The broker has no price for the symbol right now; try again shortly',
  TOO_MANY_REQUESTS: 'The broker asks to slow down; try again later',
  BROKER_BUSY: 'The broker is busy; try again shortly',
  TIMEOUT: 'The broker did not answer in time; try again shortly (a trade is looked up before it is sent again)',
  CONNECTION: 'The broker cannot be reached right now; try again shortly',
  DUPLICATE_CLIENT_ID: 'The broker already has this order (an earlier attempt got through); it is looked up, not sent again',
  MARKET_CLOSED: 'The market of this symbol is closed',
  NO_MONEY: 'The account has not enough free margin for this order',
  TRADING_DISABLED: 'Trading is disabled on this account',
  REJECTED: 'The broker rejected the order',
  INVALID_STOPS: 'The stop loss or take profit is on the wrong side of the price or too close to it',
  INVALID_VOLUME: "The volume is outside the symbol's minimum, maximum or step",
  INVALID_PRICE: 'The price of the pending order is not valid for its type',
  INVALID_FILL: "The broker does not fill this symbol's orders with the filling mode asked for",
  FIFO_VIOLATION: 'The account closes positions oldest first (FIFO): an older position of this symbol is open',
  UNKNOWN_SYMBOL: 'The broker does not offer this symbol on this account',
  POSITION_NOT_FOUND: 'The position does not exist at the broker (it may be closed)',
  ORDER_NOT_FOUND: 'The order does not exist at the broker (it may be filled or cancelled)',
  AUTH_FAILED: 'The broker refused the login or password',
  NOT_CONFIGURED: 'This platform is not set up on this server yet',
  UNKNOWN: 'The broker refused the request',
};

/** A broker code said in a user's words. */
export const brokerCodeInWords = (code: BrokerErrorCode): string => BROKER_CODES_IN_WORDS[code];

/** URLs, and host names of three labels or more (`mt-client-api-v1.new-york.agiliumtrade.ai`, with or without a port). */
const INTERNALS = /\b[a-z][a-z0-9+.-]*:\/\/\S+|\b(?:[a-z0-9-]+\.){2,}[a-z]{2,}(?::\d+)?\b|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/gi;

/** A message with the addresses of the systems behind the broker gateway taken out. */
export const withoutInternals = (message: string): string => message.replace(INTERNALS, '(address withheld)');

/**
 * What an account's `statusDetail` says about a broker failure: the cause in words and its
 * code, never an internal host or URL of the gateway (an SDK's message often carries one).
 */
export const describeBrokerError = (error: BrokerError): string => {
  const words = UNAVAILABLE_IN_WORDS[error.code];
  const said = `${error.code}: ${withoutInternals(error.message)}`;
  return words ? `${words} (${said})` : said;
};

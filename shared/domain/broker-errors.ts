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
  MARKET_CLOSED: 'defer',
  NO_MONEY: 'terminal',
  TRADING_DISABLED: 'terminal',
  REJECTED: 'terminal',
  INVALID_STOPS: 'terminal',
  INVALID_VOLUME: 'terminal',
  INVALID_PRICE: 'terminal',
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

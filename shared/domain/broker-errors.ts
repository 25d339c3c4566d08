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

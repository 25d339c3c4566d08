import { describe, expect, it } from 'vitest';
import { DeadlineExceededError, withDeadline } from '../../../shared/domain/deadline';
import { retryAfterMs, toBrokerError } from '../../../shared/adapters/metaapi/metaapi-errors';
import { BrokerError } from '../../../shared/domain/broker-errors';

/** Errors shaped as the SDK throws them (it sets `name`; trade errors carry `stringCode`). */
const tradeError = (stringCode: string) => Object.assign(new Error(`${stringCode} message`), { name: 'TradeError', stringCode, numericCode: 1 });
const sdkError = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`${name} message`), { name, ...extra });

describe('MetaApi failures as broker errors', () => {
  it.each([
    ['TRADE_RETCODE_REQUOTE', 'REQUOTE', 'retry'],
    ['ERR_REQUOTE', 'REQUOTE', 'retry'],
    ['TRADE_RETCODE_PRICE_CHANGED', 'PRICE_CHANGED', 'retry'],
    ['TRADE_RETCODE_PRICE_OFF', 'OFF_QUOTES', 'retry'],
    ['TRADE_RETCODE_TOO_MANY_REQUESTS', 'TOO_MANY_REQUESTS', 'retry'],
    ['ERR_TRADE_CONTEXT_BUSY', 'BROKER_BUSY', 'retry'],
    ['TRADE_RETCODE_TIMEOUT', 'TIMEOUT', 'reconcile'],
    ['TRADE_RETCODE_CONNECTION', 'CONNECTION', 'reconcile'],
    ['TRADE_RETCODE_MARKET_CLOSED', 'MARKET_CLOSED', 'defer'],
    ['ERR_MARKET_CLOSED', 'MARKET_CLOSED', 'defer'],
    ['TRADE_RETCODE_NO_MONEY', 'NO_MONEY', 'terminal'],
    ['ERR_NOT_ENOUGH_MONEY', 'NO_MONEY', 'terminal'],
    ['TRADE_RETCODE_TRADE_DISABLED', 'TRADING_DISABLED', 'terminal'],
    ['TRADE_RETCODE_REJECT', 'REJECTED', 'terminal'],
    ['TRADE_RETCODE_INVALID_STOPS', 'INVALID_STOPS', 'terminal'],
    ['ERR_INVALID_STOPS', 'INVALID_STOPS', 'terminal'],
    ['TRADE_RETCODE_INVALID_VOLUME', 'INVALID_VOLUME', 'terminal'],
    ['TRADE_RETCODE_INVALID_PRICE', 'INVALID_PRICE', 'terminal'],
    ['ERR_MARKET_UNKNOWN_SYMBOL', 'UNKNOWN_SYMBOL', 'terminal'],
    ['ERR_TRADE_POSITION_NOT_FOUND', 'POSITION_NOT_FOUND', 'terminal'],
    ['ERR_TRADE_ORDER_NOT_FOUND', 'ORDER_NOT_FOUND', 'terminal'],
    ['TRADE_RETCODE_SOMETHING_NEW', 'UNKNOWN', 'terminal'],
  ])('maps the trade code %s to %s (%s)', (stringCode, code, errorClass) => {
    const error = toBrokerError(tradeError(stringCode));
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ code, errorClass });
    expect(error.message).toContain(stringCode);
  });

  it('names a ticket the broker does not know after what the call acted on', () => {
    expect(toBrokerError(tradeError('ERR_INVALID_TICKET'), { ticket: 'order' }).code).toBe('ORDER_NOT_FOUND');
    expect(toBrokerError(tradeError('ERR_INVALID_TICKET'), { ticket: 'position' }).code).toBe('POSITION_NOT_FOUND');
    expect(toBrokerError(sdkError('NotFoundError'), { ticket: 'order' }).code).toBe('ORDER_NOT_FOUND');
  });

  it("turns a 429 into TOO_MANY_REQUESTS with MetaApi's recommended retry time", () => {
    const now = Date.parse('2024-05-01T10:00:00.000Z');
    const error = toBrokerError(sdkError('TooManyRequestsError', { metadata: { recommendedRetryTime: '2024-05-01T10:00:20.000Z' } }), { now: () => now });
    expect(error).toMatchObject({ code: 'TOO_MANY_REQUESTS', errorClass: 'retry', retryAfterMs: 20_000 });
    expect(retryAfterMs(new Date(now - 5_000), now)).toBe(0);
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });

  it.each([
    ['TimeoutError', 'TIMEOUT', 'reconcile'],
    ['NotConnectedError', 'CONNECTION', 'reconcile'],
    ['NotSynchronizedError', 'CONNECTION', 'reconcile'],
    ['InternalError', 'CONNECTION', 'reconcile'],
    ['ValidationError', 'REJECTED', 'terminal'],
    ['UnauthorizedError', 'NOT_CONFIGURED', 'terminal'],
  ])('maps the SDK error %s to %s (%s)', (name, code, errorClass) => {
    expect(toBrokerError(sdkError(name))).toMatchObject({ code, errorClass });
  });

  it('treats a closed SDK connection as a lost connection and anything else as UNKNOWN', () => {
    expect(toBrokerError(new Error('MetaApi connection closed')).code).toBe('CONNECTION');
    expect(toBrokerError(new Error('This connection has been closed, please create a new connection')).code).toBe('CONNECTION');
    expect(toBrokerError(new Error('something odd')).code).toBe('UNKNOWN');
    const already = new BrokerError('NO_MONEY', 'no');
    expect(toBrokerError(already)).toBe(already);
  });

  it('bounds a call: past its budget it fails with TIMEOUT (outcome unknown), and a late failure is swallowed', async () => {
    const started = Date.now();
    const slow = withDeadline(() => new Promise((_, reject) => setTimeout(() => reject(new Error('late')), 200)), 50, 'MetaApi getPositions');
    const error = await slow.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(Date.now() - started).toBeLessThan(150);
    expect(toBrokerError(error)).toMatchObject({ code: 'TIMEOUT', errorClass: 'reconcile' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await withDeadline(async () => 'in time', 50, 'x')).toBe('in time');
  });
});

import { describe, expect, it } from 'vitest';
import { OandaClient, pathOfPage } from '../../../shared/adapters/oanda/oanda-client';
import { BrokerError } from '../../../shared/domain/broker-errors';

const TOKEN = 'f00dfeedf00dfeedf00dfeedf00dfeed-0123456789abcdef0123456789abcdef';

interface Call {
  url: string;
  init: RequestInit | undefined;
}

/** A client over a stubbed `fetch` that records its calls and answers with `answer`. */
const clientWith = (answer: (call: Call) => Promise<Response> | Response, timeoutMs = 200) => {
  const calls: Call[] = [];
  const stub = (async (input: string | URL | Request, init?: RequestInit) => {
    const call = { url: String(input), init };
    calls.push(call);
    return answer(call);
  }) as typeof fetch;
  const client = new OandaClient({
    restUrl: 'https://api-fxpractice.oanda.com/',
    accountId: '101-004-1234567-001',
    token: TOKEN,
    timeoutMs,
    fetch: stub,
    now: () => new Date('2024-05-02T09:15:03Z'),
  });
  return { client, calls };
};

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

const failure = async (promise: Promise<unknown>): Promise<BrokerError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BrokerError) return error;
    throw error;
  }
  throw new Error('expected a BrokerError');
};

/** Never answers, but gives up when the request is aborted, as fetch does. */
const hanging = (call: Call): Promise<Response> =>
  new Promise((_, reject) => call.init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));

describe('the v20 REST client', () => {
  it('sends the bearer token, RFC 3339 times and JSON below the account, and reads the JSON answer', async () => {
    const { client, calls } = clientWith(() => json(201, { orderCreateTransaction: { id: '7' } }));
    expect(await client.post('/orders', { order: { type: 'MARKET' } })).toEqual({ orderCreateTransaction: { id: '7' } });
    expect(calls[0]!.url).toBe('https://api-fxpractice.oanda.com/v3/accounts/101-004-1234567-001/orders');
    expect(calls[0]!.init).toMatchObject({
      method: 'POST',
      body: '{"order":{"type":"MARKET"}}',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Accept-Datetime-Format': 'RFC3339', 'Content-Type': 'application/json' },
    });
    await client.get('/transactions', { kind: 'read', query: { from: '2024-05-02T00:00:00.000Z', type: 'ORDER_FILL', pageSize: undefined } });
    expect(calls[1]!.url).toBe(
      'https://api-fxpractice.oanda.com/v3/accounts/101-004-1234567-001/transactions?from=2024-05-02T00%3A00%3A00.000Z&type=ORDER_FILL',
    );
  });

  it('bounds every request: a read past its budget is CONNECTION, a trade TIMEOUT (its outcome is unknown)', async () => {
    const { client } = clientWith(hanging, 100);
    const started = Date.now();
    expect(await failure(client.get('/openTrades'))).toMatchObject({ code: 'CONNECTION', errorClass: 'reconcile' });
    expect(await failure(client.put('/trades/5/close', { units: 'ALL' }))).toMatchObject({ code: 'TIMEOUT', errorClass: 'reconcile' });
    expect(Date.now() - started).toBeLessThan(2_000);
    const down = clientWith(() => Promise.reject(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') })));
    expect(await failure(down.client.get('/summary'))).toMatchObject({ code: 'CONNECTION' });
    expect(await failure(down.client.post('/orders', {}))).toMatchObject({ code: 'TIMEOUT' });
  });

  it('classifies what OANDA answers: 401, 429 with Retry-After, 503, 404 by what the path names, a reject reason', async () => {
    const answers: Response[] = [
      json(401, { errorMessage: 'Insufficient authorization to perform request.' }),
      json(429, { errorMessage: 'Too many requests' }, { 'Retry-After': '3' }),
      json(503, { errorMessage: 'Service unavailable' }),
      json(404, { errorMessage: 'The Trade specified does not exist' }),
      json(400, { orderRejectTransaction: { id: '9', type: 'MARKET_ORDER_REJECT', rejectReason: 'INSUFFICIENT_MARGIN' }, errorCode: 'INSUFFICIENT_MARGIN' }),
      new Response('<html>bad gateway</html>', { status: 502 }),
    ];
    const { client } = clientWith(() => answers.shift()!);
    expect(await failure(client.get('/summary'))).toMatchObject({ code: 'AUTH_FAILED', errorClass: 'terminal' });
    expect(await failure(client.get('/summary'))).toMatchObject({ code: 'TOO_MANY_REQUESTS', retryAfterMs: 3000 });
    expect(await failure(client.get('/summary'))).toMatchObject({ code: 'BROKER_BUSY', errorClass: 'retry' });
    expect(await failure(client.get('/trades/5', { kind: 'read', subject: 'position' }))).toMatchObject({ code: 'POSITION_NOT_FOUND' });
    const refused = await failure(client.post('/orders', {}));
    expect(refused).toMatchObject({ code: 'NO_MONEY' });
    expect(refused.message).toContain('INSUFFICIENT_MARGIN');
    expect(await failure(client.post('/orders', {}))).toMatchObject({ code: 'TIMEOUT' });
  });

  it('never puts the token in an error message, even when an answer echoes it', async () => {
    const { client } = clientWith(() => json(400, { errorMessage: `Bearer ${TOKEN} is malformed` }));
    const error = await failure(client.get('/summary'));
    expect(error.code).toBe('REJECTED');
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).toContain('(token withheld)');
  });

  it('follows a page OANDA hands out by its path only, on the configured host', async () => {
    expect(pathOfPage('https://elsewhere.example/v3/accounts/1-2-3-4/transactions/idrange?from=1&to=9&type=ORDER_FILL')).toBe(
      '/v3/accounts/1-2-3-4/transactions/idrange?from=1&to=9&type=ORDER_FILL',
    );
    expect(pathOfPage('https://elsewhere.example/steal')).toBeUndefined();
    const { client, calls } = clientWith(() => json(200, { transactions: [] }));
    await client.get('/v3/accounts/1-2-3-4/transactions/idrange?from=1&to=9');
    expect(calls[0]!.url).toBe('https://api-fxpractice.oanda.com/v3/accounts/1-2-3-4/transactions/idrange?from=1&to=9');
  });
});

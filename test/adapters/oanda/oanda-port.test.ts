import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OandaClient } from '../../../shared/adapters/oanda/oanda-client';
import { OandaGateway } from '../../../shared/adapters/oanda/oanda-gateway';
import { OandaBrokerPort } from '../../../shared/adapters/oanda/oanda-port';
import { BrokerError } from '../../../shared/domain/broker-errors';
import type { BrokerAccountRef, BrokerPort } from '../../../shared/ports/broker';
import { FakeOanda } from '../../support/fake-oanda/fake-oanda';

const failure = async (promise: Promise<unknown>): Promise<BrokerError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BrokerError) return error;
    throw error;
  }
  throw new Error('expected a BrokerError');
};

/** A loopback port nothing listens on. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 9;
};

describe('the OANDA v20 adapter against the fake OANDA server', () => {
  let fake: FakeOanda;
  let sequence = 0;
  /** Every message an error or a status detail carried, to check no token is among them. */
  const said: string[] = [];
  const tokens: string[] = [];

  const clientId = () => `oa${Date.now().toString(36)}${String((sequence += 1)).padStart(4, '0')}`;

  const gatewayFor = (token: string, timeoutMs = 2_000) => {
    const hosts = { rest: fake.url, stream: fake.url };
    return new OandaGateway({ hosts: { practice: hosts, live: hosts }, tokenFor: async () => token, timeoutMs });
  };

  /** A new account at the fake with its own token, provisioned and connected. */
  const account = async (options: { hedging?: boolean; fifo?: boolean; balance?: number; timeoutMs?: number } = {}) => {
    const token = `token-${(sequence += 1)}-${'9f'.repeat(30)}`;
    tokens.push(token);
    const login = fake.addAccount({
      token,
      hedging: options.hedging ?? true,
      fifo: options.fifo,
      balance: options.balance ?? 10_000,
      currency: 'USD',
      leverage: 50,
    });
    const gateway = gatewayFor(token, options.timeoutMs);
    const ref: BrokerAccountRef = { tenantId: 'tenant-o', accountId: `acc-o${sequence}`, platform: 'oanda', login, server: 'practice' };
    const provisioned = await gateway.provision(ref, token);
    expect(provisioned).toEqual({ status: 'connected', brokerAccountId: login });
    const port = await gateway.connect({ ...ref, brokerAccountId: login });
    return { token, login, gateway, ref, port };
  };

  const failed = async (promise: Promise<unknown>): Promise<BrokerError> => {
    const error = await failure(promise);
    said.push(error.message);
    return error;
  };

  let shared: { token: string; login: string; port: BrokerPort };

  beforeAll(async () => {
    fake = await FakeOanda.start();
    shared = await account();
  });

  afterAll(async () => {
    for (const message of said) for (const token of tokens) expect(message).not.toContain(token);
    await fake?.stop();
  });

  it('reads a hedging account in units: capabilities, funds, leverage from the margin rate', async () => {
    expect(await shared.port.getCapabilities()).toEqual({ hedging: true, netting: false, fifo: false, units: 'units', closeClientId: false });
    expect(await shared.port.getAccountInformation()).toMatchObject({ currency: 'USD', leverage: 50, balance: 10_000 });
    const spec = await shared.port.getSymbolSpec('USD_JPY');
    expect(spec).toMatchObject({ symbol: 'USD_JPY', digits: 3, tickSize: 0.001, contractSize: 1, profitCurrency: 'JPY' });
    // A tick of one unit of USD_JPY is a thousandth of a yen, in dollars.
    expect(spec!.tickValue).toBeGreaterThan(0);
    expect(spec!.tickValue).toBeLessThan(0.001);
  });

  it('fails with AUTH_FAILED once the token is revoked, and provisioning says so without the token', async () => {
    const { token, port, gateway, ref } = await account();
    fake.revokeToken(token);
    expect(await failed(port.getPositions())).toMatchObject({ code: 'AUTH_FAILED', errorClass: 'terminal' });
    expect(await failed(port.placeOrder({ clientId: clientId(), symbol: 'EUR_USD', side: 'buy', type: 'market', volume: 1000 }))).toMatchObject({
      code: 'AUTH_FAILED',
    });
    const again = await gateway.provision(ref, token);
    expect(again.status).toBe('error');
    said.push(again.statusDetail ?? '');
    expect(again.statusDetail).toMatch(/access token/);
  });

  it('provisions only practice and live accounts the token opens; an unreachable OANDA leaves the account connecting', async () => {
    const { token, login, gateway, ref } = await account();
    expect((await gateway.provision({ ...ref, server: 'demo' }, token)).status).toBe('error');
    await expect(gateway.connect({ ...ref, server: 'demo' })).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    const unknown = await gateway.provision({ ...ref, login: '101-004-9999999-999' }, token);
    expect(unknown.status).toBe('error');
    said.push(unknown.statusDetail ?? '');
    const wrongToken = await gateway.provision(ref, `${token}-not`);
    expect(wrongToken.status).toBe('error');
    said.push(wrongToken.statusDetail ?? '');
    const nowhere = `http://127.0.0.1:${await closedPort()}`;
    const offline = new OandaGateway({
      hosts: { practice: { rest: nowhere, stream: nowhere }, live: { rest: nowhere, stream: nowhere } },
      tokenFor: async () => token,
    });
    const connecting = await offline.provision(ref, token);
    expect(connecting.status).toBe('connecting');
    said.push(connecting.statusDetail ?? '');
    expect(login).toMatch(/^\d+-\d+-\d+-\d+$/);
  });

  it('answers 429 with TOO_MANY_REQUESTS and the wait OANDA asks for, 503 with BROKER_BUSY on a read and TIMEOUT on a trade request', async () => {
    fake.setFaults({ rateLimitNext: 1 });
    const throttled = await failed(shared.port.getPositions());
    expect(throttled).toMatchObject({ code: 'TOO_MANY_REQUESTS', errorClass: 'retry' });
    expect(throttled.retryAfterMs).toEqual(expect.any(Number));
    expect(throttled.retryAfterMs).toBeGreaterThanOrEqual(0);
    fake.setFaults({ unavailableNext: 1 });
    expect(await failed(shared.port.getPendingOrders())).toMatchObject({ code: 'BROKER_BUSY', errorClass: 'retry' });
    expect(await shared.port.getPendingOrders()).toEqual(expect.any(Array));
    // A gateway may have passed the close on before it answered 503, and a close has no client id: reconcile, never resend blindly.
    const { positionId } = await shared.port.placeOrder({ clientId: clientId(), symbol: 'EUR_USD', side: 'buy', type: 'market', volume: 1000 });
    fake.setFaults({ unavailableNext: 1 });
    expect(await failed(shared.port.closePosition(positionId!, {}))).toMatchObject({ code: 'TIMEOUT', errorClass: 'reconcile' });
    expect(await shared.port.closePosition(positionId!, {})).toMatchObject({ positionId, volume: 1000 });
  });

  it('places a market order again after OANDA cancelled the first attempt (no client order id left behind), found by its trade', async () => {
    const { login, port } = await account();
    const id = clientId();
    fake.market.setFaults(fake.marketAccountId(login), { rejectNext: 1, code: 'MARKET_CLOSED' });
    const halted = await failed(port.placeOrder({ clientId: id, symbol: 'EUR_USD', side: 'buy', type: 'market', volume: 1000 }));
    expect(halted).toMatchObject({ code: 'MARKET_CLOSED' });
    expect(halted.message).toContain('MARKET_HALTED');
    expect(await port.findByClientId(id)).toEqual({ positions: [], orders: [], deals: [] });
    const placed = await port.placeOrder({ clientId: id, symbol: 'EUR_USD', side: 'buy', type: 'market', volume: 1000 });
    expect(placed.positionId).toEqual(expect.any(String));
    const found = await port.findByClientId(id);
    expect(found.positions).toEqual([expect.objectContaining({ id: placed.positionId, clientId: id, volume: 1000 })]);
    expect(found.deals).toEqual([expect.objectContaining({ positionId: placed.positionId, entry: 'in', volume: 1000, clientId: id })]);
    // Closed, the copy is still found by its trade, with its opening deal only.
    await port.closePosition(placed.positionId!, {});
    const closed = await port.findByClientId(id);
    expect(closed.positions).toEqual([]);
    expect(closed.deals).toEqual([expect.objectContaining({ positionId: placed.positionId, entry: 'in', volume: 1000 })]);
  });

  it('fails a trade whose answer is dropped with TIMEOUT, and findByClientId shows the trade it opened', async () => {
    const id = clientId();
    fake.setFaults({ dropNextTradeAnswer: 1 });
    const error = await failed(shared.port.placeOrder({ clientId: id, symbol: 'EUR_USD', side: 'buy', type: 'market', volume: 1500 }));
    expect(error).toMatchObject({ code: 'TIMEOUT', errorClass: 'reconcile' });
    const found = await shared.port.findByClientId(id);
    expect(found.positions).toEqual([expect.objectContaining({ symbol: 'EUR_USD', side: 'buy', volume: 1500, clientId: id })]);
    expect(found.deals).toEqual([expect.objectContaining({ positionId: found.positions[0]!.id, entry: 'in', volume: 1500, clientId: id })]);
  });

  it('refuses a client id already used with DUPLICATE_CLIENT_ID, which sends the engine to reconcile', async () => {
    const id = clientId();
    const first = await shared.port.placeOrder({ clientId: id, symbol: 'EUR_USD', side: 'buy', type: 'market', volume: 1000 });
    const again = await failed(shared.port.placeOrder({ clientId: id, symbol: 'EUR_USD', side: 'buy', type: 'market', volume: 1000 }));
    expect(again).toMatchObject({ code: 'DUPLICATE_CLIENT_ID', errorClass: 'reconcile' });
    expect((await shared.port.findByClientId(id)).positions.map((position) => position.id)).toEqual([first.positionId]);
  });

  it('refuses for good a limit order whose client id OANDA keeps on an order it cancelled unfilled (no effect to reconcile)', async () => {
    const id = clientId();
    const quote = (await shared.port.getQuote('EUR_USD'))!;
    const price = Number((quote.bid - 0.02).toFixed(5));
    const placed = await shared.port.placeOrder({ clientId: id, symbol: 'EUR_USD', side: 'buy', type: 'limit', volume: 1000, price });
    await shared.port.cancelOrder(placed.orderId!);
    const again = await failed(shared.port.placeOrder({ clientId: id, symbol: 'EUR_USD', side: 'buy', type: 'limit', volume: 1000, price }));
    expect(again).toMatchObject({ code: 'REJECTED', errorClass: 'terminal' });
    expect(again.message).toContain('cancelled unfilled');
    expect(await shared.port.findByClientId(id)).toEqual({ positions: [], orders: [], deals: [] });
  });

  it('replaces a pending order when it is modified: a new id, the same client id and units, the old id gone', async () => {
    const id = clientId();
    const quote = (await shared.port.getQuote('EUR_USD'))!;
    const price = Number((quote.bid - 0.02).toFixed(5));
    const placed = await shared.port.placeOrder({
      clientId: id,
      symbol: 'EUR_USD',
      side: 'buy',
      type: 'limit',
      volume: 2000,
      price,
      stopLoss: Number((price - 0.01).toFixed(5)),
    });
    const { orderId } = await shared.port.modifyOrder(placed.orderId!, {
      price: Number((price - 0.001).toFixed(5)),
      takeProfit: Number((price + 0.02).toFixed(5)),
    });
    expect(orderId).not.toBe(placed.orderId);
    const orders = await shared.port.getPendingOrders();
    expect(orders.some((order) => order.id === placed.orderId)).toBe(false);
    const moved = orders.find((order) => order.id === orderId);
    expect(moved).toMatchObject({ symbol: 'EUR_USD', side: 'buy', type: 'limit', volume: 2000, clientId: id });
    expect(moved!.price).toBeCloseTo(price - 0.001, 5);
    expect(moved!.stopLoss).toBeCloseTo(price - 0.01, 5);
    expect(moved!.takeProfit).toBeCloseTo(price + 0.02, 5);
    expect((await shared.port.findByClientId(id)).orders.map((order) => order.id)).toEqual([orderId]);
  });

  it('follows a replaced order to its live replacement when a modify is retried or the order cancelled by its old id', async () => {
    const id = clientId();
    const quote = (await shared.port.getQuote('EUR_USD'))!;
    const price = Number((quote.bid - 0.02).toFixed(5));
    const placed = await shared.port.placeOrder({ clientId: id, symbol: 'EUR_USD', side: 'buy', type: 'limit', volume: 1000, price });
    const moved = Number((price - 0.001).toFixed(5));
    // The first modify went through, its answer was lost: the retry with the old id finds the replacement as asked.
    const first = await shared.port.modifyOrder(placed.orderId!, { price: moved });
    expect(await shared.port.modifyOrder(placed.orderId!, { price: moved })).toEqual(first);
    expect((await shared.port.getPendingOrders()).filter((order) => order.clientId === id).map((order) => order.id)).toEqual([first.orderId]);
    // Asked for another price by the old id, the live replacement is replaced.
    const again = await shared.port.modifyOrder(placed.orderId!, { price: Number((price - 0.002).toFixed(5)) });
    expect(again.orderId).not.toBe(first.orderId);
    const pending = (await shared.port.getPendingOrders()).filter((order) => order.clientId === id);
    expect(pending.map((order) => order.id)).toEqual([again.orderId]);
    expect(pending[0]!.price).toBeCloseTo(price - 0.002, 5);
    // Cancelled by its first id, the live replacement is cancelled.
    await shared.port.cancelOrder(placed.orderId!);
    expect((await shared.port.getPendingOrders()).filter((order) => order.clientId === id)).toEqual([]);
    expect(await failed(shared.port.cancelOrder(placed.orderId!))).toMatchObject({ code: 'ORDER_NOT_FOUND' });
  });

  it('on a FIFO account refuses to close a newer trade while an older one is open (FIFO_VIOLATION), and closes oldest first', async () => {
    const { port } = await account({ hedging: false, fifo: true });
    expect(await port.getCapabilities()).toEqual({ hedging: false, netting: false, fifo: true, units: 'units', closeClientId: false });
    const older = await port.placeOrder({ clientId: clientId(), symbol: 'EUR_USD', side: 'buy', type: 'market', volume: 1000 });
    const newer = await port.placeOrder({ clientId: clientId(), symbol: 'EUR_USD', side: 'buy', type: 'market', volume: 2000 });
    expect(newer.positionId).not.toBe(older.positionId);
    expect(await failed(port.closePosition(newer.positionId!, {}))).toMatchObject({ code: 'FIFO_VIOLATION', errorClass: 'terminal' });
    expect((await port.getPositions()).map((position) => position.id).sort()).toEqual([older.positionId, newer.positionId].sort());
    expect(await port.closePosition(older.positionId!, {})).toMatchObject({ positionId: older.positionId, volume: 1000 });
    expect(await port.closePosition(newer.positionId!, {})).toMatchObject({ positionId: newer.positionId, volume: 2000 });
  });

  it('on an account without hedging sends OPEN_ONLY orders and refuses one against the open trades before sending it', async () => {
    const { token, login, port } = await account({ hedging: false });
    const long = await port.placeOrder({ clientId: clientId(), symbol: 'EUR_USD', side: 'buy', type: 'market', volume: 3000 });
    const orders = fake.requestCount(/\/orders$/);
    const error = await failed(port.placeOrder({ clientId: clientId(), symbol: 'EUR_USD', side: 'sell', type: 'market', volume: 1000 }));
    expect(error).toMatchObject({ code: 'REJECTED', errorClass: 'terminal' });
    expect(error.message).toMatch(/does not hedge.*open trades of EUR_USD.*would close them/);
    const quote = (await port.getQuote('EUR_USD'))!;
    const limit = port.placeOrder({
      clientId: clientId(),
      symbol: 'EUR_USD',
      side: 'sell',
      type: 'limit',
      volume: 1000,
      price: Number((quote.ask + 0.02).toFixed(5)),
    });
    expect(await failed(limit)).toMatchObject({ code: 'REJECTED' });
    expect(fake.requestCount(/\/orders$/)).toBe(orders);
    // Other instruments and the same side are placed, and open trades of their own.
    const more = await port.placeOrder({ clientId: clientId(), symbol: 'EUR_USD', side: 'buy', type: 'market', volume: 500 });
    expect(more.positionId).not.toBe(long.positionId);
    expect((await port.getPositions()).map((position) => [position.id, position.volume]).sort()).toEqual(
      [
        [long.positionId, 3000],
        [more.positionId, 500],
      ].sort(),
    );
    // A copy an older adapter placed with DEFAULT (reducing the long first) reports only the deal of the trade it opened.
    const legacyId = clientId();
    const legacy = await fetch(`${fake.url}/v3/accounts/${login}/orders`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        order: {
          type: 'MARKET',
          instrument: 'EUR_USD',
          units: '-4000',
          positionFill: 'DEFAULT',
          clientExtensions: { id: legacyId },
          tradeClientExtensions: { id: legacyId },
        },
      }),
    });
    const fill = ((await legacy.json()) as { orderFillTransaction: { tradeOpened: { tradeID: string } } }).orderFillTransaction;
    const found = await port.findByClientId(legacyId);
    expect(found.deals).toEqual([
      expect.objectContaining({ positionId: fill.tradeOpened.tradeID, entry: 'in', side: 'sell', volume: 500, clientId: legacyId }),
    ]);
  });

  it('refuses a limit or stop order the market has already reached before sending it (INVALID_PRICE)', async () => {
    const quote = (await shared.port.getQuote('EUR_USD'))!;
    const orders = fake.requestCount(/\/orders$/);
    const cases = [
      { side: 'buy', type: 'limit', price: quote.ask },
      { side: 'sell', type: 'limit', price: quote.bid - 0.001 },
      { side: 'buy', type: 'stop', price: quote.ask - 0.001 },
      { side: 'sell', type: 'stop', price: quote.bid },
    ] as const;
    for (const { side, type, price } of cases) {
      const error = await failed(
        shared.port.placeOrder({ clientId: clientId(), symbol: 'EUR_USD', side, type, volume: 1000, price: Number(price.toFixed(5)) }),
      );
      expect(error).toMatchObject({ code: 'INVALID_PRICE', errorClass: 'terminal' });
    }
    expect(fake.requestCount(/\/orders$/)).toBe(orders);
  });

  it('refuses units finer than the instrument allows before sending anything, and a close larger than the trade', async () => {
    const orders = fake.requestCount(/\/orders$/);
    const error = await failed(shared.port.placeOrder({ clientId: clientId(), symbol: 'EUR_USD', side: 'buy', type: 'market', volume: 1.5 }));
    expect(error).toMatchObject({ code: 'INVALID_VOLUME', errorClass: 'terminal' });
    expect(error.message).toMatch(/decimals/);
    expect(fake.requestCount(/\/orders$/)).toBe(orders);
    const { positionId } = await shared.port.placeOrder({ clientId: clientId(), symbol: 'EUR_USD', side: 'sell', type: 'market', volume: 1000 });
    expect(await failed(shared.port.closePosition(positionId!, { volume: 5000 }))).toMatchObject({ code: 'INVALID_VOLUME' });
    expect(await failed(shared.port.closePosition(positionId!, { volume: 0.5 }))).toMatchObject({ code: 'INVALID_VOLUME' });
    expect(await shared.port.closePosition(positionId!, {})).toMatchObject({ positionId, volume: 1000 });
  });

  it('gives not-found errors for trades and orders that are not there, and nothing for an unknown client id', async () => {
    expect(await failed(shared.port.closePosition('999999999', {}))).toMatchObject({ code: 'POSITION_NOT_FOUND' });
    expect(await failed(shared.port.modifyPosition('999999999', { stopLoss: 1 }))).toMatchObject({ code: 'POSITION_NOT_FOUND' });
    expect(await failed(shared.port.cancelOrder('999999999'))).toMatchObject({ code: 'ORDER_NOT_FOUND' });
    expect(await failed(shared.port.modifyOrder('999999999', { price: 1 }))).toMatchObject({ code: 'ORDER_NOT_FOUND' });
    expect(await shared.port.findByClientId('never-sent-anywhere')).toEqual({ positions: [], orders: [], deals: [] });
    expect(await shared.port.getQuote('NOSUCH_XXX')).toBeUndefined();
  });
});

describe('the OANDA v20 adapter against a stubbed client', () => {
  it('reports a limit order that filled at once (the market moved after the price was read) as a position, without an order id', async () => {
    const client = {
      get: async (path: string) => {
        if (path === '/instruments')
          return { instruments: [{ name: 'EUR_USD', type: 'CURRENCY', displayPrecision: 5, tradeUnitsPrecision: 0, pipLocation: -4, marginRate: '0.02' }] };
        if (path === '/summary') return { account: { id: '1', currency: 'USD', hedgingEnabled: true } };
        return {
          prices: [
            {
              instrument: 'EUR_USD',
              tradeable: true,
              bids: [{ price: '1.10000', liquidity: 1e6 }],
              asks: [{ price: '1.10010', liquidity: 1e6 }],
              time: '2026-03-02T10:00:00.000000000Z',
            },
          ],
        };
      },
      post: async () => ({
        orderCreateTransaction: { id: '10', type: 'LIMIT_ORDER' },
        orderFillTransaction: {
          id: '11',
          type: 'ORDER_FILL',
          orderID: '10',
          instrument: 'EUR_USD',
          units: '1000',
          price: '1.09990',
          tradeOpened: { tradeID: '11', units: '1000', price: '1.09990' },
        },
      }),
    } as unknown as OandaClient;
    const result = await new OandaBrokerPort(client).placeOrder({ clientId: 'c-1', symbol: 'EUR_USD', side: 'buy', type: 'limit', volume: 1000, price: 1.1 });
    expect(result).toEqual({ positionId: '11', price: 1.0999, volume: 1000 });
  });

  it('stamps reads that stay inconsistent with the oldest transaction among them, so the next heartbeat reads again', async () => {
    let read = 0;
    const summary = { id: '1', currency: 'USD', balance: '100', NAV: '100', marginUsed: '0', marginAvailable: '100', marginRate: '0.02' };
    const client = {
      get: async (path: string) => {
        read += 1;
        if (path === '/openTrades') return { trades: [], lastTransactionID: String(40 + read) };
        if (path === '/pendingOrders') return { orders: [], lastTransactionID: String(30 + read) };
        return { account: { ...summary, lastTransactionID: String(50 + read) }, lastTransactionID: String(50 + read) };
      },
    } as unknown as OandaClient;
    const snapshot = await new OandaBrokerPort(client).snapshot();
    expect(read).toBe(9);
    // The last round read trades as of 47, orders as of 38 and the summary as of 59.
    expect(snapshot.lastTransactionID).toBe('38');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeOanda } from './fake-oanda';
import { V20Conformance, V20ConformanceError } from './v20-conformance';

/** The fake OANDA server through plain `fetch`, as OANDA's v20 document says it answers. */

const TOKEN = 'token-of-the-test';
const T0 = new Date('2026-03-02T10:00:00.000Z');

type Answer = { status: number; headers: Headers; body: any };

describe('FakeOanda', () => {
  let fake: FakeOanda;
  let clock: Date;
  let accountId: string;

  /** A request to the fake; `token` null sends no Authorization header. */
  const call = async (method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<Answer> => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(`${fake.url}/v3${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, headers: response.headers, body: await response.json() };
  };
  const account = (path = '', id = accountId) => `/accounts/${id}${path}`;
  const order = (fields: Record<string, unknown>, id = accountId) =>
    call('POST', account('/orders', id), { order: { type: 'MARKET', instrument: 'EUR_USD', ...fields } });
  const tick = (ms = 1000) => {
    clock = new Date(clock.getTime() + ms);
  };

  beforeEach(async () => {
    clock = T0;
    fake = await FakeOanda.start({ now: () => clock, transactionHeartbeatMs: 50 });
    accountId = fake.addAccount({ token: TOKEN, balance: 10_000 });
  });

  afterEach(async () => {
    // `stop` throws when any answer did not conform to the document.
    await fake.stop();
  });

  describe('authorization', () => {
    it('answers 401 without a token, with an unknown one and with a revoked one', async () => {
      expect((await call('GET', '/accounts', undefined, null)).status).toBe(401);
      const unknown = await call('GET', account('/summary'), undefined, 'nobody');
      expect(unknown.status).toBe(401);
      expect(unknown.body).toEqual({ errorMessage: expect.any(String) });
      expect((await call('GET', account('/summary'))).status).toBe(200);
      fake.revokeToken(TOKEN);
      expect((await call('GET', account('/summary'))).status).toBe(401);
    });

    it("reaches only the token's own accounts, refused with the status the route's document lists", async () => {
      const other = fake.addAccount({ token: 'someone-else' });
      expect(other).not.toBe(accountId);
      const accounts = await call('GET', '/accounts');
      expect(accounts.body.accounts).toEqual([{ id: accountId, tags: [] }]);
      // The summary lists 400 / 401 / 405; the open trades 401 / 404 / 405; the order creation 403.
      expect((await call('GET', account('/summary', other))).status).toBe(400);
      expect((await call('GET', account('/openTrades', other))).status).toBe(404);
      expect((await order({ units: '1' }, other)).status).toBe(403);
      expect((await call('GET', account('/summary', 'not-an-id'))).body.errorMessage).toBe("Invalid value specified for 'accountID'");
      // Operations whose document leaves 401 or every error out still answer them.
      expect((await call('GET', account('/orders'), undefined, 'nobody')).status).toBe(401);
      expect((await call('GET', account('/transactions/stream'), undefined, 'nobody')).status).toBe(401);
      expect((await call('GET', account('/transactions/stream', other))).status).toBe(404);
    });
  });

  describe('account, instruments and prices', () => {
    it('gives the summary: NAV = balance + unrealized P/L, margin rate 1/leverage, counts, last transaction', async () => {
      const { body } = await call('GET', account('/summary'));
      expect(body.account).toMatchObject({
        id: accountId,
        currency: 'USD',
        balance: '10000.0000',
        NAV: '10000.0000',
        unrealizedPL: '0.0000',
        marginUsed: '0.0000',
        marginAvailable: '10000.0000',
        marginRate: '0.02',
        hedgingEnabled: true,
        openTradeCount: 0,
        openPositionCount: 0,
        pendingOrderCount: 0,
      });
      expect(body.lastTransactionID).toBe(body.account.lastTransactionID);
      await order({ units: '10000' });
      fake.market.defineSymbol({ symbol: 'EUR_USD', bid: 1.086, ask: 1.0861 });
      const after = (await call('GET', account('/summary'))).body.account;
      expect(after.unrealizedPL).toBe('9.0000');
      expect(Number(after.NAV)).toBeCloseTo(Number(after.balance) + Number(after.unrealizedPL), 6);
      expect(after.openTradeCount).toBe(1);
    });

    it('describes instruments as OANDA does and prices them; an unknown instrument is a 400', async () => {
      const { body } = await call('GET', account('/instruments?instruments=EUR_USD,USD_JPY,XAU_USD'));
      expect(body.instruments.map((instrument: any) => [instrument.name, instrument.type, instrument.pipLocation, instrument.displayPrecision])).toEqual([
        ['EUR_USD', 'CURRENCY', -4, 5],
        ['USD_JPY', 'CURRENCY', -2, 3],
        ['XAU_USD', 'METAL', -2, 3],
      ]);
      expect(body.instruments[0]).toMatchObject({ tradeUnitsPrecision: 0, minimumTradeSize: '1', maximumOrderUnits: '100000000', marginRate: '0.02' });
      const prices = await call('GET', account('/pricing?instruments=EUR_USD'));
      expect(prices.body.prices[0]).toMatchObject({
        type: 'PRICE',
        instrument: 'EUR_USD',
        tradeable: true,
        bids: [{ price: '1.08500', liquidity: 10_000_000 }],
        asks: [{ price: '1.08510', liquidity: 10_000_000 }],
        closeoutBid: '1.08500',
        closeoutAsk: '1.08510',
      });
      expect((await call('GET', account('/pricing?instruments=EUR_USD,NOPE_USD'))).status).toBe(400);
      expect((await call('GET', account('/pricing?instruments=EURUSD'))).status).toBe(400);
    });
  });

  describe('orders and trades', () => {
    it('fills a market buy with client extensions and on-fill stops; the trade is found by @client id', async () => {
      const placed = await order({
        units: '1000',
        clientExtensions: { id: 'order-1', tag: 'copy' },
        tradeClientExtensions: { id: 'trade-1' },
        stopLossOnFill: { price: '1.08000' },
        takeProfitOnFill: { price: '1.09000' },
      });
      expect(placed.status).toBe(201);
      const { orderCreateTransaction: created, orderFillTransaction: fill } = placed.body;
      expect(created).toMatchObject({
        type: 'MARKET_ORDER',
        instrument: 'EUR_USD',
        units: '1000',
        timeInForce: 'FOK',
        positionFill: 'DEFAULT',
        reason: 'CLIENT_ORDER',
      });
      expect(fill).toMatchObject({
        type: 'ORDER_FILL',
        orderID: created.id,
        clientOrderID: 'order-1',
        units: '1000',
        price: '1.08510',
        reason: 'MARKET_ORDER',
        pl: '0.0000',
        tradeOpened: { tradeID: fill.id, units: '1000', price: '1.08510', clientExtensions: { id: 'trade-1' } },
      });
      expect(Number(fill.id)).toBeGreaterThan(Number(created.id));
      expect(placed.body.relatedTransactionIDs).toHaveLength(4); // order, fill, take profit, stop loss
      expect(placed.body.lastTransactionID).toBe(placed.body.relatedTransactionIDs.at(-1));

      const byClientId = await call('GET', account('/trades/@trade-1'));
      expect(byClientId.status).toBe(200);
      expect(byClientId.body.trade).toMatchObject({
        id: fill.tradeOpened.tradeID,
        instrument: 'EUR_USD',
        price: '1.08510',
        state: 'OPEN',
        initialUnits: '1000',
        currentUnits: '1000',
        realizedPL: '0.0000',
        clientExtensions: { id: 'trade-1' },
        takeProfitOrder: { type: 'TAKE_PROFIT', price: '1.09000', state: 'PENDING', tradeID: fill.id },
        stopLossOrder: { type: 'STOP_LOSS', price: '1.08000', state: 'PENDING', tradeID: fill.id },
      });
      // The order's client id names the order, not the trade.
      expect((await call('GET', account('/trades/@order-1'))).status).toBe(404);
      const filledOrder = await call('GET', account('/orders/@order-1'));
      expect(filledOrder.body.order).toMatchObject({ id: created.id, type: 'MARKET', state: 'FILLED', tradeOpenedID: fill.id });
      // OANDA lists a trade's take profit and stop loss among the pending orders.
      const pending = await call('GET', account('/pendingOrders'));
      expect(pending.body.orders.map((pendingOrder: any) => pendingOrder.type).sort()).toEqual(['STOP_LOSS', 'TAKE_PROFIT']);
      // The trade is the market's position of the same id.
      expect(fake.market.getPositions(fake.marketAccountId(accountId))).toMatchObject([{ id: fill.id, volume: 1000, stopLoss: 1.08, takeProfit: 1.09 }]);
    });

    it('rejects a second order with a client id already used on the account: 400 CLIENT_ORDER_ID_ALREADY_EXISTS', async () => {
      expect((await order({ units: '100', clientExtensions: { id: 'once' } })).status).toBe(201);
      const again = await order({ units: '100', clientExtensions: { id: 'once' } });
      expect(again.status).toBe(400);
      expect(again.body).toMatchObject({
        errorCode: 'CLIENT_ORDER_ID_ALREADY_EXISTS',
        orderRejectTransaction: { type: 'MARKET_ORDER_REJECT', rejectReason: 'CLIENT_ORDER_ID_ALREADY_EXISTS', clientExtensions: { id: 'once' } },
      });
      expect(again.body.relatedTransactionIDs).toEqual([again.body.orderRejectTransaction.id]);
      expect((await call('GET', account('/openTrades'))).body.trades).toHaveLength(1);
    });

    it('rejects invalid requests with the reasons of the document', async () => {
      expect((await order({ units: '0' })).body.errorCode).toBe('UNITS_INVALID');
      expect((await order({ units: '10.5' })).body.errorCode).toBe('UNITS_PRECISION_EXCEEDED');
      expect((await order({ units: '100000001' })).body.errorCode).toBe('UNITS_LIMIT_EXCEEDED');
      expect((await order({ units: '10', instrument: 'EUR_XYZ' })).body.errorCode).toBe('INSTRUMENT_UNKNOWN');
      expect((await order({ units: '10', stopLossOnFill: { price: '1.080001' } })).body.errorCode).toBe('STOP_LOSS_ON_FILL_PRICE_PRECISION_EXCEEDED');
      // Numbers travel as strings; field names are the document's.
      const numeric = await order({ units: 10 });
      expect(numeric.status).toBe(400);
      expect(numeric.body.errorMessage).toContain('/order/units must be string');
      expect((await order({ units: '10', comment: 'x' })).status).toBe(400);
    });

    it('cancels a market order whose stop loss the price has already passed (STOP_LOSS_ON_FILL_LOSS) or which needs too much margin', async () => {
      const wrongSide = await order({ units: '100', stopLossOnFill: { price: '1.09000' } });
      expect(wrongSide.status).toBe(201);
      expect(wrongSide.body.orderCancelTransaction).toMatchObject({
        type: 'ORDER_CANCEL',
        reason: 'STOP_LOSS_ON_FILL_LOSS',
        orderID: wrongSide.body.orderCreateTransaction.id,
      });
      expect(wrongSide.body.orderFillTransaction).toBeUndefined();
      const tooBig = await order({ units: '10000000' });
      expect(tooBig.body.orderCancelTransaction.reason).toBe('INSUFFICIENT_MARGIN');
      expect((await call('GET', account('/openTrades'))).body.trades).toEqual([]);
    });

    it('closes part of a trade by units, then the rest; the dependent orders are cancelled with the trade', async () => {
      const opened = await order({ units: '1000', takeProfitOnFill: { price: '1.10000' } });
      const tradeId = opened.body.orderFillTransaction.tradeOpened.tradeID;
      fake.market.defineSymbol({ symbol: 'EUR_USD', bid: 1.087, ask: 1.0871 });
      const partial = await call('PUT', account(`/trades/${tradeId}/close`), { units: '400' });
      expect(partial.status).toBe(200);
      expect(partial.body.orderCreateTransaction).toMatchObject({
        type: 'MARKET_ORDER',
        reason: 'TRADE_CLOSE',
        units: '-400',
        tradeClose: { tradeID: tradeId, units: '400' },
      });
      expect(partial.body.orderFillTransaction).toMatchObject({
        reason: 'MARKET_ORDER_TRADE_CLOSE',
        units: '-400',
        price: '1.08700',
        pl: '0.7600',
        tradeReduced: { tradeID: tradeId, units: '-400', price: '1.08700', realizedPL: '0.7600' },
      });
      const reduced = (await call('GET', account(`/trades/${tradeId}`))).body.trade;
      expect(reduced).toMatchObject({ currentUnits: '600', initialUnits: '1000', realizedPL: '0.7600', state: 'OPEN' });
      expect((await call('PUT', account(`/trades/${tradeId}/close`), { units: '601' })).body.errorCode).toBe('CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE');
      const rest = await call('PUT', account(`/trades/${tradeId}/close`), { units: 'ALL' });
      expect(rest.body.orderFillTransaction.tradesClosed).toMatchObject([{ tradeID: tradeId, units: '-600' }]);
      const closed = (await call('GET', account(`/trades/${tradeId}`))).body.trade;
      expect(closed).toMatchObject({ state: 'CLOSED', currentUnits: '0', averageClosePrice: '1.08700', closeTime: expect.any(String) });
      expect(closed.takeProfitOrder).toMatchObject({ state: 'CANCELLED' });
      const cancelled = rest.body.relatedTransactionIDs.at(-1);
      expect((await call('GET', account(`/transactions/${cancelled}`))).body.transaction).toMatchObject({
        type: 'ORDER_CANCEL',
        reason: 'LINKED_TRADE_CLOSED',
      });
      expect((await call('PUT', account(`/trades/${tradeId}/close`), {})).status).toBe(404);
    });

    it('replaces a pending order: the old one is cancelled (CLIENT_REQUEST_REPLACED) and the new one has a new id', async () => {
      const placed = await order({ type: 'LIMIT', units: '500', price: '1.08000', clientExtensions: { id: 'limit-1' } });
      expect(placed.status).toBe(201);
      const oldId = placed.body.orderCreateTransaction.id;
      expect(placed.body.orderCreateTransaction).toMatchObject({ type: 'LIMIT_ORDER', price: '1.08000', timeInForce: 'GTC', reason: 'CLIENT_ORDER' });
      const replaced = await call('PUT', account(`/orders/${oldId}`), { order: { type: 'LIMIT', instrument: 'EUR_USD', units: '500', price: '1.07900' } });
      expect(replaced.status).toBe(201);
      const { orderCancelTransaction: cancelled, orderCreateTransaction: created } = replaced.body;
      expect(created.id).not.toBe(oldId);
      expect(cancelled).toMatchObject({ orderID: oldId, reason: 'CLIENT_REQUEST_REPLACED', replacedByOrderID: created.id });
      expect(created).toMatchObject({ type: 'LIMIT_ORDER', price: '1.07900', reason: 'REPLACEMENT', replacesOrderID: oldId });
      expect((await call('GET', account(`/orders/${oldId}`))).body.order).toMatchObject({ state: 'CANCELLED', replacedByOrderID: created.id });
      // The client id stays with the order that replaced it.
      expect((await call('GET', account('/orders/@limit-1'))).body.order).toMatchObject({ id: created.id, state: 'PENDING', price: '1.07900' });
      expect(fake.market.getPendingOrders(fake.marketAccountId(accountId)).map((pending) => pending.id)).toEqual([created.id]);
      const cancel = await call('PUT', account(`/orders/${created.id}/cancel`));
      expect(cancel.body.orderCancelTransaction).toMatchObject({ orderID: created.id, reason: 'CLIENT_REQUEST' });
      const again = await call('PUT', account(`/orders/${created.id}/cancel`));
      expect(again.status).toBe(404);
      expect(again.body.orderCancelRejectTransaction.rejectReason).toBe('ORDER_DOESNT_EXIST');
    });

    it('fills a pending order when the market reaches it, with its on-fill stop loss', async () => {
      const placed = await order({ type: 'LIMIT', units: '-200', price: '1.08600', stopLossOnFill: { price: '1.09000' } });
      const orderId = placed.body.orderCreateTransaction.id;
      fake.market.defineSymbol({ symbol: 'EUR_USD', bid: 1.0861, ask: 1.0862 });
      const trade = (await call('GET', account(`/trades/${orderId}`))).body.trade;
      expect(trade).toMatchObject({ currentUnits: '-200', price: '1.08610', stopLossOrder: { price: '1.09000', state: 'PENDING' } });
      expect((await call('GET', account(`/orders/${orderId}`))).body.order).toMatchObject({ state: 'FILLED', tradeOpenedID: orderId });
    });

    it('sets, replaces and cancels a trade’s dependent orders; a stop loss the price has passed fills at once', async () => {
      const opened = await order({ units: '100' });
      const tradeId = opened.body.orderFillTransaction.tradeOpened.tradeID;
      const set = await call('PUT', account(`/trades/${tradeId}/orders`), { stopLoss: { price: '1.08000' }, takeProfit: { price: '1.09000' } });
      expect(set.status).toBe(200);
      expect(set.body.stopLossOrderTransaction).toMatchObject({ type: 'STOP_LOSS_ORDER', tradeID: tradeId, price: '1.08000', reason: 'CLIENT_ORDER' });
      const replaced = await call('PUT', account(`/trades/${tradeId}/orders`), { stopLoss: { price: '1.08100' } });
      expect(replaced.body.stopLossOrderCancelTransaction).toMatchObject({
        reason: 'CLIENT_REQUEST_REPLACED',
        replacedByOrderID: replaced.body.stopLossOrderTransaction.id,
      });
      expect(replaced.body.stopLossOrderTransaction).toMatchObject({ reason: 'REPLACEMENT', replacesOrderID: set.body.stopLossOrderTransaction.id });
      const removed = await call('PUT', account(`/trades/${tradeId}/orders`), { takeProfit: null });
      expect(removed.body.takeProfitOrderCancelTransaction).toMatchObject({ reason: 'CLIENT_REQUEST' });
      expect(fake.market.getPositions(fake.marketAccountId(accountId))[0]).toMatchObject({ stopLoss: 1.081 });
      expect(fake.market.getPositions(fake.marketAccountId(accountId))[0]?.takeProfit).toBeUndefined();
      expect((await call('GET', account(`/trades/${tradeId}`))).body.trade.takeProfitOrder).toBeUndefined();
      const passed = await call('PUT', account(`/trades/${tradeId}/orders`), { stopLoss: { price: '1.08600' } });
      expect(passed.body.stopLossOrderFillTransaction).toMatchObject({ reason: 'STOP_LOSS_ORDER', tradesClosed: [{ tradeID: tradeId, units: '-100' }] });
      expect((await call('GET', account(`/trades/${tradeId}`))).body.trade.state).toBe('CLOSED');
    });
  });

  describe('netting and FIFO', () => {
    it('on an account without hedging, an order reduces the open trades oldest first, then opens the rest', async () => {
      const netting = fake.addAccount({ token: TOKEN, hedging: false });
      const first = (await order({ units: '100' }, netting)).body.orderFillTransaction.tradeOpened.tradeID;
      const second = (await order({ units: '50' }, netting)).body.orderFillTransaction.tradeOpened.tradeID;
      const reduce = await order({ units: '-120' }, netting);
      expect(reduce.body.orderFillTransaction).toMatchObject({
        units: '-120',
        tradesClosed: [{ tradeID: first, units: '-100' }],
        tradeReduced: { tradeID: second, units: '-20' },
      });
      expect(reduce.body.orderFillTransaction.tradeOpened).toBeUndefined();
      const flip = await order({ units: '-50' }, netting);
      expect(flip.body.orderFillTransaction).toMatchObject({ tradesClosed: [{ tradeID: second, units: '-30' }], tradeOpened: { units: '-20' } });
      const open = (await call('GET', account('/openTrades', netting))).body.trades;
      expect(open.map((trade: any) => trade.currentUnits)).toEqual(['-20']);
      expect((await call('GET', account('/summary', netting))).body.account.hedgingEnabled).toBe(false);
    });

    it('on an account without hedging, an OPEN_ONLY order against the open trades is rejected (ORDER_FILL_POSITION_ACTION_INVALID), never reduces', async () => {
      const netting = fake.addAccount({ token: TOKEN, hedging: false });
      const long = (await order({ units: '100' }, netting)).body.orderFillTransaction.tradeOpened.tradeID;
      const against = await order({ units: '-40', positionFill: 'OPEN_ONLY' }, netting);
      expect(against.status).toBe(400);
      expect(against.body.orderRejectTransaction).toMatchObject({
        type: 'MARKET_ORDER_REJECT',
        positionFill: 'OPEN_ONLY',
        rejectReason: 'ORDER_FILL_POSITION_ACTION_INVALID',
      });
      const marketable = await call('POST', account('/orders', netting), {
        order: { type: 'LIMIT', instrument: 'EUR_USD', units: '-40', price: '0.50000', positionFill: 'OPEN_ONLY' },
      });
      expect(marketable.status).toBe(400);
      expect(marketable.body.orderRejectTransaction.rejectReason).toBe('ORDER_FILL_POSITION_ACTION_INVALID');
      const open = (await call('GET', account('/openTrades', netting))).body.trades;
      expect(open.map((trade: any) => [trade.id, trade.currentUnits])).toEqual([[long, '100']]);
      // On the same side OPEN_ONLY opens a trade of its own.
      const more = await order({ units: '30', positionFill: 'OPEN_ONLY' }, netting);
      expect(more.body.orderFillTransaction.tradeOpened).toMatchObject({ units: '30' });
      expect(more.body.orderFillTransaction.tradesClosed).toBeUndefined();
    });

    it('on a FIFO account, closing a trade while an older one of the instrument is open is cancelled with FIFO_VIOLATION', async () => {
      const us = fake.addAccount({ token: TOKEN, fifo: true });
      const older = (await order({ units: '100' }, us)).body.orderFillTransaction.tradeOpened.tradeID;
      tick();
      const newer = (await order({ units: '100' }, us)).body.orderFillTransaction.tradeOpened.tradeID;
      const outOfOrder = await call('PUT', account(`/trades/${newer}/close`, us), { units: 'ALL' });
      expect(outOfOrder.status).toBe(200);
      expect(outOfOrder.body.orderCancelTransaction).toMatchObject({ type: 'ORDER_CANCEL', reason: 'FIFO_VIOLATION' });
      expect(outOfOrder.body.orderFillTransaction).toBeUndefined();
      expect((await call('GET', account('/openTrades', us))).body.trades).toHaveLength(2);
      const inOrder = await call('PUT', account(`/trades/${older}/close`, us), { units: 'ALL' });
      expect(inOrder.body.orderFillTransaction.tradesClosed).toMatchObject([{ tradeID: older }]);
      const alsoUs = fake.addAccount({ token: TOKEN, fifo: true, hedging: true });
      expect((await call('GET', account('/summary', alsoUs))).body.account.hedgingEnabled).toBe(false);
    });
  });

  describe('faults', () => {
    it('answers 429 with Retry-After, and 503, on the next requests', async () => {
      fake.setFaults({ rateLimitNext: 1, unavailableNext: 1 });
      const limited = await call('GET', account('/summary'));
      expect(limited.status).toBe(429);
      expect(limited.headers.get('Retry-After')).toBe('1');
      expect((await call('GET', account('/summary'))).status).toBe(503);
      expect((await call('GET', account('/summary'))).status).toBe(200);
    });

    it('executes a trade request and drops the answer; counts the requests', async () => {
      fake.setFaults({ dropNextTradeAnswer: 1 });
      await expect(order({ units: '100', tradeClientExtensions: { id: 'lost' } })).rejects.toThrow();
      const before = fake.requestCount(/\/trades\//);
      expect((await call('GET', account('/trades/@lost'))).body.trade.currentUnits).toBe('100');
      expect(fake.requestCount(/\/trades\//)).toBe(before + 1);
      expect(fake.requestCount()).toBeGreaterThanOrEqual(2);
    });

    it("applies the market's injected faults to trade requests: a rejection executes nothing, a timeout executes", async () => {
      const marketId = fake.marketAccountId(accountId);
      fake.market.setFaults(marketId, { rejectNext: 1, code: 'NO_MONEY' });
      const refused = await order({ units: '100' });
      expect(refused.status).toBe(201);
      expect(refused.body.orderCancelTransaction.reason).toBe('INSUFFICIENT_MARGIN');
      fake.market.setFaults(marketId, { rejectNext: 1, code: 'INVALID_VOLUME' });
      expect((await order({ units: '100' })).body.orderRejectTransaction.rejectReason).toBe('UNITS_INVALID');
      expect(fake.market.getPositions(marketId)).toEqual([]);
      fake.market.setFaults(marketId, { timeoutAfterExecuteNext: 1 });
      await expect(order({ units: '100' })).rejects.toThrow();
      expect(fake.market.getPositions(marketId)).toHaveLength(1);
    });
  });

  describe('what the market does on its own', () => {
    it('turns a stop loss the market hits and a terminal trade into OANDA transactions', async () => {
      const marketId = fake.marketAccountId(accountId);
      const opened = await order({ units: '1000', stopLossOnFill: { price: '1.08400' } });
      const tradeId = opened.body.orderFillTransaction.tradeOpened.tradeID;
      fake.market.defineSymbol({ symbol: 'EUR_USD', bid: 1.0839, ask: 1.084 });
      const trade = (await call('GET', account(`/trades/${tradeId}`))).body.trade;
      expect(trade).toMatchObject({ state: 'CLOSED', stopLossOrder: { state: 'FILLED' } });
      const terminal = fake.market.traderTrade(marketId, { symbol: 'USD_JPY', side: 'sell', volume: 25_000 });
      const trades = (await call('GET', account('/openTrades'))).body.trades;
      expect(trades).toMatchObject([{ id: terminal.positionId, instrument: 'USD_JPY', currentUnits: '-25000', price: '151.500' }]);
      const since = await call('GET', account(`/transactions/sinceid?id=${opened.body.lastTransactionID}`));
      expect(since.body.transactions.map((transaction: any) => [transaction.type, transaction.reason])).toEqual([
        ['ORDER_FILL', 'STOP_LOSS_ORDER'],
        ['MARKET_ORDER', 'CLIENT_ORDER'],
        ['ORDER_FILL', 'MARKET_ORDER'],
      ]);
    });
  });

  describe('transactions', () => {
    it('lists pages of idrange URLs that hold the fills in order; idrange and sinceid filter by type', async () => {
      const fills: string[] = [];
      for (const units of ['100', '-100', '300']) {
        tick();
        fills.push((await order({ units })).body.orderFillTransaction.id);
      }
      const pages = await call('GET', account('/transactions?pageSize=2&type=ORDER_FILL'));
      expect(pages.body).toMatchObject({ pageSize: 2, count: 3, type: ['ORDER_FILL'] });
      expect(pages.body.pages).toHaveLength(2);
      const held: string[] = [];
      for (const page of pages.body.pages as string[]) {
        const url = new URL(page);
        expect(url.origin).toBe(fake.url);
        const range = await call('GET', url.pathname.replace(/^\/v3/, '') + url.search);
        held.push(...range.body.transactions.map((transaction: any) => transaction.id));
      }
      expect(held).toEqual(fills);
      const all = await call('GET', account('/transactions'));
      const everything = await call('GET', account(`/transactions/idrange?from=1&to=${all.body.lastTransactionID}`));
      const ids = everything.body.transactions.map((transaction: any) => Number(transaction.id));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(everything.body.transactions.slice(0, 2).map((transaction: any) => transaction.type)).toEqual(['CREATE', 'TRANSFER_FUNDS']);
      expect(all.body.count).toBe(everything.body.transactions.length);
      expect((await call('GET', account('/transactions/idrange?from=1&to=999999999&type=FUNDING'))).body.transactions).toHaveLength(1);
      expect((await call('GET', account(`/transactions/sinceid?id=${all.body.lastTransactionID}`))).body.transactions).toEqual([]);
      expect((await call('GET', account('/transactions/999999999'))).status).toBe(404);
    });

    it('polls changes since a transaction', async () => {
      const start = (await call('GET', account('/summary'))).body.lastTransactionID;
      const placed = await order({ units: '100' });
      const { body } = await call('GET', account(`/changes?sinceTransactionID=${start}`));
      expect(body.changes.tradesOpened.map((trade: any) => trade.id)).toEqual([placed.body.orderFillTransaction.id]);
      expect(body.changes.ordersFilled.map((filled: any) => filled.id)).toEqual([placed.body.orderCreateTransaction.id]);
      expect(body.changes.transactions).toHaveLength(2);
      expect(body.state.trades).toHaveLength(1);
      expect(body.lastTransactionID).toBe(placed.body.lastTransactionID);
      expect((await call('GET', account('/changes?sinceTransactionID=999999999'))).status).toBe(416);
    });

    it('streams transactions as they happen and heartbeats', async () => {
      const response = await fetch(`${fake.url}/v3${account('/transactions/stream')}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(response.headers.get('content-type')).toBe('application/octet-stream');
      const reader = response.body!.getReader();
      const lines: any[] = [];
      const decoder = new TextDecoder();
      let buffered = '';
      const readUntil = async (done: () => boolean) => {
        while (!done()) {
          const chunk = await reader.read();
          if (chunk.done) break;
          buffered += decoder.decode(chunk.value, { stream: true });
          const parts = buffered.split('\n');
          buffered = parts.pop() ?? '';
          lines.push(...parts.filter((part) => part !== '').map((part) => JSON.parse(part)));
        }
      };
      await readUntil(() => lines.some((line) => line.type === 'HEARTBEAT'));
      const placed = await order({ units: '100' });
      await readUntil(() => lines.some((line) => line.type === 'ORDER_FILL'));
      await reader.cancel();
      expect(lines.find((line) => line.type === 'HEARTBEAT')).toMatchObject({ lastTransactionID: expect.any(String), time: expect.any(String) });
      expect(lines.filter((line) => line.type !== 'HEARTBEAT').map((line) => line.id)).toEqual(placed.body.relatedTransactionIDs);
    });
  });

  describe('every route', () => {
    it('answers every route in a busy account with bodies the document accepts', async () => {
      const marketId = fake.marketAccountId(accountId);
      const kept = (
        await order({ units: '1000', tradeClientExtensions: { id: 'kept' }, stopLossOnFill: { distance: '0.00200' }, takeProfitOnFill: { price: '1.09500' } })
      ).body.orderFillTransaction.id;
      const closed = (await order({ units: '-300', instrument: 'GBP_USD' })).body.orderFillTransaction.id;
      await call('PUT', account(`/trades/${closed}/close`));
      await order({ type: 'STOP', units: '100', price: '1.09000', clientExtensions: { id: 'stop-1' } });
      const cancelled = (await order({ type: 'LIMIT', units: '100', price: '1.08000' })).body.orderCreateTransaction.id;
      await call('PUT', account(`/orders/${cancelled}/cancel`));
      expect((await call('GET', account(`/trades/${kept}`))).body.trade.stopLossOrder).toMatchObject({ price: '1.08310', distance: '0.00200' });
      const reads = [
        '',
        '/summary',
        '/instruments',
        '/pricing?instruments=EUR_USD,GBP_USD,USD_JPY,XAU_USD',
        '/trades',
        '/trades?state=ALL',
        `/trades?state=CLOSED&instrument=GBP_USD&count=1&beforeID=${Number(closed) + 1}`,
        `/trades?ids=${kept},${closed}`,
        '/openTrades',
        '/positions',
        '/openPositions',
        '/positions/GBP_USD',
        '/orders',
        '/orders?state=ALL',
        '/orders?state=CANCELLED',
        '/pendingOrders',
        `/orders/${cancelled}`,
        '/orders/@stop-1',
        '/changes?sinceTransactionID=1',
        '/transactions?type=ORDER,FUNDING',
      ];
      for (const path of reads) expect([path, (await call('GET', account(path))).status]).toEqual([path, 200]);
      expect((await call('GET', account('/trades/999999999'))).body).toEqual({ errorCode: 'NO_SUCH_TRADE', errorMessage: expect.any(String) });
      expect((await call('PUT', account('/trades/999999999/orders'), { takeProfit: null })).status).toBe(404);
      expect((await call('GET', account('/orders/@nothing'))).status).toBe(404);
      expect((await call('GET', account('/positions/NOPE_USD'))).status).toBe(404);
      expect((await call('GET', account('/nothing-here'))).status).toBe(404);
      expect((await call('DELETE', account('/summary'))).status).toBe(405);
      expect((await call('GET', account('/transactions/idrange?from=5'))).status).toBe(400);
      // Refusals of every kind of trade request, through the market's injected faults.
      fake.market.setFaults(marketId, { rejectNext: 1, code: 'MARKET_CLOSED' });
      expect((await call('PUT', account(`/trades/${kept}/close`), { units: '10' })).body.orderCancelTransaction.reason).toBe('MARKET_HALTED');
      fake.market.setFaults(marketId, { rejectNext: 1, code: 'INVALID_STOPS' });
      expect((await call('PUT', account(`/trades/${kept}/orders`), { stopLoss: { price: '1.08000' } })).body.stopLossOrderRejectTransaction.rejectReason).toBe(
        'PRICE_INVALID',
      );
      fake.market.setFaults(marketId, { rejectNext: 1, code: 'TRADING_DISABLED' });
      expect((await call('PUT', account('/orders/@stop-1/cancel'))).body.orderCancelRejectTransaction.rejectReason).toBe('ACCOUNT_LOCKED');
      fake.market.setFaults(marketId, { rejectNext: 1, code: 'INVALID_PRICE' });
      expect(
        (await call('PUT', account('/orders/@stop-1'), { order: { type: 'STOP', instrument: 'EUR_USD', units: '100', price: '1.09100' } })).body.errorCode,
      ).toBe('PRICE_INVALID');
      fake.market.setFaults(marketId, { rejectNext: 1, code: 'TOO_MANY_REQUESTS' });
      expect((await order({ units: '1' })).status).toBe(429);
      fake.market.setFaults(marketId, { rejectNext: 1, code: 'CONNECTION' });
      await expect(order({ units: '1' })).rejects.toThrow();
      expect((await call('GET', account('/trades?state=OPEN'))).body.trades).toHaveLength(1);
      const full = (await call('GET', account(''))).body.account;
      expect(full).toMatchObject({ openTradeCount: 1, pendingOrderCount: 3 });
      expect(full.trades[0]).toMatchObject({ id: kept, takeProfitOrderID: expect.any(String), stopLossOrderID: expect.any(String) });
    });

    it('nets a pending order the market fills on an account without hedging, and converts JPY profit to the home currency', async () => {
      const netting = fake.addAccount({ token: TOKEN, hedging: false });
      const long = (await order({ units: '1000', instrument: 'USD_JPY' }, netting)).body.orderFillTransaction.id;
      await order({ type: 'LIMIT', units: '-400', instrument: 'USD_JPY', price: '152.000' }, netting);
      fake.market.defineSymbol({ symbol: 'USD_JPY', bid: 152.515, ask: 152.53 });
      const trades = (await call('GET', account('/openTrades', netting))).body.trades;
      expect(trades).toMatchObject([{ id: long, currentUnits: '600' }]);
      const fill = (await call('GET', account(`/transactions/idrange?from=1&to=999999999&type=ORDER_FILL`, netting))).body.transactions.at(-1);
      expect(fill).toMatchObject({ reason: 'LIMIT_ORDER', units: '-400', tradeReduced: { tradeID: long, units: '-400' } });
      // 400 units bought at 151.515 and sold at 152.515 gain 400 JPY, about 2.62 USD at the new mid.
      expect(Number(fill.tradeReduced.realizedPL)).toBeCloseTo(400 / 152.5225, 1);
    });
  });

  describe('conformance to the v20 document', () => {
    it('checks every answer against the document; a body that drifts from it throws', async () => {
      const before = fake.conformance.validated;
      await call('GET', account('/summary'));
      await order({ units: '1' });
      expect(fake.conformance.validated).toBe(before + 2);
      const conformance = new V20Conformance();
      expect(() =>
        conformance.checkResponse('GET', '/accounts/{accountID}/trades/{tradeSpecifier}', 200, {
          trade: { id: '1', currentUnits: 1000 },
          lastTransactionID: '1',
        }),
      ).toThrow(V20ConformanceError);
      expect(() => conformance.checkResponse('GET', '/accounts/{accountID}/summary', 200, { account: { id: '101-004-1-001', inventedField: '1' } })).toThrow(
        /additional properties/,
      );
      expect(() => conformance.checkResponse('GET', '/accounts/{accountID}/summary', 201, {})).toThrow(/status not in the document/);
      expect(() => conformance.checkTransactionStreamLine({ type: 'ORDER_FILL', id: '7', reason: 'NOT_A_REASON' })).toThrow(V20ConformanceError);
      expect(() => conformance.checkTransactionStreamLine({ type: 'HEARTBEAT', lastTransactionID: '7', time: '2026-03-02T10:00:00.000000000Z' })).not.toThrow();
    });
  });
});

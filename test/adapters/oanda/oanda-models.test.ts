import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { brokerErrorCodes } from '../../../shared/domain/broker-errors';
import { codeOfReason, httpError, oandaReasonCodes, reasonOf, retryAfterMs, transportError } from '../../../shared/adapters/oanda/oanda-errors';
import {
  dependentOrdersRequest,
  fitsUnitsPrecision,
  formatPrice,
  formatUnits,
  homeConversionFactor,
  isoTime,
  leverageOf,
  openingDeal,
  orderRequest,
  replacementOrder,
  signedUnits,
  toAccountInformation,
  toCapabilities,
  toDeals,
  toPendingOrder,
  toPosition,
  toQuote,
  toSymbolSpec,
  type OandaInstrument,
  type OandaOrder,
  type OandaTrade,
  type OandaTransaction,
} from '../../../shared/adapters/oanda/oanda-models';
import { DeadlineExceededError } from '../../../shared/domain/deadline';

const eurUsd: OandaInstrument = {
  name: 'EUR_USD',
  type: 'CURRENCY',
  displayPrecision: 5,
  tradeUnitsPrecision: 0,
  minimumTradeSize: '1',
  maximumOrderUnits: '100000000',
};

const trade = (fields: Partial<OandaTrade> = {}): OandaTrade => ({
  id: '6397',
  instrument: 'EUR_USD',
  price: '1.08512',
  openTime: '2024-05-02T09:15:03.123456789Z',
  state: 'OPEN',
  initialUnits: '-2500',
  currentUnits: '-2500',
  unrealizedPL: '-1.2500',
  clientExtensions: { id: 'ct0123456789abcdefxxxx', comment: 'copied' },
  ...fields,
});

describe("OANDA v20's models onto the domain", () => {
  it.each([
    ['2024-05-02T09:15:03.123456789Z', '2024-05-02T09:15:03.123Z'],
    ['2024-05-02T09:15:03.999999999Z', '2024-05-02T09:15:03.999Z'],
    ['2024-05-02T09:15:03Z', '2024-05-02T09:15:03.000Z'],
    ['2024-05-02T09:15:03.5Z', '2024-05-02T09:15:03.500Z'],
    ['2024-05-02T11:15:03.123456+02:00', '2024-05-02T09:15:03.123Z'],
    ['1714641303.123456789', '2024-05-02T09:15:03.123Z'],
  ])('reads the time %s as %s (nanoseconds cut to milliseconds, never rounded up)', (wire, iso) => {
    expect(isoTime(wire)).toBe(iso);
  });

  it('maps an open trade: side from the sign of its current units, its dependent orders as levels, client id and comment', () => {
    expect(
      toPosition(
        trade({
          stopLossOrder: { id: '6399', type: 'STOP_LOSS', state: 'PENDING', price: '1.09000', tradeID: '6397' },
          takeProfitOrder: { id: '6398', type: 'TAKE_PROFIT', state: 'PENDING', price: '1.08000', tradeID: '6397' },
        }),
      ),
    ).toEqual({
      id: '6397',
      symbol: 'EUR_USD',
      side: 'sell',
      volume: 2500,
      openPrice: 1.08512,
      stopLoss: 1.09,
      takeProfit: 1.08,
      profit: -1.25,
      openedAt: '2024-05-02T09:15:03.123Z',
      comment: 'copied',
      clientId: 'ct0123456789abcdefxxxx',
    });
    // Reduced: what is left of it; long.
    expect(toPosition(trade({ initialUnits: '300', currentUnits: '100', clientExtensions: undefined }))).toMatchObject({ side: 'buy', volume: 100 });
    expect(toPosition(trade({ currentUnits: '100' }))?.clientId).toBe('ct0123456789abcdefxxxx');
    // A trade summary names its dependent orders by id.
    const byId = new Map<string, OandaOrder>([['71', { id: '71', type: 'STOP_LOSS', state: 'PENDING', price: '1.09500' }]]);
    expect(toPosition(trade({ stopLossOrderID: '71' }), (id) => byId.get(id))).toMatchObject({ stopLoss: 1.095 });
    expect(toPosition(trade({ stopLossOrder: { id: '71', type: 'STOP_LOSS', state: 'CANCELLED', price: '1.09' } }))?.stopLoss).toBeUndefined();
    expect(toPosition(trade({ currentUnits: '0', state: 'CLOSED' }))).toBeUndefined();
  });

  it('maps LIMIT, STOP and MARKET_IF_TOUCHED orders as pending orders, and leaves the dependent and market ones out', () => {
    const base = { state: 'PENDING', createTime: '2024-05-02T09:15:03.000000001Z', instrument: 'EUR_USD', timeInForce: 'GTC' };
    expect(
      toPendingOrder({
        ...base,
        id: '70',
        type: 'LIMIT',
        units: '-1000',
        price: '1.10000',
        stopLossOnFill: { price: '1.11000', timeInForce: 'GTC' },
        takeProfitOnFill: { price: '1.09000' },
        clientExtensions: { id: 'ct-limit' },
      }),
    ).toEqual({
      id: '70',
      symbol: 'EUR_USD',
      side: 'sell',
      type: 'limit',
      volume: 1000,
      price: 1.1,
      stopLoss: 1.11,
      takeProfit: 1.09,
      createdAt: '2024-05-02T09:15:03.000Z',
      clientId: 'ct-limit',
    });
    expect(toPendingOrder({ ...base, id: '71', type: 'STOP', units: '500', price: '1.2' })).toMatchObject({ side: 'buy', type: 'stop', volume: 500 });
    // A market-if-touched buy below the price it was placed at waits like a limit; above, like a stop.
    expect(toPendingOrder({ ...base, id: '72', type: 'MARKET_IF_TOUCHED', units: '5', price: '1.05', initialMarketPrice: '1.08' })?.type).toBe('limit');
    expect(toPendingOrder({ ...base, id: '73', type: 'MARKET_IF_TOUCHED', units: '5', price: '1.10', initialMarketPrice: '1.08' })?.type).toBe('stop');
    expect(toPendingOrder({ ...base, id: '74', type: 'MARKET_IF_TOUCHED', units: '-5', price: '1.10', initialMarketPrice: '1.08' })?.type).toBe('limit');
    for (const type of ['TAKE_PROFIT', 'STOP_LOSS', 'TRAILING_STOP_LOSS', 'MARKET', 'FIXED_PRICE']) {
      expect(toPendingOrder({ ...base, id: '80', type, units: '5', price: '1.1', tradeID: '6397' })).toBeUndefined();
    }
    // Dependent orders carry no units or instrument at all.
    expect(toPendingOrder({ id: '81', type: 'TAKE_PROFIT', state: 'PENDING', price: '1.2', tradeID: '6397' })).toBeUndefined();
  });

  it('maps a fill that opens a trade to one "in" deal with the fill\'s side, the trade id as position and deal id', () => {
    const fill: OandaTransaction = {
      id: '6397',
      time: '2024-05-02T09:15:03.123456789Z',
      type: 'ORDER_FILL',
      orderID: '6396',
      clientOrderID: 'ct-open',
      instrument: 'EUR_USD',
      units: '-2500',
      price: '1.08512',
      commission: '0.0000',
      tradeOpened: { tradeID: '6397', units: '-2500', price: '1.08510', clientExtensions: { id: 'ct-open' } },
    };
    expect(toDeals(fill)).toEqual([
      {
        id: '6397',
        positionId: '6397',
        orderId: '6396',
        symbol: 'EUR_USD',
        side: 'sell',
        entry: 'in',
        volume: 2500,
        price: 1.0851,
        profit: 0,
        time: '2024-05-02T09:15:03.123Z',
        clientId: 'ct-open',
      },
    ]);
    expect(openingDeal(trade({ id: '6397', price: '1.08510' }))).toEqual({
      id: '6397',
      positionId: '6397',
      symbol: 'EUR_USD',
      side: 'sell',
      entry: 'in',
      volume: 2500,
      price: 1.0851,
      profit: 0,
      time: '2024-05-02T09:15:03.123Z',
      clientId: 'ct0123456789abcdefxxxx',
    });
  });

  it('maps a netting fill that closes two trades, reduces a third and opens a fourth: one deal each, ids unique, commission shared', () => {
    const fill: OandaTransaction = {
      id: '900',
      time: '2024-05-02T10:00:00.000000500Z',
      type: 'ORDER_FILL',
      orderID: '899',
      clientOrderID: 'ct-net',
      instrument: 'EUR_USD',
      units: '-450',
      commission: '0.90',
      tradesClosed: [
        { tradeID: '100', units: '-100', price: '1.1', realizedPL: '5.0000', financing: '-0.1000' },
        { tradeID: '101', units: '-200', price: '1.1', realizedPL: '-2.5000', financing: '0.0000' },
      ],
      tradeReduced: { tradeID: '102', units: '-50', price: '1.1', realizedPL: '1.0000', financing: '0.0000' },
      tradeOpened: { tradeID: '900', units: '-100', price: '1.1' },
    };
    const deals = toDeals(fill);
    expect(deals.map((deal) => [deal.id, deal.positionId, deal.entry, deal.side, deal.volume, deal.profit, deal.swap])).toEqual([
      ['900-100', '100', 'out', 'sell', 100, 5, -0.1],
      ['900-101', '101', 'out', 'sell', 200, -2.5, 0],
      ['900-102', '102', 'out', 'sell', 50, 1, 0],
      ['900', '900', 'in', 'sell', 100, 0, undefined],
    ]);
    expect(new Set(deals.map((deal) => deal.id)).size).toBe(4);
    expect(deals.every((deal) => deal.clientId === 'ct-net' && deal.time === '2024-05-02T10:00:00.000Z' && deal.orderId === '899')).toBe(true);
    expect(deals.map((deal) => deal.commission)).toEqual([-0.2, -0.4, -0.1, -0.2]);
    expect(deals.reduce((sum, deal) => sum + (deal.commission ?? 0), 0)).toBeCloseTo(-0.9, 10);
    // A trade close fill: the closing side, what it realized.
    const close = toDeals({
      id: '950',
      time: '2024-05-02T11:00:00Z',
      type: 'ORDER_FILL',
      instrument: 'XAU_USD',
      units: '3',
      tradesClosed: [{ tradeID: '940', units: '3', price: '2350.10', realizedPL: '-0.75' }],
    });
    expect(close).toEqual([expect.objectContaining({ id: '950-940', positionId: '940', side: 'buy', entry: 'out', volume: 3, price: 2350.1, profit: -0.75 })]);
    expect(close[0]).not.toHaveProperty('clientId');
    expect(toDeals({ id: '951', type: 'ORDER_CANCEL' })).toEqual([]);
  });

  it('gives the instrument specification in units, the tick value from the quote currency conversion', () => {
    expect(toSymbolSpec(eurUsd, 1)).toEqual({
      symbol: 'EUR_USD',
      digits: 5,
      contractSize: 1,
      volumeMin: 1,
      volumeStep: 1,
      volumeMax: 100_000_000,
      tickSize: 0.00001,
      fillingModes: ['FOK', 'IOC'],
      tickValue: 0.00001,
      profitCurrency: 'USD',
    });
    const jpy = toSymbolSpec({ ...eurUsd, name: 'USD_JPY', displayPrecision: 3, tradeUnitsPrecision: 1, minimumTradeSize: '0.1' }, 0.0066);
    expect(jpy).toMatchObject({ digits: 3, tickSize: 0.001, volumeMin: 0.1, volumeStep: 0.1, profitCurrency: 'JPY' });
    expect(jpy.tickValue).toBeCloseTo(0.0000066, 12);
    expect(toSymbolSpec({ ...eurUsd, name: 'DE30_EUR' }).tickValue).toBeUndefined();
    expect(toSymbolSpec({ ...eurUsd, name: 'DE30_EUR' }).profitCurrency).toBe('EUR');

    const conversions = [
      { currency: 'JPY', accountGain: '0.0065', accountLoss: '0.0066', positionValue: '0.00655' },
      { currency: 'USD', accountGain: '1', accountLoss: '1', positionValue: '1' },
    ];
    expect(homeConversionFactor('JPY', 'USD', conversions, undefined)).toBe(0.0066);
    expect(homeConversionFactor('USD', 'USD', [], undefined)).toBe(1);
    const chf = { instrument: 'USD_CHF', quoteHomeConversionFactors: { positiveUnits: '1.09', negativeUnits: '1.1' } };
    expect(homeConversionFactor('CHF', 'USD', [], [chf], 'USD_CHF')).toBe(1.1);
    // Without conversions: the mid price of an instrument crossing the quote and the account currency.
    const usdJpy = { instrument: 'USD_JPY', bids: [{ price: '150.000' }], asks: [{ price: '150.020' }] };
    expect(homeConversionFactor('JPY', 'USD', undefined, [usdJpy], 'EUR_JPY')).toBeCloseTo(1 / 150.01, 12);
    expect(
      homeConversionFactor('EUR', 'USD', undefined, [{ instrument: 'EUR_USD', bids: [{ price: '1.1' }], asks: [{ price: '1.2' }] }], 'EUR_GBP'),
    ).toBeCloseTo(1.15, 12);
    expect(homeConversionFactor('CHF', 'USD', undefined, undefined)).toBeUndefined();
    expect(homeConversionFactor('CHF', undefined, undefined, [chf])).toBeUndefined();
  });

  it('gives the best bid and ask of a price, and account information and capabilities from the summary', () => {
    expect(
      toQuote({
        instrument: 'EUR_USD',
        time: '2024-05-02T09:15:03.123456789Z',
        bids: [{ price: '1.08500' }, { price: '1.08498' }],
        asks: [{ price: '1.08512' }, { price: '1.08515' }],
      }),
    ).toEqual({ symbol: 'EUR_USD', bid: 1.085, ask: 1.08512, time: '2024-05-02T09:15:03.123Z' });
    expect(toQuote({ instrument: 'EUR_USD', bids: [], asks: [], closeoutBid: '1.1', closeoutAsk: '1.2' })).toMatchObject({ bid: 1.1, ask: 1.2 });
    expect(toQuote({ instrument: 'EUR_USD', bids: [], asks: [] })).toBeUndefined();

    const summary = {
      id: '101-004-1-001',
      currency: 'USD',
      balance: '10000.0000',
      NAV: '9990.5000',
      marginUsed: '108.5000',
      marginAvailable: '9882.0000',
      marginRate: '0.02',
      hedgingEnabled: false,
    };
    expect(toAccountInformation(summary)).toEqual({ balance: 10000, equity: 9990.5, margin: 108.5, freeMargin: 9882, currency: 'USD', leverage: 50 });
    expect(leverageOf('0.0333')).toBe(30);
    expect(leverageOf(undefined)).toBe(1);
    expect(toCapabilities(summary)).toEqual({ hedging: false, netting: false, fifo: true, units: 'units', closeClientId: false });
    expect(toCapabilities({ hedgingEnabled: true })).toEqual({ hedging: true, netting: false, fifo: false, units: 'units', closeClientId: false });
  });

  it('writes signed units and prices at the instrument precision, and checks units precision', () => {
    expect(signedUnits('buy', 10_000, 0)).toBe('10000');
    expect(signedUnits('sell', 10_000, 0)).toBe('-10000');
    expect(signedUnits('sell', 0.1 + 0.2, 1)).toBe('-0.3');
    expect(formatUnits(0.1 + 0.2)).toBe('0.3');
    expect(formatUnits(250)).toBe('250');
    expect(formatPrice(1.0845000000000002, 5)).toBe('1.08450');
    expect(formatPrice(151.5, 3)).toBe('151.500');
    expect(fitsUnitsPrecision(1000, 0)).toBe(true);
    expect(fitsUnitsPrecision(1.5, 0)).toBe(false);
    expect(fitsUnitsPrecision(0.1 + 0.2, 1)).toBe(true);
  });

  it('builds the order of a trade request: OPEN_ONLY, signed units, client id on the trade (and on a pending order), levels at the precision', () => {
    expect(
      orderRequest(
        { clientId: 'ct-1', comment: 'copy', symbol: 'EUR_USD', side: 'sell', type: 'market', volume: 2500, stopLoss: 1.0900000000000001, takeProfit: 1.08 },
        eurUsd,
      ),
    ).toEqual({
      type: 'MARKET',
      timeInForce: 'FOK',
      instrument: 'EUR_USD',
      units: '-2500',
      positionFill: 'OPEN_ONLY',
      tradeClientExtensions: { id: 'ct-1', comment: 'copy' },
      stopLossOnFill: { price: '1.09000', timeInForce: 'GTC' },
      takeProfitOnFill: { price: '1.08000', timeInForce: 'GTC' },
    });
    expect(orderRequest({ clientId: 'ct-2', symbol: 'EUR_USD', side: 'buy', type: 'market', volume: 1, fillingMode: 'IOC' }, eurUsd)).toMatchObject({
      timeInForce: 'IOC',
      units: '1',
    });
    expect(orderRequest({ clientId: 'ct-3', symbol: 'EUR_USD', side: 'buy', type: 'limit', volume: 100, price: 1.05 }, eurUsd)).toEqual({
      type: 'LIMIT',
      price: '1.05000',
      timeInForce: 'GTC',
      instrument: 'EUR_USD',
      units: '100',
      positionFill: 'OPEN_ONLY',
      clientExtensions: { id: 'ct-3' },
      tradeClientExtensions: { id: 'ct-3' },
    });
    expect(orderRequest({ clientId: 'ct-4', symbol: 'EUR_USD', side: 'sell', type: 'stop', volume: 100, price: 1.05 }, eurUsd)).toMatchObject({ type: 'STOP' });
  });

  it('sets, cancels or leaves dependent orders, and replaces a pending order keeping what the change leaves undefined', () => {
    expect(dependentOrdersRequest({ stopLoss: 1.2, takeProfit: null }, 5)).toEqual({ stopLoss: { price: '1.20000', timeInForce: 'GTC' }, takeProfit: null });
    expect(dependentOrdersRequest({ takeProfit: 1.3 }, 5)).toEqual({ takeProfit: { price: '1.30000', timeInForce: 'GTC' } });
    const current: OandaOrder = {
      id: '70',
      type: 'STOP',
      state: 'PENDING',
      createTime: '2024-05-02T09:15:03Z',
      instrument: 'EUR_USD',
      units: '-1000',
      price: '1.05000',
      priceBound: '1.04000',
      timeInForce: 'GTC',
      positionFill: 'DEFAULT',
      triggerCondition: 'DEFAULT',
      clientExtensions: { id: 'ct-limit', comment: 'copy' },
      tradeClientExtensions: { id: 'ct-limit' },
      stopLossOnFill: { price: '1.06000', timeInForce: 'GTC' },
      takeProfitOnFill: { price: '1.04000', timeInForce: 'GTC' },
    };
    expect(replacementOrder(current, { price: 1.049 }, 5)).toEqual({
      type: 'STOP',
      instrument: 'EUR_USD',
      units: '-1000',
      price: '1.04900',
      priceBound: '1.04000',
      timeInForce: 'GTC',
      positionFill: 'DEFAULT',
      triggerCondition: 'DEFAULT',
      clientExtensions: { id: 'ct-limit', comment: 'copy' },
      tradeClientExtensions: { id: 'ct-limit' },
      stopLossOnFill: { price: '1.06000', timeInForce: 'GTC' },
      takeProfitOnFill: { price: '1.04000', timeInForce: 'GTC' },
    });
    const moved = replacementOrder(current, { price: 1.049, stopLoss: null, takeProfit: 1.03 }, 5);
    expect(moved).not.toHaveProperty('stopLossOnFill');
    expect(moved.takeProfitOnFill).toEqual({ price: '1.03000', timeInForce: 'GTC' });
  });
});

describe("OANDA's refusals onto the domain's codes", () => {
  it.each([
    ['INSUFFICIENT_MARGIN', 'NO_MONEY'],
    ['MARKET_HALTED', 'MARKET_CLOSED'],
    ['STOP_LOSS_ON_FILL_LOSS', 'INVALID_STOPS'],
    ['TAKE_PROFIT_ON_FILL_PRICE_PRECISION_EXCEEDED', 'INVALID_STOPS'],
    ['LOSING_TAKE_PROFIT', 'INVALID_STOPS'],
    ['UNITS_PRECISION_EXCEEDED', 'INVALID_VOLUME'],
    ['UNITS_MIMIMUM_NOT_MET', 'INVALID_VOLUME'],
    ['CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE', 'INVALID_VOLUME'],
    ['PRICE_PRECISION_EXCEEDED', 'INVALID_PRICE'],
    ['INSTRUMENT_UNKNOWN', 'UNKNOWN_SYMBOL'],
    ['CLIENT_ORDER_ID_ALREADY_EXISTS', 'DUPLICATE_CLIENT_ID'],
    ['CLIENT_TRADE_ID_ALREADY_EXISTS', 'DUPLICATE_CLIENT_ID'],
    ['FIFO_VIOLATION', 'FIFO_VIOLATION'],
    ['TRADE_DOESNT_EXIST', 'POSITION_NOT_FOUND'],
    ['ORDER_DOESNT_EXIST', 'ORDER_NOT_FOUND'],
    ['ACCOUNT_LOCKED', 'TRADING_DISABLED'],
    ['INSTRUMENT_PRICE_UNKNOWN', 'OFF_QUOTES'],
    ['BOUNDS_VIOLATION', 'PRICE_CHANGED'],
    ['TIME_IN_FORCE_INVALID', 'INVALID_FILL'],
    ['OPEN_TRADES_ALLOWED_EXCEEDED', 'REJECTED'],
    ['SOMETHING_NEW', 'REJECTED'],
  ])('%s is %s', (reason, code) => {
    expect(codeOfReason(reason)).toBe(code);
  });

  // The reason enums of OANDA's document (oanda/v20-openapi json/v20.json), vendored with the fake's subset of it.
  it("lists only reasons of the v20 document's TransactionRejectReason and OrderCancelReason (and the FIFO safeguard OANDA answers with)", () => {
    const document = JSON.parse(readFileSync(new URL('../../support/fake-oanda/v20-schemas.json', import.meta.url), 'utf8')) as {
      definitions: Record<string, { enum?: string[] }>;
    };
    const known = new Set([...(document.definitions.TransactionRejectReason?.enum ?? []), ...(document.definitions.OrderCancelReason?.enum ?? [])]);
    expect(known.size).toBeGreaterThan(100);
    const outside = Object.keys(oandaReasonCodes).filter((reason) => !known.has(reason));
    expect(outside).toEqual(['FIFO_VIOLATION_SAFEGUARD_VIOLATION']);
    for (const code of Object.values(oandaReasonCodes)) expect(code in brokerErrorCodes).toBe(true);
  });

  it('reads the reason of a reject transaction before the error code, and classifies HTTP statuses', () => {
    const body = {
      orderRejectTransaction: { id: '5', type: 'MARKET_ORDER_REJECT', rejectReason: 'UNITS_MIMIMUM_NOT_MET' },
      errorCode: 'X',
      errorMessage: 'too small',
    };
    expect(reasonOf(body)).toBe('UNITS_MIMIMUM_NOT_MET');
    expect(reasonOf({ errorCode: 'ORDER_DOESNT_EXIST' })).toBe('ORDER_DOESNT_EXIST');
    const trade = { what: 'POST /orders', kind: 'trade', subject: 'account' } as const;
    const read = { what: 'GET /openTrades', kind: 'read', subject: 'account' } as const;
    expect(httpError(400, body, null, trade, 0)).toMatchObject({ code: 'INVALID_VOLUME' });
    expect(httpError(400, { errorMessage: 'Invalid value' }, null, trade, 0)).toMatchObject({ code: 'REJECTED' });
    expect(httpError(401, { errorMessage: 'Insufficient authorization to perform request.' }, null, read, 0)).toMatchObject({ code: 'AUTH_FAILED' });
    expect(httpError(403, {}, null, read, 0)).toMatchObject({ code: 'AUTH_FAILED' });
    expect(httpError(404, {}, null, { ...read, subject: 'position' }, 0)).toMatchObject({ code: 'POSITION_NOT_FOUND' });
    expect(httpError(404, {}, null, { ...read, subject: 'order' }, 0)).toMatchObject({ code: 'ORDER_NOT_FOUND' });
    expect(httpError(404, {}, null, read, 0)).toMatchObject({ code: 'AUTH_FAILED' });
    expect(httpError(404, { errorCode: 'TRADE_DOESNT_EXIST' }, null, trade, 0)).toMatchObject({ code: 'POSITION_NOT_FOUND' });
    expect(httpError(429, {}, '2', read, 0)).toMatchObject({ code: 'TOO_MANY_REQUESTS', errorClass: 'retry', retryAfterMs: 2000 });
    // A 503 on a trade request may come from a gateway that passed the request on: its outcome is unknown.
    expect(httpError(503, {}, null, trade, 0)).toMatchObject({ code: 'TIMEOUT', errorClass: 'reconcile' });
    expect(httpError(503, {}, null, read, 0)).toMatchObject({ code: 'BROKER_BUSY', errorClass: 'retry' });
    expect(httpError(500, {}, null, trade, 0)).toMatchObject({ code: 'TIMEOUT', errorClass: 'reconcile' });
    expect(httpError(500, {}, null, read, 0)).toMatchObject({ code: 'BROKER_BUSY' });
    expect(httpError(502, {}, null, trade, 0)).toMatchObject({ code: 'TIMEOUT', errorClass: 'reconcile' });
    expect(retryAfterMs('Thu, 02 May 2024 09:15:05 GMT', Date.parse('2024-05-02T09:15:03Z'))).toBe(2000);
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(transportError(new DeadlineExceededError('x', 10), trade)).toMatchObject({ code: 'TIMEOUT', errorClass: 'reconcile' });
    expect(transportError(new TypeError('fetch failed'), read)).toMatchObject({ code: 'CONNECTION', errorClass: 'reconcile' });
  });
});

import { describe, expect, it } from 'vitest';
import {
  toAccountInformation,
  toDeal,
  toPendingOrder,
  toPosition,
  toQuote,
  toSymbolSpec,
  tradeLabels,
  tradeOptions,
} from '../../../shared/adapters/metaapi/metaapi-models';

describe("MetaApi's models onto the domain", () => {
  it('maps a position: type to side, string id, UTC ISO open time, no level for 0 or absent', () => {
    expect(
      toPosition({
        id: 46214692,
        type: 'POSITION_TYPE_SELL',
        symbol: 'GBPUSD',
        time: new Date('2020-04-15T02:45:06.521Z'),
        openPrice: 1.26,
        volume: 0.05,
        stopLoss: 1.27,
        takeProfit: 0,
        profit: -8.5,
        comment: '',
        clientId: 'mc0123456789abcdef0123',
        magic: 1001,
      }),
    ).toEqual({
      id: '46214692',
      symbol: 'GBPUSD',
      side: 'sell',
      volume: 0.05,
      openPrice: 1.26,
      stopLoss: 1.27,
      profit: -8.5,
      openedAt: '2020-04-15T02:45:06.521Z',
      clientId: 'mc0123456789abcdef0123',
      magic: 1001,
    });
    expect(toPosition({ id: '1', type: 'POSITION_TYPE_BUY', symbol: 'EURUSD', time: '2024-05-01T10:00:00.000+02:00', openPrice: 1, volume: 1 })).toMatchObject({
      side: 'buy',
      openedAt: '2024-05-01T08:00:00.000Z',
    });
    expect(toPosition({ id: '1', type: 'POSITION_TYPE_UNKNOWN', symbol: 'EURUSD', time: new Date(), openPrice: 1, volume: 1 })).toBeUndefined();
  });

  it.each([
    ['ORDER_TYPE_BUY_LIMIT', 'buy', 'limit'],
    ['ORDER_TYPE_SELL_LIMIT', 'sell', 'limit'],
    ['ORDER_TYPE_BUY_STOP', 'buy', 'stop'],
    ['ORDER_TYPE_SELL_STOP', 'sell', 'stop'],
  ])('maps a pending %s to %s %s, with what is left of its volume', (type, side, kind) => {
    expect(
      toPendingOrder({
        id: 7,
        type,
        state: 'ORDER_STATE_PLACED',
        symbol: 'AUDNZD',
        time: new Date('2020-04-20T08:38:58.270Z'),
        openPrice: 1.03,
        volume: 0.05,
        currentVolume: 0.03,
        takeProfit: 1.1,
      }),
    ).toEqual({ id: '7', symbol: 'AUDNZD', side, type: kind, volume: 0.03, price: 1.03, takeProfit: 1.1, createdAt: '2020-04-20T08:38:58.270Z' });
  });

  it('leaves out market orders and stop-limit orders, which the domain cannot represent as pending', () => {
    const base = { id: 1, symbol: 'EURUSD', time: new Date(), openPrice: 1.1, volume: 1 };
    expect(toPendingOrder({ ...base, type: 'ORDER_TYPE_BUY' })).toBeUndefined();
    expect(toPendingOrder({ ...base, type: 'ORDER_TYPE_BUY_STOP_LIMIT' })).toBeUndefined();
  });

  it('maps deals: DEAL_TYPE to side, entries IN/INOUT to in and OUT/OUT_BY to out; balance deals are not trades', () => {
    const deal = {
      id: '9',
      symbol: 'EURUSD',
      time: new Date('2024-05-01T10:00:00.000Z'),
      volume: 0.1,
      price: 1.08,
      profit: 3.2,
      positionId: '5',
      orderId: 6,
      clientId: 'mcx',
    };
    expect(toDeal({ ...deal, type: 'DEAL_TYPE_SELL', entryType: 'DEAL_ENTRY_OUT' })).toEqual({
      id: '9',
      positionId: '5',
      orderId: '6',
      symbol: 'EURUSD',
      side: 'sell',
      entry: 'out',
      volume: 0.1,
      price: 1.08,
      profit: 3.2,
      time: '2024-05-01T10:00:00.000Z',
      clientId: 'mcx',
    });
    expect(toDeal({ ...deal, type: 'DEAL_TYPE_BUY', entryType: 'DEAL_ENTRY_IN' })).toMatchObject({ side: 'buy', entry: 'in' });
    expect(toDeal({ ...deal, type: 'DEAL_TYPE_BUY', entryType: 'DEAL_ENTRY_INOUT' })).toMatchObject({ entry: 'in' });
    expect(toDeal({ ...deal, type: 'DEAL_TYPE_BUY', entryType: 'DEAL_ENTRY_OUT_BY' })).toMatchObject({ entry: 'out' });
    expect(toDeal({ id: '1', type: 'DEAL_TYPE_BALANCE', time: new Date(), profit: 10_000 })).toBeUndefined();
  });

  it('maps a symbol specification with the tick value of a loss from the current price', () => {
    const spec = toSymbolSpec(
      { symbol: 'XAUUSD', tickSize: 0.01, minVolume: 0.01, maxVolume: 50, volumeStep: 0.01, contractSize: 100, digits: 2, profitCurrency: 'USD' },
      { symbol: 'XAUUSD', bid: 2350, ask: 2350.35, profitTickValue: 1.01, lossTickValue: 0.99, time: new Date() },
    );
    expect(spec).toEqual({
      symbol: 'XAUUSD',
      digits: 2,
      contractSize: 100,
      volumeMin: 0.01,
      volumeStep: 0.01,
      volumeMax: 50,
      tickSize: 0.01,
      tickValue: 0.99,
      profitCurrency: 'USD',
    });
    expect(toSymbolSpec({ symbol: 'X', tickSize: 1, minVolume: 1, maxVolume: 1, volumeStep: 1, digits: 0 }).tickValue).toBeUndefined();
  });

  it('maps a price to a quote and account information to funds', () => {
    expect(toQuote({ symbol: 'EURUSD', bid: 1.1, ask: 1.1002, time: new Date('2024-05-01T10:00:00.000Z') })).toEqual({
      symbol: 'EURUSD',
      bid: 1.1,
      ask: 1.1002,
      time: '2024-05-01T10:00:00.000Z',
    });
    expect(toAccountInformation({ balance: 7319.9, equity: 7306.6, margin: 184.1, freeMargin: 7120.2, currency: 'USD', leverage: 100 })).toEqual({
      balance: 7319.9,
      equity: 7306.6,
      margin: 184.1,
      freeMargin: 7120.2,
      currency: 'USD',
      leverage: 100,
    });
  });

  it('keeps the client id whole and cuts the comment so both fit 26 characters', () => {
    const clientId = 'mc0123456789abcdef0123';
    expect(tradeLabels(clientId)).toEqual({ clientId });
    expect(tradeLabels(clientId, 'copied from master')).toEqual({ clientId, comment: 'copi' });
    expect(tradeLabels('x'.repeat(26), 'more')).toEqual({ clientId: 'x'.repeat(26) });
    expect(tradeLabels('x'.repeat(27))).toBeUndefined();
  });

  it("asks MetaApi for a filling mode only when the request names one, and reads the symbol's allowed modes", () => {
    expect(tradeOptions('mc0123456789abcdef0123', undefined, undefined)).toEqual({ clientId: 'mc0123456789abcdef0123' });
    expect(tradeOptions('mc0123456789abcdef0123', undefined, 'IOC')).toEqual({ clientId: 'mc0123456789abcdef0123', fillingModes: ['ORDER_FILLING_IOC'] });
    const spec = { symbol: 'EURUSD', tickSize: 0.00001, minVolume: 0.01, maxVolume: 100, volumeStep: 0.01, digits: 5 };
    expect(toSymbolSpec({ ...spec, fillingModes: ['SYMBOL_FILLING_IOC', 'SYMBOL_FILLING_FOK'] }).fillingModes).toEqual(['FOK', 'IOC']);
    expect(toSymbolSpec(spec).fillingModes).toBeUndefined();
  });
});

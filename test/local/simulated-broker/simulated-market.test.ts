import { describe, expect, it } from 'vitest';
import { SimulatedMarket } from '../../../local/simulated-broker/simulated-market';
import { brokerErrorCodeOf, marketWithAccount } from './market-fixture';

const buy = (volume: number, extra: Record<string, unknown> = {}) => ({
  clientId: 'c-buy',
  symbol: 'EURUSD',
  side: 'buy' as const,
  type: 'market' as const,
  volume,
  ...extra,
});

describe('SimulatedMarket symbols', () => {
  it('starts with EURUSD, GBPUSD, USDJPY and XAUUSD at realistic prices', () => {
    const market = new SimulatedMarket();
    expect(market.listSymbols().sort()).toEqual(['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD']);
    expect(market.getQuote('EURUSD')).toMatchObject({ bid: 1.085, ask: 1.0851 });
    expect(market.getQuote('XAUUSD')?.bid).toBeGreaterThan(1000);
    expect(market.getQuote('NOPE')).toBeUndefined();
    expect(market.getSymbolSpec('NOPE')).toBeUndefined();
  });

  it('gives FX, JPY and gold their own specifications with tick values in USD', () => {
    const market = new SimulatedMarket();
    expect(market.getSymbolSpec('EURUSD')).toEqual({
      symbol: 'EURUSD',
      digits: 5,
      contractSize: 100_000,
      volumeMin: 0.01,
      volumeStep: 0.01,
      volumeMax: 100,
      tickSize: 0.00001,
      tickValue: 1,
      profitCurrency: 'USD',
    });
    const jpy = market.getSymbolSpec('USDJPY');
    expect(jpy).toMatchObject({ digits: 3, tickSize: 0.001, profitCurrency: 'JPY' });
    expect(jpy?.tickValue).toBeCloseTo((0.001 * 100_000) / ((151.5 + 151.515) / 2), 6);
    expect(market.getSymbolSpec('XAUUSD')).toMatchObject({ digits: 2, contractSize: 100, tickSize: 0.01, tickValue: 1 });
  });

  it('defines a new symbol with defaults and reprices an existing one keeping its spec', () => {
    const market = new SimulatedMarket();
    market.defineSymbol({ symbol: 'EURJPY', bid: 163.2, ask: 163.215 });
    expect(market.getSymbolSpec('EURJPY')).toMatchObject({ digits: 3, contractSize: 100_000, profitCurrency: 'JPY' });
    market.defineSymbol({ symbol: 'EURUSD', bid: 1.1, ask: 1.1002, volumeStep: 0.1, volumeMin: 0.1 });
    market.defineSymbol({ symbol: 'EURUSD', bid: 1.2, ask: 1.2002 });
    expect(market.getSymbolSpec('EURUSD')).toMatchObject({ volumeStep: 0.1, volumeMin: 0.1, digits: 5 });
    expect(market.getQuote('EURUSD')).toMatchObject({ bid: 1.2, ask: 1.2002 });
  });

  it('refuses an ask below the bid', () => {
    const market = new SimulatedMarket();
    expect(() => market.defineSymbol({ symbol: 'EURUSD', bid: 1.2, ask: 1.1 })).toThrow(/Invalid symbol/);
    expect(market.getQuote('EURUSD')?.bid).toBe(1.085);
  });
});

describe('SimulatedMarket market orders', () => {
  it('fills a buy at the ask and a sell at the bid', () => {
    const { market, accountId } = marketWithAccount();
    const bought = market.placeOrder(accountId, buy(0.1));
    const sold = market.placeOrder(accountId, { ...buy(0.2), side: 'sell' });
    expect(bought).toMatchObject({ price: 1.0851, volume: 0.1 });
    expect(bought.orderId).toBeUndefined();
    expect(sold).toMatchObject({ price: 1.085, volume: 0.2 });
    const positions = market.getPositions(accountId);
    expect(positions.map((p) => [p.id, p.side, p.openPrice])).toEqual([
      [bought.positionId, 'buy', 1.0851],
      [sold.positionId, 'sell', 1.085],
    ]);
  });

  it('hands out increasing integer tickets', () => {
    const { market, accountId } = marketWithAccount();
    const ids = [1, 2, 3].map(() => Number(market.placeOrder(accountId, buy(0.01)).positionId));
    expect(ids.every(Number.isInteger)).toBe(true);
    expect(ids[1]).toBeGreaterThan(ids[0]!);
    expect(ids[2]).toBeGreaterThan(ids[1]!);
  });

  it('marks profit, equity and margin to the current prices', () => {
    const { market, accountId } = marketWithAccount();
    market.placeOrder(accountId, buy(1));
    const opened = market.getAccountSnapshot(accountId);
    expect(opened).toMatchObject({ balance: 10_000, equity: 9_990, margin: 1_085.1, currency: 'USD', leverage: 100 });
    expect(opened.freeMargin).toBeCloseTo(9_990 - 1_085.1, 6);

    market.defineSymbol({ symbol: 'EURUSD', bid: 1.0871, ask: 1.0872 });
    const moved = market.getAccountSnapshot(accountId);
    expect(moved.positions[0]?.profit).toBe(200);
    expect(moved).toMatchObject({ balance: 10_000, equity: 10_200 });
  });

  it('marks a sell profitable when the price falls', () => {
    const { market, accountId } = marketWithAccount();
    market.placeOrder(accountId, { ...buy(0.5), side: 'sell' });
    market.defineSymbol({ symbol: 'EURUSD', bid: 1.0799, ask: 1.08 });
    expect(market.getPositions(accountId)[0]?.profit).toBe(250);
  });

  it('converts USDJPY profit from yen to USD at the current rate', () => {
    const { market, accountId } = marketWithAccount();
    market.placeOrder(accountId, { ...buy(1), symbol: 'USDJPY' });
    market.defineSymbol({ symbol: 'USDJPY', bid: 152.515, ask: 152.53 });
    const expected = Number((100_000 / ((152.515 + 152.53) / 2)).toFixed(2));
    const snapshot = market.getAccountSnapshot(accountId);
    expect(snapshot.positions[0]?.profit).toBe(expected);
    expect(snapshot.equity).toBe(10_000 + expected);
    expect(expected).toBeGreaterThan(600);
    expect(expected).toBeLessThan(700);
  });

  it('charges USDJPY margin in USD, not in yen', () => {
    const { market, accountId } = marketWithAccount();
    market.placeOrder(accountId, { ...buy(1), symbol: 'USDJPY' });
    const { margin } = market.getAccountSnapshot(accountId);
    expect(margin).toBeCloseTo((100_000 * 151.515) / 100 / 151.5075, 1);
  });
});

describe('SimulatedMarket closing', () => {
  it('closes part then the rest, booking realised profit to the balance with out deals', () => {
    const { market, accountId } = marketWithAccount();
    const { positionId = '' } = market.placeOrder(accountId, buy(1));
    market.defineSymbol({ symbol: 'EURUSD', bid: 1.0861, ask: 1.0862 });

    const partial = market.closePosition(accountId, positionId, { volume: 0.4, clientId: 'c-part' });
    expect(partial).toEqual({ positionId, price: 1.0861, volume: 0.4 });
    const afterPartial = market.getAccountSnapshot(accountId);
    expect(afterPartial.balance).toBe(10_040);
    expect(afterPartial.positions).toHaveLength(1);
    expect(afterPartial.positions[0]?.volume).toBe(0.6);

    market.closePosition(accountId, positionId, { clientId: 'c-rest' });
    const closed = market.getAccountSnapshot(accountId);
    expect(closed.positions).toEqual([]);
    expect(closed.balance).toBe(10_100);
    expect(closed.equity).toBe(10_100);

    const deals = market.getDeals(accountId, '2000-01-01T00:00:00Z', '2100-01-01T00:00:00Z');
    expect(deals.map((d) => [d.entry, d.side, d.volume, d.profit, d.clientId, d.positionId])).toEqual([
      ['in', 'buy', 1, 0, 'c-buy', positionId],
      ['out', 'sell', 0.4, 40, 'c-part', positionId],
      ['out', 'sell', 0.6, 60, 'c-rest', positionId],
    ]);
  });

  it('books a loss of a closed sell at the ask', () => {
    const { market, accountId } = marketWithAccount();
    const { positionId = '' } = market.placeOrder(accountId, { ...buy(0.1), side: 'sell' });
    market.defineSymbol({ symbol: 'EURUSD', bid: 1.0899, ask: 1.09 });
    expect(market.closePosition(accountId, positionId)).toMatchObject({ price: 1.09, volume: 0.1 });
    expect(market.getAccountSnapshot(accountId).balance).toBe(10_000 - 50);
  });

  it('refuses to close more than is open, or a volume off the step', () => {
    const { market, accountId } = marketWithAccount();
    const { positionId = '' } = market.placeOrder(accountId, buy(0.5));
    expect(brokerErrorCodeOf(() => market.closePosition(accountId, positionId, { volume: 0.6 }))).toBe('INVALID_VOLUME');
    expect(brokerErrorCodeOf(() => market.closePosition(accountId, positionId, { volume: 0.105 }))).toBe('INVALID_VOLUME');
    expect(market.getPositions(accountId)[0]?.volume).toBe(0.5);
  });
});

describe('SimulatedMarket pending orders', () => {
  const cases = [
    { side: 'buy', type: 'limit', price: 1.08, before: [1.0801, 1.0802], after: [1.0799, 1.08] },
    { side: 'buy', type: 'stop', price: 1.09, before: [1.0898, 1.0899], after: [1.0899, 1.09] },
    { side: 'sell', type: 'limit', price: 1.09, before: [1.0899, 1.09], after: [1.09, 1.0901] },
    { side: 'sell', type: 'stop', price: 1.08, before: [1.0801, 1.0802], after: [1.08, 1.0801] },
  ] as const;

  it.each(cases)('fills a $side $type when the price crosses it and not before', ({ side, type, price, before, after }) => {
    const { market, accountId } = marketWithAccount();
    const placed = market.placeOrder(accountId, {
      clientId: 'c-pending',
      symbol: 'EURUSD',
      side,
      type,
      volume: 0.3,
      price,
    });
    expect(placed.orderId).toBeDefined();
    expect(placed.positionId).toBeUndefined();

    market.defineSymbol({ symbol: 'EURUSD', bid: before[0], ask: before[1] });
    expect(market.getPendingOrders(accountId)).toHaveLength(1);
    expect(market.getPositions(accountId)).toEqual([]);

    market.defineSymbol({ symbol: 'EURUSD', bid: after[0], ask: after[1] });
    expect(market.getPendingOrders(accountId)).toEqual([]);
    const [position] = market.getPositions(accountId);
    expect(position).toMatchObject({ id: placed.orderId, side, volume: 0.3, clientId: 'c-pending' });
    expect(position?.openPrice).toBe(side === 'buy' ? after[1] : after[0]);
    const deals = market.findByClientId(accountId, 'c-pending').deals;
    expect(deals).toMatchObject([{ entry: 'in', orderId: placed.orderId, positionId: placed.orderId }]);
  });

  it('modifies and cancels a pending order', () => {
    const { market, accountId } = marketWithAccount();
    const { orderId = '' } = market.placeOrder(accountId, {
      clientId: 'c',
      symbol: 'EURUSD',
      side: 'buy',
      type: 'limit',
      volume: 0.1,
      price: 1.08,
      stopLoss: 1.07,
    });
    market.modifyOrder(accountId, orderId, { price: 1.075, stopLoss: null, takeProfit: 1.09 });
    const [order] = market.getPendingOrders(accountId);
    expect(order).toMatchObject({ price: 1.075, takeProfit: 1.09 });
    expect(order?.stopLoss).toBeUndefined();
    market.cancelOrder(accountId, orderId);
    expect(market.getPendingOrders(accountId)).toEqual([]);
  });

  it('cancels a triggered order whose margin the account cannot cover', () => {
    const { market, accountId } = marketWithAccount();
    market.placeOrder(accountId, { clientId: 'c', symbol: 'EURUSD', side: 'buy', type: 'limit', volume: 9, price: 1.08 });
    market.placeOrder(accountId, buy(1));
    market.defineSymbol({ symbol: 'EURUSD', bid: 1.0799, ask: 1.08 });
    expect(market.getPendingOrders(accountId)).toEqual([]);
    expect(market.getPositions(accountId).map((p) => p.volume)).toEqual([1]);
  });
});

describe('SimulatedMarket stop loss and take profit', () => {
  it('closes a buy at the bid when the take profit is reached', () => {
    const { market, accountId } = marketWithAccount();
    market.placeOrder(accountId, buy(1, { stopLoss: 1.08, takeProfit: 1.09 }));
    market.defineSymbol({ symbol: 'EURUSD', bid: 1.0899, ask: 1.09 });
    expect(market.getPositions(accountId)).toHaveLength(1);
    market.defineSymbol({ symbol: 'EURUSD', bid: 1.0902, ask: 1.0903 });
    expect(market.getPositions(accountId)).toEqual([]);
    const snapshot = market.getAccountSnapshot(accountId);
    expect(snapshot.balance).toBe(10_000 + 510);
  });

  it('closes a sell at the ask when the stop loss is reached', () => {
    const { market, accountId } = marketWithAccount();
    market.placeOrder(accountId, { ...buy(1, { stopLoss: 1.09, takeProfit: 1.08 }), side: 'sell' });
    market.defineSymbol({ symbol: 'EURUSD', bid: 1.0899, ask: 1.09 });
    expect(market.getPositions(accountId)).toEqual([]);
    expect(market.getAccountSnapshot(accountId).balance).toBe(10_000 - 500);
    const out = market.getDeals(accountId, '2000-01-01T00:00:00Z', '2100-01-01T00:00:00Z').at(-1);
    expect(out).toMatchObject({ entry: 'out', side: 'buy', price: 1.09, profit: -500 });
    expect(out?.clientId).toBeUndefined();
  });

  it('sets stops absolutely and removes one with null', () => {
    const { market, accountId } = marketWithAccount();
    const { positionId = '' } = market.placeOrder(accountId, buy(0.1, { stopLoss: 1.08 }));
    market.modifyPosition(accountId, positionId, { stopLoss: null, takeProfit: 1.1 });
    const [position] = market.getPositions(accountId);
    expect(position?.stopLoss).toBeUndefined();
    expect(position?.takeProfit).toBe(1.1);
  });
});

describe('SimulatedMarket validation', () => {
  it.each([0.005, 0.015, 100.01, 0, -1, Number.NaN])('rejects volume %s with INVALID_VOLUME', (volume) => {
    const { market, accountId } = marketWithAccount();
    expect(brokerErrorCodeOf(() => market.placeOrder(accountId, buy(volume)))).toBe('INVALID_VOLUME');
  });

  it('accepts the minimum and the maximum volume', () => {
    const { market, accountId } = marketWithAccount({});
    market.openAccount('rich', { balance: 10_000_000 });
    expect(brokerErrorCodeOf(() => market.placeOrder(accountId, buy(0.01)))).toBeUndefined();
    expect(brokerErrorCodeOf(() => market.placeOrder('rich', buy(100)))).toBeUndefined();
  });

  it('rejects an unknown symbol with UNKNOWN_SYMBOL', () => {
    const { market, accountId } = marketWithAccount();
    expect(brokerErrorCodeOf(() => market.placeOrder(accountId, { ...buy(0.1), symbol: 'EURXYZ' }))).toBe('UNKNOWN_SYMBOL');
  });

  it.each([
    { side: 'buy', type: 'limit', price: 1.0851 },
    { side: 'buy', type: 'stop', price: 1.085 },
    { side: 'sell', type: 'limit', price: 1.085 },
    { side: 'sell', type: 'stop', price: 1.0851 },
    { side: 'buy', type: 'limit', price: undefined },
  ] as const)('rejects a $side $type at $price with INVALID_PRICE', ({ side, type, price }) => {
    const { market, accountId } = marketWithAccount();
    const code = brokerErrorCodeOf(() => market.placeOrder(accountId, { clientId: 'c', symbol: 'EURUSD', side, type, volume: 0.1, price }));
    expect(code).toBe('INVALID_PRICE');
    expect(market.getPendingOrders(accountId)).toEqual([]);
  });

  it.each([
    { side: 'buy', stopLoss: 1.085 },
    { side: 'buy', takeProfit: 1.085 },
    { side: 'sell', stopLoss: 1.0851 },
    { side: 'sell', takeProfit: 1.0851 },
  ] as const)('rejects stops on the wrong side of a $side with INVALID_STOPS', (stops) => {
    const { market, accountId } = marketWithAccount();
    expect(brokerErrorCodeOf(() => market.placeOrder(accountId, { ...buy(0.1), ...stops }))).toBe('INVALID_STOPS');
    expect(market.getPositions(accountId)).toEqual([]);
    expect(market.getDeals(accountId, '2000-01-01T00:00:00Z', '2100-01-01T00:00:00Z')).toEqual([]);
  });

  it('rejects stops of a pending order on the wrong side of its price', () => {
    const { market, accountId } = marketWithAccount();
    const code = brokerErrorCodeOf(() =>
      market.placeOrder(accountId, {
        clientId: 'c',
        symbol: 'EURUSD',
        side: 'buy',
        type: 'limit',
        volume: 0.1,
        price: 1.08,
        stopLoss: 1.0805,
      }),
    );
    expect(code).toBe('INVALID_STOPS');
  });

  it('rejects a modification that puts the stop loss above the bid of a buy', () => {
    const { market, accountId } = marketWithAccount();
    const { positionId = '' } = market.placeOrder(accountId, buy(0.1));
    const code = brokerErrorCodeOf(() => market.modifyPosition(accountId, positionId, { stopLoss: 1.086, takeProfit: null }));
    expect(code).toBe('INVALID_STOPS');
    expect(market.getPositions(accountId)[0]?.stopLoss).toBeUndefined();
  });

  it('rejects a trade whose margin exceeds the free margin with NO_MONEY', () => {
    const { market, accountId } = marketWithAccount();
    market.openAccount('small', { balance: 1_000 });
    expect(brokerErrorCodeOf(() => market.placeOrder('small', buy(1)))).toBe('NO_MONEY');
    expect(brokerErrorCodeOf(() => market.placeOrder('small', buy(0.9)))).toBeUndefined();
    expect(brokerErrorCodeOf(() => market.placeOrder('small', buy(0.1)))).toBe('NO_MONEY');
    expect(market.getPositions('small').map((p) => p.volume)).toEqual([0.9]);
    expect(market.getPositions(accountId)).toEqual([]);
  });

  it('rejects unknown positions, orders and accounts', () => {
    const { market, accountId } = marketWithAccount();
    expect(brokerErrorCodeOf(() => market.closePosition(accountId, '999'))).toBe('POSITION_NOT_FOUND');
    expect(brokerErrorCodeOf(() => market.modifyPosition(accountId, '999', { stopLoss: null, takeProfit: null }))).toBe('POSITION_NOT_FOUND');
    expect(brokerErrorCodeOf(() => market.cancelOrder(accountId, '999'))).toBe('ORDER_NOT_FOUND');
    expect(brokerErrorCodeOf(() => market.modifyOrder(accountId, '999', { price: 1.08, stopLoss: null, takeProfit: null }))).toBe('ORDER_NOT_FOUND');
    expect(brokerErrorCodeOf(() => market.getAccountSnapshot('nobody'))).toBe('AUTH_FAILED');
  });
});

describe('SimulatedMarket history', () => {
  it('finds positions, orders and the deals of closed positions by client id', () => {
    const { market, accountId } = marketWithAccount();
    const open = market.placeOrder(accountId, { ...buy(0.1), clientId: 'c-open' });
    const pending = market.placeOrder(accountId, {
      clientId: 'c-pending',
      symbol: 'EURUSD',
      side: 'sell',
      type: 'limit',
      volume: 0.1,
      price: 1.09,
    });
    const closed = market.placeOrder(accountId, { ...buy(0.2), clientId: 'c-closed' });
    market.closePosition(accountId, closed.positionId ?? '', { clientId: 'c-close' });

    const byOpen = market.findByClientId(accountId, 'c-open');
    expect(byOpen.positions.map((p) => p.id)).toEqual([open.positionId]);
    expect(byOpen.orders).toEqual([]);
    expect(byOpen.deals.map((d) => d.entry)).toEqual(['in']);

    expect(market.findByClientId(accountId, 'c-pending').orders.map((o) => o.id)).toEqual([pending.orderId]);

    const byClosed = market.findByClientId(accountId, 'c-closed');
    expect(byClosed.positions).toEqual([]);
    expect(byClosed.deals).toMatchObject([{ entry: 'in', positionId: closed.positionId, volume: 0.2 }]);
    expect(market.findByClientId(accountId, 'c-close').deals).toMatchObject([{ entry: 'out', positionId: closed.positionId }]);
    expect(market.findByClientId(accountId, 'c-unknown')).toEqual({ positions: [], orders: [], deals: [] });
  });

  it('lists deals with from <= time < to, oldest first', () => {
    const { market, accountId, clock } = marketWithAccount();
    const t0 = clock.now.toISOString();
    const { positionId = '' } = market.placeOrder(accountId, buy(0.2));
    clock.advance(60_000);
    const t1 = clock.now.toISOString();
    market.closePosition(accountId, positionId, { volume: 0.1 });
    clock.advance(60_000);
    const t2 = clock.now.toISOString();
    market.closePosition(accountId, positionId);

    expect(market.getDeals(accountId, t0, t1).map((d) => d.time)).toEqual([t0]);
    expect(market.getDeals(accountId, t1, t2).map((d) => d.time)).toEqual([t1]);
    expect(market.getDeals(accountId, t0, '2100-01-01T00:00:00.000Z').map((d) => d.time)).toEqual([t0, t1, t2]);
  });

  it('keeps accounts apart', () => {
    const { market, accountId } = marketWithAccount();
    market.openAccount('other');
    market.placeOrder(accountId, buy(0.1));
    expect(market.getPositions('other')).toEqual([]);
    expect(market.findByClientId('other', 'c-buy').deals).toEqual([]);
  });

  it('opens an account idempotently and closes it with its history', () => {
    const { market, accountId } = marketWithAccount();
    market.placeOrder(accountId, buy(0.1));
    market.openAccount(accountId, { balance: 5 });
    expect(market.getAccountSnapshot(accountId).balance).toBe(10_000);
    expect(market.getPositions(accountId)).toHaveLength(1);
    market.closeAccount(accountId);
    expect(market.hasAccount(accountId)).toBe(false);
  });
});

describe('SimulatedMarket terminal trades', () => {
  it('opens, modifies and closes from the trader terminal without a client id', () => {
    const { market, accountId } = marketWithAccount();
    const { positionId = '' } = market.traderTrade(accountId, { symbol: 'GBPUSD', side: 'sell', volume: 0.05 });
    const pending = market.traderTrade(accountId, { symbol: 'GBPUSD', side: 'buy', type: 'stop', volume: 0.05, price: 1.3 });
    expect(pending.orderId).toBeDefined();
    const modified = market.traderModify(accountId, positionId, { stopLoss: 1.28 });
    expect(modified).toMatchObject({ stopLoss: 1.28 });
    expect(market.traderModify(accountId, positionId, { takeProfit: 1.26 })).toMatchObject({
      stopLoss: 1.28,
      takeProfit: 1.26,
    });
    expect(market.getPositions(accountId)[0]?.clientId).toBeUndefined();
    market.traderClose(accountId, positionId, 0.02);
    expect(market.getPositions(accountId)[0]?.volume).toBe(0.03);
    market.traderClose(accountId, positionId);
    expect(market.getPositions(accountId)).toEqual([]);
  });
});

describe('SimulatedMarket pushes', () => {
  it('tells its watchers which accounts changed, once per burst, after the change: trades, stop changes, stop-outs and fills', async () => {
    const market = new SimulatedMarket();
    market.openAccount('a');
    market.openAccount('b');
    market.openAccount('quiet');
    const seen: string[] = [];
    const unwatch = market.watchAccounts((accountId) => seen.push(accountId));

    const { positionId } = market.traderTrade('a', { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    market.traderTrade('a', { symbol: 'GBPUSD', side: 'sell', volume: 0.1 });
    market.traderTrade('b', { symbol: 'EURUSD', side: 'sell', volume: 0.1 });
    expect(seen).toEqual([]); // not inside the trade call
    await Promise.resolve();
    expect(seen).toEqual(['a', 'b']);

    seen.length = 0;
    const { bid } = market.getQuote('EURUSD')!;
    market.modifyPosition('a', positionId!, { stopLoss: Number((bid - 0.001).toFixed(5)) });
    await Promise.resolve();
    expect(seen).toEqual(['a']);

    // The price falls through the stop: the stop-out is pushed too; so is a pending order's fill.
    seen.length = 0;
    market.traderTrade('b', { symbol: 'EURUSD', side: 'buy', volume: 0.1, type: 'limit', price: Number((bid - 0.002).toFixed(5)) });
    await Promise.resolve();
    seen.length = 0;
    market.defineSymbol({ symbol: 'EURUSD', bid: Number((bid - 0.003).toFixed(5)), ask: Number((bid - 0.0028).toFixed(5)) });
    await Promise.resolve();
    expect(seen.toSorted()).toEqual(['a', 'b']);
    expect(market.getPositions('a').map((position) => position.symbol)).toEqual(['GBPUSD']);

    unwatch();
    market.traderTrade('quiet', { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    await Promise.resolve();
    expect(seen.toSorted()).toEqual(['a', 'b']);
  });
});

import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../shared/domain/broker-errors';
import { SimulatedMarket } from '../../../local/simulated-broker/simulated-market';
import { SimulatedBrokerGateway } from '../../../local/simulated-broker/simulated-broker-gateway';
import type { BrokerAccountRef, TradeRequest } from '../../../shared/ports/broker';

const ref = (accountId = 'acc-1'): BrokerAccountRef => ({
  tenantId: 'tenant-a',
  accountId,
  platform: 'simulated',
  login: '1001',
  server: 'Simulated-Demo',
});

const order = (clientId: string): TradeRequest => ({
  clientId,
  symbol: 'EURUSD',
  side: 'buy',
  type: 'market',
  volume: 0.1,
});

const setup = async () => {
  const market = new SimulatedMarket({ now: () => new Date('2024-05-01T10:00:00.000Z') });
  const gateway = new SimulatedBrokerGateway(market);
  await gateway.provision(ref(), 'secret-password');
  const port = await gateway.connect(ref());
  return { market, gateway, port };
};

const rejection = async (promise: Promise<unknown>): Promise<BrokerError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BrokerError) return error;
    throw error;
  }
  throw new Error('expected a BrokerError');
};

describe('SimulatedBrokerGateway', () => {
  it('provisions a connected account of 10,000 USD at 1:100 and never keeps the password', async () => {
    const { market, gateway } = await setup();
    expect(gateway.platform).toBe('simulated');
    expect(await gateway.provision(ref('acc-2'), 'hunter2-secret')).toEqual({
      brokerAccountId: 'acc-2',
      status: 'connected',
    });
    const port = await gateway.connect(ref('acc-2'));
    expect(await port.getAccountInformation()).toEqual({
      balance: 10_000,
      equity: 10_000,
      margin: 0,
      freeMargin: 10_000,
      currency: 'USD',
      leverage: 100,
    });
    expect(JSON.stringify(market.exportState())).not.toContain('hunter2-secret');
    expect(JSON.stringify(market.exportState())).not.toContain('secret-password');
  });

  it('answers password updates without changing the account, and deprovisions it', async () => {
    const { market, gateway, port } = await setup();
    await port.placeOrder(order('c1'));
    expect((await gateway.updatePassword(ref(), 'new')).status).toBe('connected');
    expect(market.getPositions('acc-1')).toHaveLength(1);
    await gateway.deprovision(ref());
    expect(market.hasAccount('acc-1')).toBe(false);
    expect((await gateway.updatePassword(ref(), 'new')).status).toBe('error');
  });

  it('refuses to connect an unknown account with AUTH_FAILED', async () => {
    const { gateway } = await setup();
    const error = await rejection(gateway.connect(ref('nobody')));
    expect(error.code).toBe('AUTH_FAILED');
  });

  it('fails a port of a deprovisioned account with AUTH_FAILED', async () => {
    const { gateway, port } = await setup();
    await gateway.deprovision(ref());
    expect((await rejection(port.getPositions())).code).toBe('AUTH_FAILED');
  });

  it('maps the port 1:1 to the market', async () => {
    const { market, port } = await setup();
    const opened = await port.placeOrder({ ...order('c1'), stopLoss: 1.08 });
    expect(opened).toMatchObject({ price: 1.0851, volume: 0.1 });
    const positionId = opened.positionId ?? '';
    await port.modifyPosition(positionId, { stopLoss: null, takeProfit: 1.1 });
    expect(await port.getPositions()).toMatchObject([{ id: positionId, takeProfit: 1.1 }]);
    expect((await port.getPositions())[0]?.stopLoss).toBeUndefined();

    const pending = await port.placeOrder({ ...order('c2'), type: 'limit', price: 1.08 });
    await port.modifyOrder(pending.orderId ?? '', { price: 1.07, stopLoss: 1.06, takeProfit: null });
    expect(await port.getPendingOrders()).toMatchObject([{ id: pending.orderId, price: 1.07, stopLoss: 1.06 }]);
    await port.cancelOrder(pending.orderId ?? '');
    expect(await port.getPendingOrders()).toEqual([]);

    const closed = await port.closePosition(positionId, { volume: 0.05, clientId: 'c3' });
    expect(closed).toEqual({ positionId, price: 1.085, volume: 0.05 });
    expect((await port.findByClientId('c3')).deals).toMatchObject([{ entry: 'out', volume: 0.05 }]);
    expect(await port.getDeals('2024-05-01T00:00:00Z', '2024-05-02T00:00:00Z')).toHaveLength(2);
    expect(await port.getSymbolSpec('XAUUSD')).toEqual(market.getSymbolSpec('XAUUSD'));
    expect(await port.getQuote('EURUSD')).toEqual(market.getQuote('EURUSD'));
    expect(await port.getSymbolSpec('NOPE')).toBeUndefined();
  });
});

describe('SimulatedBrokerGateway faults', () => {
  it('rejects the next n trade requests with the code without executing them, then succeeds', async () => {
    const { market, port } = await setup();
    market.setFaults('acc-1', { rejectNext: 2, code: 'MARKET_CLOSED' });

    const first = await rejection(port.placeOrder(order('c1')));
    expect(first.code).toBe('MARKET_CLOSED');
    expect(first.errorClass).toBe('defer');
    expect((await rejection(port.placeOrder(order('c1')))).code).toBe('MARKET_CLOSED');
    expect(await port.getPositions()).toEqual([]);
    expect(await port.findByClientId('c1')).toEqual({ positions: [], orders: [], deals: [] });

    const third = await port.placeOrder(order('c1'));
    expect(third.positionId).toBeDefined();
    expect((await port.findByClientId('c1')).positions).toHaveLength(1);
  });

  it('rejects with REQUOTE when no code is given, on every kind of trade request', async () => {
    const { market, port } = await setup();
    const { positionId = '' } = await port.placeOrder(order('c1'));
    const { orderId = '' } = await port.placeOrder({ ...order('c2'), type: 'limit', price: 1.08 });
    market.setFaults('acc-1', { rejectNext: 5 });
    const attempts = [
      port.placeOrder(order('c3')),
      port.closePosition(positionId, {}),
      port.modifyPosition(positionId, { stopLoss: 1.07, takeProfit: null }),
      port.modifyOrder(orderId, { price: 1.07, stopLoss: null, takeProfit: null }),
      port.cancelOrder(orderId),
    ];
    for (const attempt of attempts) expect((await rejection(attempt)).code).toBe('REQUOTE');
    expect(await port.getPositions()).toMatchObject([{ id: positionId, volume: 0.1 }]);
    expect((await port.getPositions())[0]?.stopLoss).toBeUndefined();
    expect(await port.getPendingOrders()).toMatchObject([{ id: orderId, price: 1.08 }]);
    await port.cancelOrder(orderId);
    expect(await port.getPendingOrders()).toEqual([]);
  });

  it('does not count reads against rejections', async () => {
    const { market, port } = await setup();
    market.setFaults('acc-1', { rejectNext: 1 });
    await port.getPositions();
    await port.getAccountInformation();
    await port.findByClientId('x');
    expect((await rejection(port.placeOrder(order('c1')))).code).toBe('REQUOTE');
  });

  it('executes then throws TIMEOUT, and findByClientId finds what the timed-out request did', async () => {
    const { market, port } = await setup();
    market.setFaults('acc-1', { timeoutAfterExecuteNext: 1 });
    const error = await rejection(port.placeOrder(order('c-lost')));
    expect(error.code).toBe('TIMEOUT');
    expect(error.errorClass).toBe('reconcile');
    const found = await port.findByClientId('c-lost');
    expect(found.positions).toMatchObject([{ symbol: 'EURUSD', volume: 0.1, clientId: 'c-lost' }]);
    expect(found.deals).toMatchObject([{ entry: 'in', clientId: 'c-lost' }]);
    expect((await port.placeOrder(order('c-next'))).positionId).toBeDefined();
    expect(await port.getPositions()).toHaveLength(2);
  });

  it('leaves trades of the trader terminal untouched by faults', async () => {
    const { market, port } = await setup();
    market.setFaults('acc-1', { rejectNext: 1, code: 'BROKER_BUSY' });
    market.traderTrade('acc-1', { symbol: 'EURUSD', side: 'sell', volume: 0.2 });
    expect(market.getPositions('acc-1')).toHaveLength(1);
    expect((await rejection(port.placeOrder(order('c1')))).code).toBe('BROKER_BUSY');
  });

  it('delays every port request, reads included, by at least latencyMs', async () => {
    const { market, port } = await setup();
    market.setFaults('acc-1', { latencyMs: 40 });
    let started = performance.now();
    await port.getPositions();
    expect(performance.now() - started).toBeGreaterThanOrEqual(40);
    started = performance.now();
    await port.placeOrder(order('c1'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(40);
    market.setFaults('acc-1', { latencyMs: 0 });
    started = performance.now();
    await port.getPositions();
    expect(performance.now() - started).toBeLessThan(40);
  });

  it('waits through the injected sleep so a test can observe the latency', async () => {
    const market = new SimulatedMarket();
    const waits: number[] = [];
    const gateway = new SimulatedBrokerGateway(market, {
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    await gateway.provision(ref(), 'pw');
    market.setFaults('acc-1', { latencyMs: 250 });
    const port = await gateway.connect(ref());
    await port.getQuote('EURUSD');
    await port.placeOrder(order('c1'));
    expect(waits).toEqual([250, 250]);
  });

  it('keeps the other fault settings when one is changed', () => {
    const market = new SimulatedMarket();
    market.openAccount('a');
    market.setFaults('a', { latencyMs: 30, rejectNext: 2, code: 'OFF_QUOTES' });
    expect(market.setFaults('a', { timeoutAfterExecuteNext: 1 })).toEqual({
      latencyMs: 30,
      rejectNext: 2,
      code: 'OFF_QUOTES',
      timeoutAfterExecuteNext: 1,
      partialFillNext: 0,
    });
    expect(market.setFaults('a', { rejectNext: 1 }).code).toBe('REQUOTE');
  });

  it('fills the next market orders in part while partialFillNext lasts: half, to the step, at least the minimum', async () => {
    const market = new SimulatedMarket();
    market.openAccount('a');
    const gateway = new SimulatedBrokerGateway(market);
    const port = await gateway.connect(ref('a'));
    market.setFaults('a', { partialFillNext: 2 });
    expect(await port.placeOrder({ clientId: 'c1', symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.45 })).toMatchObject({ volume: 0.22 });
    expect(await port.placeOrder({ clientId: 'c2', symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.01 })).toMatchObject({ volume: 0.01 });
    expect(await port.placeOrder({ clientId: 'c3', symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.3 })).toMatchObject({ volume: 0.3 });
    expect(market.getPositions('a').map((position) => position.volume)).toEqual([0.22, 0.01, 0.3]);
  });
});

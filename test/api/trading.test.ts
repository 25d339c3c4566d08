import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { platforms } from '../../shared/domain/account';
import { createSimulatedAccount, type ApiClient } from '../support/api-capture';
import { apiClient, startTestSystem, tokenFor } from '../support/local-api';

const contractKeys = {
  position: ['id', 'symbol', 'side', 'volume', 'openPrice', 'stopLoss', 'takeProfit', 'profit', 'openedAt', 'comment'],
  order: ['id', 'symbol', 'side', 'type', 'volume', 'price', 'stopLoss', 'takeProfit', 'createdAt'],
  trade: ['id', 'positionId', 'symbol', 'side', 'volume', 'openPrice', 'closePrice', 'profit', 'openedAt', 'closedAt'],
};

const keysWithin = (item: Record<string, unknown>, allowed: string[]) => Object.keys(item).filter((key) => !allowed.includes(key));

describe('trading through the API on a simulated account', () => {
  let system: LocalSystem;
  let api: ApiClient;
  let account: string;

  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-trading'));
    account = await createSimulatedAccount(api, 'trader');
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('lists every platform with its capabilities', async () => {
    const response = await api.get('/v1/platforms');
    expect(response.status).toBe(200);
    expect(response.body.items.map((platform: { id: string }) => platform.id)).toEqual([...platforms]);
    for (const platform of response.body.items) {
      expect(platform).toEqual({
        id: expect.any(String),
        name: expect.any(String),
        capabilities: {
          pendingOrders: expect.any(Boolean),
          partialClose: expect.any(Boolean),
          clientId: expect.any(Boolean),
          hedging: expect.any(Boolean),
          netting: expect.any(Boolean),
          units: expect.stringMatching(/^(lots|units)$/),
        },
      });
    }
    // OANDA counts units, and its accounts may net (hedging off) or hedge.
    const oanda = response.body.items.find((platform: { id: string }) => platform.id === 'oanda');
    expect(oanda.capabilities).toMatchObject({ units: 'units', netting: true, hedging: true, clientId: true });
  });

  it('places a market order under a fresh api client id and returns the position', async () => {
    const placed = await api.post(`/v1/accounts/${account}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.1, stopLoss: 1.0 });
    expect(placed.status).toBe(201);
    expect(placed.body).toEqual({ positionId: expect.any(String) });
    const atBroker = system.market.getPositions(account).find((position) => position.id === placed.body.positionId);
    expect(atBroker).toMatchObject({ symbol: 'EURUSD', side: 'buy', volume: 0.1, stopLoss: 1.0 });
    expect(atBroker?.clientId).toMatch(/^api[0-9a-f]{20}$/);

    const again = await api.post(`/v1/accounts/${account}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    const second = system.market.getPositions(account).find((position) => position.id === again.body.positionId);
    expect(second?.clientId).not.toBe(atBroker?.clientId);
    await api.post(`/v1/accounts/${account}/positions/${again.body.positionId}/close`, {});
  });

  it('places a pending order, which the sync route brings into the account book', async () => {
    const placed = await api.post(`/v1/accounts/${account}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.2, type: 'limit', price: 0.9 });
    expect(placed.status).toBe(201);
    expect(placed.body).toEqual({ orderId: expect.any(String) });
    expect((await api.get(`/v1/accounts/${account}/orders`)).body.items).toEqual([]);

    const synced = await api.post(`/v1/accounts/${account}/sync`);
    expect(synced.status).toBe(202);
    expect(synced.body).toMatchObject({ id: account, status: 'connected', balance: expect.any(Number), lastSyncAt: expect.any(String) });

    const orders = await api.get(`/v1/accounts/${account}/orders`);
    expect(orders.status).toBe(200);
    const order = orders.body.items.find((candidate: { id: string }) => candidate.id === placed.body.orderId);
    expect(order).toMatchObject({ symbol: 'EURUSD', side: 'buy', type: 'limit', volume: 0.2, price: 0.9, createdAt: expect.any(String) });
    for (const item of orders.body.items) expect(keysWithin(item, contractKeys.order)).toEqual([]);

    const positions = await api.get(`/v1/accounts/${account}/positions`);
    expect(positions.body.items.length).toBeGreaterThan(0);
    for (const item of positions.body.items) expect(keysWithin(item, contractKeys.position)).toEqual([]);
  });

  it('cancels a pending order, and a second cancel finds nothing', async () => {
    const placed = await api.post(`/v1/accounts/${account}/orders`, { symbol: 'GBPUSD', side: 'sell', volume: 0.1, type: 'limit', price: 2.5 });
    expect((await api.delete(`/v1/accounts/${account}/orders/${placed.body.orderId}`)).status).toBe(204);
    expect(system.market.getPendingOrders(account).some((order) => order.id === placed.body.orderId)).toBe(false);
    const again = await api.delete(`/v1/accounts/${account}/orders/${placed.body.orderId}`);
    expect(again.status).toBe(404);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
  });

  it('sets and removes stop levels of a position (null removes, a level left out stays)', async () => {
    const { body } = await api.post(`/v1/accounts/${account}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    const position = () => system.market.getPositions(account).find((candidate) => candidate.id === body.positionId)!;
    expect((await api.patch(`/v1/accounts/${account}/positions/${body.positionId}`, { stopLoss: 1.0, takeProfit: 1.5 })).status).toBe(204);
    expect(position()).toMatchObject({ stopLoss: 1.0, takeProfit: 1.5 });
    expect((await api.patch(`/v1/accounts/${account}/positions/${body.positionId}`, { stopLoss: null })).status).toBe(204);
    expect(position().stopLoss).toBeUndefined();
    expect(position().takeProfit).toBe(1.5);
    expect((await api.patch(`/v1/accounts/${account}/positions/999999999`, { stopLoss: 1.0 })).status).toBe(404);
    const empty = await api.patch(`/v1/accounts/${account}/positions/${body.positionId}`, {});
    expect(empty.status).toBe(400);
    await api.post(`/v1/accounts/${account}/positions/${body.positionId}/close`, {});
  });

  it('closes part of a position, then the rest, and lists both closes as closed trades', async () => {
    const opened = await api.post(`/v1/accounts/${account}/orders`, { symbol: 'USDJPY', side: 'sell', volume: 0.3 });
    const openPrice = system.market.getPositions(account).find((position) => position.id === opened.body.positionId)!.openPrice;
    const partial = await api.post(`/v1/accounts/${account}/positions/${opened.body.positionId}/close`, { volume: 0.1 });
    expect(partial.status).toBe(200);
    expect(partial.body).toMatchObject({ positionId: opened.body.positionId, volume: 0.1, price: expect.any(Number) });
    const rest = await api.post(`/v1/accounts/${account}/positions/${opened.body.positionId}/close`, {});
    expect(rest.body).toMatchObject({ volume: 0.2 });
    expect((await api.post(`/v1/accounts/${account}/positions/${opened.body.positionId}/close`, {})).status).toBe(404);

    // The history is what the sync stored: the next pass that reads the account brings the closes in.
    await system.syncNow(true);
    const trades = await api.get(`/v1/accounts/${account}/trades`);
    expect(trades.status).toBe(200);
    const closes = trades.body.items.filter((trade: { positionId: string }) => trade.positionId === opened.body.positionId);
    expect(closes).toHaveLength(2);
    expect(closes.map((trade: { volume: number }) => trade.volume)).toEqual([0.2, 0.1]);
    for (const trade of closes) {
      expect(trade).toMatchObject({ symbol: 'USDJPY', side: 'sell', openPrice, closePrice: expect.any(Number), profit: expect.any(Number) });
      expect(keysWithin(trade, contractKeys.trade)).toEqual([]);
      expect(Date.parse(trade.openedAt)).toBeLessThanOrEqual(Date.parse(trade.closedAt));
    }
  });

  it('answers 422 with the BROKER_ code and the refusal in words when the broker refuses', async () => {
    await api.post(`/local/simulator/accounts/${account}/faults`, { rejectNext: 1, code: 'NO_MONEY' });
    const refused = await api.post(`/v1/accounts/${account}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    expect(refused.status).toBe(422);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body).toMatchObject({
      type: 'urn:mt-copier:problem:BROKER_NO_MONEY',
      status: 422,
      code: 'BROKER_NO_MONEY',
      detail: 'The account has not enough free margin for this order',
    });

    const tooSmall = await api.post(`/v1/accounts/${account}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.001 });
    expect(tooSmall.status).toBe(422);
    expect(tooSmall.body.code).toBe('BROKER_INVALID_VOLUME');
    const unknown = await api.post(`/v1/accounts/${account}/orders`, { symbol: 'NOPE', side: 'buy', volume: 0.1 });
    expect(unknown.body).toMatchObject({ code: 'BROKER_UNKNOWN_SYMBOL', detail: 'The broker does not offer this symbol on this account' });
  });

  it('answers with the position the broker made when the answer to the order was lost (found by client id)', async () => {
    const before = system.market.getPositions(account).length;
    await api.post(`/local/simulator/accounts/${account}/faults`, { timeoutAfterExecuteNext: 1 });
    const placed = await api.post(`/v1/accounts/${account}/orders`, { symbol: 'EURUSD', side: 'sell', volume: 0.1 });
    expect(placed.status).toBe(201);
    expect(system.market.getPositions(account)).toHaveLength(before + 1);
    expect(system.market.getPositions(account).some((position) => position.id === placed.body.positionId)).toBe(true);
    await api.post(`/v1/accounts/${account}/positions/${placed.body.positionId}/close`, {});
  });

  it('validates a trade request before reaching the broker', async () => {
    const cases: [unknown, string][] = [
      [{ symbol: 'EURUSD', side: 'buy', volume: -0.1 }, 'volume'],
      [{ symbol: 'EURUSD', side: 'buy', volume: 0.1, type: 'limit' }, 'price'],
      [{ symbol: 'EURUSD', side: 'buy', volume: 0.1, price: 1.1 }, 'price'],
      [{ symbol: 'EURUSD', side: 'long', volume: 0.1 }, 'side'],
      [{ symbol: 'EURUSD', side: 'buy', volume: 0.1, comment: 'hi' }, 'comment'],
    ];
    for (const [body, field] of cases) {
      const response = await api.post(`/v1/accounts/${account}/orders`, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.errors.map((error: { path: string }) => error.path)).toContain(field);
    }
  });

  it('lists trades of a range only, refuses a reversed or too long range, and pages with a cursor', async () => {
    const future = await api.get(`/v1/accounts/${account}/trades?from=2999-01-01T00:00:00Z&to=2999-02-01T00:00:00Z`);
    expect(future.body.items).toEqual([]);
    const reversed = await api.get(`/v1/accounts/${account}/trades?from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z`);
    expect(reversed.status).toBe(400);
    expect(reversed.body.errors[0].path).toBe('from');
    const long = await api.get(`/v1/accounts/${account}/trades?from=2022-01-01T00:00:00Z&to=2024-01-01T00:00:00Z`);
    expect(long.status).toBe(400);
    expect(long.body.errors[0].path).toBe('from');
    const garbage = await api.get(`/v1/accounts/${account}/trades?from=yesterday`);
    expect(garbage.status).toBe(400);
    expect(garbage.body.errors[0].path).toBe('from');

    const all = (await api.get(`/v1/accounts/${account}/trades?limit=100`)).body.items as { id: string }[];
    expect(all.length).toBeGreaterThanOrEqual(3);
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.get(`/v1/accounts/${account}/trades?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      paged.push(...page.body.items.map((trade: { id: string }) => trade.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all.map((trade) => trade.id));
    const tampered = await api.get(`/v1/accounts/${account}/trades?cursor=${Buffer.from('{"pk":"TENANT#x"}').toString('base64url')}`);
    expect(tampered.status).toBe(400);
    expect(tampered.body.errors[0].path).toBe('cursor');
  });

  it('inserts demo trades that the trades route lists with the broker history', async () => {
    const inserted = await api.post('/v1/trades/demo', { accountId: account });
    expect(inserted.status).toBe(201);
    expect(inserted.body.items.length).toBeGreaterThanOrEqual(3);
    for (const trade of inserted.body.items) {
      expect(keysWithin(trade, contractKeys.trade)).toEqual([]);
      expect(Date.parse(trade.openedAt)).toBeLessThan(Date.parse(trade.closedAt));
    }
    const listed = (await api.get(`/v1/accounts/${account}/trades?limit=100`)).body.items.map((trade: { id: string }) => trade.id);
    for (const trade of inserted.body.items) expect(listed).toContain(trade.id);
    const closedAt = listed.map((id: string) => Date.parse((inserted.body.items.find((t: { id: string }) => t.id === id) ?? { closedAt: '' }).closedAt));
    expect(closedAt.filter((time: number) => !Number.isNaN(time))).toEqual([...closedAt.filter((time: number) => !Number.isNaN(time))].sort((a, b) => b - a));

    expect((await api.post('/v1/trades/demo', { accountId: 'acc_missing' })).status).toBe(404);
  });

  it('lists only the demo trades of an account whose platform this deployment cannot reach', async () => {
    const mt5 = await api.post('/v1/accounts', { name: 'mt5', platform: 'mt5', login: '5001', password: 'mt5-password', server: 'Broker-Demo' });
    expect(mt5.body.status).toBe('error');
    expect((await api.get(`/v1/accounts/${mt5.body.id}/trades`)).body.items).toEqual([]);
    await api.post('/v1/trades/demo', { accountId: mt5.body.id });
    expect((await api.get(`/v1/accounts/${mt5.body.id}/trades`)).body.items.length).toBeGreaterThan(0);
    const trade = await api.post(`/v1/accounts/${mt5.body.id}/orders`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    // Not a refusal by the broker: no broker to reach. 503, in words, with when to come back.
    expect(trade.status).toBe(503);
    expect(trade.body).toMatchObject({ title: 'Broker unavailable', code: 'BROKER_NOT_CONFIGURED', detail: 'This platform is not set up on this server yet' });
    expect(trade.headers.get('retry-after')).toBe('60');
  });
});

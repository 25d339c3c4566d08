import { describe, expect, it } from 'vitest';
import { SimulatedMarket } from '../../local/simulated-broker/simulated-market';
import { createSimulatorRoutes } from '../../local/simulator-routes';

const setup = () => {
  const market = new SimulatedMarket({ now: () => new Date('2024-05-01T10:00:00.000Z') });
  market.openAccount('acc-1');
  market.openAccount('not-simulated-in-api');
  const simulated = new Set(['acc-1', 'acc-missing-in-market']);
  const handle = createSimulatorRoutes(market, async (accountId) => simulated.has(accountId));
  return { market, handle };
};

interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

const expectProblem = (response: { status: number; body: unknown } | undefined, status: number): Problem => {
  expect(response?.status).toBe(status);
  const body = response?.body as Problem;
  expect(body).toMatchObject({ type: `urn:mt-copier:problem:${body.code}`, status, code: expect.stringMatching(/^[A-Z][A-Z0-9_]+$/) });
  expect(typeof body.title).toBe('string');
  expect(JSON.stringify(body)).not.toMatch(/stack|\.ts:\d+/);
  return body;
};

describe('simulator routes', () => {
  it('leaves other paths to the rest of the server', async () => {
    const { handle } = setup();
    expect(await handle({ method: 'GET', path: '/v1/accounts', body: undefined })).toBeUndefined();
    expect(await handle({ method: 'GET', path: '/local/simulator/nothing-here', body: undefined })).toBeUndefined();
  });

  it('answers 405 for a known path with another method', async () => {
    const { handle } = setup();
    expectProblem(await handle({ method: 'DELETE', path: '/local/simulator/accounts/acc-1', body: undefined }), 405);
  });

  it('defines a symbol with PUT /local/simulator/symbols/{symbol}', async () => {
    const { market, handle } = setup();
    const response = await handle({
      method: 'PUT',
      path: '/local/simulator/symbols/AUDUSD',
      body: { bid: 0.66, ask: 0.6601, volumeStep: 0.1, volumeMin: 0.1 },
    });
    expect(response?.status).toBe(200);
    expect(response?.body).toMatchObject({ symbol: 'AUDUSD', bid: 0.66, ask: 0.6601, volumeStep: 0.1, digits: 5 });
    expect(market.getSymbolSpec('AUDUSD')?.volumeMin).toBe(0.1);
  });

  it('reprices a symbol and fills what the new price reaches', async () => {
    const { market, handle } = setup();
    market.traderTrade('acc-1', { symbol: 'EURUSD', side: 'buy', type: 'limit', volume: 0.1, price: 1.08 });
    await handle({ method: 'PUT', path: '/local/simulator/symbols/EURUSD', body: { bid: 1.0799, ask: 1.08 } });
    expect(market.getPositions('acc-1')).toHaveLength(1);
  });

  it('rejects an invalid symbol definition with 400 naming each bad field', async () => {
    const { handle } = setup();
    const body = expectProblem(
      await handle({
        method: 'PUT',
        path: '/local/simulator/symbols/EURUSD',
        body: { bid: -1, ask: 1.1, digits: 2.5, spread: 3 },
      }),
      400,
    );
    expect(body.title).toBe('Invalid request');
    expect(body.errors?.map((error) => error.path).sort()).toEqual(['bid', 'digits', 'spread']);
  });

  it('rejects an ask below the bid with 400 on ask', async () => {
    const { handle } = setup();
    const body = expectProblem(await handle({ method: 'PUT', path: '/local/simulator/symbols/EURUSD', body: { bid: 1.2, ask: 1.1 } }), 400);
    expect(body.errors).toEqual([{ path: 'ask', message: expect.any(String) }]);
  });

  it("returns the broker's own truth of an account", async () => {
    const { market, handle } = setup();
    market.traderTrade('acc-1', { symbol: 'EURUSD', side: 'sell', volume: 0.1 });
    const response = await handle({ method: 'GET', path: '/local/simulator/accounts/acc-1', body: undefined });
    expect(response?.status).toBe(200);
    expect(response?.body).toMatchObject({
      balance: 10_000,
      equity: 9_999,
      positions: [{ symbol: 'EURUSD', side: 'sell', volume: 0.1 }],
      orders: [],
    });
  });

  it('answers 404 for an account the API does not know as simulated, or the market does not have', async () => {
    const { handle } = setup();
    for (const accountId of ['unknown', 'not-simulated-in-api', 'acc-missing-in-market']) {
      expectProblem(await handle({ method: 'GET', path: `/local/simulator/accounts/${accountId}`, body: undefined }), 404);
      expectProblem(
        await handle({
          method: 'POST',
          path: `/local/simulator/accounts/${accountId}/trades`,
          body: { symbol: 'EURUSD', side: 'buy', volume: 0.1 },
        }),
        404,
      );
    }
  });

  it('places a terminal trade and a pending order with POST .../trades', async () => {
    const { market, handle } = setup();
    const market_ = await handle({
      method: 'POST',
      path: '/local/simulator/accounts/acc-1/trades',
      body: { symbol: 'EURUSD', side: 'buy', volume: 0.2, stopLoss: 1.08 },
    });
    expect(market_?.status).toBe(201);
    expect(market_?.body).toMatchObject({ positionId: expect.any(String), price: 1.0851 });
    const pending = await handle({
      method: 'POST',
      path: '/local/simulator/accounts/acc-1/trades',
      body: { symbol: 'XAUUSD', side: 'sell', type: 'limit', volume: 0.01, price: 2400 },
    });
    expect(pending?.body).toMatchObject({ orderId: expect.any(String) });
    expect(market.getPositions('acc-1')).toMatchObject([{ volume: 0.2, stopLoss: 1.08 }]);
    expect(market.getPendingOrders('acc-1')).toMatchObject([{ symbol: 'XAUUSD', price: 2400 }]);
  });

  it('rejects a bad trade body with 400 naming the field', async () => {
    const { market, handle } = setup();
    const negative = expectProblem(
      await handle({
        method: 'POST',
        path: '/local/simulator/accounts/acc-1/trades',
        body: { symbol: 'EURUSD', side: 'buy', volume: -0.1 },
      }),
      400,
    );
    expect(negative.errors?.map((error) => error.path)).toEqual(['volume']);
    expect(negative.detail).toContain('volume');

    const several = expectProblem(
      await handle({
        method: 'POST',
        path: '/local/simulator/accounts/acc-1/trades',
        body: { symbol: 'EURUSD', side: 'long', volume: '1', clientId: 'x' },
      }),
      400,
    );
    expect(several.errors?.map((error) => error.path).sort()).toEqual(['clientId', 'side', 'volume']);

    const noPrice = expectProblem(
      await handle({
        method: 'POST',
        path: '/local/simulator/accounts/acc-1/trades',
        body: { symbol: 'EURUSD', side: 'buy', type: 'stop', volume: 0.1 },
      }),
      400,
    );
    expect(noPrice.errors?.map((error) => error.path)).toEqual(['price']);
    expect(market.getPositions('acc-1')).toEqual([]);
  });

  it('maps a broker rejection to 422 with its BROKER_ code and the reason in words', async () => {
    const { handle } = setup();
    const volume = expectProblem(
      await handle({
        method: 'POST',
        path: '/local/simulator/accounts/acc-1/trades',
        body: { symbol: 'EURUSD', side: 'buy', volume: 0.015 },
      }),
      422,
    );
    expect(volume).toMatchObject({ code: 'BROKER_INVALID_VOLUME', detail: expect.stringMatching(/minimum, maximum or step/) });
    const money = expectProblem(
      await handle({
        method: 'POST',
        path: '/local/simulator/accounts/acc-1/trades',
        body: { symbol: 'XAUUSD', side: 'buy', volume: 50 },
      }),
      422,
    );
    expect(money).toMatchObject({ code: 'BROKER_NO_MONEY', detail: expect.stringMatching(/not enough free margin/) });
    const missing = expectProblem(await handle({ method: 'POST', path: '/local/simulator/accounts/acc-1/positions/999/close', body: {} }), 422);
    expect(missing.code).toBe('BROKER_POSITION_NOT_FOUND');
  });

  it('closes part of a position and then the rest with POST .../positions/{id}/close', async () => {
    const { market, handle } = setup();
    const { positionId = '' } = market.traderTrade('acc-1', { symbol: 'EURUSD', side: 'buy', volume: 0.5 });
    const partial = await handle({
      method: 'POST',
      path: `/local/simulator/accounts/acc-1/positions/${positionId}/close`,
      body: { volume: 0.2 },
    });
    expect(partial).toEqual({ status: 200, body: { positionId, price: 1.085, volume: 0.2 } });
    expect(market.getPositions('acc-1')[0]?.volume).toBe(0.3);
    const rest = await handle({
      method: 'POST',
      path: `/local/simulator/accounts/acc-1/positions/${positionId}/close`,
      body: undefined,
    });
    expect(rest?.status).toBe(200);
    expect(market.getPositions('acc-1')).toEqual([]);
  });

  it('rejects a bad close volume with 400', async () => {
    const { handle } = setup();
    const body = expectProblem(await handle({ method: 'POST', path: '/local/simulator/accounts/acc-1/positions/1/close', body: { volume: 0 } }), 400);
    expect(body.errors?.map((error) => error.path)).toEqual(['volume']);
  });

  it('changes stops with PATCH .../positions/{id}, keeping an omitted one and removing a null one', async () => {
    const { market, handle } = setup();
    const { positionId = '' } = market.traderTrade('acc-1', {
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      stopLoss: 1.08,
      takeProfit: 1.09,
    });
    const response = await handle({
      method: 'PATCH',
      path: `/local/simulator/accounts/acc-1/positions/${positionId}`,
      body: { stopLoss: 1.081 },
    });
    expect(response?.status).toBe(200);
    expect(response?.body).toMatchObject({ id: positionId, stopLoss: 1.081, takeProfit: 1.09 });
    await handle({
      method: 'PATCH',
      path: `/local/simulator/accounts/acc-1/positions/${positionId}`,
      body: { takeProfit: null },
    });
    const [position] = market.getPositions('acc-1');
    expect(position?.stopLoss).toBe(1.081);
    expect(position?.takeProfit).toBeUndefined();
  });

  it('rejects a bad stop level with 400 and a wrong-side one with 422 INVALID_STOPS', async () => {
    const { market, handle } = setup();
    const { positionId = '' } = market.traderTrade('acc-1', { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    const bad = expectProblem(
      await handle({
        method: 'PATCH',
        path: `/local/simulator/accounts/acc-1/positions/${positionId}`,
        body: { stopLoss: 'low' },
      }),
      400,
    );
    expect(bad.errors?.map((error) => error.path)).toEqual(['stopLoss']);
    const wrongSide = expectProblem(
      await handle({
        method: 'PATCH',
        path: `/local/simulator/accounts/acc-1/positions/${positionId}`,
        body: { stopLoss: 1.2 },
      }),
      422,
    );
    expect(wrongSide).toMatchObject({ code: 'BROKER_INVALID_STOPS', detail: expect.stringMatching(/wrong side of the price/) });
  });

  it('sets faults with POST .../faults', async () => {
    const { market, handle } = setup();
    const response = await handle({
      method: 'POST',
      path: '/local/simulator/accounts/acc-1/faults',
      body: { rejectNext: 2, code: 'NO_MONEY', latencyMs: 5 },
    });
    expect(response).toEqual({
      status: 200,
      body: { rejectNext: 2, code: 'NO_MONEY', timeoutAfterExecuteNext: 0, partialFillNext: 0, latencyMs: 5 },
    });
    expect(market.getFaults('acc-1').rejectNext).toBe(2);
  });

  it('rejects unknown fault codes and negative counts with 400', async () => {
    const { market, handle } = setup();
    const body = expectProblem(
      await handle({
        method: 'POST',
        path: '/local/simulator/accounts/acc-1/faults',
        body: { rejectNext: -1, code: 'EXPLODE' },
      }),
      400,
    );
    expect(body.errors?.map((error) => error.path).sort()).toEqual(['code', 'rejectNext']);
    expect(market.getFaults('acc-1').rejectNext).toBe(0);
  });

  it('decodes path parameters and ignores a query string', async () => {
    const { market } = setup();
    market.openAccount('acc 2');
    const handleAll = createSimulatorRoutes(market, async () => true);
    const response = await handleAll({ method: 'GET', path: '/local/simulator/accounts/acc%202?x=1', body: undefined });
    expect(response?.status).toBe(200);
  });
});

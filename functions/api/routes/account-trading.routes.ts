import { z } from 'zod';
import { accountEquity, accountStats, listClosedTrades } from '../../../shared/use-cases/account-history';
import { cancelOrder, closePosition, listPendingOrders, modifyPosition, placeTrade } from '../../../shared/use-cases/trade-accounts';
import { defineRoute } from '../http';
import { pageOf } from '../schemas/common.schema';
import {
  closedPositionSchema,
  closedTradeSchema,
  closePositionBody,
  modifyPositionBody,
  pendingOrderSchema,
  placedTradeSchema,
  placeOrderBody,
  equityPointSchema,
  equityQuery,
  statsQuery,
  tradeStatsSchema,
  tradesQuery,
} from '../schemas/trading.schema';

/** Orders, trades and positions of one account, read from its book or made at its broker. */
export const accountTradingRoutes = [
  defineRoute({
    method: 'GET',
    path: '/v1/accounts/{id}/orders',
    summary: 'Pending orders as last synced',
    tag: 'Trading',
    auth: true,
    response: { status: 200, schema: pageOf(pendingOrderSchema), description: 'Pending orders' },
    handle: async ({ runtime, tenantId, params }) => ({ status: 200, body: await listPendingOrders(runtime, tenantId, params.id) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/accounts/{id}/trades',
    summary: 'Closed trades, newest first, as the sync stored them (and demo trades): never waits on the broker',
    tag: 'Trading',
    auth: true,
    query: tradesQuery,
    response: { status: 200, schema: pageOf(closedTradeSchema), description: 'A page of closed trades' },
    handle: async ({ runtime, tenantId, params, query }) => ({ status: 200, body: await listClosedTrades(runtime, tenantId, params.id, query) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/accounts/{id}/stats',
    summary: 'Statistics of the closed trades in the range, and the drawdown of the equity curve',
    tag: 'Trading',
    auth: true,
    query: statsQuery,
    response: { status: 200, schema: tradeStatsSchema, description: 'The statistics' },
    handle: async ({ runtime, tenantId, params, query }) => ({ status: 200, body: await accountStats(runtime, tenantId, params.id, query) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/accounts/{id}/equity',
    summary: 'Balance and equity points for a chart, an hour or a day apart',
    tag: 'Trading',
    auth: true,
    query: equityQuery,
    response: { status: 200, schema: z.object({ items: z.array(equityPointSchema) }), description: 'Points, oldest first' },
    handle: async ({ runtime, tenantId, params, query }) => ({ status: 200, body: await accountEquity(runtime, tenantId, params.id, query) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/accounts/{id}/orders',
    summary: 'Place a trade on the account (on a master, it is copied like any other)',
    tag: 'Trading',
    auth: true,
    trading: true,
    body: placeOrderBody,
    response: { status: 201, schema: placedTradeSchema, description: 'The position or pending order the broker made' },
    handle: async ({ runtime, tenantId, params, body, idempotency }) => ({
      status: 201,
      body: await placeTrade(runtime, tenantId, params.id, body, { idempotency }),
    }),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/v1/accounts/{id}/positions/{positionId}',
    summary: "Set or remove (null) a position's stop loss and take profit",
    tag: 'Trading',
    auth: true,
    trading: true,
    body: modifyPositionBody,
    response: { status: 204, description: 'Changed' },
    handle: async ({ runtime, tenantId, params, body, idempotency }) => {
      await modifyPosition(runtime, tenantId, params.id, params.positionId, body, { idempotency });
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/accounts/{id}/positions/{positionId}/close',
    summary: 'Close a position, or part of it when volume is given',
    tag: 'Trading',
    auth: true,
    trading: true,
    body: closePositionBody,
    response: { status: 200, schema: closedPositionSchema, description: 'Closed; the price and volume of the close' },
    handle: async ({ runtime, tenantId, params, body, idempotency }) => ({
      status: 200,
      body: await closePosition(runtime, tenantId, params.id, params.positionId, body, { idempotency }),
    }),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/v1/accounts/{id}/orders/{orderId}',
    summary: 'Cancel a pending order',
    tag: 'Trading',
    auth: true,
    trading: true,
    response: { status: 204, description: 'Cancelled' },
    handle: async ({ runtime, tenantId, params, idempotency }) => {
      await cancelOrder(runtime, tenantId, params.id, params.orderId, { idempotency });
      return { status: 204 };
    },
  }),
];

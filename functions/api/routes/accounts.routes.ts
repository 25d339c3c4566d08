import { z } from 'zod';
import { toPublicAccount } from '../../../shared/domain/account';
import { createAccount, deleteAccount, getAccount, listAccounts, updateAccount } from '../../../shared/use-cases/manage-accounts';
import { defineRoute } from '../http';
import { accountSchema, createAccountBody, updateAccountBody } from '../schemas/account.schema';
import { listQuery, pageOf } from '../schemas/common.schema';

const positionSchema = z
  .object({
    id: z.string(),
    symbol: z.string(),
    side: z.enum(['buy', 'sell']),
    volume: z.number(),
    openPrice: z.number(),
    stopLoss: z.number().optional(),
    takeProfit: z.number().optional(),
    profit: z.number().optional(),
    openedAt: z.string(),
    comment: z.string().optional(),
  })
  .meta({ id: 'Position' });

export const accountRoutes = [
  defineRoute({
    method: 'POST',
    path: '/v1/accounts',
    summary: 'Connect a trading account',
    tag: 'Accounts',
    auth: true,
    body: createAccountBody,
    response: { status: 201, schema: accountSchema, description: 'The account; its password is never returned' },
    handle: async ({ runtime, tenantId, body }) => ({ status: 201, body: await createAccount(runtime, tenantId, body) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/accounts',
    summary: 'List accounts',
    tag: 'Accounts',
    auth: true,
    query: listQuery,
    response: { status: 200, schema: pageOf(accountSchema), description: 'A page of accounts' },
    handle: async ({ runtime, tenantId, query }) => ({ status: 200, body: await listAccounts(runtime, tenantId, query) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/accounts/{id}',
    summary: 'Get an account',
    tag: 'Accounts',
    auth: true,
    response: { status: 200, schema: accountSchema, description: 'The account' },
    handle: async ({ runtime, tenantId, params }) => ({ status: 200, body: toPublicAccount(await getAccount(runtime, tenantId, params.id!)) }),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/v1/accounts/{id}',
    summary: 'Rename an account, or change its server or password',
    tag: 'Accounts',
    auth: true,
    body: updateAccountBody,
    response: { status: 200, schema: accountSchema, description: 'The account after the change' },
    handle: async ({ runtime, tenantId, params, body }) => ({ status: 200, body: await updateAccount(runtime, tenantId, params.id!, body) }),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/v1/accounts/{id}',
    summary: 'Delete an account (409 while a copy mapping uses it)',
    tag: 'Accounts',
    auth: true,
    response: { status: 204, description: 'Deleted' },
    handle: async ({ runtime, tenantId, params }) => {
      await deleteAccount(runtime, tenantId, params.id!);
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/accounts/{id}/positions',
    summary: 'Open positions as last synced',
    tag: 'Accounts',
    auth: true,
    response: { status: 200, schema: pageOf(positionSchema), description: 'Open positions' },
    handle: async ({ runtime, tenantId, params }) => {
      await getAccount(runtime, tenantId, params.id!);
      const book = await runtime.books.get(tenantId, params.id!);
      const items = (book?.positions ?? []).map(({ rev: _r, detectedAt: _d, clientId: _c, ...position }) => position);
      return { status: 200, body: { items } };
    },
  }),
];

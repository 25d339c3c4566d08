import { z } from 'zod';
import { authorizeAccountAgain, createAccount, deleteAccount, listAccounts, showAccount, updateAccount } from '../../../shared/use-cases/manage-accounts';
import { syncAccountNow } from '../../../shared/use-cases/sync-account-now';
import { listPositions } from '../../../shared/use-cases/trade-accounts';
import { defineRoute } from '../http';
import { accountSchema, createAccountBody, updateAccountBody } from '../schemas/account.schema';
import { listQuery, pageOf } from '../schemas/common.schema';
import { positionSchema } from '../schemas/trading.schema';

export const accountRoutes = [
  defineRoute({
    method: 'POST',
    path: '/v1/accounts',
    reachesBroker: true,
    summary: 'Connect a trading account',
    tag: 'Accounts',
    auth: true,
    body: createAccountBody,
    response: { status: 201, schema: accountSchema, description: 'The account; its password is never returned' },
    problems: [
      { status: 409, description: 'The tenant already has an account on this (platform, server, login)' },
      { status: 422, description: 'The tenant has reached its limit of accounts (MAX_ACCOUNTS_PER_TENANT)' },
    ],
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
    handle: async ({ runtime, tenantId, params }) => ({ status: 200, body: await showAccount(runtime, tenantId, params.id) }),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/v1/accounts/{id}',
    reachesBroker: true,
    summary: 'Rename an account, or change its server or password',
    tag: 'Accounts',
    auth: true,
    body: updateAccountBody,
    response: { status: 200, schema: accountSchema, description: 'The account after the change' },
    problems: [{ status: 409, description: 'The new server makes it the same broker login as another account of the tenant' }],
    handle: async ({ runtime, tenantId, params, body }) => ({ status: 200, body: await updateAccount(runtime, tenantId, params.id, body) }),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/v1/accounts/{id}',
    reachesBroker: true,
    summary: 'Delete an account (409 while a copy mapping uses it)',
    tag: 'Accounts',
    auth: true,
    response: { status: 204, description: 'Deleted' },
    problems: [{ status: 409, description: 'A copy mapping uses the account' }],
    handle: async ({ runtime, tenantId, params }) => {
      await deleteAccount(runtime, tenantId, params.id);
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/accounts/{id}/authorization',
    summary: 'A new authorizationUrl for a cTrader account (its grant revoked, or its consent not completed)',
    tag: 'Accounts',
    auth: true,
    response: {
      status: 200,
      schema: z.object({ authorizationUrl: z.string().url() }).meta({ id: 'AccountAuthorization' }),
      description: "cTrader's consent page for the account: good once, for an hour",
    },
    problems: [{ status: 422, description: 'The account is not a cTrader account (NOT_OAUTH_ACCOUNT)' }],
    handle: async ({ runtime, tenantId, params }) => ({ status: 200, body: await authorizeAccountAgain(runtime, tenantId, params.id) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/accounts/{id}/positions',
    summary: 'Open positions as last synced',
    tag: 'Accounts',
    auth: true,
    response: { status: 200, schema: pageOf(positionSchema), description: 'Open positions' },
    handle: async ({ runtime, tenantId, params }) => ({ status: 200, body: await listPositions(runtime, tenantId, params.id) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/accounts/{id}/sync',
    reachesBroker: true,
    summary: 'Sync the account now instead of at the next tick (a master change found is copied)',
    tag: 'Accounts',
    auth: true,
    response: { status: 202, schema: accountSchema, description: 'Synced; the account with its fresh status and funds' },
    handle: async ({ runtime, tenantId, params }) => ({ status: 202, body: await syncAccountNow(runtime, tenantId, params.id) }),
  }),
];

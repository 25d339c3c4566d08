import { z } from 'zod';
import { accountStatuses } from '../../../shared/domain/account';
import { completeCtraderAuthorization } from '../../../shared/use-cases/ctrader-authorization';
import { defineRoute, type Route } from '../http';
import { buildOpenApiDocument, type OpenApiDocument } from '../openapi';
import { accountTradingRoutes } from './account-trading.routes';
import { accountRoutes } from './accounts.routes';
import { copyMappingRoutes } from './copy-mappings.routes';
import { protectionRoutes } from './protection.routes';
import { tenantRoutes } from './tenant.routes';

const healthRoute = defineRoute({
  method: 'GET',
  path: '/health',
  summary: 'Liveness',
  tag: 'Service',
  auth: false,
  response: { status: 200, schema: z.object({ status: z.literal('ok') }), description: 'The service answers' },
  handle: async () => ({ status: 200, body: { status: 'ok' } }),
});

/**
 * Where cTrader sends the trader back after consent: no token (a browser redirect), the state
 * names the account. Its answer says how the account stands.
 */
const ctraderCallbackRoute = defineRoute({
  method: 'GET',
  path: '/v1/oauth/ctrader/callback',
  summary: "cTrader's OAuth redirect: completes the authorization of a cTrader account",
  tag: 'Accounts',
  auth: false,
  query: z.looseObject({
    code: z.string().min(1).max(2048).optional().describe("cTrader's authorization code"),
    state: z.string().min(1).max(256).optional().describe('The state handed out with `authorizationUrl`'),
    error: z.string().max(256).optional().describe('Set by cTrader when the trader declined'),
  }),
  response: {
    status: 200,
    schema: z.object({ accountId: z.string(), status: z.enum(accountStatuses), statusDetail: z.string().optional() }).meta({ id: 'CtraderAuthorization' }),
    description: 'The account after the authorization: `connected`, or `error` with the reason',
  },
  problems: [
    { status: 422, description: 'cTrader is not configured on this deployment (BROKER_NOT_CONFIGURED)' },
    { status: 503, description: 'cTrader could not be reached to exchange the code' },
  ],
  handle: async ({ runtime, query }) => ({ status: 200, body: await completeCtraderAuthorization(runtime, query) }),
});

let document: OpenApiDocument | undefined;

const openApiRoute = defineRoute({
  method: 'GET',
  path: '/openapi.json',
  summary: 'This API as an OpenAPI 3.1 document',
  tag: 'Service',
  auth: false,
  response: { status: 200, schema: z.looseObject({ openapi: z.literal('3.1.0') }), description: 'The OpenAPI document' },
  handle: async () => ({ status: 200, body: (document ??= buildOpenApiDocument(apiRoutes)) }),
});

/** Every route of the public API, in the order the router tries them. */
export const apiRoutes: Route[] = [
  healthRoute,
  openApiRoute,
  ctraderCallbackRoute,
  ...tenantRoutes,
  ...accountRoutes,
  ...accountTradingRoutes,
  ...protectionRoutes,
  ...copyMappingRoutes,
];

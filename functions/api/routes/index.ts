import { z } from 'zod';
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
  ...tenantRoutes,
  ...accountRoutes,
  ...accountTradingRoutes,
  ...protectionRoutes,
  ...copyMappingRoutes,
];

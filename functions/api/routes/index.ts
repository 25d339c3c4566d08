import { z } from 'zod';
import { defineRoute, type Route } from '../http';
import { accountRoutes } from './accounts.routes';
import { copyMappingRoutes } from './copy-mappings.routes';

const healthRoute = defineRoute({
  method: 'GET',
  path: '/health',
  summary: 'Liveness',
  tag: 'Service',
  auth: false,
  response: { status: 200, schema: z.object({ status: z.literal('ok') }), description: 'The service answers' },
  handle: async () => ({ status: 200, body: { status: 'ok' } }),
});

/** Every route of the public API, in the order the router tries them. */
export const apiRoutes: Route[] = [healthRoute, ...accountRoutes, ...copyMappingRoutes];

import middy from '@middy/core';
import type { Runtime } from '../../shared/runtime/runtime';
import { lambdaRuntime } from '../lambda-runtime';
import type { ApiEvent, ApiResult } from './http';
import { createRouter } from './router';
import { apiRoutes } from './routes';

/** The router of the runtime it was made for: a new runtime (a new MetaApi token) gets a new router. */
let routed: { runtime: Runtime; route: (event: ApiEvent) => Promise<ApiResult> } | undefined;

/** The HTTP API (payload 2.0); API Gateway's JWT authorizer has verified the token. */
export const handler = middy<ApiEvent, ApiResult>().handler(async (event) => {
  const runtime = await lambdaRuntime('api');
  if (routed?.runtime !== runtime) routed = { runtime, route: createRouter(apiRoutes, runtime, { corsOrigin: runtime.config.CORS_ORIGIN }) };
  return routed.route(event);
});

import middy from '@middy/core';
import { lambdaRuntime } from '../lambda-runtime';
import type { ApiEvent, ApiResult } from './http';
import { createRouter } from './router';
import { apiRoutes } from './routes';

let route: ((event: ApiEvent) => Promise<ApiResult>) | undefined;

/** The HTTP API (payload 2.0); API Gateway's JWT authorizer has verified the token. */
export const handler = middy<ApiEvent, ApiResult>().handler(async (event) => {
  if (!route) {
    const runtime = await lambdaRuntime('api');
    route = createRouter(apiRoutes, runtime, { corsOrigin: runtime.config.CORS_ORIGIN });
  }
  return route(event);
});

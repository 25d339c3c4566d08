import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { tracerFor } from '../../shared/adapters/tracing/xray-tracing';
import { loggerFor } from '../../shared/adapters/logging/powertools-log';
import type { Runtime } from '../../shared/runtime/runtime';
import { lambdaRuntime } from '../lambda-runtime';
import type { ApiEvent, ApiResult } from './http';
import { createRouter } from './router';
import { apiRoutes } from './routes';

/** The router of the runtime it was made for: a new runtime (a new MetaApi token) gets a new router. */
let routed: { runtime: Runtime; route: (event: ApiEvent) => Promise<ApiResult> } | undefined;

/** The HTTP API (payload 2.0); API Gateway's JWT authorizer has verified the token. */
export const handler = middy<ApiEvent, ApiResult>()
  // Every log line of the invocation carries its request id, cold start and function.
  .use(injectLambdaContext(loggerFor('api'), { resetKeys: true }))
  // A trace per invocation: the AWS SDK requests and the broker calls are its subsegments.
  .use(captureLambdaHandler(tracerFor('api'), { captureResponse: false }))
  .handler(async (event) => {
    const runtime = await lambdaRuntime('api');
    if (routed?.runtime !== runtime) routed = { runtime, route: createRouter(apiRoutes, runtime, { corsOrigin: runtime.config.CORS_ORIGIN }) };
    return routed.route(event);
  });

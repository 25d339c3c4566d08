import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { loggerFor, powertoolsLog } from '../../shared/adapters/logging/powertools-log';
import { tracerFor } from '../../shared/adapters/tracing/xray-tracing';
import { config } from '../../shared/config';
import { required } from '../../shared/domain/required';
import { type AccessTokenVerifier, accessTokenVerifier, authorizeConnection } from './connection-authorizer';

const SERVICE = 'events-authorizer';

/** Built at cold start; it keeps the pool's JWKS once fetched, for the container's life. */
let verifier: AccessTokenVerifier | undefined;

/** REQUEST authorizer of the live events WebSocket's `$connect` (identity source `route.request.querystring.token`). */
export const handler = middy<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult>()
  // The event is never logged: its query holds the token.
  .use(injectLambdaContext(loggerFor(SERVICE), { resetKeys: true }))
  .use(captureLambdaHandler(tracerFor(SERVICE), { captureResponse: false }))
  .handler((event) => {
    const settings = config();
    verifier ??= accessTokenVerifier(required(settings.USER_POOL_ID, 'USER_POOL_ID'), required(settings.USER_POOL_CLIENT_ID, 'USER_POOL_CLIENT_ID'));
    return authorizeConnection(verifier, event, powertoolsLog(SERVICE, loggerFor(SERVICE)));
  });

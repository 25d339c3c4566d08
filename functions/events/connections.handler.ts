import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { z } from 'zod';
import { loggerFor } from '../../shared/adapters/logging/powertools-log';
import { tracerFor } from '../../shared/adapters/tracing/xray-tracing';
import { liveEventsRuntime } from './live-events-runtime';

const SERVICE = 'events-connections';

/** `$connect` and `$disconnect` of the WebSocket API; the authorizer's context (its `tenantId`) comes with both. */
const connectionEventSchema = z.object({
  requestContext: z.object({
    routeKey: z.enum(['$connect', '$disconnect']),
    connectionId: z.string().min(1),
    authorizer: z
      .object({ tenantId: z.string().min(1) })
      .partial()
      .nullish(),
  }),
});

/**
 * Keeps the live events connections of each tenant: `$connect` (after the authorizer allowed
 * it) stores the connection under the token's tenant, `$disconnect` forgets it. A disconnect
 * that is never delivered (API Gateway's is best effort) is cleaned up by the first send that
 * finds the connection gone, or by the item's TTL.
 */
export const handler = middy<unknown, { statusCode: number }>()
  .use(injectLambdaContext(loggerFor(SERVICE), { resetKeys: true }))
  .use(captureLambdaHandler(tracerFor(SERVICE), { captureResponse: false }))
  .handler(async (event) => {
    const { connections, log } = liveEventsRuntime(SERVICE);
    const { routeKey, connectionId, authorizer } = connectionEventSchema.parse(event).requestContext;
    const tenantId = authorizer?.tenantId;
    if (!tenantId) {
      log.warn('live connection without a tenant', { routeKey, connectionId });
      return { statusCode: routeKey === '$connect' ? 403 : 200 };
    }
    if (routeKey === '$connect') await connections.put(tenantId, connectionId);
    else await connections.delete(tenantId, connectionId);
    log.info(routeKey === '$connect' ? 'live connection opened' : 'live connection closed', { tenantId, connectionId });
    return { statusCode: 200 };
  });

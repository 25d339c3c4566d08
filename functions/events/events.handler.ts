import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { ApiGatewayLiveConnections } from '../../shared/adapters/apigateway/api-gateway-live-connections';
import { DynamoMappingStore } from '../../shared/adapters/dynamodb/mapping-store';
import { loggerFor } from '../../shared/adapters/logging/powertools-log';
import { tracerFor } from '../../shared/adapters/tracing/xray-tracing';
import { required } from '../../shared/domain/required';
import type { PublishDependencies } from '../../shared/use-cases/publish-live-events';
import { liveEventsRuntime } from './live-events-runtime';
import { publishStreamBatch } from './stream-batch';

const SERVICE = 'events';

let dependencies: PublishDependencies | undefined;

const publishDependencies = (): PublishDependencies => {
  if (dependencies) return dependencies;
  const { settings, dynamo, connections, tracing, log } = liveEventsRuntime(SERVICE);
  const management = tracing.awsClient(
    new ApiGatewayManagementApiClient({ region: settings.AWS_REGION, endpoint: required(settings.EVENTS_CALLBACK_URL, 'EVENTS_CALLBACK_URL') }),
  );
  dependencies = {
    connections: new ApiGatewayLiveConnections(management, connections, log),
    mappings: new DynamoMappingStore({ client: dynamo, tableName: settings.TABLE_NAME }),
    log,
  };
  return dependencies;
};

/** Consumer of the main table's stream (filtered to copies, accounts and protections): posts live events to the tenants' WebSocket connections. */
export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
  .use(injectLambdaContext(loggerFor(SERVICE), { resetKeys: true }))
  .use(captureLambdaHandler(tracerFor(SERVICE), { captureResponse: false }))
  .handler((event) => publishStreamBatch(publishDependencies(), event));

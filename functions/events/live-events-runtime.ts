import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoConnectionStore } from '../../shared/adapters/dynamodb/connection-store';
import { loggerFor, powertoolsLog } from '../../shared/adapters/logging/powertools-log';
import { tracerFor, xrayTracing } from '../../shared/adapters/tracing/xray-tracing';
import { type Config, config } from '../../shared/config';
import { required } from '../../shared/domain/required';
import type { Log } from '../../shared/ports/log';
import type { Tracing } from '../../shared/ports/tracing';

/** What the connect and events functions share: no broker, no MetaApi token, no queue. */
export interface LiveEventsRuntime {
  settings: Config;
  dynamo: DynamoDBClient;
  connections: DynamoConnectionStore;
  tracing: Tracing;
  log: Log;
}

const runtimes = new Map<string, LiveEventsRuntime>();

/** The runtime of a live-events function, built on its first invocation and kept while the container is warm. */
export const liveEventsRuntime = (service: string): LiveEventsRuntime => {
  let runtime = runtimes.get(service);
  if (!runtime) {
    const settings = config();
    const tracing = xrayTracing(tracerFor(service));
    const dynamo = tracing.awsClient(
      new DynamoDBClient({ region: settings.AWS_REGION, ...(settings.DYNAMODB_ENDPOINT ? { endpoint: settings.DYNAMODB_ENDPOINT } : {}) }),
    );
    const connections = new DynamoConnectionStore({ client: dynamo, tableName: required(settings.CONNECTIONS_TABLE_NAME, 'CONNECTIONS_TABLE_NAME') });
    runtime = { settings, dynamo, connections, tracing, log: powertoolsLog(service, loggerFor(service)) };
    runtimes.set(service, runtime);
  }
  return runtime;
};

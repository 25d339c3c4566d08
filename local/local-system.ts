import { SQSClient, CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { copyBatchDependencies, processCopyBatch } from '../functions/copy/copy-worker';
import { problemBody, type ApiResult } from '../functions/api/http';
import type { FieldProblem } from '../shared/domain/errors';
import { corsHeaders, preflightHeaders } from '../functions/api/cors';
import { createRouter } from '../functions/api/router';
import { apiRoutes } from '../functions/api/routes';
import { syncDependencies } from '../functions/sync/sync-loop';
import { ensureTables } from '../shared/adapters/dynamodb/table-definitions';
import { emfMetrics } from '../shared/adapters/metrics/emf-metrics';
import { MetaApiCloud, type MetaApiCloudOptions } from '../shared/adapters/metaapi/metaapi-cloud';
import { metaApiGateways } from '../shared/adapters/metaapi/metaapi-gateway';
import { oandaHosts, type OandaEnvironment, type OandaHost } from '../shared/adapters/oanda/oanda-gateway';
import { CTRADER_AUTH_URL, CTRADER_TOKEN_URL, ctraderHosts, type CtraderEnvironment } from '../shared/adapters/ctrader/ctrader-gateway';
import type { CtraderApp } from '../shared/adapters/ctrader/ctrader-session';
import { SimulatedBrokerGateway } from './simulated-broker/simulated-broker-gateway';
import { SimulatedMarket } from './simulated-broker/simulated-market';
import { fileSimulatorStateStore } from './simulated-broker/simulator-state-file';
import { UnavailableGateway } from '../shared/adapters/unavailable-gateway';
import { parseConfig } from '../shared/config';
import type { AccountBook } from '../shared/domain/account-book';
import type { FinalCopyRecord } from '../shared/domain/copy-record';
import type { Log } from '../shared/ports/log';
import { createRuntime, type Runtime } from '../shared/runtime/runtime';
import { syncAccount, syncShard } from '../shared/use-cases/sync-accounts';
import { lockDataDir } from './data-dir-lock';
import { startDynamoDbLocal } from './emulators/dynamodb-local';
import { startSqsLocal } from './emulators/sqs-local';
import { ensureLocalKey, startLocalKms } from './emulators/local-kms';
import { toApiGatewayEvent } from './api-gateway-event';
import { LocalAuth } from './local-auth';
import { createSimulatorRoutes } from './simulator-routes';
import { required } from '../shared/domain/required';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { itemChangeOf } from '../shared/adapters/dynamodb/item-changes';
import { publishLiveEvents } from '../shared/use-cases/publish-live-events';
import { LocalLiveHub } from './live-events/local-live-hub';
import { TableStreamReader } from './live-events/table-stream-reader';

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface LocalSystemOptions {
  port: number;
  dataDir: string;
  masterPollIntervalMs: number;
  slaveSyncIntervalMs?: number;
  /** Use running emulators instead of starting them (tests share one DynamoDB Local and fauxqs). */
  dynamoDbEndpoint?: string;
  sqsEndpoint?: string;
  /** Prefix of table and queue names, so several systems can share emulators. */
  namePrefix?: string;
  log: Log;
  onCopyFinished?: (record: FinalCopyRecord, runtime: Runtime) => void;
  /** Tests: no sync timer; syncs run only through `syncNow`. */
  manualSync?: boolean;
  /** How many copy signals are processed at once (different slaves run in parallel). */
  consumers?: number;
  /** Settings the environment gives in AWS (rate limits, CORS origin, the history's cadence). */
  settings?: Partial<
    Record<
      | 'RATE_LIMIT_PER_MINUTE'
      | 'TRADE_RATE_LIMIT_PER_MINUTE'
      | 'CORS_ORIGIN'
      | 'COPY_DEFER_SECONDS'
      | 'MAX_ACCOUNTS_PER_TENANT'
      | 'MAX_MAPPINGS_PER_TENANT'
      | 'MAX_SLAVES_PER_MASTER'
      | 'EQUITY_POINT_INTERVAL_MS'
      | 'HISTORY_MIN_INTERVAL_MS'
      | 'MASTER_HISTORY_INTERVAL_MS',
      string
    >
  >;
  /** The clock of the runtime (tests of time windows); the system clock by default. */
  now?: () => Date;
  /** MetaApi API token: with it mt4/mt5 accounts go through MetaApi, without it they report why they cannot. */
  metaApiToken?: string;
  /**
   * Where the metrics go, as CloudWatch embedded-metric-format lines (one JSON object per line,
   * as a Lambda writes them to its log). @default appended to `DATA_DIR/metrics.log`
   */
  metricsWrite?: (line: string) => void;
  /** Further MetaApi client options (tests point the SDK at a fake MetaApi with them). */
  metaApiOptions?: Omit<MetaApiCloudOptions, 'token'>;
  /** Where OANDA accounts are reached: OANDA's own hosts unless a test points them at its fake. */
  oandaHosts?: Record<OandaEnvironment, OandaHost>;
  /**
   * The cTrader Open API application (client id and secret) and, in tests, a fake's hosts and
   * OAuth pages: with it `ctrader` accounts can be added (authorized at cTrader, called back on
   * this API's `/v1/oauth/ctrader/callback`); without, they are refused.
   */
  ctrader?: { app: CtraderApp; hosts?: Record<CtraderEnvironment, string>; authUrl?: string; tokenUrl?: string };
}

export interface LocalSystem {
  url: string;
  runtime: Runtime;
  market: SimulatedMarket;
  auth: LocalAuth;
  /** Runs one sync pass now (tests use it to avoid waiting for the timer). */
  syncNow(includeSlaves?: boolean): Promise<void>;
  /** Waits until the copy queue is empty and nothing is in flight. */
  drain(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const readBody = (request: IncomingMessage, limit: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Keep what was read until the limit is crossed (so the router sees the body is too
      // large and answers 413), then only count.
      if (size - chunk.length <= limit) chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });

const send = (response: ServerResponse, result: ApiResult): void => {
  response.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
  response.end(result.body ?? '');
};

/**
 * Whether a request comes from no web page (no `Origin`: curl, scripts, tests) or from a page
 * this server itself served, on a loopback host.
 */
const sameOrigin = (origin: string | undefined, host: string | undefined): boolean => {
  if (origin === undefined) return true;
  try {
    const from = new URL(origin);
    return ['localhost', '127.0.0.1', '[::1]'].includes(from.hostname) && from.host === host;
  } catch {
    return false;
  }
};

const problemJson = (status: number, code: string, title: string, detail: string, errors?: FieldProblem[]) => ({
  statusCode: status,
  headers: { 'content-type': 'application/problem+json' },
  body: JSON.stringify(problemBody(status, code, title, detail, errors)),
});

/**
 * The whole system on one machine: DynamoDB Local, fauxqs and the local KMS stand in for
 * AWS; the same handlers as in Lambda serve the API (as API Gateway events, after JWT
 * verification), sync accounts on a timer (for EventBridge) and consume the copy queue
 * (as SQS events, with partial batch failures). State lives under `dataDir`.
 */
export const startLocalSystem = async (options: LocalSystemOptions): Promise<LocalSystem> => {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };
  // One runtime per DATA_DIR; taken first and given back last.
  const lock = await lockDataDir(options.dataDir);
  stops.push(async () => lock.release());
  try {
    const prefix = options.namePrefix ?? 'mt-copier';
    let dynamoDbEndpoint = options.dynamoDbEndpoint;
    if (!dynamoDbEndpoint) {
      const dynamo = await startDynamoDbLocal({ dbPath: join(options.dataDir, 'dynamodb'), quickJit: true });
      lock.recordDatabase(dynamo.pid);
      stops.push(dynamo.stop);
      dynamoDbEndpoint = dynamo.endpoint;
    }
    let sqsEndpoint = options.sqsEndpoint;
    if (!sqsEndpoint) {
      const sqs = await startSqsLocal();
      stops.push(() => sqs.stop());
      sqsEndpoint = sqs.address;
    }
    const kms = await startLocalKms({ port: 0, keyStorePath: join(options.dataDir, 'kms-keys.json') });
    stops.push(kms.stop);
    const keyId = await ensureLocalKey(kms.endpoint, `${prefix}-credentials`);

    const market = SimulatedMarket.open(fileSimulatorStateStore(join(options.dataDir, 'simulator.json')));
    stops.push(async () => market.stopRandomWalk());
    // The tables and the queue exist before the runtime is built, so it is built once, with the queue's URL.
    const aws = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
    const names = { main: `${prefix}-main`, audit: `${prefix}-audit` };
    await ensureTables(new DynamoDBClient({ ...aws, endpoint: dynamoDbEndpoint }), names);
    const queueUrl = await ensureCopyQueue(new SQSClient({ ...aws, endpoint: sqsEndpoint }), prefix);
    const config = parseConfig({
      TABLE_NAME: names.main,
      AUDIT_TABLE_NAME: names.audit,
      COPY_QUEUE_URL: queueUrl,
      KMS_KEY_ID: keyId,
      AWS_REGION: 'us-east-1',
      MASTER_POLL_INTERVAL_MS: String(options.masterPollIntervalMs),
      SLAVE_SYNC_INTERVAL_MS: String(options.slaveSyncIntervalMs ?? 5000),
      SYNC_SHARDS: '1',
      // One machine, no MetaApi credits to spare: a closed trade is in the history at the next slave pass.
      HISTORY_MIN_INTERVAL_MS: '1000',
      MASTER_HISTORY_INTERVAL_MS: '1000',
      EQUITY_POINT_INTERVAL_MS: '60000',
      DYNAMODB_ENDPOINT: dynamoDbEndpoint,
      SQS_ENDPOINT: sqsEndpoint,
      KMS_ENDPOINT: kms.endpoint,
      ...options.settings,
    });
    const metaApi = options.metaApiToken ? new MetaApiCloud({ ...options.metaApiOptions, token: options.metaApiToken }) : undefined;
    if (metaApi) stops.push(() => metaApi.close());
    let metricsWrite = options.metricsWrite;
    if (!metricsWrite) {
      const file = createWriteStream(join(options.dataDir, 'metrics.log'), { flags: 'a' });
      stops.push(() => new Promise<void>((resolve) => file.end(resolve)));
      metricsWrite = (line) => file.write(`${line}\n`);
    }
    // The API's own address, known once it listens (cTrader's OAuth calls it back).
    let listeningUrl = '';
    const ctraderOptions = options.ctrader;
    const runtime: Runtime = createRuntime(config, {
      log: options.log,
      metrics: emfMetrics({ service: 'mt-copier-local', write: metricsWrite }),
      credentials: LOCAL_CREDENTIALS,
      ...(options.now ? { now: options.now } : {}),
      gateways: {
        simulated: new SimulatedBrokerGateway(market),
        ...(metaApi
          ? metaApiGateways(metaApi)
          : {
              mt4: new UnavailableGateway('mt4', 'no MetaApi token is configured (set METAAPI_TOKEN)'),
              mt5: new UnavailableGateway('mt5', 'no MetaApi token is configured (set METAAPI_TOKEN)'),
            }),
      },
      oandaHosts: options.oandaHosts ?? oandaHosts,
      ...(ctraderOptions
        ? {
            ctrader: {
              hosts: ctraderOptions.hosts ?? ctraderHosts,
              // One process: it renews tokens a day before they expire.
              refreshBeforeMs: 24 * 60 * 60_000,
              app: async () => ctraderOptions.app,
              oauth: {
                authUrl: ctraderOptions.authUrl ?? CTRADER_AUTH_URL,
                tokenUrl: ctraderOptions.tokenUrl ?? CTRADER_TOKEN_URL,
                redirectUri: () => `${listeningUrl}/v1/oauth/ctrader/callback`,
              },
            },
          }
        : {}),
      onCopyFinished: (record) => options.onCopyFinished?.(record, runtime),
      // One runtime per DATA_DIR (the lock): any claim of a runtime started before this one
      // belongs to a dead process, and is taken over at once instead of after its lease.
      copyWorker: { epoch: Date.now(), supersedes: true },
    });

    const auth = LocalAuth.open(join(options.dataDir, 'local-jwt-secret'));
    const route = createRouter(apiRoutes, runtime, { corsOrigin: config.CORS_ORIGIN });
    const publicPaths = new Set(apiRoutes.filter((candidate) => !candidate.auth).map((candidate) => candidate.path));
    const simulatorRoutes = createSimulatorRoutes(market, async (accountId) => {
      // The simulator routes are local tooling without a tenant: any simulated account qualifies.
      return market.hasAccount(accountId);
    });

    const server: Server = createServer((request, response) => {
      void (async () => {
        const url = new URL(request.url ?? '/', 'http://localhost');
        const localOnly = url.pathname.startsWith('/local/');
        // The API answers browsers as API Gateway would (CORS). The local-only routes mint tokens
        // and trade simulated accounts: no web page may call them, so they carry no CORS headers
        // and refuse any request a browser marks as coming from another origin.
        const cors = localOnly ? {} : corsHeaders(config.CORS_ORIGIN, request.headers.origin);
        const reply = (result: ApiResult) => send(response, { ...result, headers: { ...cors, ...result.headers } });
        if (localOnly && !sameOrigin(request.headers.origin, request.headers.host)) {
          request.resume();
          return reply(problemJson(403, 'FORBIDDEN_ORIGIN', 'Forbidden', 'The local-only routes answer no web page of another origin'));
        }
        const body = await readBody(request, 64 * 1024);
        if (url.pathname.startsWith('/local/simulator/')) {
          let parsed: unknown;
          try {
            parsed = body ? JSON.parse(body) : {};
          } catch {
            return reply(
              problemJson(400, 'INVALID_REQUEST', 'Invalid request', 'The body is not valid JSON', [{ path: '(body)', message: 'is not valid JSON' }]),
            );
          }
          const result = await simulatorRoutes({ method: request.method ?? 'GET', path: url.pathname, body: parsed });
          if (!result) return reply(problemJson(404, 'ROUTE_NOT_FOUND', 'Not found', `No route ${url.pathname}`));
          const isProblem = result.status >= 400;
          return reply({
            statusCode: result.status,
            headers: { 'content-type': isProblem ? 'application/problem+json' : 'application/json' },
            body: JSON.stringify(result.body),
          });
        }
        if (url.pathname === '/local/token' && request.method === 'POST') {
          let sub: unknown;
          try {
            sub = (JSON.parse(body || '{}') as { sub?: unknown }).sub;
          } catch {
            sub = undefined;
          }
          if (typeof sub !== 'string' || !/^[\w.@-]{1,128}$/.test(sub)) {
            return reply(
              problemJson(400, 'INVALID_REQUEST', 'Invalid request', 'sub is required', [{ path: 'sub', message: 'must be 1-128 letters, digits or . _ @ -' }]),
            );
          }
          return reply({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: await auth.issue(sub) }) });
        }
        if (request.method === 'OPTIONS') {
          // The preflight API Gateway answers in AWS (its CORS configuration), for the same origins.
          return reply({ statusCode: 204, headers: preflightHeaders(config.CORS_ORIGIN, request.headers.origin) });
        }
        // The JWT authorizer guards every /v1 route but the public ones (cTrader's OAuth redirect), as in AWS.
        const claims = await auth.verify(request.headers.authorization);
        if (url.pathname.startsWith('/v1') && !publicPaths.has(url.pathname) && !claims) {
          return reply({
            ...problemJson(401, 'UNAUTHORIZED', 'Unauthorized', 'A valid bearer token is required'),
            headers: { 'content-type': 'application/problem+json', 'www-authenticate': 'Bearer' },
          });
        }
        reply(await route(toApiGatewayEvent(request, body, claims)));
      })().catch((error: unknown) => {
        options.log.error('local server failed a request', { error });
        if (!response.headersSent) send(response, problemJson(500, 'INTERNAL_ERROR', 'Internal error', 'Something went wrong'));
      });
    });
    // Live events (`/v1/events`): the main table's stream, read while a client listens, as
    // the events Lambda reads it in AWS, through the same use case.
    const streamReader = new TableStreamReader({
      dynamo: new DynamoDBClient({ ...aws, endpoint: dynamoDbEndpoint }),
      streams: new DynamoDBStreamsClient({ ...aws, endpoint: dynamoDbEndpoint }),
      tableName: names.main,
      log: options.log,
      onRecords: async (records) => {
        await publishLiveEvents({ connections: hub, mappings: runtime.mappings, log: options.log }, records.map(itemChangeOf));
      },
    });
    const hub: LocalLiveHub = new LocalLiveHub(async (token) => {
      const sub = (await auth.verify(`Bearer ${token}`))?.sub;
      return typeof sub === 'string' && sub.length > 0 ? sub : undefined;
    }, streamReader);
    hub.attach(server);
    stops.push(async () => {
      await hub.close();
      await streamReader.stop();
    });
    // A port taken meanwhile (after main's check) rejects, so the caller says so in one line.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const url = `http://localhost:${(server.address() as AddressInfo).port}`;
    listeningUrl = url;

    // The timer that stands in for the EventBridge schedule.
    let lastSlaveSync = 0;
    const sync = syncDependencies(runtime, new Map<string, AccountBook>());
    let syncing: Promise<void> = Promise.resolve();
    const syncNow = (includeSlaves?: boolean): Promise<void> => {
      syncing = syncing
        .then(async () => {
          const now = Date.now();
          const slaves = includeSlaves ?? now - lastSlaveSync >= runtime.config.SLAVE_SYNC_INTERVAL_MS;
          if (slaves) lastSlaveSync = now;
          await syncShard(sync, { shard: 0, shards: 1, includeSlaves: slaves });
        })
        .catch((error: unknown) => options.log.error('sync pass failed', { error }));
      return syncing;
    };
    let running = !options.manualSync;
    let consuming = true;

    // The simulated broker pushes its changes: a master whose positions or orders changed is
    // synced at once, with the same syncAccount as the timer (which stays, as the fallback),
    // and with its mappings as they are now (a new mapping is announced its master's book).
    // Every copy placed is a push of its slave too: an account's tenant (which never changes)
    // is remembered, so a push costs one query of the tenant's mappings, not a listing of
    // every account and mapping (16 queries).
    const tenantOf = new Map<string, string>();
    const masterNow = async (accountId: string) => {
      if (!tenantOf.has(accountId)) {
        for (const account of (await runtime.accounts.listSyncShard(0, 1)).accounts) tenantOf.set(account.id, account.tenantId);
      }
      const tenantId = tenantOf.get(accountId);
      if (tenantId === undefined) return undefined;
      const own = (await runtime.mappings.listAll(tenantId)).filter((mapping) => mapping.masterAccountId === accountId);
      const account = own.length > 0 ? await runtime.accounts.get(tenantId, accountId) : undefined;
      return account && own.length > 0 ? { account, mappings: own } : undefined;
    };
    const pushes = new Map<string, { again: boolean; done?: Promise<void> }>();
    const pushed = (accountId: string): void => {
      if (!running) return;
      const underway = pushes.get(accountId);
      if (underway) {
        underway.again = true;
        return;
      }
      const state: { again: boolean; done?: Promise<void> } = { again: false };
      pushes.set(accountId, state);
      state.done = (async () => {
        try {
          do {
            state.again = false;
            const master = await masterNow(accountId);
            if (!master) return;
            await syncAccount(sync, master.account, master.mappings);
          } while (state.again && running);
        } catch (error) {
          options.log.warn('push sync failed; the timer syncs the account', { accountId, error });
        } finally {
          pushes.delete(accountId);
        }
      })();
    };
    const unwatch = running ? market.watchAccounts(pushed) : undefined;
    stops.push(async () => {
      unwatch?.();
    });
    // Stopping wakes the timer from its wait: a long poll interval does not hold up a stop.
    let wake = () => {};
    const pause = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    const syncTimer = (async () => {
      while (running) {
        const started = Date.now();
        await syncNow();
        if (running) await pause(Math.max(0, runtime.config.MASTER_POLL_INTERVAL_MS - (Date.now() - started)));
      }
    })();

    // The SQS event source mapping: long-poll, invoke with a real SQS event, delete what succeeded.
    let inFlight = 0;
    const consumer = async (): Promise<void> => {
      while (consuming) {
        let messages: Message[] = [];
        try {
          const received = await runtime.clients.sqs.send(
            new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }),
          );
          messages = received.Messages ?? [];
        } catch (error) {
          if (!consuming) return;
          options.log.warn('receive from the copy queue failed', { error });
          await sleep(500);
          continue;
        }
        if (messages.length === 0) continue;
        inFlight += 1;
        try {
          const result = await processCopyBatch(copyBatchDependencies(runtime), toSqsEvent(messages, queueUrl));
          const failed = new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier));
          const done = messages.filter((message) => !failed.has(required(message.MessageId, 'an SQS message id')));
          if (done.length > 0) {
            await runtime.clients.sqs.send(
              new DeleteMessageBatchCommand({
                QueueUrl: queueUrl,
                Entries: done.map((message, index) => ({ Id: String(index), ReceiptHandle: required(message.ReceiptHandle, 'an SQS receipt handle') })),
              }),
            );
          }
        } finally {
          inFlight -= 1;
        }
      }
    };
    const consumers = Array.from({ length: options.consumers ?? 4 }, consumer);
    stops.push(async () => {
      consuming = false;
      await Promise.all(consumers);
    });

    const drain = async (timeoutMs = 10_000): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const { Attributes } = await runtime.clients.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
        );
        const waiting = Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
        if (waiting === 0 && inFlight === 0) return;
        await sleep(50);
      }
    };
    // Stopping, in reverse order of the pushes: the timer first, then the queue is drained
    // (a signal already detected is copied before anything stops), then the consumers.
    stops.push(() => drain(5_000));
    stops.push(async () => {
      running = false;
      wake();
      await Promise.all([syncTimer, ...[...pushes.values()].map((push) => push.done)]);
    });

    return { url, runtime, market, auth, syncNow, drain, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The copy queue and its dead-letter queue, as the stateful stack declares them (FIFO, redrive after 5). */
const ensureCopyQueue = async (sqs: SQSClient, prefix: string): Promise<string> => {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-copy-signals-dlq.fifo`, Attributes: { FifoQueue: 'true' } }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }));
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${prefix}-copy-signals.fifo`,
      Attributes: {
        FifoQueue: 'true',
        VisibilityTimeout: '180',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: required(Attributes?.QueueArn, 'the DLQ ARN'), maxReceiveCount: 5 }),
      },
    }),
  );
  return required(queue.QueueUrl, 'the queue URL');
};

const toSqsEvent = (messages: Message[], queueUrl: string): SQSEvent => ({
  Records: messages.map((message) => ({
    messageId: required(message.MessageId, 'an SQS message id'),
    receiptHandle: required(message.ReceiptHandle, 'an SQS receipt handle'),
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: message.Attributes?.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: message.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      MessageGroupId: message.Attributes?.MessageGroupId,
      MessageDeduplicationId: message.Attributes?.MessageDeduplicationId,
      SequenceNumber: message.Attributes?.SequenceNumber,
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${queueUrl.split('/').pop()}`,
    awsRegion: 'us-east-1',
  })),
});

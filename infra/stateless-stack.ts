import { CfnOutput, CrossStackReferences, Duration, ReferenceStrength, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { CREDENTIAL_PURPOSE } from '../shared/ports/credential-cipher';
import type { SyncSizing } from './sync-sizing';
import { CopierFunction } from './constructs/copier-function';
import { LiveEvents } from './constructs/live-events';
import { Operations } from './constructs/operations';

/** What the stateless stack uses from the stateful one. */
export interface StatefulResources {
  /** With its stream on: the live events read it. */
  readonly table: dynamodb.ITable;
  readonly auditTable: dynamodb.ITable;
  /** The open live-event WebSocket connections. */
  readonly connectionsTable: dynamodb.ITable;
  readonly credentialsKey: kms.IKey;
  readonly metaApiTokenSecret: secretsmanager.ISecret;
  readonly ctraderAppSecret?: secretsmanager.ISecret;
  readonly copyQueue: { readonly queue: sqs.IQueue; readonly deadLetterQueue: sqs.IQueue; readonly consumerTimeout: Duration };
  readonly alarmTopic: sns.ITopic;
  readonly userPool: cognito.IUserPool;
  readonly userPoolClient: cognito.IUserPoolClient;
}

export interface StatelessStackProps extends StackProps {
  readonly stage: string;
  readonly stateful: StatefulResources;
  /** Sync shards (each minute one invocation of `sync` per shard), the sync function's memory, and the streams a shard holds. */
  readonly sync: Pick<SyncSizing, 'shards' | 'memoryMb' | 'streamCapacity'>;
  /** Allowed CORS origins; `['*']` allows any. */
  readonly corsOrigins: readonly string[];
  /** The sync function's timeout: how long one invocation watches its shard. @default 15 */
  readonly syncInvocationMinutes?: number;
  /** MetaApi streaming of masters in the sync function. @default 'on' */
  readonly masterStreaming?: 'on' | 'off';
  /** Copy batches processed at once. @default COPY_MAX_CONCURRENCY */
  readonly copyMaxConcurrency?: number;
  /**
   * Concurrency reserved for the API, so a fan-out never leaves it without an instance. Off by
   * default: AWS keeps 10 of an account's concurrency unreserved, and a new account may have 10 in all.
   */
  readonly apiReservedConcurrency?: number;
  /** Limits per tenant. @default the functions' own defaults (500 accounts, 1000 mappings, 500 slaves per master) */
  readonly quotas?: { readonly accounts: number; readonly mappings: number; readonly slavesPerMaster: number };
}

/** Stage-level throttling of the HTTP API, per second, across all routes. */
export const API_THROTTLE = { rateLimit: 50, burstLimit: 100 } as const;

/** The unauthenticated routes' own, smaller, throttle: anyone can call them, so they cannot spend the stage's. */
export const OPEN_ROUTE_THROTTLE = { rateLimit: 5, burstLimit: 10 } as const;

/** Copy batches processed at once (the event source's maximum concurrency): a fan-out cannot take the account's whole Lambda concurrency. */
export const COPY_MAX_CONCURRENCY = 50;

/**
 * Keys every use of the credential key must carry in its encryption context: the port
 * `CredentialCipher` binds each broker password to its tenant and account.
 */
export const CREDENTIAL_CONTEXT_KEYS = ['tenantId', 'accountId'] as const;

/** The main table's one global secondary index (infra/stateful-stack.ts). */
const MAIN_TABLE_INDEX = 'gsi1';
const COPIES_INDEX = 'gsi2';

/**
 * The DynamoDB item actions each function's code issues on the main table, by store:
 * - api: every store; deletes accounts, mappings, protections and demo trades.
 * - sync: books, accounts' state, mappings (announcements), links, protections, and the
 *   shard lease, which it deletes when it ends without a successor.
 * - copy: the copy context in one BatchGetItem, claims, records, links, protections' state,
 *   and the mappings and links a closeAll breach reads. It deletes nothing.
 * `test/infra/bundles.test.ts` checks what each bundle issues on the wire against its role.
 */
export const MAIN_TABLE_ACTIONS = {
  api: ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
  sync: ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
  copy: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem'],
} as const;

/** cTrader's OAuth redirect: a public route of the API (the contract's name). */
const CTRADER_CALLBACK_PATH = '/v1/oauth/ctrader/callback';

/** EventBridge accepts at most five targets per rule. */
const MAX_TARGETS_PER_RULE = 5;

/**
 * Functions, the HTTP API and the schedule: everything that can be deleted and deployed
 * again without losing data. Each function gets only the actions its use cases need; the
 * audit table in particular can be appended to and read, never updated or deleted from.
 */
export class StatelessStack extends Stack {
  readonly apiFunction: lambda.IFunction;
  readonly syncFunction: lambda.IFunction;
  readonly copyFunction: lambda.IFunction;
  readonly httpApi: apigwv2.HttpApi;
  readonly liveEvents: LiveEvents;
  readonly operations: Operations;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    // Imports (not GetStackOutput): CloudFormation then refuses to remove from the stateful
    // stack anything this stack still uses. Must be set before any child is added.
    CrossStackReferences.of(this).consume(ReferenceStrength.STRONG);
    const { stateful } = props;

    const environment: Record<string, string> = {
      TABLE_NAME: stateful.table.tableName,
      AUDIT_TABLE_NAME: stateful.auditTable.tableName,
      COPY_QUEUE_URL: stateful.copyQueue.queue.queueUrl,
      KMS_KEY_ID: stateful.credentialsKey.keyArn,
      METAAPI_TOKEN_SECRET_ARN: stateful.metaApiTokenSecret.secretArn,
      ...(stateful.ctraderAppSecret ? { CTRADER_APP_SECRET_ARN: stateful.ctraderAppSecret.secretArn } : {}),
      MASTER_POLL_INTERVAL_MS: '5000',
      SLAVE_SYNC_INTERVAL_MS: '60000',
      MASTER_RECONCILE_INTERVAL_MS: '60000',
      MASTER_STREAMING: props.masterStreaming ?? 'on',
      SYNC_SHARDS: String(props.sync.shards),
      CORS_ORIGIN: props.corsOrigins.join(','),
      ...(props.quotas
        ? {
            MAX_ACCOUNTS_PER_TENANT: String(props.quotas.accounts),
            MAX_MAPPINGS_PER_TENANT: String(props.quotas.mappings),
            MAX_SLAVES_PER_MASTER: String(props.quotas.slavesPerMaster),
          }
        : {}),
    };

    const api = new CopierFunction(this, 'Api', {
      entry: 'functions/api/api.handler.ts',
      timeout: Duration.seconds(10),
      serviceName: 'mt-copier-api',
      description: 'HTTP API v1',
      environment,
      reservedConcurrentExecutions: props.apiReservedConcurrency,
    });
    const sync = new CopierFunction(this, 'Sync', {
      entry: 'functions/sync/sync.handler.ts',
      // One invocation owns a shard's streams for up to this long (see functions/sync/sync.handler.ts).
      timeout: Duration.minutes(props.syncInvocationMinutes ?? 15),
      // Sized for the streams a shard holds (infra/sync-sizing.ts, measured by the bench): its owner runs all month.
      memorySize: props.sync.memoryMb,
      serviceName: 'mt-copier-sync',
      description: "Watches one shard's masters (MetaApi streams, RPC as fallback) and slaves, and emits copy signals",
      // The next tick a minute later is the retry; an async retry would overlap it.
      retryAttempts: 0,
      environment: { ...environment, SYNC_STREAM_CAPACITY: String(props.sync.streamCapacity) },
    });
    const copy = new CopierFunction(this, 'Copy', {
      entry: 'functions/copy/copy.handler.ts',
      timeout: stateful.copyQueue.consumerTimeout,
      serviceName: 'mt-copier-copy',
      description: 'Places slave orders for copy signals from the FIFO queue',
      environment,
    });
    this.apiFunction = api.function;
    this.syncFunction = sync.function;
    this.copyFunction = copy.function;

    // Main table: each function the item actions its stores use (no Scan, no BatchWriteItem
    // anywhere; a transaction is authorized by the actions of its items), and Query on gsi1.
    for (const [fn, actions] of [
      [api.function, MAIN_TABLE_ACTIONS.api],
      [sync.function, MAIN_TABLE_ACTIONS.sync],
      [copy.function, MAIN_TABLE_ACTIONS.copy],
    ] as const) {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: actions.map((action) => `dynamodb:${action}`), resources: [stateful.table.tableArn] }));
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${stateful.table.tableArn}/index/${MAIN_TABLE_INDEX}`] }));
    }
    // The tenant's copy timeline is read by the API alone.
    api.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${stateful.table.tableArn}/index/${COPIES_INDEX}`] }));
    for (const fn of [api.function, sync.function, copy.function]) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [stateful.metaApiTokenSecret.secretArn, ...(stateful.ctraderAppSecret ? [stateful.ctraderAppSecret.secretArn] : [])],
        }),
      );
    }

    // Audit table: append everywhere; only the API reads it (GET /v1/audit-log).
    const auditActions = (fn: lambda.IFunction, actions: string[]): void => {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [stateful.auditTable.tableArn] }));
    };
    auditActions(api.function, ['dynamodb:PutItem', 'dynamodb:Query']);
    auditActions(sync.function, ['dynamodb:PutItem']);
    auditActions(copy.function, ['dynamodb:PutItem']);

    // Credential key: the API encrypts a new password, and decrypts the stored one when a server
    // change re-provisions the account. Sync and copy decrypt the tokens of accounts reached with
    // their own (OANDA, cTrader) and encrypt the ones a cTrader refresh gives; MetaTrader passwords
    // stay with MetaApi.
    const keyActions = (fn: lambda.IFunction, actions: string[]): void => {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions,
          resources: [stateful.credentialsKey.keyArn],
          conditions: {
            Null: Object.fromEntries(CREDENTIAL_CONTEXT_KEYS.map((key) => [`kms:EncryptionContext:${key}`, 'false'])),
            // Only broker credentials: the key encrypts or decrypts nothing else for these roles.
            StringEquals: { 'kms:EncryptionContext:purpose': CREDENTIAL_PURPOSE },
          },
        }),
      );
    };
    keyActions(api.function, ['kms:Encrypt', 'kms:Decrypt']);
    keyActions(sync.function, ['kms:Encrypt', 'kms:Decrypt']);
    keyActions(copy.function, ['kms:Encrypt', 'kms:Decrypt']);

    // Copy signals: the API (orders placed through it) and sync produce; copy consumes, and
    // produces too: a protection breach with closeAll it finds before an open queues the closes.
    for (const fn of [api.function, sync.function, copy.function]) {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [stateful.copyQueue.queue.queueArn] }));
    }
    copy.function.addEventSource(
      new SqsEventSource(stateful.copyQueue.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: props.copyMaxConcurrency ?? COPY_MAX_CONCURRENCY,
      }),
    );

    this.addSyncSchedule(sync.function, props.sync.shards);
    this.httpApi = this.addHttpApi(api.function, props);
    // cTrader sends the trader back here after consent: register this address with the Open API application.
    if (stateful.ctraderAppSecret) api.function.addEnvironment('CTRADER_REDIRECT_URI', `${this.httpApi.apiEndpoint}${CTRADER_CALLBACK_PATH}`);
    this.liveEvents = new LiveEvents(this, 'LiveEvents', {
      stage: props.stage,
      table: stateful.table,
      connectionsTable: stateful.connectionsTable,
      userPool: stateful.userPool,
      userPoolClient: stateful.userPoolClient,
      environment,
    });
    this.operations = new Operations(this, 'Operations', {
      stage: props.stage,
      functions: { api: api.function, sync: sync.function, copy: copy.function },
      copyQueue: stateful.copyQueue.queue,
      deadLetterQueue: stateful.copyQueue.deadLetterQueue,
      alarmTopic: stateful.alarmTopic,
      masterPollInterval: Duration.millis(Number(environment.MASTER_POLL_INTERVAL_MS)),
    });

    new CfnOutput(this, 'ApiUrl', { value: this.httpApi.apiEndpoint });
    // The frontend connects to `${EventsUrl}?token=<access token>`.
    new CfnOutput(this, 'EventsUrl', { value: this.liveEvents.stage.url });
    new CfnOutput(this, 'DashboardName', { value: this.operations.dashboard.dashboardName });
    new CfnOutput(this, 'UserPoolId', { value: stateful.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: stateful.userPoolClient.userPoolClientId });
    new CfnOutput(this, 'TableName', { value: stateful.table.tableName });
    new CfnOutput(this, 'CopyQueueUrl', { value: stateful.copyQueue.queue.queueUrl });
    new CfnOutput(this, 'MetaApiTokenSecretArn', { value: stateful.metaApiTokenSecret.secretArn });
    if (stateful.ctraderAppSecret) {
      new CfnOutput(this, 'CtraderAppSecretArn', { value: stateful.ctraderAppSecret.secretArn });
      new CfnOutput(this, 'CtraderRedirectUri', { value: `${this.httpApi.apiEndpoint}${CTRADER_CALLBACK_PATH}` });
    }
  }

  /** Every minute, one invocation of `sync` per shard with input `{ shard, shards }`. */
  private addSyncSchedule(sync: lambda.IFunction, shards: number): void {
    for (let first = 0; first < shards; first += MAX_TARGETS_PER_RULE) {
      const rule = new events.Rule(this, first === 0 ? 'SyncSchedule' : `SyncSchedule${first}`, {
        description: 'Starts one sync invocation per shard every minute',
        schedule: events.Schedule.rate(Duration.minutes(1)),
      });
      for (let shard = first; shard < Math.min(first + MAX_TARGETS_PER_RULE, shards); shard += 1) {
        rule.addTarget(
          new targets.LambdaFunction(sync, {
            event: events.RuleTargetInput.fromObject({ shard, shards }),
            retryAttempts: 0,
            maxEventAge: Duration.minutes(1),
          }),
        );
      }
    }
  }

  private addHttpApi(handler: lambda.IFunction, props: StatelessStackProps): apigwv2.HttpApi {
    const { userPool, userPoolClient } = props.stateful;
    const httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      apiName: `${props.stage}-mt-copier`,
      description: 'mt-copier HTTP API',
      corsPreflight: {
        allowOrigins: [...props.corsOrigins],
        allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key'],
        // A browser may read these on a cross-origin answer: the 429's wait, a created resource, a replayed trade.
        exposeHeaders: ['Retry-After', 'Location', 'Idempotent-Replayed'],
        allowMethods: [
          apigwv2.CorsHttpMethod.GET,
          apigwv2.CorsHttpMethod.POST,
          apigwv2.CorsHttpMethod.PUT,
          apigwv2.CorsHttpMethod.PATCH,
          apigwv2.CorsHttpMethod.DELETE,
        ],
        maxAge: Duration.hours(1),
      },
    });

    const defaultStage = httpApi.defaultStage?.node.defaultChild;
    if (!(defaultStage instanceof apigwv2.CfnStage)) throw new Error('The HTTP API has no default stage');
    defaultStage.defaultRouteSettings = {
      throttlingRateLimit: API_THROTTLE.rateLimit,
      throttlingBurstLimit: API_THROTTLE.burstLimit,
    };
    // One JSON line per request: who (the token's subject, never the token), what, how it ended, how long it took.
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    defaultStage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        method: '$context.httpMethod',
        route: '$context.routeKey',
        path: '$context.path',
        status: '$context.status',
        latencyMs: '$context.responseLatency',
        tenant: '$context.authorizer.claims.sub',
        error: '$context.error.message',
        integrationError: '$context.integrationErrorMessage',
      }),
    };

    const integration = new HttpLambdaIntegration('ApiIntegration', handler);
    const authorizer = new HttpJwtAuthorizer('CognitoAuthorizer', `https://cognito-idp.${this.region}.amazonaws.com/${userPool.userPoolId}`, {
      jwtAudience: [userPoolClient.userPoolClientId],
    });
    const open = new apigwv2.HttpNoneAuthorizer();

    for (const path of ['/v1', '/v1/{proxy+}']) {
      httpApi.addRoutes({ path, methods: [apigwv2.HttpMethod.ANY], integration, authorizer });
    }
    // RouteSettings is a JSON map in CloudFormation: CDK passes it as written, so its keys are CloudFormation's own.
    const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const path of ['/health', '/openapi.json', ...(props.stateful.ctraderAppSecret ? [CTRADER_CALLBACK_PATH] : [])]) {
      const routes = httpApi.addRoutes({ path, methods: [apigwv2.HttpMethod.GET], integration, authorizer: open });
      routeSettings[`GET ${path}`] = { ThrottlingRateLimit: OPEN_ROUTE_THROTTLE.rateLimit, ThrottlingBurstLimit: OPEN_ROUTE_THROTTLE.burstLimit };
      // A route's settings name a route that must exist first.
      for (const route of routes) defaultStage.node.addDependency(route);
      NagSuppressions.addResourceSuppressions(routes, [
        {
          id: 'AwsSolutions-APIG4',
          reason: `${path} is public on purpose: a health probe, the API's description for the frontend, and cTrader's OAuth redirect (a browser's, with no token: its single-use state names the account).`,
        },
      ]);
    }
    defaultStage.routeSettings = routeSettings;
    return httpApi;
  }
}

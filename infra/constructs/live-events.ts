import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { CopierFunction } from './copier-function';

/** Where the `$connect` authorizer reads the token: browsers cannot set headers on a WebSocket. */
export const EVENTS_TOKEN_SOURCE = 'route.request.querystring.token';

/** The stage of the live events WebSocket API (`wss://<api>.execute-api.<region>.amazonaws.com/v1`). */
export const EVENTS_STAGE = 'v1';

/** Stage throttling of the WebSocket API's routes (connects and disconnects), per second: a tenant connects rarely. */
export const EVENTS_THROTTLE = { rateLimit: 10, burstLimit: 20 } as const;

/** The new images that may be an event (see publishLiveEvents): a claim (pending) or a protection still ok never is. */
export const LIVE_EVENT_FILTERS = [
  { entity: { S: ['copy'] }, status: { S: [{ 'anything-but': ['pending'] }] } },
  { entity: { S: ['account'] } },
  { entity: { S: ['protection'] }, status: { M: { state: { S: ['breached'] } } } },
];

/**
 * How the events function reads the main table's stream. A batch that fails is split in
 * two and retried at most twice, and a record older than five minutes is dropped: live
 * events are best effort and stale ones are worth nothing, so no record holds the stream up.
 */
export const EVENTS_STREAM = { batchSize: 100, retryAttempts: 2, maxRecordAge: Duration.minutes(5) } as const;

export interface LiveEventsProps {
  readonly stage: string;
  /** The main table, with its stream on (`NEW_AND_OLD_IMAGES`). */
  readonly table: dynamodb.ITable;
  readonly connectionsTable: dynamodb.ITable;
  readonly userPool: cognito.IUserPool;
  readonly userPoolClient: cognito.IUserPoolClient;
  /** What every function of the stack gets (the one config module parses it all). */
  readonly environment: Record<string, string>;
}

/**
 * The live events in AWS: an API Gateway WebSocket API whose `$connect` is guarded by a
 * Lambda REQUEST authorizer on `?token=` (a Cognito access token); a function that keeps
 * each tenant's connections in the connections table; and one that reads the main table's
 * stream (only copies, accounts and protections reach it) and posts each tenant's events to
 * its connections. Each role holds only what its code does: the connect function puts and
 * deletes connection items, the events function queries and deletes them, reads the stream,
 * queries the mappings, and posts to this stage's connections.
 */
export class LiveEvents extends Construct {
  readonly webSocketApi: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly authorizeFunction: lambda.Function;
  readonly connectionsFunction: lambda.Function;
  readonly eventsFunction: lambda.Function;

  constructor(scope: Construct, id: string, props: LiveEventsProps) {
    super(scope, id);
    const { table, connectionsTable } = props;
    const streamArn = table.tableStreamArn;
    if (!streamArn) throw new Error('The main table has no stream: the live events read it');

    const authorize = new CopierFunction(this, 'Authorize', {
      entry: 'functions/events/authorize.handler.ts',
      timeout: Duration.seconds(10),
      serviceName: 'mt-copier-events-authorizer',
      description: 'Authorizes a live events WebSocket connection by its Cognito access token (?token=)',
      environment: { ...props.environment, USER_POOL_ID: props.userPool.userPoolId, USER_POOL_CLIENT_ID: props.userPoolClient.userPoolClientId },
    });
    const connections = new CopierFunction(this, 'Connections', {
      entry: 'functions/events/connections.handler.ts',
      timeout: Duration.seconds(10),
      serviceName: 'mt-copier-events-connections',
      description: "Keeps each tenant's live events WebSocket connections ($connect, $disconnect)",
      environment: { ...props.environment, CONNECTIONS_TABLE_NAME: connectionsTable.tableName },
    });

    this.webSocketApi = new apigwv2.WebSocketApi(this, 'Api', {
      apiName: `${props.stage}-mt-copier-events`,
      description: 'mt-copier live events',
      connectRouteOptions: {
        integration: new WebSocketLambdaIntegration('ConnectIntegration', connections.function),
        authorizer: new WebSocketLambdaAuthorizer('TokenAuthorizer', authorize.function, { identitySource: [EVENTS_TOKEN_SOURCE] }),
      },
      disconnectRouteOptions: { integration: new WebSocketLambdaIntegration('DisconnectIntegration', connections.function) },
    });
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName: EVENTS_STAGE,
      autoDeploy: true,
      throttle: { ...EVENTS_THROTTLE },
    });
    NagSuppressions.addResourceSuppressions(this.stage, [
      {
        id: 'AwsSolutions-APIG1',
        reason:
          'A WebSocket API logs to CloudWatch through the account-wide API Gateway CloudWatch role (unlike an HTTP API), a setting of the whole account this stack does not own. Every connection is logged by the functions instead: the authorizer each refusal and why, the connect function each open and close with its tenant and connection id.',
      },
    ]);
    NagSuppressions.addResourceSuppressions(this.webSocketApi.node.findChild('$disconnect-Route'), [
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'API Gateway runs an authorizer on $connect only; $disconnect belongs to a connection already authorized there, and takes its tenant from that authorization.',
      },
    ]);

    const events = new CopierFunction(this, 'Publish', {
      entry: 'functions/events/events.handler.ts',
      timeout: Duration.seconds(30),
      serviceName: 'mt-copier-events',
      description: "Posts live events from the main table's stream to the tenants' WebSocket connections",
      // Off the money path and invoked for every account write: traced only when sampled upstream
      // (X-Ray bills per trace), 256 MB (it posts JSON).
      tracing: lambda.Tracing.PASS_THROUGH,
      memorySize: 256,
      environment: { ...props.environment, CONNECTIONS_TABLE_NAME: connectionsTable.tableName, EVENTS_CALLBACK_URL: this.stage.callbackUrl },
    });
    // The role's policy comes before the mapping (the function depends on it): Lambda checks the stream permissions when the mapping is made.
    events.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
        resources: [streamArn],
      }),
    );
    events.function.addEventSourceMapping('MainTableStream', {
      eventSourceArn: streamArn,
      startingPosition: lambda.StartingPosition.LATEST,
      batchSize: EVENTS_STREAM.batchSize,
      bisectBatchOnError: true,
      retryAttempts: EVENTS_STREAM.retryAttempts,
      maxRecordAge: EVENTS_STREAM.maxRecordAge,
      reportBatchItemFailures: true,
      // Only what can become an event invokes the function: a copy that is no longer pending, an
      // account, a protection that is breached. Deletes carry no new image and pass no filter.
      filters: LIVE_EVENT_FILTERS.map((pattern) => lambda.FilterCriteria.filter({ dynamodb: { NewImage: pattern } })),
    });

    // Connection items: the connect function writes and removes them; the events function lists them and forgets gone ones.
    connections.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], resources: [connectionsTable.tableArn] }),
    );
    events.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query', 'dynamodb:DeleteItem'], resources: [connectionsTable.tableArn] }));
    // The mappings of a tenant whose account changed (an account's roles).
    events.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [table.tableArn] }));
    // PostToConnection only (POST), on this API's stage; connection ids are known at run time only.
    const connectionsArn = Stack.of(this).formatArn({
      service: 'execute-api',
      resource: this.webSocketApi.apiId,
      resourceName: `${EVENTS_STAGE}/POST/@connections/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    events.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['execute-api:ManageConnections'], resources: [connectionsArn] }));
    NagSuppressions.addResourceSuppressions(
      events.function,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "API Gateway gives a connection its id when it opens: the events function may post to any connection of this API's stage, and nothing else (POST only, no DELETE or GET).",
          appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<.+>\\/v1\\/POST\\/@connections\\/\\*$/g' }],
        },
      ],
      true,
    );

    this.authorizeFunction = authorize.function;
    this.connectionsFunction = connections.function;
    this.eventsFunction = events.function;
  }
}

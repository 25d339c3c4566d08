import { streamCapacity, syncMemoryMb } from '../../infra/sync-sizing';
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildCopierApp } from '../../infra/copier-app';

type Json = unknown;
interface CfnResource {
  Type: string;
  Properties: Record<string, Json>;
  DeletionPolicy?: string;
}
interface PolicyStatement {
  Effect: string;
  Action: string | string[];
  Resource: Json;
  Condition?: Record<string, Record<string, string>>;
}

/** Synthesizes both stacks without bundling (the handlers are not built in unit tests). */
const synth = (context: Record<string, unknown> = {}) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stacks = buildCopierApp(app, {});
  return {
    stacks,
    stateful: Template.fromStack(stacks.stateful),
    stateless: Template.fromStack(stacks.stateless),
  };
};

// cTrader on: the stacks with everything (its secret, its public callback); the default leaves it out (below).
const { stateful, stateless, stacks: built } = synth({ ctrader: 'on' });

const resources = (template: Template, type: string): Record<string, CfnResource> => template.findResources(type) as Record<string, CfnResource>;

const only = <T>(record: Record<string, T>): [string, T] => {
  const entries = Object.entries(record);
  expect(entries).toHaveLength(1);
  return entries[0]!;
};

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Logical ids a value references: local Ref/GetAtt, and imports resolved to the stateful stack's resources. */
const referencedIds = (value: Json): string[] => {
  const outputs = stateful.toJSON().Outputs as Record<string, { Value: Json; Export?: { Name: string } }>;
  const found: string[] = [];
  const walk = (node: Json): void => {
    if (Array.isArray(node)) {
      for (const child of node) walk(child);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const object = node as Record<string, Json>;
    if (typeof object.Ref === 'string') found.push(object.Ref);
    if (Array.isArray(object['Fn::GetAtt'])) found.push(String(object['Fn::GetAtt'][0]));
    if (typeof object['Fn::ImportValue'] === 'string') {
      const output = Object.values(outputs).find((candidate) => candidate.Export?.Name === object['Fn::ImportValue']);
      if (output) walk(output.Value);
    }
    for (const [key, child] of Object.entries(object)) if (key !== 'Ref' && key !== 'Fn::GetAtt' && key !== 'Fn::ImportValue') walk(child);
  };
  walk(value);
  return found;
};

const logicalIdOf = (construct: { node: { defaultChild?: unknown } }, stack: Stack): string => stack.getLogicalId(construct.node.defaultChild as CfnElement);

/** The copy queue's event source mapping (the live events' stream has one of its own). */
const copyQueueMapping = (template: Template): CfnResource => {
  const queueIds = Object.keys(resources(stateful, 'AWS::SQS::Queue'));
  const mappings = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping')).filter((mapping) =>
    referencedIds(mapping.Properties.EventSourceArn).some((id) => queueIds.includes(id)),
  );
  expect(mappings).toHaveLength(1);
  return mappings[0]!;
};

/** The resources of one kind that belong to the HTTP API (the live events' WebSocket API has routes, an authorizer and a stage too). */
const ofHttpApi = (type: string): Record<string, CfnResource> => {
  const apiId = logicalIdOf(built.stateless.httpApi, built.stateless);
  return Object.fromEntries(Object.entries(resources(stateless, type)).filter(([, resource]) => referencedIds(resource.Properties.ApiId).includes(apiId)));
};

const statementsByPolicy = (): [string, PolicyStatement[]][] =>
  Object.entries(resources(stateless, 'AWS::IAM::Policy')).map(([id, policy]) => [
    id,
    (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement,
  ]);

describe('copy-signal queue', () => {
  it('has a visibility timeout of at least six times the timeout of the function that consumes it', () => {
    const mapping = copyQueueMapping(stateless);
    const [functionId] = referencedIds(mapping.Properties.FunctionName);
    const consumer = resources(stateless, 'AWS::Lambda::Function')[functionId!];
    const [queueId] = referencedIds(mapping.Properties.EventSourceArn);
    const queue = resources(stateful, 'AWS::SQS::Queue')[queueId!];

    const consumerTimeout = consumer?.Properties.Timeout;
    const visibilityTimeout = queue?.Properties.VisibilityTimeout;
    expect(typeof consumerTimeout).toBe('number');
    expect(typeof visibilityTimeout).toBe('number');
    expect(visibilityTimeout as number).toBeGreaterThanOrEqual(6 * (consumerTimeout as number));
  });

  it('moves a signal to a FIFO dead-letter queue after at least five receives', () => {
    const queues = resources(stateful, 'AWS::SQS::Queue');
    const mapping = copyQueueMapping(stateless);
    const queue = queues[referencedIds(mapping.Properties.EventSourceArn)[0]!];
    const redrive = queue?.Properties.RedrivePolicy as { maxReceiveCount: number; deadLetterTargetArn: Json };
    expect(redrive.maxReceiveCount).toBeGreaterThanOrEqual(5);
    const deadLetterQueue = queues[referencedIds(redrive.deadLetterTargetArn)[0]!];
    expect(deadLetterQueue?.Properties.FifoQueue).toBe(true);
    expect(deadLetterQueue?.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });

  it('makes both queues FIFO with producer-given deduplication ids per message group', () => {
    const queues = Object.values(resources(stateful, 'AWS::SQS::Queue'));
    expect(queues).toHaveLength(2);
    for (const queue of queues) {
      expect(queue.Properties.FifoQueue).toBe(true);
      expect(queue.Properties.ContentBasedDeduplication).toBe(false);
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
    stateful.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'dev-copy-signals.fifo',
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
    });
  });

  it('reports partial batch failures so one poison signal fails alone', () => {
    const mapping = copyQueueMapping(stateless);
    expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping.Properties.BatchSize).toBe(10);
  });

  it('raises an alarm to the alarm topic as soon as one message is visible in the dead-letter queue', () => {
    const queues = resources(stateful, 'AWS::SQS::Queue');
    const [deadLetterId] = Object.entries(queues).find(([, queue]) => queue.Properties.RedrivePolicy === undefined)!;
    const [topicId] = only(resources(stateful, 'AWS::SNS::Topic'));
    const alarms = Object.values(resources(stateful, 'AWS::CloudWatch::Alarm')).filter(
      (alarm) =>
        alarm.Properties.Namespace === 'AWS/SQS' &&
        alarm.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
        referencedIds(alarm.Properties.Dimensions).includes(deadLetterId),
    );
    expect(alarms).toHaveLength(1);
    const alarm = alarms[0]!.Properties;
    expect(alarm.Threshold).toBe(1);
    expect(alarm.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    expect(referencedIds(alarm.AlarmActions)).toEqual([topicId]);
  });
});

describe('operations', () => {
  const alarms = () => Object.values(resources(stateless, 'AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);
  const onMetric = (name: string) => alarms().filter((alarm) => alarm.MetricName === name);

  it('has a dashboard of the copy path named after the stage', () => {
    const [, dashboard] = only(resources(stateless, 'AWS::CloudWatch::Dashboard'));
    expect(dashboard.Properties.DashboardName).toBe('dev-mt-copier');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of [
      'CopyLatency',
      'CopiesFailed',
      'DetectionLag',
      'filter ispresent(Copies)',
      'by masterAccountId',
      'SyncPassDuration',
      'ApproximateNumberOfMessagesVisible',
      'Throttles',
    ]) {
      expect(body).toContain(metric);
    }
  });

  it("alarms on failed copies, copy latency p99, detection lag over two poll intervals, and each function's errors and throttles", () => {
    const [failed] = onMetric('CopiesFailed');
    expect(failed).toMatchObject({ Namespace: 'MtCopier', Statistic: 'Sum', Threshold: 5, Dimensions: [{ Name: 'service', Value: 'mt-copier-copy' }] });
    const [latency] = onMetric('CopyLatency');
    expect(latency).toMatchObject({ ExtendedStatistic: 'p99', Threshold: 5000, EvaluationPeriods: 3 });
    const [lag] = onMetric('DetectionLag');
    expect(lag).toMatchObject({ Threshold: 10_000, Dimensions: [{ Name: 'service', Value: 'mt-copier-sync' }] });
    expect(onMetric('Errors')).toHaveLength(3);
    expect(onMetric('Throttles')).toHaveLength(3);
    // A shard over the streams it was sized for: the deployment should be sized again.
    expect(onMetric('MastersNotStreamed')).toEqual([expect.objectContaining({ Statistic: 'Maximum', Threshold: 1 })]);
  });

  it('sends every alarm, and its recovery, to the alarm topic of the stateful stack', () => {
    const [topicId] = only(resources(stateful, 'AWS::SNS::Topic'));
    expect(alarms()).toHaveLength(10);
    for (const alarm of alarms()) {
      expect(referencedIds(alarm.AlarmActions)).toEqual([topicId]);
      expect(referencedIds(alarm.OKActions)).toEqual([topicId]);
    }
  });
});

describe('data protection', () => {
  it('rotates the credential key and keeps it when the stack is deleted', () => {
    const [keyId, key] = only(resources(stateful, 'AWS::KMS::Key'));
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    stateful.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/dev-mt-copier-credentials',
      TargetKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
  });

  it('enables point-in-time recovery and retention on both tables of user data', () => {
    const all = resources(stateful, 'AWS::DynamoDB::Table');
    // The third holds open WebSocket connections only (test/infra/live-events.test.ts).
    expect(Object.keys(all)).toHaveLength(3);
    const tables = [built.stateful.table, built.stateful.auditTable].map((table) => all[logicalIdOf(table, built.stateful)]!);
    for (const table of tables) {
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.DeletionPolicy).toBe('Retain');
    }
  });

  it('gives the main table a TTL attribute, the gsi1 index and the tenant copy timeline gsi2', () => {
    const main = resources(stateful, 'AWS::DynamoDB::Table')[logicalIdOf(built.stateful.table, built.stateful)];
    expect(main?.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(main?.Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'gsi1',
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: 'gsi2',
        KeySchema: [
          { AttributeName: 'gsi2pk', KeyType: 'HASH' },
          { AttributeName: 'gsi2sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
  });

  it('retains the user pool, the secrets (MetaApi token, cTrader application) and protects the stateful stack from termination', () => {
    expect(only(resources(stateful, 'AWS::Cognito::UserPool'))[1].DeletionPolicy).toBe('Retain');
    const secrets = Object.values(resources(stateful, 'AWS::SecretsManager::Secret'));
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) expect(secret.DeletionPolicy).toBe('Retain');
    expect(built.stateful.terminationProtection).toBe(true);
  });

  it('lets no one sign up and issues tokens to a client without a secret', () => {
    stateful.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      UsernameAttributes: ['email'],
    });
    const [, client] = only(resources(stateful, 'AWS::Cognito::UserPoolClient'));
    expect(client.Properties.GenerateSecret).toBe(false);
    expect(client.Properties.ExplicitAuthFlows).toEqual(expect.arrayContaining(['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH']));
  });
});

describe('cTrader, off by default', () => {
  it('leaves out its secret, its callback route and its settings unless `-c ctrader=on`', () => {
    const plain = synth();
    expect(Object.keys(resources(plain.stateful, 'AWS::SecretsManager::Secret'))).toHaveLength(1);
    const keys = Object.values(resources(plain.stateless, 'AWS::ApiGatewayV2::Route')).map((route) => route.Properties.RouteKey);
    expect(keys).not.toContain('GET /v1/oauth/ctrader/callback');
    for (const fn of Object.values(resources(plain.stateless, 'AWS::Lambda::Function'))) {
      const variables = (fn.Properties.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ?? {};
      expect(Object.keys(variables).filter((name) => name.startsWith('CTRADER_'))).toEqual([]);
    }
    expect(() => synth({ ctrader: 'yes' })).toThrow(/ctrader/);
  });
});

describe('HTTP API', () => {
  const routes = Object.values(ofHttpApi('AWS::ApiGatewayV2::Route')).map((route) => route.Properties);

  it('guards every /v1 route with the Cognito JWT authorizer', () => {
    const [authorizerId, authorizer] = only(ofHttpApi('AWS::ApiGatewayV2::Authorizer'));
    expect(authorizer.Properties.AuthorizerType).toBe('JWT');
    const jwt = authorizer.Properties.JwtConfiguration as { Audience: Json; Issuer: Json };
    expect(referencedIds(jwt.Audience)).toEqual([logicalIdOf(built.stateful.userPoolClient, built.stateful)]);
    expect(referencedIds(jwt.Issuer)).toContain(logicalIdOf(built.stateful.userPool, built.stateful));

    // cTrader's OAuth redirect is a browser's, with no token (see the next test).
    const v1 = routes.filter((route) => String(route.RouteKey).includes('/v1') && route.RouteKey !== 'GET /v1/oauth/ctrader/callback');
    expect(v1.map((route) => route.RouteKey).sort()).toEqual(['ANY /v1', 'ANY /v1/{proxy+}']);
    for (const route of v1) {
      expect(route.AuthorizationType).toBe('JWT');
      expect(route.AuthorizerId).toEqual({ Ref: authorizerId });
    }
  });

  it("leaves exactly /health, /openapi.json and cTrader's OAuth redirect unauthenticated", () => {
    const open = routes.filter((route) => route.AuthorizationType === undefined || route.AuthorizationType === 'NONE');
    expect(open.map((route) => route.RouteKey).sort()).toEqual(['GET /health', 'GET /openapi.json', 'GET /v1/oauth/ctrader/callback']);
  });

  it('exposes no /local route', () => {
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) expect(String(route.RouteKey)).not.toContain('/local');
  });

  it('answers CORS preflight from the configured origin', () => {
    stateless.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: {
        AllowOrigins: ['*'],
        AllowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key'],
        AllowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
        ExposeHeaders: ['Retry-After', 'Location', 'Idempotent-Replayed'],
      },
    });
  });

  it('writes an access log line per request with the tenant, never the token', () => {
    const [, stage] = only(ofHttpApi('AWS::ApiGatewayV2::Stage'));
    const settings = stage.Properties.AccessLogSettings as { DestinationArn: Json; Format: string };
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', tenant: '$context.authorizer.claims.sub' });
    expect(settings.Format).not.toMatch(/authorization|header/i);
    expect(referencedIds(settings.DestinationArn)).toHaveLength(1);
  });

  it('throttles the unauthenticated routes on their own, below the stage', () => {
    const [, stage] = only(ofHttpApi('AWS::ApiGatewayV2::Stage'));
    expect(stage.Properties.RouteSettings).toEqual({
      'GET /health': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'GET /openapi.json': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'GET /v1/oauth/ctrader/callback': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
  });

  it('throttles the default stage', () => {
    const [, stage] = only(ofHttpApi('AWS::ApiGatewayV2::Stage'));
    expect(stage.Properties.StageName).toBe('$default');
    expect(stage.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
  });
});

describe('functions', () => {
  const functions = resources(stateless, 'AWS::Lambda::Function');

  it('run on arm64 and Node.js 22 with active tracing (the live events publisher when sampled upstream)', () => {
    // api, sync, copy, and the live events' authorizer, connections and events functions.
    expect(Object.keys(functions)).toHaveLength(6);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      const publisher = String(fn.Properties.Description).startsWith('Posts live events');
      expect(fn.Properties.TracingConfig).toEqual({ Mode: publisher ? 'PassThrough' : 'Active' });
      expect(typeof fn.Properties.Timeout).toBe('number');
    }
    // The six functions' and the HTTP API's access logs.
    const logGroups = Object.values(resources(stateless, 'AWS::Logs::LogGroup'));
    expect(logGroups).toHaveLength(7);
    for (const logGroup of logGroups) expect(logGroup.Properties.RetentionInDays).toBe(30);
  });

  it('carry no secret in their environment, only the ARNs of the secrets', () => {
    const secretId = logicalIdOf(built.stateful.metaApiTokenSecret, built.stateful);
    const ctraderId = logicalIdOf(built.stateful.ctraderAppSecret!, built.stateful);
    for (const fn of Object.values(functions)) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, Json> }).Variables;
      expect(referencedIds(variables.METAAPI_TOKEN_SECRET_ARN)).toEqual([secretId]);
      expect(referencedIds(variables.CTRADER_APP_SECRET_ARN)).toEqual([ctraderId]);
      for (const [name, value] of Object.entries(variables)) {
        if (name === 'METAAPI_TOKEN_SECRET_ARN' || name === 'CTRADER_APP_SECRET_ARN') continue;
        expect(name).not.toMatch(/TOKEN|PASSWORD|SECRET|API_KEY|CREDENTIAL/i);
        if (typeof value === 'string') {
          expect(value).not.toMatch(/^(eyJ|AKIA|ASIA)|-----BEGIN/);
          expect(value.length).toBeLessThan(40);
        }
      }
    }
  });

  it('never grant update, delete or batch write on the audit table', () => {
    const auditId = logicalIdOf(built.stateful.auditTable, built.stateful);
    const auditActionsByPolicy = statementsByPolicy()
      .map(([, statements]) =>
        statements
          .filter((statement) => asArray(statement.Resource).some((resource) => referencedIds(resource).includes(auditId)))
          .flatMap((statement) => asArray(statement.Action)),
      )
      .filter((actions) => actions.length > 0);
    // api, sync and copy; the live events' functions never touch it.
    expect(auditActionsByPolicy).toHaveLength(3);
    for (const actions of auditActionsByPolicy) {
      expect(actions).toContain('dynamodb:PutItem');
      for (const action of actions) {
        expect(['dynamodb:PutItem', 'dynamodb:Query']).toContain(action);
      }
    }
  });

  it('use a wildcard resource only for X-Ray', () => {
    for (const [, statements] of statementsByPolicy()) {
      for (const statement of statements.filter((candidate) => asArray(candidate.Resource).includes('*'))) {
        for (const action of asArray(statement.Action)) expect(action).toMatch(/^xray:/);
      }
    }
  });

  it('use the credential key only for broker credentials, with a tenant and account in the encryption context', () => {
    const keyId = logicalIdOf(built.stateful.credentialsKey, built.stateful);
    const keyStatements = statementsByPolicy().flatMap(([, statements]) => statements.filter((statement) => referencedIds(statement.Resource).includes(keyId)));
    // The API's, sync's and copy's roles: sync and copy decrypt OANDA and cTrader tokens (and keep a refreshed cTrader token).
    expect(keyStatements).toHaveLength(3);
    for (const statement of keyStatements) {
      expect(statement.Condition?.Null).toEqual({
        'kms:EncryptionContext:tenantId': 'false',
        'kms:EncryptionContext:accountId': 'false',
      });
      expect(statement.Condition?.StringEquals).toEqual({ 'kms:EncryptionContext:purpose': 'broker-credential' });
    }
    const encrypting = keyStatements.filter((statement) => asArray(statement.Action).includes('kms:Encrypt'));
    expect(encrypting).toHaveLength(3);
  });
});

describe('sync schedule', () => {
  const shardInputs = (template: Template): { shard: number; shards: number }[][] =>
    Object.values(resources(template, 'AWS::Events::Rule')).map((rule) => {
      expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
      return (rule.Properties.Targets as { Input: string }[]).map((target) => JSON.parse(target.Input));
    });

  const syncFunction = (template: Template) => {
    const [fn] = Object.values(resources(template, 'AWS::Lambda::Function')).filter(
      (candidate) => (candidate.Properties.Environment as { Variables: Record<string, unknown> }).Variables.POWERTOOLS_SERVICE_NAME === 'mt-copier-sync',
    );
    return fn?.Properties as { MemorySize: number; Environment: { Variables: Record<string, unknown> } };
  };

  it('by default (a deployment for 10 masters) runs one shard, in a sync function sized for its streams', () => {
    const rules = shardInputs(stateless);
    expect(rules).toEqual([[{ shard: 0, shards: 1 }]]);
    const fn = syncFunction(stateless);
    expect(fn.MemorySize).toBe(syncMemoryMb(streamCapacity(10, 1)));
    expect(fn.MemorySize).toBeLessThan(256);
    expect(fn.Environment.Variables.SYNC_STREAM_CAPACITY).toBe(String(streamCapacity(10, 1)));
    expect(fn.Environment.Variables.SYNC_SHARDS).toBe('1');
  });

  it('for 1,000 masters runs 16 shards of ~63, more memory per shard but not per master, spread over several rules', () => {
    const template = synth({ masters: '1000' }).stateless;
    const inputs = shardInputs(template).flat();
    expect(inputs.map((input) => input.shard).sort((a, b) => a - b)).toEqual([...Array(16).keys()]);
    const fn = syncFunction(template);
    expect(Number(fn.Environment.Variables.SYNC_STREAM_CAPACITY)).toBeGreaterThanOrEqual(Math.ceil(1000 / 16));
    expect(fn.MemorySize).toBeGreaterThan(syncMemoryMb(streamCapacity(10, 1)));
    expect(fn.MemorySize).toBe(syncMemoryMb(Number(fn.Environment.Variables.SYNC_STREAM_CAPACITY)));
  });

  it('spreads more shards than one rule can target over several rules', () => {
    const inputs = shardInputs(synth({ syncShards: '7' }).stateless).flat();
    expect(inputs.map((input) => input.shard).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const input of inputs) expect(input.shards).toBe(7);
  });
});

describe('deployment settings', () => {
  it('prefixes stack and resource names with the stage', () => {
    const prod = synth({ stage: 'prod', corsOrigin: 'https://app.example.com' });
    expect(prod.stacks.settings.stage).toBe('prod');
    prod.stateful.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'prod-copy-signals.fifo' });
    prod.stateless.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: { AllowOrigins: ['https://app.example.com'] },
    });
  });

  it('gives the sync function its invocation length as timeout and streams masters unless told not to', () => {
    const sync = (template: Template) =>
      Object.values(resources(template, 'AWS::Lambda::Function')).find(
        (fn) => String((fn.Properties.Environment as { Variables: Record<string, Json> }).Variables.POWERTOOLS_SERVICE_NAME) === 'mt-copier-sync',
      )!;
    const standard = sync(stateless);
    expect(standard.Properties.Timeout).toBe(900);
    expect((standard.Properties.Environment as { Variables: Record<string, Json> }).Variables).toMatchObject({
      MASTER_STREAMING: 'on',
      MASTER_RECONCILE_INTERVAL_MS: '60000',
    });
    const short = sync(synth({ syncInvocationMinutes: '5', masterStreaming: 'off' }).stateless);
    expect(short.Properties.Timeout).toBe(300);
    expect((short.Properties.Environment as { Variables: Record<string, Json> }).Variables).toMatchObject({ MASTER_STREAMING: 'off' });
    expect(() => synth({ syncInvocationMinutes: '16' })).toThrow(/syncInvocationMinutes/);
    expect(() => synth({ syncInvocationMinutes: '2' })).toThrow(/from 3 to 15/);
    expect(() => synth({ masterStreaming: 'maybe' })).toThrow(/masterStreaming/);
  });

  it('bounds the copy concurrency (50 unless told), and reserves API concurrency only when told', () => {
    const mapping = (template: Template) => copyQueueMapping(template).Properties;
    expect(mapping(stateless).ScalingConfig).toEqual({ MaximumConcurrency: 50 });
    const api = (template: Template) =>
      Object.values(resources(template, 'AWS::Lambda::Function')).find(
        (fn) => String((fn.Properties.Environment as { Variables: Record<string, Json> }).Variables.POWERTOOLS_SERVICE_NAME) === 'mt-copier-api',
      )!.Properties;
    expect(api(stateless).ReservedConcurrentExecutions).toBeUndefined();
    const tuned = synth({ copyMaxConcurrency: '200', apiReservedConcurrency: '5' }).stateless;
    expect(mapping(tuned).ScalingConfig).toEqual({ MaximumConcurrency: 200 });
    expect(api(tuned).ReservedConcurrentExecutions).toBe(5);
    expect(() => synth({ copyMaxConcurrency: '1' })).toThrow(/copyMaxConcurrency/);
  });

  it('gives every function the limits per tenant, 500/1000/500 unless told otherwise', () => {
    const variables = (template: Template) =>
      Object.values(resources(template, 'AWS::Lambda::Function')).map((fn) => (fn.Properties.Environment as { Variables: Record<string, Json> }).Variables);
    for (const environment of variables(stateless)) {
      expect(environment).toMatchObject({ MAX_ACCOUNTS_PER_TENANT: '500', MAX_MAPPINGS_PER_TENANT: '1000', MAX_SLAVES_PER_MASTER: '500' });
    }
    for (const environment of variables(synth({ maxSlavesPerMaster: '2000' }).stateless)) expect(environment.MAX_SLAVES_PER_MASTER).toBe('2000');
    expect(() => synth({ maxAccountsPerTenant: '0' })).toThrow(/maxAccountsPerTenant/);
  });

  it('rejects a malformed stage or shard count before building anything', () => {
    expect(() => synth({ stage: 'Prod!' })).toThrow(/stage/);
    expect(() => synth({ syncShards: '0' })).toThrow(/syncShards/);
    expect(() => synth({ syncShards: '17' })).toThrow(/syncShards/);
    expect(() => synth({ masters: '0' })).toThrow(/masters/);
  });
});

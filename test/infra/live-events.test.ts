import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildCopierApp } from '../../infra/copier-app';

type Json = unknown;
interface CfnResource {
  Type: string;
  Properties: Record<string, Json>;
  DependsOn?: string[];
}
interface PolicyStatement {
  Effect: string;
  Action: string | string[];
  Resource: Json;
}

/** Both stacks, synthesized without bundling (as in stacks.test.ts). */
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const built = buildCopierApp(app, {});
const stateful = Template.fromStack(built.stateful);
const stateless = Template.fromStack(built.stateless);

const resources = (template: Template, type: string): Record<string, CfnResource> => template.findResources(type) as Record<string, CfnResource>;
const logicalIdOf = (construct: { node: { defaultChild?: unknown } }, stack: Stack): string => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

const outputs = stateful.toJSON().Outputs as Record<string, { Value: Json; Export?: { Name: string } }>;
/** A value with each import of the stateful stack replaced by what the stateful stack exports. */
const resolveImports = (value: Json): Json => {
  if (Array.isArray(value)) return value.map(resolveImports);
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, Json>;
  if (typeof object['Fn::ImportValue'] === 'string') {
    const output = Object.values(outputs).find((candidate) => candidate.Export?.Name === object['Fn::ImportValue']);
    if (!output) throw new Error(`no export ${String(object['Fn::ImportValue'])}`);
    return output.Value;
  }
  return Object.fromEntries(Object.entries(object).map(([key, child]) => [key, resolveImports(child)]));
};

const mainId = logicalIdOf(built.stateful.table, built.stateful);
const connectionsId = logicalIdOf(built.stateful.connectionsTable, built.stateful);
const apiId = logicalIdOf(built.stateless.liveEvents.webSocketApi, built.stateless);
const stageId = logicalIdOf(built.stateless.liveEvents.stage, built.stateless);
const functionIds = {
  authorize: logicalIdOf(built.stateless.liveEvents.authorizeFunction, built.stateless),
  connections: logicalIdOf(built.stateless.liveEvents.connectionsFunction, built.stateless),
  events: logicalIdOf(built.stateless.liveEvents.eventsFunction, built.stateless),
};
const functions = resources(stateless, 'AWS::Lambda::Function');

/** Every statement of the policies attached to a function's role. */
const statementsOf = (functionId: string): PolicyStatement[] => {
  const roleId = (functions[functionId]!.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return Object.values(resources(stateless, 'AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
};
/** The actions a function's role is granted on a resource (as the template writes it, imports resolved). */
const actionsOn = (functionId: string, resource: Json): string[] =>
  statementsOf(functionId)
    .filter((statement) => asArray(resolveImports(statement.Resource)).some((candidate) => JSON.stringify(candidate) === JSON.stringify(resource)))
    .flatMap((statement) => asArray(statement.Action))
    .sort();
const nonXray = (functionId: string): PolicyStatement[] =>
  statementsOf(functionId).filter((statement) => !asArray(statement.Action).every((action) => action.startsWith('xray:')));

const tableArn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const streamArn = { 'Fn::GetAtt': [mainId, 'StreamArn'] };
const postToConnections = {
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':execute-api:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      ':',
      { Ref: apiId },
      '/v1/POST/@connections/*',
    ],
  ],
};

describe('the live events WebSocket API', () => {
  it('is a WebSocket API named after the stage, with exactly the $connect and $disconnect routes, both to the connections function', () => {
    expect(resources(stateless, 'AWS::ApiGatewayV2::Api')[apiId]?.Properties).toMatchObject({ ProtocolType: 'WEBSOCKET', Name: 'dev-mt-copier-events' });
    const routes = Object.values(resources(stateless, 'AWS::ApiGatewayV2::Route')).filter(
      (route) => JSON.stringify(route.Properties.ApiId) === JSON.stringify({ Ref: apiId }),
    );
    expect(routes.map((route) => route.Properties.RouteKey).sort()).toEqual(['$connect', '$disconnect']);
    const integrations = resources(stateless, 'AWS::ApiGatewayV2::Integration');
    for (const route of routes) {
      const integrationId = JSON.stringify(route.Properties.Target).match(/"Ref":"([^"]+)"/)?.[1] ?? '';
      expect(JSON.stringify(integrations[integrationId]?.Properties.IntegrationUri)).toContain(`"${functionIds.connections}"`);
    }
  });

  it('refuses a connection unless the Lambda REQUEST authorizer on $connect, reading ?token=, allows it', () => {
    const [[authorizerId, authorizer]] = Object.entries(resources(stateless, 'AWS::ApiGatewayV2::Authorizer')).filter(
      ([, candidate]) => JSON.stringify(candidate.Properties.ApiId) === JSON.stringify({ Ref: apiId }),
    ) as [[string, CfnResource]];
    expect(authorizer.Properties.AuthorizerType).toBe('REQUEST');
    expect(authorizer.Properties.IdentitySource).toEqual(['route.request.querystring.token']);
    expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toContain(`"${functionIds.authorize}"`);
    stateless.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$connect', AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
  });

  it('gives the authorizer the user pool and client whose access tokens it accepts', () => {
    const variables = (functions[functionIds.authorize]!.Properties.Environment as { Variables: Record<string, Json> }).Variables;
    expect(resolveImports(variables.USER_POOL_ID)).toEqual({ Ref: logicalIdOf(built.stateful.userPool, built.stateful) });
    expect(resolveImports(variables.USER_POOL_CLIENT_ID)).toEqual({ Ref: logicalIdOf(built.stateful.userPoolClient, built.stateful) });
  });

  it('deploys a throttled v1 stage, and outputs its wss URL as EventsUrl for the frontend', () => {
    expect(resources(stateless, 'AWS::ApiGatewayV2::Stage')[stageId]?.Properties).toMatchObject({
      StageName: 'v1',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
    });
    const output = (stateless.toJSON().Outputs as Record<string, { Value: Json }>).EventsUrl;
    expect(output?.Value).toEqual({
      'Fn::Join': ['', ['wss://', { Ref: apiId }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/v1']],
    });
  });

  it("tells the events function the stage's management endpoint (https, the same stage)", () => {
    const variables = (functions[functionIds.events]!.Properties.Environment as { Variables: Record<string, Json> }).Variables;
    expect(variables.EVENTS_CALLBACK_URL).toEqual({
      'Fn::Join': ['', ['https://', { Ref: apiId }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/v1']],
    });
    expect(resolveImports(variables.CONNECTIONS_TABLE_NAME)).toEqual({ Ref: connectionsId });
  });
});

describe('the tables of the live events', () => {
  const tables = resources(stateful, 'AWS::DynamoDB::Table');

  it("streams the main table's items with their new and old images", () => {
    expect(tables[mainId]?.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });

  it('keeps connections in an on-demand pk/sk table whose items expire (TTL on expiresAt)', () => {
    const connections = tables[connectionsId]?.Properties;
    expect(connections).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
    });
    expect(connections?.StreamSpecification).toBeUndefined();
  });
});

describe("the events function's stream", () => {
  const mappings = Object.values(resources(stateless, 'AWS::Lambda::EventSourceMapping')).filter(
    (mapping) => JSON.stringify(resolveImports(mapping.Properties.EventSourceArn)) === JSON.stringify(streamArn),
  );

  it("is the main table's, read by the events function alone, from the latest record", () => {
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.Properties).toMatchObject({ FunctionName: { Ref: functionIds.events }, StartingPosition: 'LATEST' });
  });

  it('invokes the function only for copies, accounts and protections (event filtering on the new image)', () => {
    const filters = (mappings[0]!.Properties.FilterCriteria as { Filters: { Pattern: string }[] }).Filters;
    expect(filters.map((filter) => JSON.parse(filter.Pattern))).toEqual([
      { dynamodb: { NewImage: { entity: { S: ['copy'] }, status: { S: [{ 'anything-but': ['pending'] }] } } } },
      { dynamodb: { NewImage: { entity: { S: ['account'] } } } },
      { dynamodb: { NewImage: { entity: { S: ['protection'] }, status: { M: { state: { S: ['breached'] } } } } } },
    ]);
  });

  it('cannot be blocked by a bad record: bisected on error, two retries, records older than five minutes dropped, partial failures reported', () => {
    expect(mappings[0]?.Properties).toMatchObject({
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 2,
      MaximumRecordAgeInSeconds: 300,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});

describe('the roles of the live events functions (least privilege)', () => {
  it('lets the events function read the stream, query and delete connections, query the main table, and post to this stage only', () => {
    expect(actionsOn(functionIds.events, streamArn)).toEqual([
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:ListStreams',
    ]);
    expect(actionsOn(functionIds.events, tableArn(connectionsId))).toEqual(['dynamodb:DeleteItem', 'dynamodb:Query']);
    expect(actionsOn(functionIds.events, tableArn(mainId))).toEqual(['dynamodb:Query']);
    expect(actionsOn(functionIds.events, postToConnections)).toEqual(['execute-api:ManageConnections']);
    // Nothing else: no secret, no key, no queue, no other table or index.
    expect(nonXray(functionIds.events)).toHaveLength(4);
  });

  it('lets the connections function only put and delete connection items', () => {
    expect(actionsOn(functionIds.connections, tableArn(connectionsId))).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem']);
    expect(nonXray(functionIds.connections)).toHaveLength(1);
  });

  it('gives the authorizer nothing but its logs and traces: it verifies tokens against the public JWKS', () => {
    expect(nonXray(functionIds.authorize)).toEqual([]);
  });

  it('lets no other function touch the connections table or post to connections', () => {
    const others = Object.keys(functions).filter((id) => !Object.values(functionIds).includes(id));
    expect(others).toHaveLength(3);
    for (const id of others) {
      expect(actionsOn(id, tableArn(connectionsId))).toEqual([]);
      expect(
        statementsOf(id)
          .flatMap((statement) => asArray(statement.Action))
          .filter((action) => action.startsWith('execute-api:')),
      ).toEqual([]);
    }
  });

  it('creates the stream mapping only after the role may read the stream (Lambda checks it when the mapping is made)', () => {
    const roleId = (functions[functionIds.events]!.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const [policyId] = Object.entries(resources(stateless, 'AWS::IAM::Policy')).find(
      ([, policy]) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
    ) ?? [''];
    expect(functions[functionIds.events]?.DependsOn).toContain(policyId);
  });
});

import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createKeyedTable } from '../../shared/adapters/dynamodb/table-definitions';
import { marshall } from '@aws-sdk/util-dynamodb';
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildCopierApp } from '../../infra/copier-app';
import { startLocalKms, type RunningLocalKms } from '../../local/emulators/local-kms';
import { copyClientId } from '../../shared/domain/copy-record';
import { createTestTables, LOCAL_AWS, type TestTables } from '../support/dynamo';
import { SecretsManagerStub } from '../support/fake-metaapi/secrets-manager-stub';
import { anAccount, aPosition, T0 } from '../support/fixtures';

const run = promisify(execFile);

/**
 * The functions as they are deployed: `cdk synth` bundles each handler with esbuild, and this
 * runs each bundle (`index.mjs` of its asset) in a fresh Node process, with the environment the
 * template gives the function, against DynamoDB Local, the SQS emulator, the local KMS and a
 * Secrets Manager stand-in. A bundle that cannot start, or cannot find what it needs, fails here.
 */
describe('the bundled functions', () => {
  let outdir: string;
  let tables: TestTables;
  let kms: RunningLocalKms;
  let secrets: SecretsManagerStub;
  let sqs: SQSClient;
  let queueUrl: string;
  /** The live events' connections table, and the stand-in of the WebSocket API's management endpoint (records each post). */
  const connectionsTable = `bundles-connections-${randomUUID()}`;
  let managementApi: Server;
  const posted: { connectionId: string; body: string }[] = [];
  const functions = new Map<string, { bundle: string; environment: Record<string, string>; granted: Set<string> }>();
  /** The DynamoDB and KMS actions each function issued (`dynamodb:GetItem`), seen on the wire by recording proxies. */
  const issued = new Map<string, Set<string>>();
  /** What each bundle wrote to stdout on its last invocation (its log lines, as CloudWatch would get them). */
  const outputs = new Map<string, string>();
  const proxies: Server[] = [];
  /** The X-Ray daemon's stand-in: the (sub)segments each function sent over UDP, as Lambda's daemon gets them. */
  const traced = new Map<string, { name: string; annotations?: Record<string, unknown>; aws?: { operation?: string } }[]>();
  let daemon: Socket;
  let daemonAddress = '';
  let invoking = '';
  const runnerDir = mkdtempSync(join(tmpdir(), 'bundle-runner-'));
  const runner = join(runnerDir, 'invoke.mjs');

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'cdk-out-'));
    // Asset metadata (as the CLI asks for it) names each function's bundle directory.
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    const { stateless } = buildCopierApp(app, {});
    const assembly = app.synth();
    const template = assembly.getStackByName(stateless.stackName).template as {
      Resources: Record<string, { Type: string; Metadata?: Record<string, string>; Properties: { Environment?: { Variables?: Record<string, unknown> } } }>;
    };

    daemon = createSocket('udp4');
    daemon.on('message', (message) => {
      // A header line, then the (sub)segment's document.
      const document = JSON.parse(message.toString('utf8').split('\n').slice(1).join('\n')) as { name: string };
      traced.set(invoking, [...(traced.get(invoking) ?? []), document]);
    });
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
    daemonAddress = `127.0.0.1:${(daemon.address() as AddressInfo).port}`;

    tables = await createTestTables('bundles');
    kms = await startLocalKms({ port: 0 });
    secrets = await SecretsManagerStub.start();
    sqs = new SQSClient({ endpoint: inject('sqsEndpoint'), ...LOCAL_AWS });
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `bundles-${randomUUID()}.fifo`, Attributes: { FifoQueue: 'true' } }))).QueueUrl ?? '';
    await createKeyedTable(tables.client, connectionsTable);
    managementApi = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const connectionId = decodeURIComponent(/^\/@connections\/([^/?]+)$/.exec(request.url ?? '')?.[1] ?? '');
        posted.push({ connectionId, body: Buffer.concat(chunks).toString('utf8') });
        response.writeHead(request.method === 'POST' && connectionId ? 200 : 404).end();
      });
    });
    await new Promise<void>((resolve) => managementApi.listen(0, '127.0.0.1', resolve));
    const keyId = await kms.createKey();
    const secretArn = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:metaapi-token-AbCdEf';
    secrets.secrets.set(secretArn, 'REPLACE_WITH_METAAPI_TOKEN');
    const ctraderSecretArn = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:ctrader-app-AbCdEf';
    secrets.secrets.set(ctraderSecretArn, 'placeholder');

    // What the template resolves at deploy time (imports of the stateful stack), stood in for here.
    const standIns: Record<string, string> = {
      TABLE_NAME: tables.main.tableName,
      AUDIT_TABLE_NAME: tables.audit.tableName,
      COPY_QUEUE_URL: queueUrl,
      KMS_KEY_ID: keyId,
      METAAPI_TOKEN_SECRET_ARN: secretArn,
      // The cTrader application's secret as deployed: the placeholder, so cTrader accounts are not configured yet.
      CTRADER_APP_SECRET_ARN: ctraderSecretArn,
      CTRADER_REDIRECT_URI: 'https://api.example.invalid/v1/oauth/ctrader/callback',
      CONNECTIONS_TABLE_NAME: connectionsTable,
      EVENTS_CALLBACK_URL: `http://127.0.0.1:${(managementApi.address() as AddressInfo).port}`,
      USER_POOL_ID: 'us-east-1_BundleTest',
      USER_POOL_CLIENT_ID: 'bundle-client',
    };
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const asset = resource.Metadata?.['aws:asset:path'];
      if (!asset) continue;
      const environment: Record<string, string> = {};
      for (const [name, value] of Object.entries(resource.Properties.Environment?.Variables ?? {})) {
        if (typeof value === 'string') environment[name] = value;
        else if (standIns[name] !== undefined) environment[name] = standIns[name];
        else throw new Error(`${logicalId}: the template gives ${name} a deploy-time value this test has no stand-in for`);
      }
      const name = logicalId.replace(/Function[0-9A-F]{8}$/, '');
      functions.set(name, { bundle: join(outdir, asset, 'index.mjs'), environment, granted: grantedActions(template, resource) });
    }

    // Invokes the bundle's handler once, as Lambda would, and prints what it returned.
    writeFileSync(
      runner,
      [
        'const { handler } = await import(process.argv[2]);',
        'const context = { awsRequestId: "req-" + Date.now(), functionName: "bundle-test", getRemainingTimeInMillis: () => Number(process.env.REMAINING_MS) };',
        'const result = await handler(JSON.parse(process.env.EVENT), context);',
        'process.stdout.write("\\nRESULT " + JSON.stringify(result ?? null) + "\\n");',
        'process.exit(0);',
      ].join('\n'),
    );
  }, 120_000);

  afterAll(async () => {
    await tables?.client.send(new DeleteTableCommand({ TableName: connectionsTable })).catch(() => undefined);
    await tables?.drop();
    managementApi?.close();
    await kms?.stop();
    await secrets?.stop();
    if (queueUrl) await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
    sqs?.destroy();
    for (const proxy of proxies) proxy.close();
    if (outdir) rmSync(outdir, { recursive: true, force: true });
    rmSync(runnerDir, { recursive: true, force: true });
    daemon?.close();
  });

  const invoke = async (name: string, event: unknown, remainingMs = 10_000): Promise<unknown> => {
    const fn = [...functions.entries()].find(([id]) => id.endsWith(name))?.[1];
    if (!fn) throw new Error(`no bundled function ${name} in the template (have ${[...functions.keys()].join(', ')})`);
    const actions = issued.get(name) ?? new Set<string>();
    issued.set(name, actions);
    const proxy = await recordingProxy(inject('dynamoDbEndpoint'), 'dynamodb', actions);
    const kmsProxy = await recordingProxy(kms.endpoint, 'kms', actions);
    proxies.push(proxy.server, kmsProxy.server);
    invoking = name;
    const { stdout } = await run(process.execPath, [runner, fn.bundle], {
      env: {
        PATH: process.env.PATH,
        ...fn.environment,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        DYNAMODB_ENDPOINT: proxy.endpoint,
        SQS_ENDPOINT: inject('sqsEndpoint'),
        KMS_ENDPOINT: kmsProxy.endpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
        // What Lambda sets: the tracer turns itself on, and sends to the X-Ray daemon.
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
        LAMBDA_TASK_ROOT: dirname(fn.bundle),
        _X_AMZN_TRACE_ID: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)};Parent=53995c3f42cd8ad8;Sampled=1`,
        AWS_XRAY_DAEMON_ADDRESS: daemonAddress,
        EVENT: JSON.stringify(event),
        REMAINING_MS: String(remainingMs),
      },
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    outputs.set(name, stdout);
    // BUNDLE_DEBUG=1 shows what a bundle logged.
    if (process.env.BUNDLE_DEBUG) console.log(stdout);
    const line = stdout.split('\n').find((candidate) => candidate.startsWith('RESULT '));
    if (!line) throw new Error(`the ${name} bundle returned nothing; its output:\n${stdout}`);
    return JSON.parse(line.slice('RESULT '.length));
  };

  const apiEvent = (method: string, path: string, body?: unknown) => ({
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: {
      requestId: randomUUID(),
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bundle-test' },
      authorizer: { jwt: { claims: { sub: 'tenant-bundle' }, scopes: [] } },
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    isBase64Encoded: false,
  });

  it('synthesizes a bundle for each of the six functions', () => {
    expect([...functions.keys()].map((id) => id.replace(/^.*?(Api|Sync|Copy)$/, '$1')).sort()).toEqual([
      'Api',
      'Copy',
      'LiveEventsAuthorize',
      'LiveEventsConnections',
      'LiveEventsPublish',
      'Sync',
    ]);
  });

  it('the API bundle answers its routes: health, an account created (its password encrypted by KMS), the list', async () => {
    expect(await invoke('Api', apiEvent('GET', '/health'))).toMatchObject({ statusCode: 200 });
    const created = (await invoke(
      'Api',
      apiEvent('POST', '/v1/accounts', { name: 'bundled', platform: 'mt5', login: '5001', password: 'bundle-secret', server: 'Broker-Demo' }),
    )) as { statusCode: number; body: string };
    expect(created.statusCode).toBe(201);
    const account = JSON.parse(created.body) as { id: string; status: string };
    // No MetaApi token in the secret yet: the account says so rather than failing.
    expect(account.status).toBe('error');
    const listed = (await invoke('Api', apiEvent('GET', '/v1/accounts'))) as { statusCode: number; body: string };
    expect(listed.statusCode).toBe(200);
    expect(JSON.parse(listed.body).items.map((item: { id: string }) => item.id)).toContain(account.id);
    expect(listed.body).not.toContain('bundle-secret');
  }, 90_000);

  it('the sync bundle takes its shard and runs passes until its time is up', async () => {
    // 17 s left: the watch stops 15 s before the end, so it runs about 2 s.
    const result = await invoke('Sync', { shard: 0, shards: 1 }, 17_000);
    expect(result).toMatchObject({ role: 'owner' });
    expect((result as { passes: number }).passes).toBeGreaterThanOrEqual(1);
    const lease = await tables.client.send(
      new GetItemCommand({ TableName: tables.main.tableName, Key: { pk: { S: 'SYSTEM#SHARD#0/1' }, sk: { S: 'LEASE' } } }),
    );
    // Owned through a conditional write to DynamoDB, and given back at the end for the next invocation.
    expect(lease.Item).toBeUndefined();
    // Its log lines carry the invocation (request id, function) and the function's service.
    const lines = (outputs.get('Sync') ?? '').split('\n').filter((line) => line.startsWith('{"level"'));
    const started = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.message === 'shard watch started');
    expect(started).toMatchObject({ service: 'mt-copier-sync', function_name: 'bundle-test', function_request_id: expect.stringMatching(/^req-\d+$/) });
  }, 90_000);

  it('the copy bundle processes a batch: a signal for a mapping that does not exist ends skipped, not retried', async () => {
    const eventId = 'positionOpened:p-1:0';
    const signal = {
      tenantId: 'tenant-bundle',
      mappingId: 'mapping-gone',
      masterAccountId: 'master-1',
      slaveAccountId: 'slave-1',
      enqueuedAt: T0,
      event: {
        id: eventId,
        kind: 'positionOpened',
        tenantId: 'tenant-bundle',
        masterAccountId: 'master-1',
        detectedAt: T0,
        position: { ...aPosition(), rev: 0, detectedAt: T0 },
      },
    };
    const result = await invoke(
      'Copy',
      {
        Records: [
          {
            messageId: 'm-1',
            receiptHandle: 'r-1',
            body: JSON.stringify(signal),
            attributes: { MessageGroupId: 'slave-1' },
            messageAttributes: {},
            eventSource: 'aws:sqs',
          },
        ],
      },
      60_000,
    );
    expect(result).toEqual({ batchItemFailures: [] });
    const record = await tables.client.send(
      new GetItemCommand({
        TableName: tables.main.tableName,
        Key: { pk: { S: 'TENANT#tenant-bundle' }, sk: { S: `COPY#${copyClientId('mapping-gone', eventId)}` } },
      }),
    );
    expect(record.Item?.status?.S).toBe('skipped');
    expect(record.Item?.reason?.S).toBe('MAPPING_REMOVED');
  }, 90_000);

  it('the live events authorizer bundle refuses a connection whose token is not a JWT, with Unauthorized', async () => {
    const refused = await invoke('LiveEventsAuthorize', {
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:us-east-1:000000000000:api/v1/$connect',
      headers: {},
      queryStringParameters: { token: 'not-a-jwt' },
      requestContext: { routeKey: '$connect', eventType: 'CONNECT', connectionId: 'c-0=' },
    }).then(
      () => undefined,
      (error: { stderr?: string }) => error,
    );
    expect(refused?.stderr).toContain('Unauthorized');
    expect(refused?.stderr).not.toContain('not-a-jwt');
  }, 90_000);

  const connectionEvent = (routeKey: '$connect' | '$disconnect') => ({
    requestContext: {
      routeKey,
      eventType: routeKey === '$connect' ? 'CONNECT' : 'DISCONNECT',
      connectionId: 'bundle-conn=',
      authorizer: { tenantId: 'tenant-bundle' },
    },
    isBase64Encoded: false,
  });
  const connectionItem = () =>
    tables.client.send(new GetItemCommand({ TableName: connectionsTable, Key: marshall({ pk: 'TENANT#tenant-bundle', sk: 'CONN#bundle-conn=' }) }));

  it("the live events connections bundle keeps a connection under the authorizer's tenant on $connect", async () => {
    expect(await invoke('LiveEventsConnections', connectionEvent('$connect'))).toEqual({ statusCode: 200 });
    expect((await connectionItem()).Item?.expiresAt?.N).toBeDefined();
  }, 90_000);

  it("the live events bundle posts a stream batch's event to the tenant's connection through the management API", async () => {
    const before = anAccount({ id: 'account-bundle', tenantId: 'tenant-bundle', status: 'connecting' });
    const after = { ...before, status: 'connected', updatedAt: '2024-03-04T10:00:05.000Z' };
    const keys = { pk: 'TENANT#tenant-bundle', sk: 'ACCOUNT#account-bundle', entity: 'account' };
    const result = await invoke('LiveEventsPublish', {
      Records: [
        {
          eventID: 'stream-1',
          eventName: 'MODIFY',
          eventSource: 'aws:dynamodb',
          awsRegion: 'us-east-1',
          dynamodb: {
            SequenceNumber: '1',
            StreamViewType: 'NEW_AND_OLD_IMAGES',
            OldImage: marshall({ ...keys, ...before }),
            NewImage: marshall({ ...keys, ...after }),
          },
        },
      ],
    });
    expect(result).toEqual({ batchItemFailures: [] });
    expect(posted.map((post) => post.connectionId)).toEqual(['bundle-conn=']);
    expect(JSON.parse(posted[0]?.body ?? '{}')).toMatchObject({ type: 'account.updated', data: { id: 'account-bundle', status: 'connected', roles: [] } });
    expect(posted[0]?.body).not.toContain('ciphertext-not-a-password');
  }, 90_000);

  it('the live events connections bundle forgets the connection on $disconnect', async () => {
    expect(await invoke('LiveEventsConnections', connectionEvent('$disconnect'))).toEqual({ statusCode: 200 });
    expect((await connectionItem()).Item).toBeUndefined();
  }, 90_000);

  it('traces each invocation as in Lambda: its AWS SDK requests and its broker calls are subsegments sent to the X-Ray daemon', () => {
    const names = (name: string) => new Set((traced.get(name) ?? []).map((segment) => segment.name));
    // The API created an account: DynamoDB and KMS requests, and the broker's provisioning (refused: no MetaApi token yet).
    expect([...names('Api')]).toEqual(expect.arrayContaining(['DynamoDB', 'KMS', 'broker.provision']));
    expect([...names('Sync')]).toContain('DynamoDB');
    expect([...names('Copy')]).toContain('DynamoDB');
    const provision = (traced.get('Api') ?? []).find((segment) => segment.name === 'broker.provision');
    expect(provision?.annotations).toMatchObject({ tenantId: 'tenant-bundle', platform: 'mt5' });
  });

  it('issues no DynamoDB or KMS action its role does not grant (the least privilege of the template holds for what the code does)', () => {
    expect([...issued.keys()].sort()).toEqual(['Api', 'Copy', 'LiveEventsAuthorize', 'LiveEventsConnections', 'LiveEventsPublish', 'Sync']);
    // The connections function put and deleted its item; the events function read connections and mappings.
    expect([...(issued.get('LiveEventsConnections') ?? [])].sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem']);
    expect([...(issued.get('LiveEventsPublish') ?? [])]).toEqual(['dynamodb:Query']);
    // The API encrypted the new account's password; sync and copy have no KMS grant, and used none.
    expect(issued.get('Api')).toContain('kms:Encrypt');
    for (const [name, actions] of issued) {
      const granted = [...functions.entries()].find(([id]) => id.endsWith(name))?.[1].granted ?? new Set();
      // The authorizer reads no table: it verifies the token only.
      if (name === 'LiveEventsAuthorize') expect(actions.size, name).toBe(0);
      else expect(actions.size, name).toBeGreaterThan(0);
      expect(
        [...actions].filter((action) => !granted.has(action)),
        `${name} issued actions its role lacks`,
      ).toEqual([]);
    }
  });
});

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

/** The DynamoDB and KMS actions a function's role is granted in the template (from its role's policies). */
const grantedActions = (template: Template, fn: { Properties: Record<string, unknown> }): Set<string> => {
  const roleId = JSON.stringify(fn.Properties.Role).match(/"Fn::GetAtt":\["([^"]+)"/)?.[1];
  const actions = new Set<string>();
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy' || !JSON.stringify(resource.Properties.Roles).includes(`"${roleId}"`)) continue;
    const document = resource.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] };
    for (const statement of document.Statement) {
      for (const action of [statement.Action].flat()) if (action.startsWith('dynamodb:') || action.startsWith('kms:')) actions.add(action);
    }
  }
  return actions;
};

/**
 * A proxy in front of an emulator that notes each request's action (X-Amz-Target) as IAM names
 * it, and for a DynamoDB transaction the actions of its items, which is what IAM authorizes it by.
 */
const recordingProxy = async (target: string, service: 'dynamodb' | 'kms', actions: Set<string>): Promise<{ server: Server; endpoint: string }> => {
  const upstream = new URL(target);
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
      if (action === 'TransactWriteItems') {
        const items = (JSON.parse(body.toString('utf8')) as { TransactItems: Record<string, unknown>[] }).TransactItems;
        for (const item of items)
          for (const kind of Object.keys(item)) actions.add(`dynamodb:${kind === 'ConditionCheck' ? 'ConditionCheckItem' : `${kind}Item`}`);
      } else actions.add(`${service}:${action}`);
      const forwarded = httpRequest(
        { host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(response);
        },
      );
      forwarded.on('error', () => response.destroy());
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
};

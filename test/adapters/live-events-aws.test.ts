import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createKeyedTable } from '../../shared/adapters/dynamodb/table-definitions';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { publishStreamBatch } from '../../functions/events/stream-batch';
import { ApiGatewayLiveConnections } from '../../shared/adapters/apigateway/api-gateway-live-connections';
import { CONNECTION_LIFETIME_SECONDS, DynamoConnectionStore } from '../../shared/adapters/dynamodb/connection-store';
import type { LiveEvent } from '../../shared/domain/live-events';
import type { Log } from '../../shared/ports/log';
import { LOCAL_AWS } from '../support/dynamo';
import { aCopyRecord, aMapping, anAccount, T0 } from '../support/fixtures';

/**
 * Stands in for API Gateway's management API: records each `POST /@connections/{id}` (the
 * body is the message the connection gets), answers 410 GoneException for connections that
 * closed and 403 ForbiddenException for broken ones, as API Gateway does.
 */
class ManagementApiStandIn {
  readonly received = new Map<string, string[]>();
  readonly requests: string[] = [];
  readonly gone = new Set<string>();
  readonly broken = new Set<string>();
  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(): Promise<ManagementApiStandIn> {
    let standIn: ManagementApiStandIn | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => standIn?.answer(request.method ?? '', request.url ?? '', Buffer.concat(chunks).toString('utf8'), response));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    standIn = new ManagementApiStandIn(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return standIn;
  }

  messagesOf(connectionId: string): LiveEvent[] {
    return (this.received.get(connectionId) ?? []).map((body) => JSON.parse(body) as LiveEvent);
  }

  reset(): void {
    this.received.clear();
    this.requests.length = 0;
    this.gone.clear();
    this.broken.clear();
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(method: string, url: string, body: string, response: import('node:http').ServerResponse): void {
    const match = /^\/@connections\/([^/?]+)$/.exec(url);
    if (method !== 'POST' || !match?.[1]) {
      response.writeHead(404).end();
      return;
    }
    const connectionId = decodeURIComponent(match[1]);
    this.requests.push(connectionId);
    const error = (status: number, type: string) =>
      response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type }).end(JSON.stringify({ message: type }));
    if (this.gone.has(connectionId)) {
      error(410, 'GoneException');
      return;
    }
    if (this.broken.has(connectionId)) {
      error(403, 'ForbiddenException');
      return;
    }
    this.received.set(connectionId, [...(this.received.get(connectionId) ?? []), body]);
    response.writeHead(200).end();
  }
}

const recordingLog = () => {
  const lines: { level: string; message: string; attributes?: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, attributes?: Record<string, unknown>): void => {
      lines.push({ level, message, ...(attributes ? { attributes } : {}) });
    };
  const log: Log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { log, lines };
};

const accountUpdated = (name: string): LiveEvent => ({
  type: 'account.updated',
  at: T0,
  data: { id: 'account-1', name, platform: 'mt5', login: '5001', server: 'Broker-Demo', status: 'connected', createdAt: T0, updatedAt: T0, roles: [] },
});
const breached = (accountId: string): LiveEvent => ({ type: 'protection.breached', at: T0, data: { accountId, reason: 'MAX_DAILY_LOSS' } });

describe('live events in AWS: the connection store on DynamoDB Local and API Gateway management API posts', () => {
  let dynamo: DynamoDBClient;
  let tableName: string;
  let api: ManagementApiStandIn;
  let management: ApiGatewayManagementApiClient;
  let store: DynamoConnectionStore;
  let recorded: ReturnType<typeof recordingLog>;
  let connections: ApiGatewayLiveConnections;

  beforeAll(async () => {
    dynamo = new DynamoDBClient({ endpoint: inject('dynamoDbEndpoint'), ...LOCAL_AWS });
    tableName = `connections-${randomUUID()}`;
    // As the stateful stack declares it: pk / sk strings, on demand.
    await createKeyedTable(dynamo, tableName);
    api = await ManagementApiStandIn.start();
    management = new ApiGatewayManagementApiClient({ endpoint: api.endpoint, ...LOCAL_AWS });
  });

  afterAll(async () => {
    await dynamo?.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    dynamo?.destroy();
    management?.destroy();
    await api?.stop();
  });

  beforeEach(() => {
    api.reset();
    recorded = recordingLog();
    store = new DynamoConnectionStore({ client: dynamo, tableName });
    connections = new ApiGatewayLiveConnections(management, store, recorded.log);
  });

  /** A tenant id of its own per test: the table is shared by the file. */
  const aTenant = (): string => `tenant-${randomUUID()}`;

  it("posts a tenant's events to each of its connections, one message per event in order, and nothing to another tenant's", async () => {
    const [a, b] = [aTenant(), aTenant()];
    await store.put(a, 'a-first=');
    await store.put(a, 'a-second=');
    await store.put(b, 'b-only=');

    await connections.send(a, [accountUpdated('first'), breached('account-1'), accountUpdated('third')]);

    const expected = [accountUpdated('first'), breached('account-1'), accountUpdated('third')];
    expect(api.messagesOf('a-first=')).toEqual(expected);
    expect(api.messagesOf('a-second=')).toEqual(expected);
    expect(api.messagesOf('b-only=')).toEqual([]);
    expect(api.requests).not.toContain('b-only=');
    expect(recorded.lines.filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([]);
  });

  it('forgets a connection API Gateway answers 410 for, without an error, and still delivers to the tenant\u2019s others', async () => {
    const tenant = aTenant();
    await store.put(tenant, 'closed=');
    await store.put(tenant, 'open=');
    api.gone.add('closed=');

    await connections.send(tenant, [breached('account-1'), breached('account-2')]);

    expect(api.messagesOf('open=')).toEqual([breached('account-1'), breached('account-2')]);
    // Tried once: the rest of the events are not posted to a connection that is gone.
    expect(api.requests.filter((id) => id === 'closed=')).toHaveLength(1);
    expect(await store.list(tenant)).toEqual(['open=']);
    const item = await dynamo.send(new GetItemCommand({ TableName: tableName, Key: marshall({ pk: `TENANT#${tenant}`, sk: 'CONN#closed=' }) }));
    expect(item.Item).toBeUndefined();
    expect(recorded.lines.filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([]);
  });

  it('logs a connection that fails otherwise for that connection alone, keeps it, and throws nothing for the tenant', async () => {
    const tenant = aTenant();
    await store.put(tenant, 'broken=');
    await store.put(tenant, 'fine=');
    api.broken.add('broken=');

    await expect(connections.send(tenant, [breached('account-1'), breached('account-2')])).resolves.toBeUndefined();

    expect(api.messagesOf('fine=')).toEqual([breached('account-1'), breached('account-2')]);
    const warnings = recorded.lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.attributes).toMatchObject({ tenantId: tenant, connectionId: 'broken=', undelivered: 2 });
    expect((await store.list(tenant)).sort()).toEqual(['broken=', 'fine=']);
  });

  it('keeps a connection under its tenant for two hours (TTL), and lists it no longer once that has passed', async () => {
    const tenant = aTenant();
    const connectedAt = new Date(T0);
    await new DynamoConnectionStore({ client: dynamo, tableName }, () => connectedAt).put(tenant, 'timed=');

    const item = await dynamo.send(new GetItemCommand({ TableName: tableName, Key: marshall({ pk: `TENANT#${tenant}`, sk: 'CONN#timed=' }) }));
    expect(Number(item.Item?.expiresAt?.N)).toBe(connectedAt.getTime() / 1000 + CONNECTION_LIFETIME_SECONDS);
    expect(CONNECTION_LIFETIME_SECONDS).toBe(7200);

    const at = (seconds: number) => new DynamoConnectionStore({ client: dynamo, tableName }, () => new Date(connectedAt.getTime() + seconds * 1000));
    expect(await at(7199).list(tenant)).toEqual(['timed=']);
    expect(await at(7199).watched(tenant)).toBe(true);
    expect(await at(7201).list(tenant)).toEqual([]);
    expect(await at(7201).watched(tenant)).toBe(false);
  });

  it('tells whether a tenant is watched, and forgets a connection on disconnect', async () => {
    const tenant = aTenant();
    expect(await connections.watched(tenant)).toBe(false);
    await store.put(tenant, 'watching=');
    expect(await connections.watched(tenant)).toBe(true);
    expect(await connections.watched(aTenant())).toBe(false);
    await store.delete(tenant, 'watching=');
    await store.delete(tenant, 'watching=');
    expect(await connections.watched(tenant)).toBe(false);
  });

  describe("a batch of the main table's stream (the events function)", () => {
    let sequence = 100;
    /** A stream record as Lambda delivers it: the items as stored (keys, entity), marshalled. */
    const streamRecord = (images: { old?: Record<string, unknown>; new?: Record<string, unknown> }): DynamoDBRecord => {
      sequence += 1;
      const image = (item: Record<string, unknown>) => marshall(item, { removeUndefinedValues: true }) as never;
      return {
        eventID: `event-${sequence}`,
        eventName: images.old ? 'MODIFY' : 'INSERT',
        eventSource: 'aws:dynamodb',
        awsRegion: 'us-east-1',
        dynamodb: {
          SequenceNumber: String(sequence),
          StreamViewType: 'NEW_AND_OLD_IMAGES',
          ...(images.old ? { OldImage: image(images.old) } : {}),
          ...(images.new ? { NewImage: image(images.new) } : {}),
        },
      };
    };

    it("posts each tenant's events from its records to its connections alone, in stream order, and reports no failure", async () => {
      const [a, b] = [aTenant(), aTenant()];
      await store.put(a, 'a-socket=');
      await store.put(b, 'b-socket=');
      const pending = aCopyRecord({ tenantId: a });
      const placed = { ...pending, status: 'placed', slaveOrderId: 'o-9', completedAt: '2024-03-04T10:00:01.000Z' };
      const before = anAccount({ tenantId: b, status: 'connecting' });
      const after = { ...before, status: 'connected', updatedAt: '2024-03-04T10:00:02.000Z' };
      const copyKeys = { pk: `TENANT#${a}`, sk: `COPY#${pending.clientId}`, entity: 'copy' };
      const accountKeys = { pk: `TENANT#${b}`, sk: `ACCOUNT#${before.id}`, entity: 'account' };

      const result = await publishStreamBatch(
        { connections, mappings: { listAll: async () => [aMapping({ tenantId: b, masterAccountId: before.id })] }, log: recorded.log },
        {
          Records: [
            streamRecord({ old: { ...copyKeys, ...pending }, new: { ...copyKeys, ...placed } }),
            streamRecord({ old: { ...accountKeys, ...before }, new: { ...accountKeys, ...after } }),
            // Written again unchanged: tells nothing.
            streamRecord({ old: { ...copyKeys, ...placed }, new: { ...copyKeys, ...placed } }),
          ],
        },
      );

      expect(result).toEqual({ batchItemFailures: [] });
      const toA = api.messagesOf('a-socket=');
      expect(toA.map((event) => event.type)).toEqual(['copy.finished']);
      expect(toA[0]?.data).toMatchObject({ id: pending.id, status: 'placed' });
      expect(JSON.stringify(toA)).not.toContain(pending.clientId);
      const toB = api.messagesOf('b-socket=');
      expect(toB.map((event) => event.type)).toEqual(['account.updated']);
      expect(toB[0]?.data).toMatchObject({ id: before.id, status: 'connected', roles: ['master'] });
      expect(JSON.stringify(toB)).not.toContain('ciphertext-not-a-password');
    });

    it('skips a record whose image cannot be read, logs it, and still publishes the rest without failing the batch', async () => {
      const tenant = aTenant();
      await store.put(tenant, 'socket=');
      const keys = { pk: `TENANT#${tenant}`, sk: 'PROTECTION#account-1', entity: 'protection' };
      const protection = { tenantId: tenant, accountId: 'account-1', rules: {}, updatedAt: T0 };
      const unreadable = streamRecord({ new: keys });
      (unreadable.dynamodb as { NewImage: Record<string, unknown> }).NewImage.tenantId = { Z: 'no such type' };

      const result = await publishStreamBatch(
        { connections, mappings: { listAll: async () => [] }, log: recorded.log },
        {
          Records: [
            unreadable,
            streamRecord({
              old: { ...keys, ...protection, status: { state: 'ok' } },
              new: { ...keys, ...protection, status: { state: 'breached', reason: 'MAX_DAILY_LOSS', breachedAt: T0 } },
            }),
          ],
        },
      );

      expect(result).toEqual({ batchItemFailures: [] });
      expect(api.messagesOf('socket=')).toEqual([{ type: 'protection.breached', at: T0, data: { accountId: 'account-1', reason: 'MAX_DAILY_LOSS' } }]);
      expect(recorded.lines.filter((line) => line.level === 'error').map((line) => [line.message, line.attributes?.eventID])).toEqual([
        ['stream record not readable: skipped', unreadable.eventID],
      ]);
    });
  });
});

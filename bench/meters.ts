import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { BrokerPort } from '../shared/ports/broker';
import type { Runtime } from '../shared/runtime/runtime';
import { sqsBilledRequests } from './cost-model';

/** Wall-clock time in milliseconds since the epoch, with sub-millisecond resolution. */
export const clock = (): number => performance.timeOrigin + performance.now();

export type AwsService = 'dynamodb' | 'sqs' | 'kms';

/**
 * One AWS request as the SDK client sent it. `target` says what it touched, from the keys
 * of the request: the item kind of the main table (`BOOK`, `ACCOUNT`, `MAPPING`,
 * `PROTECTION`, `COPY`, `LINK`), `AUDIT`, the listing of a sync shard (`SYNC`), the kinds
 * of a transaction joined with `+`, or the queue's role for SQS.
 */
export interface AwsCall {
  service: AwsService;
  command: string;
  target: string;
  /** Ids named by the keys (the part of `sk` after the kind): account ids for books, accounts and protections. */
  ids: string[];
  start: number;
  end: number;
  /** HTTP attempts, retries included: what AWS bills. */
  attempts: number;
  rru: number;
  wru: number;
  /** SQS: entries sent, messages received, entries deleted. */
  messages: number;
  /** SQS: requests billed (one per started 64 KB of payload per attempt); others: attempts. */
  billed: number;
  /** Query: items returned and their DynamoDB size in bytes; items read (before a filter). */
  items: number;
  itemBytes: number;
  scanned: number;
  /** Query: items returned per entity (`account`, `mapping`, ...), with their bytes. */
  entities: Record<string, { items: number; bytes: number }>;
  failed: boolean;
}

/** SQS requests the local runtime makes only to manage itself (AWS's event source does not make them). */
const HARNESS_COMMANDS = new Set([
  'GetQueueAttributes',
  'CreateQueue',
  'GetQueueUrl',
  'ListQueues',
  'CreateTable',
  'DescribeTable',
  'CreateKey',
  'CreateAlias',
  'ListAliases',
  'DescribeKey',
]);

/** Whether a call is the local harness's own bookkeeping, or an empty long poll (a time cost, not a per-copy one). */
export const isHarness = (call: AwsCall): boolean => HARNESS_COMMANDS.has(call.command);
export const isIdleReceive = (call: AwsCall): boolean => call.command === 'ReceiveMessage' && call.messages === 0;

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const CAPACITY_COMMANDS = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
]);

type Input = Record<string, any>;
type Output = Record<string, any> & { $metadata?: { attempts?: number } };
type Handler = (args: { input: Input }) => Promise<{ output: Output }>;
interface MiddlewareHost {
  middlewareStack: {
    add(middleware: (next: Handler, context: { commandName?: string }) => Handler, options: { step: 'initialize'; name: string; override?: boolean }): void;
  };
}

/** Size of a DynamoDB attribute value by the service's rules (names and values in UTF-8, numbers ~1 byte per 2 digits). */
const valueBytes = (value: AttributeValue): number => {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/[-.]/g, '').length / 2) + 1;
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M !== undefined) return 3 + Object.entries(value.M).reduce((sum, [name, inner]) => sum + Buffer.byteLength(name) + valueBytes(inner), 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, inner) => sum + 1 + valueBytes(inner), 0);
  if (value.SS !== undefined) return value.SS.reduce((sum, entry) => sum + Buffer.byteLength(entry), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, entry) => sum + Math.ceil(entry.length / 2) + 1, 0);
  return 0;
};

export const dynamoItemBytes = (item: Record<string, AttributeValue>): number =>
  Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value), 0);

const kindOf = (sk: string | undefined): { kind: string; id?: string } => {
  if (!sk) return { kind: 'unknown' };
  const [kind, ...rest] = sk.split('#');
  return { kind: kind ?? 'unknown', id: rest[0] };
};

const describeDynamo = (command: string, input: Input): { target: string; ids: string[] } => {
  const audit = typeof input.TableName === 'string' && input.TableName.endsWith('-audit');
  if (command === 'TransactWriteItems') {
    const kinds = ((input.TransactItems as Input[] | undefined) ?? []).map((item) => {
      const operation = item.Put ?? item.Update ?? item.Delete ?? item.ConditionCheck;
      if (operation?.TableName?.endsWith('-audit')) return 'AUDIT';
      return kindOf((operation?.Key ?? operation?.Item)?.sk?.S).kind;
    });
    return { target: kinds.join('+'), ids: [] };
  }
  if (command === 'BatchGetItem' || command === 'BatchWriteItem') {
    const kinds: string[] = [];
    const ids: string[] = [];
    for (const [table, request] of Object.entries((input.RequestItems as Record<string, any> | undefined) ?? {})) {
      const entries: Input[] =
        command === 'BatchGetItem' ? (request.Keys ?? []) : (request as Input[]).map((entry) => entry.PutRequest?.Item ?? entry.DeleteRequest?.Key);
      for (const key of entries) {
        if (table.endsWith('-audit')) {
          kinds.push('AUDIT');
          continue;
        }
        const { kind, id } = kindOf(key?.sk?.S);
        kinds.push(kind);
        if (id) ids.push(id);
      }
    }
    return { target: kinds.join('+'), ids };
  }
  if (command === 'Query') {
    const pk = input.ExpressionAttributeValues?.[':pk']?.S as string | undefined;
    const prefix = input.ExpressionAttributeValues?.[':prefix']?.S as string | undefined;
    if (audit) return { target: 'AUDIT', ids: [] };
    if (input.IndexName && pk) return { target: kindOf(pk).kind, ids: [] };
    const { kind, id } = kindOf(prefix);
    return { target: prefix ? kind : 'unknown', ids: id ? [id] : [] };
  }
  if (audit) return { target: 'AUDIT', ids: [] };
  const { kind, id } = kindOf((input.Key ?? input.Item)?.sk?.S);
  return { target: kind, ids: id ? [id] : [] };
};

const capacityOf = (output: Output): number => {
  const consumed = output.ConsumedCapacity;
  const entries: Input[] = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return entries.reduce((sum, entry) => sum + Number(entry.CapacityUnits ?? 0), 0);
};

/** Bytes assumed for an item a query read but its filter dropped, when no returned item shows a size. */
const FILTERED_ITEM_BYTES = 512;

/**
 * Read units of a Query by AWS's rules (DynamoDB Local leaves out the minimum): the items
 * read, filtered ones included, summed and rounded up to 4 KB; at least one 4 KB unit;
 * half for an eventually consistent read (every GSI read).
 */
export const queryReadUnits = (returnedBytes: number, returned: number, scanned: number, consistent: boolean): number => {
  const perItem = returned > 0 ? returnedBytes / returned : FILTERED_ITEM_BYTES;
  const bytes = returnedBytes + Math.max(0, scanned - returned) * perItem;
  return Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);
};

/** Read units of a BatchGetItem by AWS's rules: every key read on its own, rounded up to 4 KB, a missing item at the minimum. */
const batchGetReadUnits = (input: Input, output: Output): number => {
  let units = 0;
  for (const [table, request] of Object.entries((input.RequestItems as Record<string, any> | undefined) ?? {})) {
    const factor = request.ConsistentRead ? 1 : 0.5;
    const found = ((output.Responses?.[table] as Record<string, AttributeValue>[] | undefined) ?? []).map((item) =>
      Math.max(1, Math.ceil(dynamoItemBytes(item) / 4096)),
    );
    const unprocessed = (output.UnprocessedKeys?.[table]?.Keys as unknown[] | undefined)?.length ?? 0;
    const missing = Math.max(0, (request.Keys as unknown[]).length - found.length - unprocessed);
    units += (found.reduce((sum, unit) => sum + unit, 0) + missing) * factor;
  }
  return units;
};

const queueRole = (url: unknown): string => (typeof url === 'string' && url.includes('-dlq') ? 'dlq' : 'copy-queue');

/** Every AWS request the runtime's SDK clients make, in order, with what it touched and what it consumed. */
export class AwsMeter {
  readonly calls: AwsCall[] = [];

  /** Adds the counting middleware to the runtime's DynamoDB, SQS and KMS clients (before retries: a logical request, with its attempts). */
  attach(runtime: Runtime, chunkBytes: number): void {
    this.meter('dynamodb', runtime.clients.dynamo as unknown as MiddlewareHost, chunkBytes);
    this.meter('sqs', runtime.clients.sqs as unknown as MiddlewareHost, chunkBytes);
    this.meter('kms', runtime.clients.kms as unknown as MiddlewareHost, chunkBytes);
  }

  /**
   * Calls that ended at or after `from` (epoch ms, see `clock`) and started by `to`, without
   * the harness's own and empty long polls. By end time: a long poll that was waiting
   * before the window and returned a message in it belongs to the window.
   */
  between(from: number, to = Number.POSITIVE_INFINITY): AwsCall[] {
    return this.calls.filter((call) => call.end >= from && call.start <= to && !isHarness(call) && !isIdleReceive(call));
  }

  private meter(service: AwsService, client: MiddlewareHost, chunkBytes: number): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        const input = service === 'dynamodb' && CAPACITY_COMMANDS.has(command) ? { ...args.input, ReturnConsumedCapacity: 'TOTAL' } : args.input;
        const call: AwsCall = {
          service,
          command,
          target: service === 'sqs' ? queueRole(input.QueueUrl) : service === 'kms' ? 'key' : '',
          ids: [],
          start: clock(),
          end: 0,
          attempts: 1,
          rru: 0,
          wru: 0,
          messages: 0,
          billed: 1,
          items: 0,
          itemBytes: 0,
          scanned: 0,
          entities: {},
          failed: false,
        };
        if (service === 'dynamodb') Object.assign(call, describeDynamo(command, input));
        let sentBytes = 0;
        if (command === 'SendMessageBatch') {
          const entries = (input.Entries as Input[] | undefined) ?? [];
          call.messages = entries.length;
          sentBytes = entries.reduce((sum, entry) => sum + Buffer.byteLength(String(entry.MessageBody ?? '')), 0);
        } else if (command === 'SendMessage') {
          call.messages = 1;
          sentBytes = Buffer.byteLength(String(input.MessageBody ?? ''));
        } else if (command === 'DeleteMessageBatch' || command === 'ChangeMessageVisibilityBatch') {
          call.messages = ((input.Entries as Input[] | undefined) ?? []).length;
        }
        this.calls.push(call);
        try {
          const result = await next({ ...args, input });
          const output = result.output;
          call.attempts = output.$metadata?.attempts ?? 1;
          if (service === 'dynamodb') {
            const units = capacityOf(output);
            if (READS.has(command)) call.rru = units;
            else call.wru = units;
            if (command === 'Query') {
              const items = (output.Items as Record<string, AttributeValue>[] | undefined) ?? [];
              call.items = items.length;
              call.scanned = Number(output.ScannedCount ?? items.length);
              for (const item of items) {
                const bytes = dynamoItemBytes(item);
                call.itemBytes += bytes;
                const entity = item.entity?.S ?? 'unknown';
                const slot = (call.entities[entity] ??= { items: 0, bytes: 0 });
                slot.items += 1;
                slot.bytes += bytes;
              }
              call.rru = queryReadUnits(call.itemBytes, call.items, call.scanned, input.ConsistentRead === true);
            } else if (command === 'BatchGetItem') {
              call.rru = batchGetReadUnits(input, output);
            }
            call.billed = call.attempts;
          } else if (service === 'sqs') {
            let payload = sentBytes;
            if (command === 'ReceiveMessage') {
              const messages = (output.Messages as Input[] | undefined) ?? [];
              call.messages = messages.length;
              payload = messages.reduce((sum, message) => sum + Buffer.byteLength(String(message.Body ?? '')), 0);
            }
            call.billed = call.attempts * sqsBilledRequests(payload, chunkBytes);
          } else {
            call.billed = call.attempts;
          }
          return result;
        } catch (error) {
          call.failed = true;
          call.attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
          call.billed = call.attempts;
          throw error;
        } finally {
          call.end = clock();
        }
      },
      { step: 'initialize', name: 'benchAwsMeter', override: true },
    );
  }
}

/** One call of a broker port: which account, which method, when it started and answered. */
export interface BrokerCall {
  accountId: string;
  method: string;
  start: number;
  end: number;
  clientId?: string;
  failed: boolean;
}

/** The methods that change something at the broker (the slave's order), as opposed to reads. */
export const TRADE_METHODS = new Set(['placeOrder', 'modifyPosition', 'modifyOrder', 'closePosition', 'cancelOrder']);

/**
 * Every broker port call the runtime makes: `runtime.brokers.connect` is wrapped from the
 * outside so each port it hands out records its calls; the engine's code is unchanged.
 */
export class BrokerMeter {
  readonly calls: BrokerCall[] = [];
  private readonly wrapped = new WeakMap<BrokerPort, BrokerPort>();

  attach(runtime: Runtime): void {
    const directory = runtime.brokers;
    const connect = directory.connect.bind(directory);
    directory.connect = async (account) => this.wrap(await connect(account), account.id);
  }

  private wrap(port: BrokerPort, accountId: string): BrokerPort {
    const known = this.wrapped.get(port);
    if (known) return known;
    const calls = this.calls;
    const proxy = new Proxy(port, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const call: BrokerCall = { accountId, method: String(property), start: clock(), end: 0, failed: false };
          const options = args[property === 'placeOrder' ? 0 : 1] as { clientId?: unknown } | undefined;
          if (typeof options?.clientId === 'string') call.clientId = options.clientId;
          calls.push(call);
          return Promise.resolve((value as (...inner: unknown[]) => unknown).apply(target, args)).then(
            (result) => {
              call.end = clock();
              return result;
            },
            (error: unknown) => {
              call.end = clock();
              call.failed = true;
              throw error;
            },
          );
        };
      },
    });
    this.wrapped.set(port, proxy);
    return proxy;
  }
}

/** Milliseconds of [from, to] covered by at least one of the intervals. */
export const coveredMs = (intervals: { start: number; end: number }[], from: number, to: number): number => {
  const clipped = intervals
    .map((interval) => ({ start: Math.max(interval.start, from), end: Math.min(interval.end, to) }))
    .filter((interval) => interval.end > interval.start)
    .sort((a, b) => a.start - b.start);
  let covered = 0;
  let reach = from;
  for (const interval of clipped) {
    const start = Math.max(interval.start, reach);
    if (interval.end > start) {
      covered += interval.end - start;
      reach = interval.end;
    }
  }
  return covered;
};

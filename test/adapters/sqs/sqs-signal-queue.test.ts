import { CreateQueueCommand, DeleteMessageBatchCommand, DeleteQueueCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { SqsSignalQueue } from '../../../shared/adapters/sqs/sqs-signal-queue';
import type { CopySignal } from '../../../shared/ports/stores';
import { LOCAL_AWS } from '../../support/dynamo';
import { aPosition, T0 } from '../../support/fixtures';

let client: SQSClient;
let queueUrl: string;
let queue: SqsSignalQueue;

beforeAll(() => {
  client = new SQSClient({ endpoint: inject('sqsEndpoint'), ...LOCAL_AWS });
});

beforeEach(async () => {
  const created = await client.send(
    new CreateQueueCommand({ QueueName: `signals-${randomUUID()}.fifo`, Attributes: { FifoQueue: 'true', VisibilityTimeout: '30' } }),
  );
  queueUrl = created.QueueUrl!;
  queue = new SqsSignalQueue(client, queueUrl);
  return async () => {
    await client.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  };
});

afterAll(() => {
  client?.destroy();
});

const signal = (slave: string, ticket: string, overrides: Partial<CopySignal> = {}): CopySignal => {
  const mappingId = `mapping-${slave}`;
  const eventId = `positionOpened:${ticket}:0`;
  return {
    tenantId: 'tenant-a',
    mappingId,
    masterAccountId: 'master-1',
    slaveAccountId: slave,
    event: {
      id: eventId,
      kind: 'positionOpened',
      tenantId: 'tenant-a',
      masterAccountId: 'master-1',
      detectedAt: T0,
      position: { ...aPosition({ id: ticket }), rev: 0, detectedAt: T0 },
    },
    enqueuedAt: T0,
    ...overrides,
  };
};

/** Receives (and deletes) until `expected` messages arrived or the queue stays empty. */
const drain = async (expected: number): Promise<Message[]> => {
  const received: Message[] = [];
  let idle = 0;
  while (received.length < expected || idle < 1) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['MessageGroupId', 'MessageDeduplicationId'],
      }),
    );
    if (Messages.length === 0) {
      idle += 1;
      if (idle > 3) break;
      continue;
    }
    idle = 0;
    received.push(...Messages);
    await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
  return received;
};

const bodyOf = (message: Message): CopySignal => JSON.parse(message.Body!) as CopySignal;

describe('SqsSignalQueue', () => {
  it('delivers every signal, grouped by slave account, in the order sent within each slave', async () => {
    const slaves = ['slave-a', 'slave-b', 'slave-c'];
    const signals = Array.from({ length: 25 }, (_, index) => signal(slaves[index % 3]!, `t${String(index).padStart(2, '0')}`));

    await queue.send(signals);
    const received = await drain(25);

    expect(received).toHaveLength(25);
    for (const message of received) expect(message.Attributes?.MessageGroupId).toBe(bodyOf(message).slaveAccountId);
    // One deduplication id per (mapping, event), the copy record's id (golden value for the first signal).
    const dedup = (message: Message) => message.Attributes?.MessageDeduplicationId;
    expect(dedup(received.find((message) => bodyOf(message).event.id === 'positionOpened:t00:0')!)).toBe('e84c377355eebd46254485be');
    expect(new Set(received.map(dedup)).size).toBe(25);
    for (const slave of slaves) {
      const sent = signals.filter((item) => item.slaveAccountId === slave).map((item) => item.event.id);
      const got = received
        .map(bodyOf)
        .filter((item) => item.slaveAccountId === slave)
        .map((item) => item.event.id);
      expect(got).toEqual(sent);
    }
  });

  it('carries the signal unchanged in the message body', async () => {
    const sent = signal('slave-a', 't1', { event: { ...signal('slave-a', 't1').event, masterBalance: 1234.5 } });
    await queue.send([sent]);

    const [message] = await drain(1);
    expect(bodyOf(message!)).toEqual(sent);
  });

  it('delivers one message when the same (mapping, event) is sent twice', async () => {
    await queue.send([signal('slave-a', 't1', { enqueuedAt: '2024-03-04T10:00:00.000Z' })]);
    await queue.send([signal('slave-a', 't1', { enqueuedAt: '2024-03-04T10:00:05.000Z' })]);
    await queue.send([signal('slave-a', 't2')]);

    const received = await drain(2);

    expect(received.map((message) => bodyOf(message).event.id)).toEqual(['positionOpened:t1:0', 'positionOpened:t2:0']);
    expect(bodyOf(received[0]!).enqueuedAt).toBe('2024-03-04T10:00:00.000Z');
  });

  it('delivers one message when the same (mapping, event) appears twice in one send', async () => {
    await queue.send([signal('slave-a', 't1'), signal('slave-a', 't2'), signal('slave-a', 't1')]);

    const received = await drain(2);

    expect(received.map((message) => bodyOf(message).event.id)).toEqual(['positionOpened:t1:0', 'positionOpened:t2:0']);
  });

  it('delivers the same event once per mapping when it fans out to several slaves', async () => {
    await queue.send([signal('slave-a', 't1'), signal('slave-b', 't1'), signal('slave-c', 't1')]);

    const received = await drain(3);

    expect(received.map((message) => bodyOf(message).slaveAccountId).toSorted()).toEqual(['slave-a', 'slave-b', 'slave-c']);
  });

  it('sends the batches of different slaves side by side, and those of one slave one after another', async () => {
    // Every SendMessageBatch takes 30 ms on its way; the queue is told how many are under way.
    let inFlight = 0;
    let most = 0;
    const slow = {
      send: async (command: Parameters<SQSClient['send']>[0]) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 30));
        try {
          return await client.send(command);
        } finally {
          inFlight -= 1;
        }
      },
    } as unknown as SQSClient;
    const fanOut = Array.from({ length: 100 }, (_, index) => signal(`slave-${index}`, 't1'));
    await new SqsSignalQueue(slow, queueUrl).send(fanOut);
    expect(most).toBeGreaterThanOrEqual(8);
    expect(await drain(100)).toHaveLength(100);

    // 40 signals of one slave: four batches, never two at once, delivered in order.
    most = 0;
    const burst = Array.from({ length: 40 }, (_, index) => signal('slave-one', `b${String(index).padStart(2, '0')}`));
    await new SqsSignalQueue(slow, queueUrl).send(burst);
    expect(most).toBe(1);
    expect((await drain(40)).map((message) => bodyOf(message).event.id)).toEqual(burst.map((item) => item.event.id));
  });

  it('sends no later batch of a slave whose earlier batch failed, and reports the failure', async () => {
    let calls = 0;
    const failingFirst = {
      send: async (command: Parameters<SQSClient['send']>[0]) => {
        calls += 1;
        if (calls === 1) throw new Error('throttled');
        return client.send(command);
      },
    } as unknown as SQSClient;
    // Batch 1: slave-a only (fails); batch 2: slave-a and slave-b (held back); batch 3: slave-c only (sent).
    const signals = [
      ...Array.from({ length: 10 }, (_, index) => signal('slave-a', `a${index}`)),
      ...Array.from({ length: 5 }, (_, index) => signal('slave-a', `a${index + 10}`)),
      ...Array.from({ length: 5 }, (_, index) => signal('slave-b', `b${index}`)),
      ...Array.from({ length: 10 }, (_, index) => signal('slave-c', `c${index}`)),
    ];
    await expect(new SqsSignalQueue(failingFirst, queueUrl).send(signals)).rejects.toThrow('throttled');
    const received = (await drain(10)).map((message) => bodyOf(message).slaveAccountId);
    expect(received.toSorted()).toEqual(Array.from({ length: 10 }, () => 'slave-c'));
  });

  it('gives received signals back to come again after their own delay, not the 30 s visibility timeout', async () => {
    await queue.send([signal('slave-a', 't1'), signal('slave-b', 't2')]);
    const first = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect(first.Messages).toHaveLength(2);
    const back = first.Messages!.find((message) => bodyOf(message).slaveAccountId === 'slave-a')!;
    await queue.returnLater([{ receiptHandle: back.ReceiptHandle!, delaySeconds: 1 }]);

    const started = Date.now();
    const again = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 5 }));
    expect(again.Messages?.map((message) => bodyOf(message).event.id)).toEqual(['positionOpened:t1:0']);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('sends nothing for an empty list', async () => {
    await queue.send([]);
    expect(await drain(0)).toEqual([]);
  });
});

import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { SqsSignalQueue } from '../../../shared/adapters/sqs/sqs-signal-queue';
import { copyRecordId } from '../../../shared/domain/copy-record';
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
    for (const message of received) {
      const body = bodyOf(message);
      expect(message.Attributes?.MessageGroupId).toBe(body.slaveAccountId);
      expect(message.Attributes?.MessageDeduplicationId).toBe(copyRecordId(body.mappingId, body.event.id));
    }
    for (const slave of slaves) {
      const sent = signals.filter((item) => item.slaveAccountId === slave).map((item) => item.event.id);
      const got = received.map(bodyOf).filter((item) => item.slaveAccountId === slave).map((item) => item.event.id);
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

  it('sends nothing for an empty list', async () => {
    await queue.send([]);
    expect(await drain(0)).toEqual([]);
  });
});

import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBatchDependencies, processCopyBatch, START_SIGNAL_MIN_REMAINING_MS } from '../../functions/copy/copy-worker';
import type { LocalSystem } from '../../local/local-system';
import { copyFixture } from '../support/copy-fixture';
import { BrokerDirectory } from '../../shared/use-cases/broker-directory';
import { startTestSystem } from '../support/local-api';
import { sqsRecord } from '../support/sqs-record';
import { wrappedGateway } from '../support/wrapped-gateway';

describe('poison copy signals', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
  });
  afterAll(async () => system?.stop());

  it('fails alone in its batch while the signals of other slaves are copied', async () => {
    const fixture = await copyFixture(system);
    const good = fixture.openSignal(fixture.masterBuy());
    const result = await processCopyBatch(copyBatchDependencies(system.runtime), {
      Records: [
        sqsRecord('poison', '{"not":"a signal"}', 'other-slave'),
        sqsRecord('good', JSON.stringify(good), fixture.slave.id),
        sqsRecord('garbage', 'not json', 'third-slave'),
      ],
    });
    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(['garbage', 'poison']);
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(1);
  });

  it('starts no signal the invocation has no time left to finish, and hands the group back at once', async () => {
    const fixture = await copyFixture(system);
    const first = fixture.openSignal(fixture.masterBuy('EURUSD', 0.1));
    const second = fixture.openSignal(fixture.masterBuy('GBPUSD', 0.1));
    const records = [sqsRecord('first', JSON.stringify(first), fixture.slave.id), sqsRecord('second', JSON.stringify(second), fixture.slave.id)];
    // Enough time for the first signal only: it is copied, the second goes back untouched.
    let asked = 0;
    const remainingMs = () => (asked++ === 0 ? START_SIGNAL_MIN_REMAINING_MS : START_SIGNAL_MIN_REMAINING_MS - 1);
    const result = await processCopyBatch(copyBatchDependencies(system.runtime), { Records: records }, { remainingMs });
    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['second']);
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(1);
    expect(await fixture.copies()).toHaveLength(1);
  });

  it('copies to different slaves side by side, so one slow broker does not hold up the others', async () => {
    const first = await copyFixture(system);
    const second = await copyFixture(system);
    // The first slave's broker answers only once the second slave's order has arrived: a
    // worker that took the batch one signal after another would wait here forever.
    let secondPlaced!: () => void;
    const secondArrived = new Promise<void>((resolve) => (secondPlaced = resolve));
    const gateway = wrappedGateway(system.market, (port, ref) => ({
      placeOrder: async (request) => {
        if (ref.accountId === first.slave.id) await secondArrived;
        const result = await port.placeOrder(request);
        if (ref.accountId === second.slave.id) secondPlaced();
        return result;
      },
    }));
    const runtime = { ...system.runtime, brokers: new BrokerDirectory({ simulated: gateway }) };
    const result = await processCopyBatch(copyBatchDependencies(runtime), {
      Records: [
        sqsRecord('to-first', JSON.stringify(first.openSignal(first.masterBuy())), first.slave.id),
        sqsRecord('to-second', JSON.stringify(second.openSignal(second.masterBuy())), second.slave.id),
      ],
    });
    expect(result.batchItemFailures).toEqual([]);
    expect(system.market.getPositions(first.slave.id)).toHaveLength(1);
    expect(system.market.getPositions(second.slave.id)).toHaveLength(1);
  }, 10_000);

  it('holds back the later signals of the failing slave so its events stay in order', async () => {
    const fixture = await copyFixture(system);
    const open = fixture.openSignal(fixture.masterBuy());
    const result = await processCopyBatch(copyBatchDependencies(system.runtime), {
      Records: [sqsRecord('poison', '{}', fixture.slave.id), sqsRecord('after', JSON.stringify(open), fixture.slave.id)],
    });
    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['poison', 'after']);
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(0);
  });

  it('ends in the dead-letter queue after maxReceiveCount receives', async () => {
    const { sqs } = system.runtime.clients;
    const name = `poison-${Date.now()}`;
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: 'true' } }));
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn;
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${name}.fifo`,
        Attributes: { FifoQueue: 'true', VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) },
      }),
    );
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queue.QueueUrl, MessageBody: '{"poison":true}', MessageGroupId: 'slave', MessageDeduplicationId: 'poison-1' }),
    );
    let receives = 0;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }),
      );
      if (Messages.length > 0) {
        receives += 1;
        const result = await processCopyBatch(copyBatchDependencies(system.runtime), {
          Records: Messages.map((message) => sqsRecord(message.MessageId!, message.Body!, message.Attributes?.MessageGroupId ?? 'slave')),
        });
        const failed = new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier));
        const done = Messages.filter((message) => !failed.has(message.MessageId!));
        if (done.length)
          await sqs.send(
            new DeleteMessageBatchCommand({ QueueUrl: queue.QueueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }),
          );
      }
      const inDlq = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.QueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 0 }));
      if (inDlq.Messages?.length) {
        expect(inDlq.Messages[0]!.Body).toBe('{"poison":true}');
        break;
      }
      if (Date.now() > deadline) throw new Error(`not in the DLQ after ${receives} receives`);
    }
    expect(receives).toBe(5);
  }, 30_000);
});

import { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import xray from 'aws-xray-sdk-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { SimulatedBrokerGateway } from '../../../local/simulated-broker/simulated-broker-gateway';
import { SimulatedMarket } from '../../../local/simulated-broker/simulated-market';
import { tracedGateway } from '../../../shared/adapters/tracing/traced-broker';
import { xrayTracing } from '../../../shared/adapters/tracing/xray-tracing';
import { BrokerError } from '../../../shared/domain/broker-errors';
import type { SpanAnnotations, Tracing } from '../../../shared/ports/tracing';
import { LOCAL_AWS } from '../../support/dynamo';

type Span = { name: string; annotations: SpanAnnotations; outcome: 'returned' | 'threw' };

const recordingTracing = (spans: Span[]): Tracing => ({
  span: async (name, annotations, work) => {
    try {
      const result = await work();
      spans.push({ name, annotations, outcome: 'returned' });
      return result;
    } catch (error) {
      spans.push({ name, annotations, outcome: 'threw' });
      throw error;
    }
  },
  awsClient: (client) => client,
});

interface RecordedSubsegment {
  name: string;
  annotations?: Record<string, unknown>;
  fault?: boolean;
  end_time?: number;
  aws?: { operation?: string };
  subsegments?: RecordedSubsegment[];
}

describe('broker calls as spans', () => {
  it('wraps connecting and every call of a connected account, with the account and the order keys, and passes errors through', async () => {
    const market = new SimulatedMarket();
    const spans: Span[] = [];
    const gateway = tracedGateway(new SimulatedBrokerGateway(market), recordingTracing(spans));
    const ref = { tenantId: 't1', accountId: 'acc-1', platform: 'simulated', login: 'acc-1', server: 'Sim', brokerAccountId: 'acc-1' };
    await gateway.provision(ref, 'secret');
    const port = await gateway.connect(ref);
    const placed = await port.placeOrder({ symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.1, clientId: 'c-1' });
    expect(market.getPositions('acc-1').map((position) => position.id)).toEqual([placed.positionId]);
    expect(await port.getPositions()).toHaveLength(1);
    await expect(port.closePosition('no-such-position', { clientId: 'c-2' })).rejects.toBeInstanceOf(BrokerError);
    const account = { tenantId: 't1', accountId: 'acc-1', platform: 'simulated' };
    expect(spans).toEqual([
      { name: 'broker.provision', annotations: account, outcome: 'returned' },
      { name: 'broker.connect', annotations: account, outcome: 'returned' },
      { name: 'broker.placeOrder', annotations: { ...account, clientId: 'c-1', symbol: 'EURUSD' }, outcome: 'returned' },
      { name: 'broker.getPositions', annotations: account, outcome: 'returned' },
      { name: 'broker.closePosition', annotations: { ...account, positionId: 'no-such-position', clientId: 'c-2' }, outcome: 'threw' },
    ]);
  });
});

describe('X-Ray through Powertools', () => {
  const previous = process.env.AWS_EXECUTION_ENV;
  let tracer: Tracer;
  beforeAll(() => {
    // The tracer turns itself on only in Lambda's execution environment.
    process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs22.x';
    tracer = new Tracer({ serviceName: 'mt-copier-test', captureHTTPsRequests: false });
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.AWS_EXECUTION_ENV;
    else process.env.AWS_EXECUTION_ENV = previous;
  });

  const inInvocation = async (work: () => Promise<void>): Promise<RecordedSubsegment[]> => {
    const segment = new xray.Segment('invocation');
    await xray.getNamespace().runPromise(async () => {
      xray.setSegment(segment);
      await work();
    });
    return (segment.subsegments ?? []) as unknown as RecordedSubsegment[];
  };

  it('records spans worked side by side as sibling subsegments, annotated, closed, a thrown one as a fault', async () => {
    const tracing = xrayTracing(tracer);
    expect(tracer.isTracingEnabled()).toBe(true);
    const subsegments = await inInvocation(async () => {
      await Promise.all([
        tracing.span('broker.placeOrder', { accountId: 'a' }, async () => new Promise((resolve) => setTimeout(resolve, 10))),
        tracing
          .span('broker.getPositions', { accountId: 'b' }, async () => {
            throw new BrokerError('TIMEOUT', 'no answer');
          })
          .catch(() => undefined),
      ]);
    });
    expect(subsegments.map((subsegment) => ({ name: subsegment.name, annotations: subsegment.annotations, fault: subsegment.fault === true }))).toEqual([
      { name: 'broker.placeOrder', annotations: { accountId: 'a' }, fault: false },
      { name: 'broker.getPositions', annotations: { accountId: 'b' }, fault: true },
    ]);
    expect(subsegments.every((subsegment) => subsegment.end_time !== undefined && (subsegment.subsegments ?? []).length === 0)).toBe(true);
  });

  it('records each request of an instrumented AWS SDK client, here against DynamoDB Local', async () => {
    const client = xrayTracing(tracer).awsClient(new DynamoDBClient({ endpoint: inject('dynamoDbEndpoint'), ...LOCAL_AWS }));
    const subsegments = await inInvocation(async () => {
      await client.send(new ListTablesCommand({ Limit: 1 }));
    });
    client.destroy();
    expect(subsegments.map((subsegment) => ({ name: subsegment.name, operation: subsegment.aws?.operation }))).toEqual([
      { name: 'DynamoDB', operation: 'ListTables' },
    ]);
  });

  it('is a plain call where the tracer is off', async () => {
    const off = xrayTracing(new Tracer({ enabled: false }));
    const subsegments = await inInvocation(async () => {
      expect(await off.span('broker.getPositions', {}, async () => 42)).toBe(42);
    });
    expect(subsegments).toEqual([]);
  });
});

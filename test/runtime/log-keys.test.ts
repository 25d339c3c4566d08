import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBatchDependencies, processCopyBatch } from '../../functions/copy/copy-worker';
import type { LocalSystem } from '../../local/local-system';
import { SimulatedBrokerGateway } from '../../local/simulated-broker/simulated-broker-gateway';
import { keyedLog, type Log, withLogKeys } from '../../shared/ports/log';
import type { BrokerAccountRef, BrokerGateway, BrokerPort } from '../../shared/ports/broker';
import { BrokerDirectory } from '../../shared/use-cases/broker-directory';
import { copyFixture } from '../support/copy-fixture';
import { startTestSystem } from '../support/local-api';
import { sqsRecord } from '../support/sqs-record';

type Line = { level: string; message: string; attributes: Record<string, unknown> };

const recordingLog = (lines: Line[]): Log => ({
  debug: (message, attributes = {}) => lines.push({ level: 'debug', message, attributes }),
  info: (message, attributes = {}) => lines.push({ level: 'info', message, attributes }),
  warn: (message, attributes = {}) => lines.push({ level: 'warn', message, attributes }),
  error: (message, attributes = {}) => lines.push({ level: 'error', message, attributes }),
});

describe('log keys', () => {
  it('puts the scope keys on every line, follows awaits, nests, and lets a line name its own', async () => {
    const lines: Line[] = [];
    const log = keyedLog(recordingLog(lines));
    const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
    const work = (copyId: string) =>
      withLogKeys({ tenantId: 't1', copyId }, async () => {
        log.info('before');
        await pause();
        await withLogKeys({ symbol: 'EURUSD' }, async () => log.warn('inner', { copyId: 'own' }));
        log.info('after');
      });
    await Promise.all([work('a'), work('b')]);
    log.info('outside');
    const of = (message: string) => lines.filter((line) => line.message === message).map((line) => line.attributes);
    expect(of('before')).toEqual([
      { tenantId: 't1', copyId: 'a' },
      { tenantId: 't1', copyId: 'b' },
    ]);
    expect(of('after')).toEqual(of('before'));
    expect(of('inner')).toEqual([
      { tenantId: 't1', copyId: 'own', symbol: 'EURUSD' },
      { tenantId: 't1', copyId: 'own', symbol: 'EURUSD' },
    ]);
    expect(of('outside')).toEqual([{}]);
  });

  describe('on the copy path', () => {
    let system: LocalSystem;
    beforeAll(async () => {
      system = await startTestSystem({ manualSync: true });
    });
    afterAll(async () => system?.stop());

    it("a broker adapter's line, which knows no copy, carries the keys of the signal it was working for", async () => {
      const lines: Line[] = [];
      const log = keyedLog(recordingLog(lines));
      const one = await copyFixture(system);
      const two = await copyFixture(system);
      const simulated = new SimulatedBrokerGateway(system.market);
      // An adapter that logs on its own, as the MetaApi adapter does when it retries.
      const chatty: BrokerGateway = Object.assign(Object.create(simulated) as SimulatedBrokerGateway, {
        connect: async (ref: BrokerAccountRef): Promise<BrokerPort> => {
          const port = await simulated.connect(ref);
          return Object.assign(Object.create(port) as BrokerPort, {
            placeOrder: async (request: Parameters<BrokerPort['placeOrder']>[0]) => {
              log.warn('adapter: order sent after a retry', { clientId: request.clientId });
              await new Promise((resolve) => setTimeout(resolve, 10));
              return port.placeOrder(request);
            },
          });
        },
      });
      const base = copyBatchDependencies(system.runtime);
      const deps = { ...base, copy: { ...base.copy, brokers: new BrokerDirectory({ simulated: chatty }), log }, log };
      const signals = [one.openSignal(one.masterBuy()), two.openSignal(two.masterBuy())];
      const result = await processCopyBatch(deps, {
        Records: signals.map((signal, index) => sqsRecord(`m${index}`, JSON.stringify(signal), signal.slaveAccountId)),
      });
      expect(result.batchItemFailures).toEqual([]);
      const adapterLines = lines.filter((line) => line.message.startsWith('adapter:'));
      expect(adapterLines).toHaveLength(2);
      for (const signal of signals) {
        expect(adapterLines).toContainEqual({
          level: 'warn',
          message: 'adapter: order sent after a retry',
          attributes: expect.objectContaining({
            tenantId: signal.tenantId,
            mappingId: signal.mappingId,
            masterAccountId: signal.masterAccountId,
            slaveAccountId: signal.slaveAccountId,
            eventId: signal.event.id,
            eventKind: 'positionOpened',
            clientId: expect.any(String),
          }),
        });
      }
    });
  });
});

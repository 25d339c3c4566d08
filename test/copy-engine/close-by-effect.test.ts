import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import type { SimulatedMarket } from '../../local/simulated-broker/simulated-market';
import { eventId, type MasterEvent } from '../../shared/domain/master-events';
import type { Position } from '../../shared/domain/trading';
import type { BrokerGateway } from '../../shared/ports/broker';
import type { CopySignal } from '../../shared/ports/stores';
import { BrokerDirectory } from '../../shared/use-cases/broker-directory';
import { copySignal } from '../../shared/use-cases/copy-signal';
import { copyFixture } from '../support/copy-fixture';
import { startTestSystem } from '../support/local-api';
import { wrappedGateway } from '../support/wrapped-gateway';

/**
 * A broker whose closes carry no client id (OANDA closes a trade by its id alone): the
 * simulator's port, with the client id of every close dropped and the capability said.
 */
const closesWithoutClientId = (market: SimulatedMarket): BrokerGateway =>
  wrappedGateway(market, (port) => ({
    getCapabilities: async () => ({ ...(await port.getCapabilities()), closeClientId: false }),
    closePosition: (positionId, options) => port.closePosition(positionId, options.volume === undefined ? {} : { volume: options.volume }),
  }));

describe('closes on a broker whose closes carry no client id', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
  });
  afterAll(async () => system?.stop());

  const closeSignal = (open: CopySignal, position: Position, after: number | undefined): CopySignal => {
    const detectedAt = new Date().toISOString();
    const tracked = { ...position, volume: after ?? position.volume, rev: 1, detectedAt };
    const event: MasterEvent =
      after === undefined
        ? {
            id: eventId('positionClosed', position.id, 1),
            kind: 'positionClosed',
            tenantId: open.tenantId,
            masterAccountId: open.masterAccountId,
            detectedAt,
            position: tracked,
          }
        : {
            id: eventId('positionPartiallyClosed', position.id, 1),
            kind: 'positionPartiallyClosed',
            tenantId: open.tenantId,
            masterAccountId: open.masterAccountId,
            detectedAt,
            position: tracked,
            previousVolume: position.volume,
          };
    return { ...open, event, enqueuedAt: detectedAt };
  };

  it('recognises a partial close whose answer was lost by what it did, and never takes a second share', async () => {
    const fixture = await copyFixture(system);
    const deps = { ...fixture.deps, brokers: new BrokerDirectory({ simulated: closesWithoutClientId(fixture.market) }) };
    const position = fixture.masterBuy('EURUSD', 0.4);
    const open = fixture.openSignal(position);
    expect(await copySignal(deps, open)).toMatchObject({ status: 'placed', slaveVolume: 0.4 });

    // The master closes half; the slave's close executes and its answer is lost.
    const partial = closeSignal(open, position, 0.2);
    fixture.market.setFaults(fixture.slave.id, { timeoutAfterExecuteNext: 1 });
    const record = await copySignal(deps, partial);
    expect(record).toMatchObject({ action: 'partialClose', status: 'placed', slaveVolume: 0.2 });
    // Delivered again (the queue redelivers at least once): nothing more is closed.
    await copySignal(deps, partial);
    expect(fixture.market.getPositions(fixture.slave.id).map((slave) => slave.volume)).toEqual([0.2]);

    // The full close, its answer lost too: recorded as placed, the slave flat, once.
    const full = closeSignal(open, { ...position, volume: 0.2 }, undefined);
    fixture.market.setFaults(fixture.slave.id, { timeoutAfterExecuteNext: 1 });
    expect(await copySignal(deps, full)).toMatchObject({ action: 'close', status: 'placed' });
    expect(fixture.market.getPositions(fixture.slave.id)).toEqual([]);
    const closes = (await fixture.copies()).filter((copy) => copy.action !== 'open');
    expect(closes.map((copy) => copy.status)).toEqual(['placed', 'placed']);
  });

  it('leaves a close whose lost answer did nothing pending, and the next delivery closes', async () => {
    const fixture = await copyFixture(system);
    const deps = { ...fixture.deps, brokers: new BrokerDirectory({ simulated: closesWithoutClientId(fixture.market) }) };
    const position = fixture.masterBuy('GBPUSD', 0.3);
    const open = fixture.openSignal(position);
    await copySignal(deps, open);
    const partial = closeSignal(open, position, 0.1);
    // Refused outright (nothing executed): retried, and the share is taken once.
    fixture.market.setFaults(fixture.slave.id, { rejectNext: 1, code: 'TIMEOUT' });
    await copySignal(deps, partial).catch(() => undefined);
    const later = new Date(Date.now() + deps.leaseMs + 1000);
    await copySignal({ ...deps, now: () => later }, partial);
    expect(fixture.market.getPositions(fixture.slave.id).map((slave) => slave.volume)).toEqual([0.1]);
  });
});

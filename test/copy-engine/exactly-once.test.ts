import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { copyClientId } from '../../shared/domain/copy-record';
import type { BrokerGateway, BrokerPort } from '../../shared/ports/broker';
import { BrokerDirectory } from '../../shared/use-cases/broker-directory';
import { CopyRetryLaterError, copySignal } from '../../shared/use-cases/copy-signal';
import { SimulatedBrokerGateway } from '../../shared/adapters/simulated-broker/simulated-broker-gateway';
import { copyFixture } from '../support/copy-fixture';
import { startTestSystem } from '../support/local-api';

describe('exactly-once copying', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
  });
  afterAll(async () => system?.stop());

  it('places one order when a signal arrives five times, also concurrently', async () => {
    const fixture = await copyFixture(system);
    const signal = fixture.openSignal(fixture.masterBuy('EURUSD', 0.2));
    const concurrent = await Promise.allSettled(Array.from({ length: 5 }, () => copySignal(fixture.deps, signal)));
    const fulfilled = concurrent.filter((result) => result.status === 'fulfilled');
    const rejected = concurrent.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(fulfilled.length).toBeGreaterThanOrEqual(1);
    for (const failure of rejected) expect(failure.reason).toBeInstanceOf(CopyRetryLaterError);
    for (let redelivery = 0; redelivery < 5; redelivery += 1) {
      const record = await copySignal(fixture.deps, signal);
      expect(record?.status).toBe('placed');
    }
    const positions = fixture.market.getPositions(fixture.slave.id);
    expect(positions).toHaveLength(1);
    expect(positions[0]).toMatchObject({ symbol: 'EURUSD', side: 'buy', volume: 0.2, clientId: copyClientId(fixture.mapping.id, signal.event.id) });
    const copies = await fixture.copies();
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatchObject({ action: 'open', status: 'placed', slaveVolume: 0.2 });
  });

  it('finds the order of a worker that died after the broker accepted it, and places nothing more', async () => {
    const fixture = await copyFixture(system);
    const signal = fixture.openSignal(fixture.masterBuy('GBPUSD', 0.1));
    // A worker whose broker call executes, then never returns: it died before recording.
    const dying = new SimulatedBrokerGateway(fixture.market);
    const diesAfterPlacing: BrokerGateway = {
      platform: 'simulated',
      provision: (ref, password) => dying.provision(ref, password),
      updatePassword: (ref, password) => dying.updatePassword(ref, password),
      deprovision: (ref) => dying.deprovision(ref),
      connect: async (ref) => {
        const port = await dying.connect(ref);
        return { ...bind(port), placeOrder: async (request) => { await port.placeOrder(request); return new Promise(() => {}); } };
      },
    };
    void copySignal({ ...fixture.deps, brokers: new BrokerDirectory({ simulated: diesAfterPlacing }) }, signal);
    await waitFor(() => fixture.market.getPositions(fixture.slave.id).length === 1);

    // While the dead worker's lease holds, a redelivery backs off.
    await expect(copySignal(fixture.deps, signal)).rejects.toBeInstanceOf(CopyRetryLaterError);
    // After the lease ran out, the retry looks the client id up and records what it finds.
    const later = new Date(Date.now() + fixture.deps.leaseMs + 1000);
    const record = await copySignal({ ...fixture.deps, now: () => later }, signal);
    expect(record).toMatchObject({ status: 'placed', slaveVolume: 0.1, attempts: 2 });
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(1);
    expect(record?.slavePositionId).toBe(fixture.market.getPositions(fixture.slave.id)[0]!.id);
  });

  it('looks an order up after a timeout and records it without placing it again', async () => {
    const fixture = await copyFixture(system);
    const signal = fixture.openSignal(fixture.masterBuy('USDJPY', 0.3));
    fixture.market.setFaults(fixture.slave.id, { timeoutAfterExecuteNext: 1 });
    const record = await copySignal(fixture.deps, signal);
    expect(record).toMatchObject({ status: 'placed', slaveVolume: 0.3 });
    await copySignal(fixture.deps, signal);
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(1);
  });
});

const bind = (port: BrokerPort): BrokerPort => ({
  getAccountInformation: () => port.getAccountInformation(),
  getPositions: () => port.getPositions(),
  getPendingOrders: () => port.getPendingOrders(),
  getDeals: (from, to) => port.getDeals(from, to),
  getSymbolSpec: (symbol) => port.getSymbolSpec(symbol),
  getQuote: (symbol) => port.getQuote(symbol),
  placeOrder: (request) => port.placeOrder(request),
  modifyPosition: (id, stops) => port.modifyPosition(id, stops),
  modifyOrder: (id, change) => port.modifyOrder(id, change),
  closePosition: (id, options) => port.closePosition(id, options),
  cancelOrder: (id) => port.cancelOrder(id),
  findByClientId: (clientId) => port.findByClientId(clientId),
});

const waitFor = async (condition: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

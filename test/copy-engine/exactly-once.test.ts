import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import type { BrokerGateway } from '../../shared/ports/broker';
import { BrokerDirectory } from '../../shared/use-cases/broker-directory';
import { CopyRetryLaterError, copySignal } from '../../shared/use-cases/copy-signal';
import type { SimulatedMarket } from '../../local/simulated-broker/simulated-market';
import { copyFixture } from '../support/copy-fixture';
import { startTestSystem } from '../support/local-api';
import { wrappedGateway } from '../support/wrapped-gateway';

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
    const copies = await fixture.copies();
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatchObject({ action: 'open', status: 'placed', slaveVolume: 0.2 });
    // The one slave position carries the client id of the one record, so a lookup after a crash finds it.
    expect(positions[0]).toMatchObject({ symbol: 'EURUSD', side: 'buy', volume: 0.2, clientId: copies[0]!.clientId });
  });

  it('finds the order of a worker that died after the broker accepted it, and places nothing more', async () => {
    const fixture = await copyFixture(system);
    const signal = fixture.openSignal(fixture.masterBuy('GBPUSD', 0.1));
    // A worker whose broker call executes, then never returns: it died before recording.
    void copySignal({ ...fixture.deps, brokers: new BrokerDirectory({ simulated: hangsAfterPlacing(fixture.market) }) }, signal);
    await waitFor(() => fixture.market.getPositions(fixture.slave.id).length === 1);

    // While the dead worker's lease holds, a redelivery backs off.
    await expect(copySignal(fixture.deps, signal)).rejects.toBeInstanceOf(CopyRetryLaterError);
    // After the lease ran out, the retry looks the client id up and records what it finds.
    const later = new Date(Date.now() + fixture.deps.leaseMs + 1000);
    const record = await copySignal({ ...fixture.deps, now: () => later }, signal);
    expect(record).toMatchObject({ status: 'placed', slaveVolume: 0.1, attempts: 2 });
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(1);
    expect(record).toMatchObject({ slavePositionId: fixture.market.getPositions(fixture.slave.id)[0]!.id });
  });

  it('resumes at once the claim of a worker it supersedes (a runtime that was killed), finds its order by client id and places nothing more', async () => {
    const fixture = await copyFixture(system);
    const signal = fixture.openSignal(fixture.masterBuy('EURUSD', 0.2));
    const dead = { epoch: 1_000, supersedes: true };
    void copySignal({ ...fixture.deps, worker: dead, brokers: new BrokerDirectory({ simulated: hangsAfterPlacing(fixture.market) }) }, signal);
    await waitFor(() => fixture.market.getPositions(fixture.slave.id).length === 1);

    // A worker of the same generation waits for the lease; the next generation does not.
    await expect(copySignal({ ...fixture.deps, worker: dead }, signal)).rejects.toBeInstanceOf(CopyRetryLaterError);
    const record = await copySignal({ ...fixture.deps, worker: { epoch: 2_000, supersedes: true } }, signal);
    expect(record).toMatchObject({ status: 'placed', slaveVolume: 0.2, attempts: 2 });
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(1);
    expect(record).toMatchObject({ slavePositionId: fixture.market.getPositions(fixture.slave.id)[0]!.id });
  });

  it('tells a delivery that meets a live claim to come back when its lease ends, not before', async () => {
    const fixture = await copyFixture(system);
    const signal = fixture.openSignal(fixture.masterBuy('EURUSD', 0.1));
    void copySignal({ ...fixture.deps, brokers: new BrokerDirectory({ simulated: hangsAfterPlacing(fixture.market) }) }, signal);
    await waitFor(() => fixture.market.getPositions(fixture.slave.id).length === 1);
    const busy = await copySignal(fixture.deps, signal).catch((error: unknown) => error);
    expect(busy).toBeInstanceOf(CopyRetryLaterError);
    const leaseSeconds = fixture.deps.leaseMs / 1000;
    expect((busy as CopyRetryLaterError).delaySeconds).toBeGreaterThan(leaseSeconds - 3);
    expect((busy as CopyRetryLaterError).delaySeconds).toBeLessThanOrEqual(leaseSeconds);
  });

  it('lets go of a signal whose broker call outlives its deadline, keeps the claim for its lease, and the next delivery records the order once', async () => {
    const fixture = await copyFixture(system);
    const signal = fixture.openSignal(fixture.masterBuy('GBPUSD', 0.3));
    const started = Date.now();
    const error = await copySignal(
      { ...fixture.deps, deadlineMs: 300, brokers: new BrokerDirectory({ simulated: hangsAfterPlacing(fixture.market) }) },
      signal,
    ).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(CopyRetryLaterError);
    expect(Date.now() - started).toBeLessThan(fixture.deps.leaseMs);
    // The claim was not released: the broker call may still land. Within the lease: busy.
    await expect(copySignal(fixture.deps, signal)).rejects.toBeInstanceOf(CopyRetryLaterError);
    const afterLease = new Date(Date.now() + fixture.deps.leaseMs + 1000);
    expect(await copySignal({ ...fixture.deps, now: () => afterLease }, signal)).toMatchObject({ status: 'placed', slaveVolume: 0.3 });
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(1);
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

/** A broker whose order executes and whose answer never comes back: its worker is as good as dead. */
const hangsAfterPlacing = (market: SimulatedMarket): BrokerGateway =>
  wrappedGateway(market, (port) => ({
    placeOrder: async (request) => {
      await port.placeOrder(request);
      return new Promise(() => {});
    },
  }));

const waitFor = async (condition: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

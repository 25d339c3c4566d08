import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { CopyRetryLaterError, copySignal } from '../../shared/use-cases/copy-signal';
import { BrokerError } from '../../shared/domain/broker-errors';
import { BrokerDirectory } from '../../shared/use-cases/broker-directory';
import { SimulatedBrokerGateway } from '../../local/simulated-broker/simulated-broker-gateway';
import { copyFixture } from '../support/copy-fixture';
import { startTestSystem } from '../support/local-api';
import { reconcileMapping } from '../../shared/domain/reconcile';
import { signalsFor } from '../../shared/use-cases/sync-accounts';
import type { CopyRecord } from '../../shared/domain/copy-record';

describe('broker errors on a copy', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
  });
  afterAll(async () => system?.stop());

  it('retries a requote in process and places the order once', async () => {
    const fixture = await copyFixture(system);
    const signal = fixture.openSignal(fixture.masterBuy());
    fixture.market.setFaults(fixture.slave.id, { rejectNext: 1, code: 'REQUOTE' });
    expect(await copySignal(fixture.deps, signal)).toMatchObject({ status: 'placed' });
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(1);
  });

  it('sends repeated requotes back to the queue with backoff, then places on redelivery', async () => {
    const fixture = await copyFixture(system);
    const signal = fixture.openSignal(fixture.masterBuy());
    fixture.market.setFaults(fixture.slave.id, { rejectNext: 3, code: 'REQUOTE' });
    const error = await copySignal(fixture.deps, signal).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(CopyRetryLaterError);
    expect((error as CopyRetryLaterError).delaySeconds).toBeGreaterThan(0);
    expect((await fixture.copies())[0]).toMatchObject({ status: 'pending' });
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(0);
    expect(await copySignal(fixture.deps, signal)).toMatchObject({ status: 'placed' });
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(1);
  });

  it('sends a throttled copy back to the queue for the time the broker asked, without sleeping on it', async () => {
    const fixture = await copyFixture(system);
    const signal = fixture.openSignal(fixture.masterBuy());
    const simulated = new SimulatedBrokerGateway(fixture.market);
    const throttled = Object.assign(Object.create(simulated) as SimulatedBrokerGateway, {
      connect: async (ref: Parameters<SimulatedBrokerGateway['connect']>[0]) => ({
        ...(await simulated.connect(ref)),
        getSymbolSpec: async (symbol: string) => fixture.market.getSymbolSpec(symbol),
        getAccountInformation: async () => fixture.market.getAccountInformation(fixture.slave.id),
        findByClientId: async (clientId: string) => fixture.market.findByClientId(fixture.slave.id, clientId),
        placeOrder: async () => {
          throw new BrokerError('TOO_MANY_REQUESTS', 'slow down', { retryAfterMs: 30_000 });
        },
      }),
    });
    const started = Date.now();
    const error = await copySignal({ ...fixture.deps, brokers: new BrokerDirectory({ simulated: throttled }) }, signal).catch((failure: unknown) => failure);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(CopyRetryLaterError);
    expect((error as CopyRetryLaterError).delaySeconds).toBe(30);
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(0);
    expect(await copySignal(fixture.deps, signal)).toMatchObject({ status: 'placed' });
  });

  it.each([
    ['NO_MONEY', 'BROKER_NO_MONEY'],
    ['TRADING_DISABLED', 'BROKER_TRADING_DISABLED'],
    ['REJECTED', 'BROKER_REJECTED'],
    ['INVALID_STOPS', 'BROKER_INVALID_STOPS'],
  ] as const)('records %s as failed with %s and never retries it', async (code, reason) => {
    const fixture = await copyFixture(system);
    const signal = fixture.openSignal(fixture.masterBuy());
    fixture.market.setFaults(fixture.slave.id, { rejectNext: 1, code });
    expect(await copySignal(fixture.deps, signal)).toMatchObject({ status: 'failed', reason });
    // A redelivery finds the record finished and sends nothing to the broker.
    fixture.market.setFaults(fixture.slave.id, { rejectNext: 0 });
    expect(await copySignal(fixture.deps, signal)).toMatchObject({ status: 'failed', reason, attempts: 1 });
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(0);
  });

  it('defers a copy while the market is closed, and places it when it opens', async () => {
    const fixture = await copyFixture(system);
    const signal = fixture.openSignal(fixture.masterBuy());
    fixture.market.setFaults(fixture.slave.id, { rejectNext: 1, code: 'MARKET_CLOSED' });
    const error = await copySignal(fixture.deps, signal).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(CopyRetryLaterError);
    expect((error as CopyRetryLaterError).delaySeconds).toBeGreaterThanOrEqual(60);
    expect(await copySignal(fixture.deps, signal)).toMatchObject({ status: 'placed' });
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(1);
  });

  it('skips an open first attempted longer than maxDelaySeconds after the master filled it', async () => {
    const fixture = await copyFixture(system, { sizing: { mode: 'multiplier', multiplier: 1 }, maxDelaySeconds: 5 });
    const position = fixture.masterBuy();
    const tenSecondsLater = new Date(Date.parse(position.openedAt) + 10_000);
    const signal = fixture.openSignal(position, tenSecondsLater);
    expect(await copySignal({ ...fixture.deps, now: () => tenSecondsLater }, signal)).toMatchObject({ status: 'skipped', reason: 'SIGNAL_EXPIRED' });
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(0);
  });

  it('copies an open whose first attempt was in time, however long our own retries then took', async () => {
    const fixture = await copyFixture(system, { sizing: { mode: 'multiplier', multiplier: 1 }, maxDelaySeconds: 5 });
    const position = fixture.masterBuy();
    const signal = fixture.openSignal(position);
    fixture.market.setFaults(fixture.slave.id, { rejectNext: 1, code: 'MARKET_CLOSED' });
    await expect(copySignal(fixture.deps, signal)).rejects.toBeInstanceOf(CopyRetryLaterError);
    // The market opens again a minute later: the open is copied, once.
    const aMinuteLater = new Date(Date.now() + 60_000);
    expect(await copySignal({ ...fixture.deps, now: () => aMinuteLater }, signal)).toMatchObject({ status: 'placed', attempts: 2 });
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(1);
  });

  it('sends a close the slave refused again, a minute later, then two, until the slave is flat; the link says how often and why', async () => {
    const fixture = await copyFixture(system);
    const position = fixture.masterBuy();
    expect(await copySignal(fixture.deps, fixture.openSignal(position))).toMatchObject({ status: 'placed' });
    fixture.market.closePosition(fixture.master.id, position.id, {});
    const flat = { tenantId: fixture.tenantId, accountId: fixture.master.id, version: 9, positions: [], orders: [], syncedAt: new Date().toISOString() };
    const mapping = { ...fixture.mapping, tenantId: fixture.tenantId };
    const start = Date.now();
    /** One reconcile pass of the sync at `at` seconds, its signals copied as the worker would. */
    const pass = async (at: number): Promise<CopyRecord[]> => {
      const now = new Date(start + at * 1000);
      const links = await fixture.runtime.copies.listOpenLinks(fixture.tenantId, fixture.mapping.id);
      const signals = signalsFor(reconcileMapping(flat, mapping, links, now), [mapping], now.toISOString());
      const records: CopyRecord[] = [];
      for (const signal of signals) records.push((await copySignal({ ...fixture.deps, now: () => now }, signal)) as CopyRecord);
      return records;
    };
    const link = () => fixture.runtime.copies.getLink(fixture.tenantId, fixture.mapping.id, position.id);

    fixture.market.setFaults(fixture.slave.id, { rejectNext: 1, code: 'TRADING_DISABLED' });
    expect(await pass(0)).toMatchObject([{ action: 'close', eventId: `positionClosed:${position.id}`, status: 'failed', reason: 'BROKER_TRADING_DISABLED' }]);
    expect((await link())?.closeRefused).toEqual({ count: 1, at: new Date(start).toISOString(), reason: 'BROKER_TRADING_DISABLED' });
    expect(await pass(59)).toEqual([]);

    fixture.market.setFaults(fixture.slave.id, { rejectNext: 1, code: 'TRADING_DISABLED' });
    expect(await pass(60)).toMatchObject([{ eventId: `positionClosed:${position.id}:retry1`, status: 'failed', reason: 'BROKER_TRADING_DISABLED' }]);
    expect((await link())?.closeRefused).toMatchObject({ count: 2 });
    // The second retry waits twice as long; a pass before then sends nothing.
    expect(await pass(179)).toEqual([]);
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(1);

    expect(await pass(180)).toMatchObject([{ eventId: `positionClosed:${position.id}:retry2`, status: 'placed' }]);
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(0);
    expect((await link())?.closedAt).toBeDefined();
    expect(await pass(10_000)).toEqual([]);
  });
});

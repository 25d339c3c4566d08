import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import type { SimulatedMarket } from '../../local/simulated-broker/simulated-market';
import { eventId, type MasterEvent } from '../../shared/domain/master-events';
import type { Position } from '../../shared/domain/trading';
import type { BrokerGateway } from '../../shared/ports/broker';
import type { CopySignal, CopyStore } from '../../shared/ports/stores';
import { BrokerDirectory } from '../../shared/use-cases/broker-directory';
import { CopyRetryLaterError, copySignal } from '../../shared/use-cases/copy-signal';
import { copyFixture } from '../support/copy-fixture';
import { startTestSystem } from '../support/local-api';
import { wrappedGateway } from '../support/wrapped-gateway';
import { BrokerError } from '../../shared/domain/broker-errors';
import { closeRetryEventId } from '../../shared/domain/reconcile';
import { createAccount } from '../../shared/use-cases/manage-accounts';
import { createMapping } from '../../shared/use-cases/manage-mappings';

type Fixture = Awaited<ReturnType<typeof copyFixture>>;

/** A master change of `position` (rev 1 on), as the sync would send it. */
const change = (fixture: Fixture, open: CopySignal, position: Position, kind: 'increased' | 'partial' | 'closed', after: number, rev = 1): CopySignal => {
  const detectedAt = new Date().toISOString();
  const tracked = { ...position, volume: after, rev, detectedAt };
  const base = { tenantId: fixture.tenantId, masterAccountId: open.masterAccountId, detectedAt };
  const event: MasterEvent =
    kind === 'closed'
      ? { ...base, id: eventId('positionClosed', position.id, rev), kind: 'positionClosed', position: { ...tracked, volume: position.volume } }
      : kind === 'partial'
        ? {
            ...base,
            id: eventId('positionPartiallyClosed', position.id, rev),
            kind: 'positionPartiallyClosed',
            position: tracked,
            previousVolume: position.volume,
          }
        : { ...base, id: eventId('positionIncreased', position.id, rev), kind: 'positionIncreased', position: tracked, previousVolume: position.volume };
  return { ...open, event, enqueuedAt: detectedAt };
};

/** Delivers a signal as the queue does: again after a retry-later, until it is finished. */
const deliver = async (fixture: Fixture, signal: CopySignal, deps = fixture.deps) => {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      return await copySignal(deps, signal);
    } catch (error) {
      if (!(error instanceof CopyRetryLaterError)) throw error;
    }
  }
  throw new Error('not finished after 5 deliveries');
};

/** A broker whose closes carry no client id (OANDA, cTrader): the simulator's port with the client id of every close dropped. */
const closesWithoutClientId = (market: SimulatedMarket): BrokerGateway =>
  wrappedGateway(market, (port) => ({
    getCapabilities: async () => ({ ...(await port.getCapabilities()), closeClientId: false }),
    closePosition: (positionId, options) => port.closePosition(positionId, options.volume === undefined ? {} : { volume: options.volume }),
  }));

/** The simulator's port saying the account closes FIFO (US rules): no hedging, oldest first. */
const fifoAccount = (market: SimulatedMarket, hooks: { beforeClose?: () => void } = {}): BrokerGateway =>
  wrappedGateway(market, (port) => ({
    getCapabilities: async () => ({ ...(await port.getCapabilities()), hedging: false, fifo: true }),
    closePosition: (positionId, options) => {
      hooks.beforeClose?.();
      return port.closePosition(positionId, options);
    },
  }));

describe('copies that hold several slave trades', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
  });
  afterAll(async () => system?.stop());

  it('an add-on on a hedging slave becomes a second trade; a partial close and a close whose answers are lost take their share once', async () => {
    const fixture = await copyFixture(system);
    const slaveVolumes = () => fixture.market.getPositions(fixture.slave.id).map((position) => position.volume);
    const position = fixture.masterBuy('EURUSD', 0.1);
    const open = fixture.openSignal(position);
    await deliver(fixture, open);

    // The add-on executes and its answer is lost: the client id finds it, recorded once.
    fixture.market.setFaults(fixture.slave.id, { timeoutAfterExecuteNext: 1 });
    expect(await deliver(fixture, change(fixture, open, position, 'increased', 0.15))).toMatchObject({ action: 'addOn', status: 'placed', slaveVolume: 0.05 });
    expect(slaveVolumes()).toEqual([0.1, 0.05]);
    const link = await fixture.runtime.copies.getLink(fixture.tenantId, fixture.mapping.id, position.id);
    expect(link).toMatchObject({ slaveVolume: 0.15, legs: [{ volume: 0.1 }, { volume: 0.05 }] });

    // Two thirds close on the master: 0.10 off the copy, oldest first. The answer is lost; delivered again, nothing more closes.
    const grown = { ...position, volume: 0.15 };
    fixture.market.setFaults(fixture.slave.id, { timeoutAfterExecuteNext: 1 });
    expect(await deliver(fixture, change(fixture, open, grown, 'partial', 0.05, 2))).toMatchObject({ action: 'partialClose', status: 'placed' });
    expect(slaveVolumes()).toEqual([0.05]);

    fixture.market.setFaults(fixture.slave.id, { timeoutAfterExecuteNext: 1 });
    expect(await deliver(fixture, change(fixture, open, { ...position, volume: 0.05 }, 'closed', 0, 3))).toMatchObject({ action: 'close', status: 'placed' });
    expect(slaveVolumes()).toEqual([]);
    expect(await fixture.runtime.copies.listOpenLinks(fixture.tenantId, fixture.mapping.id)).toEqual([]);
  });

  it('a close refused after its first trade closed keeps the copy open with what is left, and its retry closes that', async () => {
    const fixture = await copyFixture(system);
    let closes = 0;
    const refusingSecondClose = wrappedGateway(fixture.market, (port) => ({
      closePosition: (positionId, options) => {
        closes += 1;
        if (closes === 2) throw new BrokerError('TRADING_DISABLED', 'trading is disabled for now');
        return port.closePosition(positionId, options);
      },
    }));
    const deps = { ...fixture.deps, brokers: new BrokerDirectory({ simulated: refusingSecondClose }) };
    const slaveVolumes = () => fixture.market.getPositions(fixture.slave.id).map((position) => position.volume);
    const position = fixture.masterBuy('EURUSD', 0.1);
    const open = fixture.openSignal(position);
    await deliver(fixture, open, deps);
    await deliver(fixture, change(fixture, open, position, 'increased', 0.15), deps);
    expect(slaveVolumes()).toEqual([0.1, 0.05]);

    const close = change(fixture, open, { ...position, volume: 0.15 }, 'closed', 0, 2);
    expect(await deliver(fixture, close, deps)).toMatchObject({ action: 'close', status: 'failed', reason: 'BROKER_TRADING_DISABLED' });
    expect(slaveVolumes()).toEqual([0.05]);
    const link = await fixture.runtime.copies.getLink(fixture.tenantId, fixture.mapping.id, position.id);
    expect(link).toMatchObject({ slaveVolume: 0.05, closeRefused: { count: 1, reason: 'BROKER_TRADING_DISABLED' } });
    expect(link?.closedAt).toBeUndefined();
    expect(await fixture.runtime.copies.listOpenLinks(fixture.tenantId, fixture.mapping.id)).toHaveLength(1);

    // The reconcile's retry, once due: what is left closes.
    const retry = { ...close, event: { ...close.event, id: closeRetryEventId('positionClosed', position.id, 1) } };
    expect(await deliver(fixture, retry, deps)).toMatchObject({ action: 'close', status: 'placed', slaveVolume: 0.05 });
    expect(slaveVolumes()).toEqual([]);
    expect(await fixture.runtime.copies.listOpenLinks(fixture.tenantId, fixture.mapping.id)).toEqual([]);
  });

  it('on a netting slave two masters share one position: a close takes its own copy, and a position the trader reversed is not closed', async () => {
    const fixture = await copyFixture(system);
    fixture.market.setNetting(fixture.slave.id, true);
    const other = await createAccount(fixture.runtime, fixture.tenantId, {
      name: 'master 2',
      platform: 'simulated',
      login: 'master-2',
      password: 'pw',
      server: 'Sim',
    });
    const second = await createMapping(fixture.runtime, fixture.tenantId, {
      masterAccountId: other.id,
      slaveAccountId: fixture.slave.id,
      sizing: { mode: 'multiplier', multiplier: 1 },
    });
    const slave = () => fixture.market.getPositions(fixture.slave.id).map((position) => [position.side, position.volume]);
    const first = fixture.masterBuy('EURUSD', 0.1);
    const openFirst = fixture.openSignal(first);
    await deliver(fixture, openFirst);
    const { positionId } = fixture.market.traderTrade(other.id, { symbol: 'EURUSD', side: 'buy', volume: 0.2 });
    const theirs = fixture.market.getPositions(other.id).find((position) => position.id === positionId)!;
    const openTheirs: CopySignal = {
      ...fixture.openSignal(theirs),
      mappingId: second.id,
      masterAccountId: other.id,
      event: { ...fixture.openSignal(theirs).event, masterAccountId: other.id },
    };
    await deliver(fixture, openTheirs);
    expect(slave()).toEqual([['buy', 0.3]]);

    // The first master closes: its 0.1 goes, the second master's 0.2 stays.
    expect(await deliver(fixture, change(fixture, openFirst, first, 'closed', 0))).toMatchObject({ action: 'close', status: 'placed', slaveVolume: 0.1 });
    expect(slave()).toEqual([['buy', 0.2]]);

    // The trader reverses the slave's position by hand (it keeps its id): the second copy went with it, and the trader's sell stays.
    fixture.market.traderTrade(fixture.slave.id, { symbol: 'EURUSD', side: 'sell', volume: 0.5 });
    expect(slave()).toEqual([['sell', 0.3]]);
    expect(await deliver(fixture, change(fixture, openTheirs, theirs, 'closed', 0))).toMatchObject({
      action: 'close',
      status: 'skipped',
      reason: 'ALREADY_CLOSED',
    });
    expect(slave()).toEqual([['sell', 0.3]]);
    expect(await fixture.runtime.copies.listOpenLinks(fixture.tenantId, second.id)).toEqual([]);
  });

  it('a copy whose first trade was stopped out says what it still holds, so a close retried on a broker without close ids still closes', async () => {
    const fixture = await copyFixture(system);
    const deps = { ...fixture.deps, brokers: new BrokerDirectory({ simulated: closesWithoutClientId(fixture.market) }) };
    const slaveTrades = () => fixture.market.getPositions(fixture.slave.id);
    const position = fixture.masterBuy('EURUSD', 0.2);
    const open = fixture.openSignal(position);
    await deliver(fixture, open, deps);
    await deliver(fixture, change(fixture, open, position, 'increased', 0.4), deps);
    expect(slaveTrades().map((trade) => trade.volume)).toEqual([0.2, 0.2]);
    // The first trade hits its own stop on the slave.
    fixture.market.traderClose(fixture.slave.id, slaveTrades()[0]!.id);
    // The master closes a quarter: the copy should keep 0.3 but holds 0.2 already; nothing closes, and the link says 0.2.
    const grown = { ...position, volume: 0.4 };
    expect(await deliver(fixture, change(fixture, open, grown, 'partial', 0.3, 2), deps)).toMatchObject({ status: 'skipped', reason: 'ALREADY_CLOSED' });
    expect(await fixture.runtime.copies.getLink(fixture.tenantId, fixture.mapping.id, position.id)).toMatchObject({ slaveVolume: 0.2 });
    // The close's first attempt is refused (requotes); delivered again, it closes what is there.
    fixture.market.setFaults(fixture.slave.id, { rejectNext: 3, code: 'REQUOTE' });
    const close = change(fixture, open, { ...position, volume: 0.3 }, 'closed', 0, 3);
    await expect(copySignal(deps, close)).rejects.toBeInstanceOf(CopyRetryLaterError);
    expect(await deliver(fixture, close, deps)).toMatchObject({ action: 'close', status: 'placed' });
    expect(slaveTrades()).toEqual([]);
  });

  it('on a FIFO slave, a process killed after the copies exchanged trades, or after the close, closes once when delivered again', async () => {
    const fixture = await copyFixture(system);
    let killBeforeClose = false;
    const gateway = fifoAccount(fixture.market, {
      beforeClose: () => {
        if (!killBeforeClose) return;
        killBeforeClose = false;
        throw new Error('process killed');
      },
    });
    let killAfterClose = false;
    const copies: CopyStore = Object.assign(Object.create(fixture.runtime.copies) as CopyStore, {
      finish: (...args: Parameters<CopyStore['finish']>) => {
        if (!killAfterClose) return fixture.runtime.copies.finish(...args);
        killAfterClose = false;
        return Promise.reject(new Error('process killed'));
      },
    });
    const deps = { ...fixture.deps, copies, brokers: new BrokerDirectory({ simulated: gateway }) };
    // Killed deliveries keep their claim until its lease ends: the next one comes after it.
    const later = (seconds: number) => ({ ...deps, now: () => new Date(Date.now() + seconds * 1000) });
    const trades = () => fixture.market.getPositions(fixture.slave.id).map((position) => [position.id, position.volume]);

    const small = fixture.masterBuy('EURUSD', 0.1);
    const openSmall = fixture.openSignal(small);
    await deliver(fixture, openSmall, deps);
    const large = fixture.masterBuy('EURUSD', 0.2);
    const openLarge = fixture.openSignal(large);
    await deliver(fixture, openLarge, deps);
    const [oldest, newer] = fixture.market.getPositions(fixture.slave.id);

    // The larger closes; killed just before its first close went out, after the links changed.
    killBeforeClose = true;
    const closeLarge = change(fixture, openLarge, large, 'closed', 0);
    await expect(copySignal(deps, closeLarge)).rejects.toThrow('process killed');
    expect(trades()).toEqual([
      [oldest!.id, 0.1],
      [newer!.id, 0.2],
    ]);
    // Delivered again after the lease: oldest first, 0.2 in all; then killed before the record is written.
    killAfterClose = true;
    await expect(copySignal(later(120), closeLarge)).rejects.toThrow('process killed');
    expect(trades()).toEqual([[newer!.id, 0.1]]);
    // And again: nothing more closes, the record says placed, and the smaller copy holds what is left.
    expect(await copySignal(later(240), closeLarge)).toMatchObject({ action: 'close', status: 'placed', slaveVolume: 0.2 });
    expect(trades()).toEqual([[newer!.id, 0.1]]);
    expect(await fixture.runtime.copies.getLink(fixture.tenantId, fixture.mapping.id, small.id)).toMatchObject({ slaveTicket: newer!.id, slaveVolume: 0.1 });
    expect(await fixture.runtime.copies.getLink(fixture.tenantId, fixture.mapping.id, large.id)).toHaveProperty('closedAt');

    expect(await copySignal(later(240), change(fixture, openSmall, small, 'closed', 0))).toMatchObject({ action: 'close', status: 'placed', slaveVolume: 0.1 });
    expect(trades()).toEqual([]);
  });
});

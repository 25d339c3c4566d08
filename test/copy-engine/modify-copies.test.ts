import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { eventId, type MasterEvent } from '../../shared/domain/master-events';
import type { Position } from '../../shared/domain/trading';
import type { CopySignal } from '../../shared/ports/stores';
import { copySignal } from '../../shared/use-cases/copy-signal';
import { copyFixture } from '../support/copy-fixture';
import { startTestSystem } from '../support/local-api';

/** Stop-loss and take-profit changes of a master position, as the copy worker applies them to the slave. */
describe('copied modifications', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
  });
  afterAll(async () => system?.stop());

  const modified = (signal: CopySignal, position: Position, levels: { stopLoss?: number; takeProfit?: number }, rev: number): CopySignal => ({
    ...signal,
    event: {
      ...signal.event,
      id: eventId('positionModified', position.id, rev),
      kind: 'positionModified',
      position: { ...position, ...levels, rev, detectedAt: signal.event.detectedAt },
    } satisfies MasterEvent,
  });

  it('copies a change of the take profit alone', async () => {
    const fixture = await copyFixture(system);
    const position = fixture.masterBuy('EURUSD', 0.1);
    const open = fixture.openSignal(position);
    expect(await copySignal(fixture.deps, open)).toMatchObject({ status: 'placed' });
    const record = await copySignal(fixture.deps, modified(open, position, { takeProfit: 1.2 }, 1));
    expect(record).toMatchObject({ action: 'modify', status: 'placed' });
    const [copy] = fixture.market.getPositions(fixture.slave.id);
    expect(copy).toMatchObject({ takeProfit: 1.2 });
    expect(copy?.stopLoss).toBeUndefined();
  });

  it('swaps stop loss and take profit when a reversed mapping copies a change', async () => {
    const fixture = await copyFixture(system, { sizing: { mode: 'multiplier', multiplier: 1 }, reverse: true });
    const position = fixture.masterBuy('EURUSD', 0.1);
    const open = fixture.openSignal(position);
    expect(await copySignal(fixture.deps, open)).toMatchObject({ status: 'placed' });
    const quote = fixture.market.getQuote('EURUSD')!;
    // The master (a buy) risks down to 1.0 and aims at 1.2; the reversed slave (a sell) the other way round.
    const stopLoss = Number((quote.bid - 0.01).toFixed(5));
    const takeProfit = Number((quote.ask + 0.01).toFixed(5));
    expect(await copySignal(fixture.deps, modified(open, position, { stopLoss, takeProfit }, 1))).toMatchObject({ status: 'placed' });
    expect(fixture.market.getPositions(fixture.slave.id)).toMatchObject([{ side: 'sell', stopLoss: takeProfit, takeProfit: stopLoss }]);
  });
});

import { describe, expect, it } from 'vitest';
import type { EventOf } from '../../shared/domain/master-events';
import { closedLink, filledLink, isOpenLink, modifiedLink, openedLink, partiallyClosedLink } from '../../shared/domain/position-link';
import { aLink, aMapping, anOrder, aPosition, T0 } from '../support/fixtures';

const now = new Date('2024-03-04T10:00:07.000Z');
const base = { tenantId: 'tenant-a', masterAccountId: 'master-1', detectedAt: T0 };
const tracked = <T extends object>(item: T, rev: number) => ({ ...item, rev, detectedAt: T0 });

describe('position link transitions', () => {
  it('opens a link from the master ticket to what the slave got, with the revision it applied', () => {
    const event: EventOf<'positionOpened'> = {
      ...base,
      id: 'positionOpened:p-7:0',
      kind: 'positionOpened',
      position: tracked(aPosition({ id: 'p-7', symbol: 'XAUUSD', volume: 0.3 }), 0),
    };
    const link = openedLink(
      event,
      aMapping({ slaveAccountId: 'slave-9' }),
      { ticket: 's-1', kind: 'position', symbol: 'GOLD', side: 'sell', volume: 0.15 },
      now,
    );
    expect(link).toEqual({
      tenantId: 'tenant-a',
      mappingId: 'mapping-1',
      masterAccountId: 'master-1',
      slaveAccountId: 'slave-9',
      masterTicket: 'p-7',
      kind: 'position',
      slaveTicket: 's-1',
      masterSymbol: 'XAUUSD',
      slaveSymbol: 'GOLD',
      side: 'sell',
      masterVolume: 0.3,
      slaveVolume: 0.15,
      openedAt: now.toISOString(),
      appliedRev: 0,
    });
    expect(isOpenLink(link)).toBe(true);
  });

  it('opens an order link for a copied pending order', () => {
    const event: EventOf<'orderPlaced'> = { ...base, id: 'orderPlaced:o-1:0', kind: 'orderPlaced', order: tracked(anOrder({ id: 'o-1', volume: 0.2 }), 0) };
    expect(openedLink(event, aMapping(), { ticket: 's-o', kind: 'order', symbol: 'EURUSD', side: 'buy', volume: 0.2 }, now)).toMatchObject({
      masterTicket: 'o-1',
      kind: 'order',
      slaveTicket: 's-o',
    });
  });

  it('closes a link at the revision of the close', () => {
    const event: EventOf<'positionClosed'> = { ...base, id: 'positionClosed:p-1', kind: 'positionClosed', position: tracked(aPosition({ id: 'p-1' }), 4) };
    const closed = closedLink(aLink({ appliedRev: 2 }), event, now);
    expect(closed).toMatchObject({ appliedRev: 4, closedAt: now.toISOString() });
    expect(isOpenLink(closed)).toBe(false);
    expect(isOpenLink(undefined)).toBe(false);
  });

  it('keeps the rest after a partial close in exact lots, follows the master volume, and closes when nothing is left', () => {
    const event: EventOf<'positionPartiallyClosed'> = {
      ...base,
      id: 'positionPartiallyClosed:p-1:1',
      kind: 'positionPartiallyClosed',
      previousVolume: 0.3,
      position: tracked(aPosition({ id: 'p-1', volume: 0.2 }), 1),
    };
    const link = aLink({ slaveVolume: 0.3, masterVolume: 0.3 });
    // 0.3 - 0.1 in floats is 0.19999999999999998.
    expect(partiallyClosedLink(link, event, 0.1, now)).toEqual({ ...link, slaveVolume: 0.2, masterVolume: 0.2, appliedRev: 1 });
    expect(partiallyClosedLink(link, event, 0.3, now)).toEqual({ ...link, slaveVolume: 0, masterVolume: 0.2, appliedRev: 1, closedAt: now.toISOString() });
    expect(partiallyClosedLink(link, event, 0.5, now)).toMatchObject({ slaveVolume: 0, closedAt: now.toISOString() });
  });

  it('never moves a link back to an older revision on a modification', () => {
    const event: EventOf<'positionModified'> = {
      ...base,
      id: 'positionModified:p-1:2',
      kind: 'positionModified',
      position: tracked(aPosition({ id: 'p-1' }), 2),
    };
    expect(modifiedLink(aLink({ appliedRev: 1 }), event).appliedRev).toBe(2);
    expect(modifiedLink(aLink({ appliedRev: 5 }), event).appliedRev).toBe(5);
  });

  it('follows a filled pending order to the position it became, from revision 0', () => {
    const event: EventOf<'orderFilled'> = {
      ...base,
      id: 'orderFilled:o-1',
      kind: 'orderFilled',
      order: tracked(anOrder({ id: 'o-1' }), 1),
      position: tracked(aPosition({ id: 'p-from-o-1' }), 0),
    };
    const link = aLink({ masterTicket: 'o-1', kind: 'order', slaveTicket: 's-o', appliedRev: 3 });
    expect(filledLink(link, event, 's-p')).toEqual({ ...link, masterTicket: 'p-from-o-1', kind: 'position', slaveTicket: 's-p', appliedRev: 0 });
  });
});

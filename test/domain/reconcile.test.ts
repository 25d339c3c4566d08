import { describe, expect, it } from 'vitest';
import type { AccountBook } from '../../shared/domain/account-book';
import { reconcileMapping } from '../../shared/domain/reconcile';
import { aLink, aMapping, aPosition, anOrder, T0 } from '../support/fixtures';

const book = (positions: AccountBook['positions'] = [], orders: AccountBook['orders'] = []): AccountBook => ({
  tenantId: 'tenant-a',
  accountId: 'master-1',
  version: 3,
  positions,
  orders,
  syncedAt: T0,
});
const now = new Date(Date.parse(T0) + 10_000);

describe('reconcileMapping', () => {
  it('sends the close of a copy whose master position is gone, under the id detection gives that close', () => {
    const events = reconcileMapping(book(), aMapping(), [aLink({ masterTicket: 'p-1', appliedRev: 2 })], now);
    expect(events).toMatchObject([{ id: 'positionClosed:p-1', kind: 'positionClosed', position: { id: 'p-1', rev: 3 } }]);
  });

  it('sends the cancel of a copied pending order that is gone, and the fill of one that became a position', () => {
    const cancelled = reconcileMapping(book(), aMapping(), [aLink({ masterTicket: 'o-1', kind: 'order' })], now);
    expect(cancelled).toMatchObject([{ id: 'orderCancelled:o-1', kind: 'orderCancelled' }]);
    const filled = reconcileMapping(
      book([{ ...aPosition({ id: 'o-1' }), rev: 0, detectedAt: T0 }]),
      aMapping(),
      [aLink({ masterTicket: 'o-1', kind: 'order' })],
      now,
    );
    expect(filled).toMatchObject([{ id: 'orderFilled:o-1', kind: 'orderFilled', position: { id: 'o-1' } }]);
  });

  it('sends nothing for a copy whose master position is still open', () => {
    const open = book([{ ...aPosition({ id: 'p-1' }), rev: 0, detectedAt: T0 }]);
    expect(reconcileMapping(open, aMapping(), [aLink({ masterTicket: 'p-1' })], now)).toEqual([]);
  });

  it('sends again a fresh open that has no copy, but no open from before the mapping started or past maxDelaySeconds', () => {
    const positions = [
      { ...aPosition({ id: 'fresh', openedAt: new Date(Date.parse(T0) + 1000).toISOString() }), rev: 0, detectedAt: T0 },
      { ...aPosition({ id: 'before', openedAt: new Date(Date.parse(T0) - 1000).toISOString() }), rev: 0, detectedAt: T0 },
    ];
    const orders = [{ ...anOrder({ id: 'o-fresh', createdAt: new Date(Date.parse(T0) + 2000).toISOString() }), rev: 0, detectedAt: T0 }];
    const events = reconcileMapping(book(positions, orders), aMapping({ activeSince: T0 }), [], now);
    expect(events.map((event) => event.id)).toEqual(['positionOpened:fresh:0', 'orderPlaced:o-fresh:0']);
    const late = new Date(Date.parse(T0) + 120_000);
    expect(reconcileMapping(book(positions, orders), aMapping({ activeSince: T0, maxDelaySeconds: 60 }), [], late)).toEqual([]);
    expect(reconcileMapping(book(positions, orders), aMapping({ activeSince: T0, enabled: false }), [], now)).toEqual([]);
  });
});

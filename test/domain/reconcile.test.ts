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

  it("sends a refused close or cancel again once its retry is due, under the retry's own id, and nothing before", () => {
    const refusedAt = T0;
    const at = (seconds: number) => new Date(Date.parse(refusedAt) + seconds * 1000);
    const position = aLink({ masterTicket: 'p-1', closeRefused: { count: 1, at: refusedAt, reason: 'BROKER_FIFO_VIOLATION' } });
    const order = aLink({ masterTicket: 'o-1', kind: 'order', closeRefused: { count: 3, at: refusedAt, reason: 'BROKER_REJECTED' } });
    expect(reconcileMapping(book(), aMapping(), [position, order], at(59))).toEqual([]);
    expect(reconcileMapping(book(), aMapping(), [position, order], at(60)).map((event) => event.id)).toEqual(['positionClosed:p-1:retry1']);
    // The third refusal waits four minutes.
    expect(reconcileMapping(book(), aMapping(), [order], at(239))).toEqual([]);
    expect(reconcileMapping(book(), aMapping(), [order], at(240))).toMatchObject([{ id: 'orderCancelled:o-1:retry3', kind: 'orderCancelled' }]);
    // However often refused, a retry is at most an hour away.
    const often = aLink({ masterTicket: 'p-2', closeRefused: { count: 40, at: refusedAt, reason: 'BROKER_AUTH_FAILED' } });
    expect(reconcileMapping(book(), aMapping(), [often], at(3599))).toEqual([]);
    expect(reconcileMapping(book(), aMapping(), [often], at(3600)).map((event) => event.id)).toEqual(['positionClosed:p-2:retry40']);
  });

  it('leaves a refused copy alone while its master position is open again under the same ticket', () => {
    const open = book([{ ...aPosition({ id: 'p-1' }), rev: 0, detectedAt: T0 }]);
    const refused = aLink({ masterTicket: 'p-1', closeRefused: { count: 1, at: T0, reason: 'BROKER_REJECTED' } });
    expect(reconcileMapping(open, aMapping(), [refused], new Date(Date.parse(T0) + 3_600_000))).toEqual([]);
  });
});

import type { AccountBook } from './account-book';
import { openedWhileActive, type CopyMapping } from './copy-mapping';
import { endEventId, eventId, type MasterEvent } from './master-events';
import { closeRetryDueAt, type PositionLink } from './position-link';

/**
 * What a mapping's slave should have, against what the links say it has: the events that
 * repair the difference. Opens are re-announced only while still fresh (opened at the broker
 * after the mapping started copying, within maxDelaySeconds of now); every
 * link whose master ticket is gone gets its close, cancel or fill. Each event carries the id
 * detection gives the same change, so a pass that repairs nothing real sends only events the
 * copy worker already finished, and a second pass changes nothing.
 *
 * A close (or cancel) the slave's broker refused for good is sent again once its retry is due
 * (`closeRetryDueAt`), under an id of its own (`closeRetryEventId`), so the copy worker takes
 * it as a new close; until then the link is left alone.
 *
 * Not repaired here: a lost SL/TP change or partial close of a position that is still open
 * (the next change of that position carries the full state again).
 */
export const reconcileMapping = (book: AccountBook, mapping: CopyMapping, openLinks: PositionLink[], now: Date): MasterEvent[] => {
  const base = { tenantId: mapping.tenantId, masterAccountId: mapping.masterAccountId, masterBalance: book.balance, masterEquity: book.equity };
  const positions = new Map(book.positions.map((position) => [position.id, position]));
  const orders = new Map(book.orders.map((order) => [order.id, order]));
  const linked = new Set(openLinks.map((link) => link.masterTicket));
  const events: MasterEvent[] = [];
  const detectedAt = now.toISOString();

  for (const link of openLinks) {
    const symbol = link.masterSymbol ?? link.slaveSymbol;
    const last = { symbol, side: link.side, volume: link.masterVolume, rev: link.appliedRev + 1, detectedAt: link.openedAt };
    const refused = link.closeRefused;
    const endId = (kind: 'positionClosed' | 'orderCancelled') =>
      refused ? closeRetryEventId(kind, link.masterTicket, refused.count) : endEventId(kind, link.masterTicket);
    const gone = link.kind === 'position' ? !positions.has(link.masterTicket) : !orders.has(link.masterTicket) && !positions.has(link.masterTicket);
    if (gone && refused && closeRetryDueAt(refused) > now.getTime()) continue;
    if (link.kind === 'position' && !positions.has(link.masterTicket)) {
      events.push({
        ...base,
        id: endId('positionClosed'),
        kind: 'positionClosed',
        detectedAt,
        position: { ...last, id: link.masterTicket, openPrice: 0, openedAt: link.openedAt },
      });
    } else if (link.kind === 'order' && !orders.has(link.masterTicket)) {
      const filled = positions.get(link.masterTicket);
      const order = { ...last, id: link.masterTicket, type: 'limit' as const, price: 0, createdAt: link.openedAt };
      events.push(
        filled
          ? { ...base, id: endEventId('orderFilled', link.masterTicket), kind: 'orderFilled', detectedAt, order, position: filled }
          : { ...base, id: endId('orderCancelled'), kind: 'orderCancelled', detectedAt, order },
      );
    }
  }

  if (!mapping.enabled) return events;
  const fresh = (openedAt: string) => openedWhileActive(mapping, openedAt) && now.getTime() - Date.parse(openedAt) <= mapping.maxDelaySeconds * 1000;
  for (const position of book.positions) {
    if (linked.has(position.id) || !fresh(position.openedAt)) continue;
    events.push({ ...base, id: eventId('positionOpened', position.id, 0), kind: 'positionOpened', detectedAt: position.detectedAt, position });
  }
  if (mapping.copyPendingOrders) {
    for (const order of book.orders) {
      if (linked.has(order.id) || !fresh(order.createdAt)) continue;
      events.push({ ...base, id: eventId('orderPlaced', order.id, 0), kind: 'orderPlaced', detectedAt: order.detectedAt, order });
    }
  }
  return events;
};

/** The id of the `count`-th retry of a refused close or cancel: a new event to the copy worker, the same one to every pass that sends it. */
export const closeRetryEventId = (kind: 'positionClosed' | 'orderCancelled', ticket: string, count: number): string =>
  `${endEventId(kind, ticket)}:retry${count}`;

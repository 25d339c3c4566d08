import type { AccountBook, TrackedOrder, TrackedPosition } from './account-book';
import type { AccountInformation, PendingOrder, Position } from './trading';
import { compareLots, subtractLots } from './volume';

export type MasterEventKind =
  | 'positionOpened'
  | 'positionModified'
  | 'positionPartiallyClosed'
  | 'positionIncreased'
  | 'positionClosed'
  | 'orderPlaced'
  | 'orderModified'
  | 'orderCancelled'
  | 'orderFilled';

interface EventBase {
  id: string;
  tenantId: string;
  masterAccountId: string;
  detectedAt: string;
  masterBalance?: number;
  masterEquity?: number;
}

/**
 * A change on a master account. `id` is derived from what changed (kind, ticket, revision),
 * never from when it was seen, so that the same change detected twice (two racing syncs, a
 * retry after a crash, a reconcile pass) is the same event everywhere downstream.
 *
 * Each kind carries exactly what it is about: a position (after the change; for a close, as
 * last seen), a pending order, or for a fill both the order and the position it became.
 */
export type MasterEvent =
  | PositionEvent<'positionOpened' | 'positionModified' | 'positionClosed'>
  | (PositionEvent<'positionPartiallyClosed'> & { /** Volume before the partial close. */ previousVolume: number })
  /** A netting account's position grew under its id (an add-on): copied as one order of the added volume. */
  | (PositionEvent<'positionIncreased'> & { /** Volume before the add-on. */ previousVolume: number })
  | OrderEvent<'orderPlaced' | 'orderModified' | 'orderCancelled'>
  | (OrderEvent<'orderFilled'> & { /** The position the order became. */ position: TrackedPosition });

/** One member per kind (`K` distributes), so `Extract<MasterEvent, { kind: ... }>` narrows. */
type PositionEvent<K extends MasterEventKind> = K extends MasterEventKind ? EventBase & { kind: K; position: TrackedPosition } : never;
type OrderEvent<K extends MasterEventKind> = K extends MasterEventKind ? EventBase & { kind: K; order: TrackedOrder } : never;

export type EventOf<K extends MasterEventKind> = Extract<MasterEvent, { kind: K }>;
/** The events that open something on the slave. */
export type OpenEvent = EventOf<'positionOpened' | 'orderPlaced'>;

/** The position or pending order an event is about (for a fill: the order that filled). */
export const subjectOf = (event: MasterEvent): TrackedPosition | TrackedOrder => ('order' in event ? event.order : event.position);

/** The master ticket whose link an event acts on: opens create one, everything else needs one. */
export const linkTicketOf = (event: MasterEvent): string => subjectOf(event).id;

export const isOpen = (event: MasterEvent): event is OpenEvent => event.kind === 'positionOpened' || event.kind === 'orderPlaced';

/**
 * The master volume an event moves: for a partial close the volume the master closed (not what
 * it kept), exact in lots; otherwise the position's or order's volume.
 */
export const masterVolumeOf = (event: MasterEvent): number =>
  event.kind === 'positionPartiallyClosed'
    ? subtractLots(event.previousVolume, event.position.volume)
    : event.kind === 'positionIncreased'
      ? subtractLots(event.position.volume, event.previousVolume)
      : subjectOf(event).volume;

export interface BrokerView {
  positions: Position[];
  orders: PendingOrder[];
  account?: AccountInformation;
}

const sameNumber = (a: number | undefined, b: number | undefined): boolean => (a === undefined || b === undefined ? a === b : Math.abs(a - b) < 1e-9);

export const eventId = (kind: MasterEventKind, ticket: string, rev: number): string => `${kind}:${ticket}:${rev}`;

/**
 * A ticket closes, is cancelled or fills once, so those events carry no revision: the id is
 * the same whether the diff saw the end or a reconcile pass found it later, and the copy of
 * the end happens once either way.
 */
export const endEventId = (kind: 'positionClosed' | 'orderCancelled' | 'orderFilled', ticket: string): string => `${kind}:${ticket}`;

/**
 * Diffs what the broker shows now against the stored book and returns the next book and
 * the events between them. The first sync of an account (no book yet) records a baseline
 * and emits nothing: positions that existed before are not copied.
 *
 * Within one diff, closes come before partial closes, modifications, add-ons (a netting
 * position that grew), opens and orders, so a slave processing events in order never holds
 * more exposure than the master had.
 */
export const diffBook = (
  previous: AccountBook | undefined,
  view: BrokerView,
  context: { tenantId: string; accountId: string; now: Date },
): { book: AccountBook; events: MasterEvent[] } => {
  const detectedAt = context.now.toISOString();
  const base = {
    tenantId: context.tenantId,
    masterAccountId: context.accountId,
    detectedAt,
    masterBalance: view.account?.balance ?? previous?.balance,
    masterEquity: view.account?.equity ?? previous?.equity,
  };
  const book: AccountBook = {
    tenantId: context.tenantId,
    accountId: context.accountId,
    version: (previous?.version ?? 0) + 1,
    positions: [],
    orders: [],
    balance: view.account?.balance ?? previous?.balance,
    equity: view.account?.equity ?? previous?.equity,
    currency: view.account?.currency ?? previous?.currency,
    syncedAt: detectedAt,
  };

  if (!previous) {
    book.positions = view.positions.map((position) => ({ ...position, rev: 0, detectedAt, baseline: true }));
    book.orders = view.orders.map((order) => ({ ...order, rev: 0, detectedAt, baseline: true }));
    return { book, events: [] };
  }

  const closes: MasterEvent[] = [];
  const partials: MasterEvent[] = [];
  const addOns: MasterEvent[] = [];
  const modifies: MasterEvent[] = [];
  const opens: MasterEvent[] = [];
  const orderEvents: MasterEvent[] = [];

  const known = new Map(previous.positions.map((position) => [position.id, position]));
  const current = new Map(view.positions.map((position) => [position.id, position]));
  const previousOrders = new Map(previous.orders.map((order) => [order.id, order]));
  const currentOrders = new Map(view.orders.map((order) => [order.id, order]));

  for (const [id, last] of known) {
    if (!current.has(id)) {
      closes.push({ ...base, id: endEventId('positionClosed', id), kind: 'positionClosed', position: { ...last, rev: last.rev + 1 } });
    }
  }

  for (const position of view.positions) {
    const last = known.get(position.id);
    if (!last) {
      // MT4 and MT5 both give the position of a filled pending order the order's ticket.
      const filledOrder = previousOrders.get(position.id);
      const tracked: TrackedPosition = { ...position, rev: 0, detectedAt };
      book.positions.push(tracked);
      if (filledOrder && !currentOrders.has(position.id)) {
        orderEvents.push({
          ...base,
          id: endEventId('orderFilled', filledOrder.id),
          kind: 'orderFilled',
          order: { ...filledOrder, rev: filledOrder.rev + 1 },
          position: tracked,
        });
      } else {
        opens.push({ ...base, id: eventId('positionOpened', position.id, 0), kind: 'positionOpened', position: tracked });
      }
      continue;
    }
    if (position.side !== last.side) {
      // A netting position that reversed under its id (MT5 keeps the identifier): the old side is
      // closed and the new one opened. Both ids carry the revision, so a later reversal or the
      // final close of the same ticket is an event of its own; the open counts from now.
      const rev = last.rev + 1;
      closes.push({ ...base, id: eventId('positionClosed', position.id, rev), kind: 'positionClosed', position: { ...last, rev } });
      const reopened: TrackedPosition = { ...position, rev: rev + 1, detectedAt, openedAt: detectedAt };
      book.positions.push(reopened);
      opens.push({ ...base, id: eventId('positionOpened', position.id, rev + 1), kind: 'positionOpened', position: reopened });
      continue;
    }
    let rev = last.rev;
    if (compareLots(position.volume, last.volume) < 0) {
      rev += 1;
      partials.push({
        ...base,
        id: eventId('positionPartiallyClosed', position.id, rev),
        kind: 'positionPartiallyClosed',
        position: { ...position, rev, detectedAt: last.detectedAt },
        previousVolume: last.volume,
      });
    } else if (compareLots(position.volume, last.volume) > 0) {
      rev += 1;
      addOns.push({
        ...base,
        id: eventId('positionIncreased', position.id, rev),
        kind: 'positionIncreased',
        position: { ...position, rev, detectedAt: last.detectedAt },
        previousVolume: last.volume,
      });
    }
    if (!sameNumber(position.stopLoss, last.stopLoss) || !sameNumber(position.takeProfit, last.takeProfit)) {
      rev += 1;
      modifies.push({
        ...base,
        id: eventId('positionModified', position.id, rev),
        kind: 'positionModified',
        position: { ...position, rev, detectedAt: last.detectedAt },
      });
    }
    book.positions.push({ ...position, rev, detectedAt: last.detectedAt, ...(last.baseline ? { baseline: true } : {}) });
  }

  for (const [id, last] of previousOrders) {
    if (!currentOrders.has(id) && !(current.has(id) && !known.has(id))) {
      orderEvents.unshift({ ...base, id: endEventId('orderCancelled', id), kind: 'orderCancelled', order: { ...last, rev: last.rev + 1 } });
    }
  }
  for (const order of view.orders) {
    const last = previousOrders.get(order.id);
    if (!last) {
      const tracked: TrackedOrder = { ...order, rev: 0, detectedAt };
      book.orders.push(tracked);
      orderEvents.push({ ...base, id: eventId('orderPlaced', order.id, 0), kind: 'orderPlaced', order: tracked });
      continue;
    }
    const changed = !sameNumber(order.price, last.price) || !sameNumber(order.stopLoss, last.stopLoss) || !sameNumber(order.takeProfit, last.takeProfit);
    const rev = changed ? last.rev + 1 : last.rev;
    const tracked: TrackedOrder = { ...order, rev, detectedAt: last.detectedAt, ...(last.baseline ? { baseline: true } : {}) };
    book.orders.push(tracked);
    if (changed) orderEvents.push({ ...base, id: eventId('orderModified', order.id, rev), kind: 'orderModified', order: tracked });
  }

  // Add-ons after what reduces exposure, with the opens: a slave never holds more than the master did.
  return { book, events: [...closes, ...partials, ...modifies, ...addOns, ...opens, ...orderEvents] };
};

/**
 * The events that introduce a master's book to a mapping that starts copying it (created,
 * or enabled again): an open for every position and pending order the book holds that
 * `events` does not already open. Their ids are the ones detection gives an open, so a
 * position detected as new and announced in the same pass is one event, and one copy.
 * Whether each is copied or recorded as `OPENED_BEFORE_MAPPING` is decided per mapping from
 * the broker's open time, by the copy worker.
 */
export const announceBook = (book: AccountBook, events: MasterEvent[], detectedAt: string): MasterEvent[] => {
  const opened = new Set(events.flatMap((event) => (event.kind === 'positionOpened' || event.kind === 'orderFilled' ? [event.position.id] : [])));
  const placed = new Set(events.flatMap((event) => (event.kind === 'orderPlaced' ? [event.order.id] : [])));
  const base = { tenantId: book.tenantId, masterAccountId: book.accountId, detectedAt, masterBalance: book.balance, masterEquity: book.equity };
  return [
    ...book.positions
      .filter((position) => !opened.has(position.id))
      .map((position): MasterEvent => ({ ...base, id: eventId('positionOpened', position.id, 0), kind: 'positionOpened', position })),
    ...book.orders
      .filter((order) => !placed.has(order.id))
      .map((order): MasterEvent => ({ ...base, id: eventId('orderPlaced', order.id, 0), kind: 'orderPlaced', order })),
  ];
};

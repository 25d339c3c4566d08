import type { AccountBook, TrackedOrder, TrackedPosition } from './account-book';
import type { AccountInformation, PendingOrder, Position } from './trading';

export type MasterEventKind =
  | 'positionOpened'
  | 'positionModified'
  | 'positionPartiallyClosed'
  | 'positionClosed'
  | 'orderPlaced'
  | 'orderModified'
  | 'orderCancelled'
  | 'orderFilled';

/**
 * A change on a master account. `id` is derived from what changed (kind, ticket, revision),
 * never from when it was seen, so that the same change detected twice (two racing syncs, a
 * retry after a crash, a reconcile pass) is the same event everywhere downstream.
 */
export interface MasterEvent {
  id: string;
  kind: MasterEventKind;
  tenantId: string;
  masterAccountId: string;
  detectedAt: string;
  /** The position after the change (for a close: as last seen). */
  position?: TrackedPosition;
  /** Volume before a partial close. */
  previousVolume?: number;
  order?: TrackedOrder;
  /** For `orderFilled`: the position the order became. */
  filledPositionId?: string;
  masterBalance?: number;
  masterEquity?: number;
}

export interface BrokerView {
  positions: Position[];
  orders: PendingOrder[];
  account?: AccountInformation;
}

const sameNumber = (a: number | undefined, b: number | undefined): boolean =>
  a === undefined || b === undefined ? a === b : Math.abs(a - b) < 1e-9;

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
 * Within one diff, closes come before partial closes, modifications, opens and orders, so a
 * slave processing events in order never holds more exposure than the master had.
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
          filledPositionId: position.id,
        });
      } else {
        opens.push({ ...base, id: eventId('positionOpened', position.id, 0), kind: 'positionOpened', position: tracked });
      }
      continue;
    }
    let rev = last.rev;
    if (position.volume < last.volume - 1e-9) {
      rev += 1;
      partials.push({
        ...base,
        id: eventId('positionPartiallyClosed', position.id, rev),
        kind: 'positionPartiallyClosed',
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
    const changed =
      !sameNumber(order.price, last.price) ||
      !sameNumber(order.stopLoss, last.stopLoss) ||
      !sameNumber(order.takeProfit, last.takeProfit);
    const rev = changed ? last.rev + 1 : last.rev;
    const tracked: TrackedOrder = { ...order, rev, detectedAt: last.detectedAt, ...(last.baseline ? { baseline: true } : {}) };
    book.orders.push(tracked);
    if (changed) orderEvents.push({ ...base, id: eventId('orderModified', order.id, rev), kind: 'orderModified', order: tracked });
  }

  return { book, events: [...closes, ...partials, ...modifies, ...opens, ...orderEvents] };
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
  const opened = new Set(events.filter((event) => event.kind === 'positionOpened' || event.kind === 'orderFilled').map((event) => event.position?.id));
  const placed = new Set(events.filter((event) => event.kind === 'orderPlaced').map((event) => event.order?.id));
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

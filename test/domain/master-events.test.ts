import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccountBook } from '../../shared/domain/account-book';
import { diffBook, type BrokerView, type MasterEvent } from '../../shared/domain/master-events';
import type { PendingOrder, Position } from '../../shared/domain/trading';
import { anOrder, aPosition } from '../support/fixtures';

const account = { tenantId: 'tenant-a', accountId: 'master-1' };
const at = (second: number) => ({ ...account, now: new Date(Date.UTC(2024, 2, 4, 10, 0, second)) });
const view = (positions: Position[] = [], orders: PendingOrder[] = []): BrokerView => ({ positions, orders });

/** The book after a first sync of `baseline`, which emits nothing. */
const baseline = (positions: Position[] = [], orders: PendingOrder[] = []): AccountBook => diffBook(undefined, view(positions, orders), at(0)).book;

const kindsAndIds = (events: MasterEvent[]) => events.map((event) => [event.kind, event.id]);

describe('diffBook', () => {
  it('records a baseline and emits nothing on the first sync', () => {
    const { book, events } = diffBook(undefined, view([aPosition({ id: 'p-1' })], [anOrder({ id: 'o-1' })]), at(0));

    expect(events).toEqual([]);
    expect(book.version).toBe(1);
    expect(book.positions).toMatchObject([{ id: 'p-1', rev: 0 }]);
    expect(book.orders).toMatchObject([{ id: 'o-1', rev: 0 }]);
  });

  it('emits positionOpened with id positionOpened:<ticket>:0 for a new position', () => {
    const { events, book } = diffBook(baseline(), view([aPosition({ id: 'p-7', volume: 0.3 })]), at(1));

    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: 'positionOpened:p-7:0',
      kind: 'positionOpened',
      tenantId: 'tenant-a',
      masterAccountId: 'master-1',
      position: { id: 'p-7', volume: 0.3, rev: 0 },
    });
    expect(book.version).toBe(2);
  });

  it('carries the master funds on the events', () => {
    const funds = { balance: 10_000, equity: 9_800, margin: 100, freeMargin: 9_700, currency: 'USD', leverage: 100 };
    const { events } = diffBook(baseline(), { ...view([aPosition()]), account: funds }, at(1));
    expect(events[0]).toMatchObject({ masterBalance: 10_000, masterEquity: 9_800 });
  });

  it('emits positionModified at revision 1 when the stop loss changes', () => {
    const before = baseline([aPosition({ id: 'p-1', stopLoss: 1.09 })]);
    const { events, book } = diffBook(before, view([aPosition({ id: 'p-1', stopLoss: 1.095 })]), at(1));

    expect(kindsAndIds(events)).toEqual([['positionModified', 'positionModified:p-1:1']]);
    expect(events[0]).toMatchObject({ position: { stopLoss: 1.095, rev: 1 } });
    expect(book.positions[0]?.rev).toBe(1);
  });

  it('emits positionModified when a take profit is added or a stop loss removed', () => {
    const before = baseline([aPosition({ id: 'p-1', stopLoss: 1.09 })]);
    const { events } = diffBook(before, view([aPosition({ id: 'p-1', takeProfit: 1.12 })]), at(1));
    expect(kindsAndIds(events)).toEqual([['positionModified', 'positionModified:p-1:1']]);
  });

  it('emits positionModified when only the take profit moves', () => {
    const before = baseline([aPosition({ id: 'p-1', stopLoss: 1.09, takeProfit: 1.11 })]);
    const { events } = diffBook(before, view([aPosition({ id: 'p-1', stopLoss: 1.09, takeProfit: 1.12 })]), at(1));
    expect(kindsAndIds(events)).toEqual([['positionModified', 'positionModified:p-1:1']]);
    expect(events[0]).toMatchObject({ position: { stopLoss: 1.09, takeProfit: 1.12 } });
  });

  it('ignores price changes smaller than float noise', () => {
    const before = baseline([aPosition({ id: 'p-1', stopLoss: 1.09 })]);
    expect(diffBook(before, view([aPosition({ id: 'p-1', stopLoss: 1.09 + 1e-12, profit: 12 })]), at(1)).events).toEqual([]);
  });

  it('emits positionIncreased (an add-on) with the previous volume when a position grows, after what reduces exposure', () => {
    const before = baseline([aPosition({ id: 'p-1', volume: 0.1 }), aPosition({ id: 'p-2', volume: 0.5 })]);
    const { events, book } = diffBook(before, view([aPosition({ id: 'p-1', volume: 0.15 }), aPosition({ id: 'p-2', volume: 0.2 })]), at(1));
    expect(kindsAndIds(events)).toEqual([
      ['positionPartiallyClosed', 'positionPartiallyClosed:p-2:1'],
      ['positionIncreased', 'positionIncreased:p-1:1'],
    ]);
    expect(events[1]).toMatchObject({ previousVolume: 0.1, position: { volume: 0.15, rev: 1 } });
    // Seen again, nothing more; grown again, the next revision.
    expect(diffBook(book, view([aPosition({ id: 'p-1', volume: 0.15 }), aPosition({ id: 'p-2', volume: 0.2 })]), at(2)).events).toEqual([]);
    expect(kindsAndIds(diffBook(book, view([aPosition({ id: 'p-1', volume: 0.3 }), aPosition({ id: 'p-2', volume: 0.2 })]), at(2)).events)).toEqual([
      ['positionIncreased', 'positionIncreased:p-1:2'],
    ]);
  });

  it('emits a close and an open when a netting position reverses under its id, each of its revision, the open counted from now', () => {
    const before = baseline([aPosition({ id: 'p-1', side: 'buy', volume: 1, openedAt: '2024-03-04T09:00:00.000Z' })]);
    const { events, book } = diffBook(before, view([aPosition({ id: 'p-1', side: 'sell', volume: 0.4, openedAt: '2024-03-04T09:00:00.000Z' })]), at(1));
    expect(kindsAndIds(events)).toEqual([
      ['positionClosed', 'positionClosed:p-1:1'],
      ['positionOpened', 'positionOpened:p-1:2'],
    ]);
    expect(events[0]).toMatchObject({ position: { side: 'buy', volume: 1 } });
    expect(events[1]).toMatchObject({ position: { side: 'sell', volume: 0.4, rev: 2, openedAt: at(1).now.toISOString() } });
    // Reversed again: new ids; closed at last: the close of the ticket.
    const again = diffBook(book, view([aPosition({ id: 'p-1', side: 'buy', volume: 0.2 })]), at(2));
    expect(kindsAndIds(again.events)).toEqual([
      ['positionClosed', 'positionClosed:p-1:3'],
      ['positionOpened', 'positionOpened:p-1:4'],
    ]);
    expect(kindsAndIds(diffBook(again.book, view([]), at(3)).events)).toEqual([['positionClosed', 'positionClosed:p-1']]);
  });

  it('emits positionPartiallyClosed with the previous volume when the volume decreases', () => {
    const before = baseline([aPosition({ id: 'p-1', volume: 1 })]);
    const { events } = diffBook(before, view([aPosition({ id: 'p-1', volume: 0.6 })]), at(1));

    expect(kindsAndIds(events)).toEqual([['positionPartiallyClosed', 'positionPartiallyClosed:p-1:1']]);
    expect(events[0]).toMatchObject({ previousVolume: 1, position: { volume: 0.6, rev: 1 } });
  });

  it('gives a partial close and a modification in one sync consecutive revisions', () => {
    const before = baseline([aPosition({ id: 'p-1', volume: 1 })]);
    const { events, book } = diffBook(before, view([aPosition({ id: 'p-1', volume: 0.5, stopLoss: 1.1 })]), at(1));

    expect(kindsAndIds(events)).toEqual([
      ['positionPartiallyClosed', 'positionPartiallyClosed:p-1:1'],
      ['positionModified', 'positionModified:p-1:2'],
    ]);
    expect(book.positions[0]?.rev).toBe(2);
  });

  it('emits positionClosed when a position disappears', () => {
    const before = baseline([aPosition({ id: 'p-1', volume: 0.4 })]);
    const { events, book } = diffBook(before, view([]), at(1));

    expect(kindsAndIds(events)).toEqual([['positionClosed', 'positionClosed:p-1']]);
    expect(events[0]).toMatchObject({ position: { id: 'p-1', volume: 0.4 } });
    expect(book.positions).toEqual([]);
  });

  it('orders closes before partial closes, modifications and opens', () => {
    const before = baseline([aPosition({ id: 'p-1' }), aPosition({ id: 'p-2', volume: 1 }), aPosition({ id: 'p-3' })]);
    const { events } = diffBook(
      before,
      view([aPosition({ id: 'p-9' }), aPosition({ id: 'p-3', stopLoss: 1.05 }), aPosition({ id: 'p-2', volume: 0.5 })], [anOrder({ id: 'o-1' })]),
      at(1),
    );

    expect(events.map((event) => event.kind)).toEqual(['positionClosed', 'positionPartiallyClosed', 'positionModified', 'positionOpened', 'orderPlaced']);
  });

  it('emits orderPlaced, orderModified and orderCancelled through a pending order life', () => {
    const placed = diffBook(baseline(), view([], [anOrder({ id: 'o-1', price: 1.09 })]), at(1));
    expect(kindsAndIds(placed.events)).toEqual([['orderPlaced', 'orderPlaced:o-1:0']]);

    const modified = diffBook(placed.book, view([], [anOrder({ id: 'o-1', price: 1.085 })]), at(2));
    expect(kindsAndIds(modified.events)).toEqual([['orderModified', 'orderModified:o-1:1']]);
    expect(modified.events[0]).toMatchObject({ order: { price: 1.085, rev: 1 } });

    const cancelled = diffBook(modified.book, view([], []), at(3));
    expect(kindsAndIds(cancelled.events)).toEqual([['orderCancelled', 'orderCancelled:o-1']]);
    expect(cancelled.book.orders).toEqual([]);
  });

  it('emits orderFilled, not positionOpened nor orderCancelled, when an order ticket becomes a position', () => {
    const before = baseline([], [anOrder({ id: 't-5', side: 'sell', volume: 0.2 })]);
    const { events, book } = diffBook(before, view([aPosition({ id: 't-5', side: 'sell', volume: 0.2 })], []), at(1));

    expect(kindsAndIds(events)).toEqual([['orderFilled', 'orderFilled:t-5']]);
    expect(events[0]).toMatchObject({ order: { id: 't-5' }, position: { id: 't-5', rev: 0 } });
    expect(book.positions).toMatchObject([{ id: 't-5', rev: 0 }]);
    expect(book.orders).toEqual([]);
  });

  it('emits nothing when the same view is diffed again against the resulting book', () => {
    const changed = view(
      [aPosition({ id: 'p-1', volume: 0.5, stopLoss: 1.08 }), aPosition({ id: 'p-2' })],
      [anOrder({ id: 'o-1', price: 1.07 }), anOrder({ id: 'o-2' })],
    );
    const first = diffBook(baseline([aPosition({ id: 'p-1', volume: 1 })], [anOrder({ id: 'o-1' })]), changed, at(1));
    expect(first.events.length).toBeGreaterThan(0);

    const second = diffBook(first.book, changed, at(2));
    expect(second.events).toEqual([]);
  });

  it('derives the same event ids from the same change seen at different times', () => {
    const before = baseline([aPosition({ id: 'p-1', volume: 1 }), aPosition({ id: 'p-2' })], [anOrder({ id: 'o-1' }), anOrder({ id: 'o-2' })]);
    const after = view([aPosition({ id: 'p-1', volume: 0.7, stopLoss: 1.05 }), aPosition({ id: 'p-3' }), aPosition({ id: 'o-2' })], [anOrder({ id: 'o-3' })]);

    const early = diffBook(before, after, at(1));
    const late = diffBook(before, after, { ...account, now: new Date('2031-01-01T00:00:00.000Z') });

    expect(early.events.map((event) => event.id)).toEqual(late.events.map((event) => event.id));
    expect(early.events.map((event) => event.id)).toEqual([
      'positionClosed:p-2',
      'positionPartiallyClosed:p-1:1',
      'positionModified:p-1:2',
      'positionOpened:p-3:0',
      'orderCancelled:o-1',
      'orderFilled:o-2',
      'orderPlaced:o-3:0',
    ]);
    expect(early.events[0]?.detectedAt).not.toBe(late.events[0]?.detectedAt);
  });

  it('keeps the detection time of the open on later revisions of a position', () => {
    const opened = diffBook(baseline(), view([aPosition({ id: 'p-1' })]), at(1));
    const modified = diffBook(opened.book, view([aPosition({ id: 'p-1', stopLoss: 1.05 })]), at(9));
    expect(modified.book.positions[0]?.detectedAt).toBe(at(1).now.toISOString());
  });

  describe('over random broker histories', () => {
    type Command =
      | { op: 'open'; side: 'buy' | 'sell'; lots: number }
      | { op: 'modify'; pick: number; stopLoss: number | undefined }
      | { op: 'partialClose'; pick: number; share: number }
      | { op: 'close'; pick: number }
      | { op: 'place'; lots: number; price: number }
      | { op: 'modifyOrder'; pick: number; price: number }
      | { op: 'cancel'; pick: number }
      | { op: 'fill'; pick: number }
      | { op: 'sync' };

    // Few tickets and many revisions: picks favour the oldest tickets, so one ticket sees many changes.
    const pick = fc.nat({ max: 3 });
    const command: fc.Arbitrary<Command> = fc.oneof(
      {
        weight: 2,
        arbitrary: fc.record({
          op: fc.constant('open' as const),
          side: fc.constantFrom('buy' as const, 'sell' as const),
          lots: fc.integer({ min: 1, max: 100 }),
        }),
      },
      {
        weight: 4,
        arbitrary: fc.record({ op: fc.constant('modify' as const), pick, stopLoss: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }) }),
      },
      { weight: 3, arbitrary: fc.record({ op: fc.constant('partialClose' as const), pick, share: fc.integer({ min: 1, max: 99 }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('close' as const), pick }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('place' as const), lots: fc.integer({ min: 1, max: 100 }), price: fc.integer({ min: 1, max: 5 }) }) },
      { weight: 4, arbitrary: fc.record({ op: fc.constant('modifyOrder' as const), pick, price: fc.integer({ min: 1, max: 5 }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), pick }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('fill' as const), pick }) },
      { weight: 6, arbitrary: fc.constant({ op: 'sync' as const }) },
    );

    /**
     * Plays commands on a model broker that, like MT4/MT5, never reuses a ticket and gives
     * the position of a filled order the order's ticket; returns the view at every sync.
     */
    const brokerViews = (commands: Command[]): BrokerView[] => {
      const positions = new Map<string, Position>();
      const orders = new Map<string, PendingOrder>();
      const views: BrokerView[] = [];
      let ticket = 0;
      const pickFrom = <T>(map: Map<string, T>, pick: number): string | undefined => [...map.keys()][pick % Math.max(1, map.size)];
      for (const step of [...commands, { op: 'sync' as const }]) {
        switch (step.op) {
          case 'open':
            ticket += 1;
            positions.set(`t${ticket}`, aPosition({ id: `t${ticket}`, side: step.side, volume: step.lots / 100 }));
            break;
          case 'modify': {
            const id = pickFrom(positions, step.pick);
            const position = id && positions.get(id);
            if (id && position) positions.set(id, { ...position, stopLoss: step.stopLoss === undefined ? undefined : 1 + step.stopLoss / 100 });
            break;
          }
          case 'partialClose': {
            const id = pickFrom(positions, step.pick);
            const position = id && positions.get(id);
            const kept = position ? Math.floor(Math.round(position.volume * 100) * (step.share / 100)) / 100 : 0;
            if (id && position && kept > 0) positions.set(id, { ...position, volume: kept });
            break;
          }
          case 'close': {
            const id = pickFrom(positions, step.pick);
            if (id) positions.delete(id);
            break;
          }
          case 'place':
            ticket += 1;
            orders.set(`t${ticket}`, anOrder({ id: `t${ticket}`, volume: step.lots / 100, price: 1 + step.price / 100 }));
            break;
          case 'modifyOrder': {
            const id = pickFrom(orders, step.pick);
            const order = id && orders.get(id);
            if (id && order) orders.set(id, { ...order, price: 1 + step.price / 100 });
            break;
          }
          case 'cancel': {
            const id = pickFrom(orders, step.pick);
            if (id) orders.delete(id);
            break;
          }
          case 'fill': {
            const id = pickFrom(orders, step.pick);
            const order = id && orders.get(id);
            if (id && order) {
              orders.delete(id);
              positions.set(id, aPosition({ id, side: order.side, volume: order.volume, openPrice: order.price }));
            }
            break;
          }
          case 'sync':
            views.push({ positions: [...positions.values()].map((p) => ({ ...p })), orders: [...orders.values()].map((o) => ({ ...o })) });
            break;
        }
      }
      return views;
    };

    const essentials = (items: ReadonlyArray<Position | PendingOrder>) =>
      items
        .map((item) => ({ id: item.id, volume: item.volume, stopLoss: item.stopLoss, price: 'price' in item ? item.price : undefined }))
        .sort((a, b) => a.id.localeCompare(b.id));

    it('never emits two events with the same id, and the book version grows by one per diff', () => {
      fc.assert(
        fc.property(fc.array(command, { maxLength: 80, size: 'max' }), (commands) => {
          let book: AccountBook | undefined;
          const seen = new Set<string>();
          brokerViews(commands).forEach((brokerView, index) => {
            const result = diffBook(book, brokerView, at(index));
            expect(result.book.version).toBe((book?.version ?? 0) + 1);
            for (const event of result.events) {
              expect(seen.has(event.id), `duplicate event id ${event.id}`).toBe(false);
              seen.add(event.id);
            }
            book = result.book;
          });
        }),
        { numRuns: 500 },
      );
    });

    it('leaves a book that holds exactly what the broker showed, and a repeated sync emits nothing', () => {
      fc.assert(
        fc.property(fc.array(command, { maxLength: 60, size: 'max' }), (commands) => {
          let book: AccountBook | undefined;
          for (const [index, brokerView] of brokerViews(commands).entries()) {
            book = diffBook(book, brokerView, at(index)).book;
            expect(essentials(book.positions)).toEqual(essentials(brokerView.positions));
            expect(essentials(book.orders)).toEqual(essentials(brokerView.orders));
            expect(diffBook(book, brokerView, at(index + 1)).events).toEqual([]);
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});

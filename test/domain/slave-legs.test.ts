import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frontLegs, heldLegs, legsAfter, legsVolume, sameLegs, shedOldestFirst } from '../../shared/domain/slave-legs';
import { legsOf, withLegs } from '../../shared/domain/position-link';
import { aLink } from '../support/fixtures';
import { sumLots } from '../../shared/domain/volume';

describe('slave legs', () => {
  it('reads a link without legs as its one ticket, and keeps the list only for several', () => {
    const link = aLink({ slaveTicket: 's-1', slaveVolume: 0.2 });
    expect(legsOf(link)).toEqual([{ ticket: 's-1', volume: 0.2 }]);
    const two = withLegs(link, [
      { ticket: 's-1', volume: 0.2 },
      { ticket: 's-2', volume: 0.1 },
    ]);
    expect(two).toMatchObject({ slaveTicket: 's-1', slaveVolume: 0.2, legs: [{ ticket: 's-1' }, { ticket: 's-2' }] });
    const one = withLegs(two, [{ ticket: 's-2', volume: 0.1 }]);
    expect(one.slaveTicket).toBe('s-2');
    expect(one).not.toHaveProperty('legs');
    expect(withLegs(two, []).slaveTicket).toBe('s-1');
  });

  it('gives a shared trade that shrank to the shares in order: the last share loses first', () => {
    const links = [
      { key: 'a', legs: [{ ticket: 't1', volume: 0.1 }] },
      {
        key: 'c',
        legs: [
          { ticket: 't1', volume: 0.1 },
          { ticket: 't2', volume: 0.05 },
        ],
      },
    ];
    expect(
      heldLegs(links, [
        { id: 't1', volume: 0.2 },
        { id: 't2', volume: 0.05 },
      ]).get('c'),
    ).toEqual([
      { ticket: 't1', volume: 0.1 },
      { ticket: 't2', volume: 0.05 },
    ]);
    // t1 lost 0.1 (the closing copy's close): it is c's share that is gone.
    const held = heldLegs(links, [{ id: 't1', volume: 0.1 }]);
    expect(held.get('a')).toEqual([{ ticket: 't1', volume: 0.1 }]);
    expect(held.get('c')).toEqual([]);
  });

  it('puts the closing copy on the oldest trades and gives its own to the others (volumes kept)', () => {
    const held = new Map([
      ['a', [{ ticket: 't1', volume: 0.2 }]],
      ['b', [{ ticket: 't2', volume: 0.1 }]],
      ['c', [{ ticket: 't3', volume: 0.15 }]],
    ]);
    const fronted = frontLegs('c', held, ['t1', 't2', 't3']);
    expect(fronted.get('c')).toEqual([{ ticket: 't1', volume: 0.15 }]);
    expect(fronted.get('a')).toEqual([
      { ticket: 't1', volume: 0.05 },
      { ticket: 't3', volume: 0.15 },
    ]);
    expect(fronted.get('b')).toEqual([{ ticket: 't2', volume: 0.1 }]);
  });

  it('sheds oldest first: a whole trade closed whole, a share of one closed in part', () => {
    const trades = [
      { id: 't1', volume: 0.2 },
      { id: 't2', volume: 0.1 },
    ];
    const legs = [
      { ticket: 't1', volume: 0.15 },
      { ticket: 't2', volume: 0.1 },
    ];
    expect(shedOldestFirst(legs, trades, 0.15, 0.01)).toEqual([{ ticket: 't1', volume: 0.15, full: false }]);
    expect(shedOldestFirst(legs, trades, 0.2, 0.01)).toEqual([
      { ticket: 't1', volume: 0.15, full: false },
      { ticket: 't2', volume: 0.05, full: false },
    ]);
    expect(shedOldestFirst([{ ticket: 't2', volume: 0.1 }], trades, 0.1, 0.01)).toEqual([{ ticket: 't2', volume: 0.1, full: true }]);
    // A trade of the copy's own that would keep less than the minimum is closed whole.
    expect(shedOldestFirst([{ ticket: 't2', volume: 0.1 }], trades, 0.09, 0.05)).toEqual([{ ticket: 't2', volume: 0.1, full: true }]);
    // A close under the minimum on a trade of its own takes the minimum: never a deal the broker refuses after the first went through.
    expect(
      shedOldestFirst(
        [
          { ticket: 'a', volume: 0.12 },
          { ticket: 'b', volume: 0.5 },
        ],
        [
          { id: 'a', volume: 0.12 },
          { id: 'b', volume: 0.5 },
        ],
        0.15,
        0.1,
      ),
    ).toEqual([
      { ticket: 'a', volume: 0.12, full: true },
      { ticket: 'b', volume: 0.1, full: false },
    ]);
    expect(legsAfter(legs, [{ ticket: 't1', volume: 0.15, full: false }])).toEqual([{ ticket: 't2', volume: 0.1 }]);
    expect(legsAfter(legs, [{ ticket: 't2', volume: 0.04, full: false }])).toEqual([
      { ticket: 't1', volume: 0.15 },
      { ticket: 't2', volume: 0.06 },
    ]);
  });

  it('properties: fronting keeps every copy its volume and every trade its total; the closer holds the oldest', () => {
    const volume = fc.integer({ min: 1, max: 50 }).map((cents) => cents / 100);
    fc.assert(
      fc.property(fc.array(volume, { minLength: 1, maxLength: 6 }), fc.nat(), (volumes, pick) => {
        // Each copy holds one trade of its own, oldest first.
        const tradeOrder = volumes.map((_, index) => `t${index}`);
        const held = new Map(volumes.map((v, index) => [`k${index}`, [{ ticket: `t${index}`, volume: v }]]));
        const closer = `k${pick % volumes.length}`;
        const fronted = frontLegs(closer, held, tradeOrder);
        for (const [key, legs] of held) expect(legsVolume(fronted.get(key) ?? [])).toBe(legsVolume(legs));
        for (const ticket of tradeOrder) {
          const onTrade = [...fronted.values()].flat().filter((leg) => leg.ticket === ticket);
          expect(sumLots(onTrade.map((leg) => leg.volume))).toBe(volumes[Number(ticket.slice(1))]);
        }
        // What the closer holds is the oldest volume: no trade older than its last is held by another whole.
        const mine = fronted.get(closer) ?? [];
        const last = tradeOrder.indexOf(mine[mine.length - 1]?.ticket ?? '');
        for (const ticket of tradeOrder.slice(0, last)) expect(mine.some((leg) => leg.ticket === ticket)).toBe(true);
        // Fronting again changes nothing.
        expect(sameLegs(frontLegs(closer, fronted, tradeOrder).get(closer) ?? [], mine)).toBe(true);
      }),
    );
  });
});

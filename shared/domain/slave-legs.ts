import { compareLots, subtractLots, sumLots } from './volume';

/**
 * One slave trade, or the share of one, that a copy holds. A copy is one leg on most accounts;
 * it has several where an add-on is kept as a trade of its own (hedging MT4 and MT5, OANDA),
 * and on a FIFO account (US rules) two copies may share one trade after closing in FIFO order.
 */
export interface SlaveLeg {
  ticket: string;
  volume: number;
}

/** A slave trade as the broker shows it now. */
export interface SlaveTrade {
  id: string;
  volume: number;
}

/** The legs a link records, under the key that names it. */
export interface LinkLegs {
  key: string;
  legs: readonly SlaveLeg[];
}

/** A close that takes `volume` off one trade: all of it when `full`. */
export interface LegClose {
  ticket: string;
  volume: number;
  full: boolean;
}

const total = (legs: readonly SlaveLeg[]): number => sumLots(legs.map((leg) => leg.volume));

/**
 * What each link's legs still hold at the broker, in the trades' order (oldest first). A trade
 * two links share gives its volume to its shares in the links' order, so a trade that shrank
 * takes it from the last share first: the copy being closed goes last, and what is gone from a
 * trade it shares counts as its own close (a retry after a crash does not close it twice).
 * A trade the broker no longer has holds nothing.
 */
export const heldLegs = (links: readonly LinkLegs[], trades: readonly SlaveTrade[]): Map<string, SlaveLeg[]> => {
  const left = new Map(trades.map((trade) => [trade.id, trade.volume]));
  const held = new Map<string, SlaveLeg[]>(links.map((link) => [link.key, []]));
  for (const link of links) {
    for (const leg of link.legs) {
      const available = left.get(leg.ticket) ?? 0;
      const taken = compareLots(leg.volume, available) <= 0 ? leg.volume : available;
      if (compareLots(taken, 0) <= 0) continue;
      left.set(leg.ticket, subtractLots(available, taken));
      held.get(link.key)?.push({ ticket: leg.ticket, volume: taken });
    }
  }
  const order = new Map(trades.map((trade, index) => [trade.id, index]));
  for (const legs of held.values()) legs.sort((a, b) => (order.get(a.ticket) ?? 0) - (order.get(b.ticket) ?? 0));
  return held;
};

/**
 * On a FIFO account, a copy that closes must close the symbol's oldest trades. The legs after
 * the closing copy (`closer`) takes the oldest of what the copies hold, as much as it holds,
 * and the others take what it gave up, each keeping its own trades first and then filling from
 * the oldest. Every copy holds what it held, on other trades: volumes move, none is made or lost.
 * `tradeOrder` lists the trades oldest first; `held` comes from `heldLegs`.
 */
export const frontLegs = (closer: string, held: ReadonlyMap<string, readonly SlaveLeg[]>, tradeOrder: readonly string[]): Map<string, SlaveLeg[]> => {
  const pool = new Map<string, number>();
  for (const legs of held.values()) for (const leg of legs) pool.set(leg.ticket, sumLots([pool.get(leg.ticket) ?? 0, leg.volume]));
  const take = (ticket: string, wanted: number): number => {
    const available = pool.get(ticket) ?? 0;
    const taken = compareLots(wanted, available) <= 0 ? wanted : available;
    pool.set(ticket, subtractLots(available, taken));
    return taken;
  };
  const fill = (legs: SlaveLeg[], need: number): number => {
    for (const ticket of tradeOrder) {
      if (compareLots(need, 0) <= 0) break;
      const taken = take(ticket, need);
      if (compareLots(taken, 0) <= 0) continue;
      add(legs, ticket, taken);
      need = subtractLots(need, taken);
    }
    return need;
  };
  const result = new Map<string, SlaveLeg[]>();
  const mine: SlaveLeg[] = [];
  fill(mine, total(held.get(closer) ?? []));
  result.set(closer, mine);
  // Every other copy first keeps what it can of its own trades, then the shortfalls are filled from the oldest.
  const shortfalls = new Map<string, number>();
  for (const [key, legs] of held) {
    if (key === closer) continue;
    const next: SlaveLeg[] = [];
    let need = total(legs);
    for (const leg of legs) {
      const kept = take(leg.ticket, compareLots(leg.volume, need) <= 0 ? leg.volume : need);
      if (compareLots(kept, 0) > 0) add(next, leg.ticket, kept);
      need = subtractLots(need, kept);
    }
    result.set(key, next);
    shortfalls.set(key, need);
  }
  for (const [key, need] of shortfalls) {
    const next = result.get(key) ?? [];
    fill(next, need);
    result.set(key, inOrder(next, tradeOrder));
  }
  return result;
};

const add = (legs: SlaveLeg[], ticket: string, volume: number): void => {
  const existing = legs.find((leg) => leg.ticket === ticket);
  if (existing) existing.volume = sumLots([existing.volume, volume]);
  else legs.push({ ticket, volume });
};

const inOrder = (legs: SlaveLeg[], tradeOrder: readonly string[]): SlaveLeg[] =>
  [...legs].sort((a, b) => tradeOrder.indexOf(a.ticket) - tradeOrder.indexOf(b.ticket));

/** Whether two lists of legs hold the same volumes on the same trades. */
export const sameLegs = (a: readonly SlaveLeg[], b: readonly SlaveLeg[]): boolean => {
  const volumes = (legs: readonly SlaveLeg[]) => {
    const map = new Map<string, number>();
    for (const leg of legs) map.set(leg.ticket, sumLots([map.get(leg.ticket) ?? 0, leg.volume]));
    return map;
  };
  const [x, y] = [volumes(a), volumes(b)];
  return x.size === y.size && [...x].every(([ticket, volume]) => y.has(ticket) && compareLots(volume, y.get(ticket) ?? 0) === 0);
};

/**
 * The closes that take `volume` off `legs`, oldest first: a trade the leg is all of is closed
 * whole, otherwise the leg's share of it. On a trade of the copy's own, a close under the
 * broker's minimum takes the minimum, and a rest under it goes too (less exposure, never more);
 * what a close takes beyond its share counts against what is still to take. `trades` gives
 * each trade's volume at the broker now.
 */
export const shedOldestFirst = (legs: readonly SlaveLeg[], trades: readonly SlaveTrade[], volume: number, volumeMin: number): LegClose[] => {
  const closes: LegClose[] = [];
  let rest = volume;
  for (const leg of legs) {
    if (compareLots(rest, 0) <= 0) break;
    const trade = trades.find((candidate) => candidate.id === leg.ticket);
    if (!trade) continue;
    const whole = compareLots(leg.volume, trade.volume) >= 0;
    let share = compareLots(leg.volume, rest) <= 0 ? leg.volume : rest;
    // A deal under the broker's minimum is refused: a trade of the copy's own gives the minimum (less exposure, never more).
    if (whole && compareLots(share, volumeMin) < 0) share = compareLots(volumeMin, trade.volume) <= 0 ? volumeMin : trade.volume;
    const left = subtractLots(trade.volume, share);
    const full = compareLots(left, 0) <= 0 || (whole && compareLots(left, volumeMin) < 0);
    closes.push({ ticket: trade.id, volume: full ? trade.volume : share, full });
    rest = subtractLots(rest, full ? trade.volume : share);
  }
  return closes;
};

/** The legs left after `closes` took what they took from them (a leg closed whole is gone). */
export const legsAfter = (legs: readonly SlaveLeg[], closes: readonly LegClose[]): SlaveLeg[] =>
  legs.flatMap((leg) => {
    const close = closes.find((candidate) => candidate.ticket === leg.ticket);
    if (!close) return [leg];
    if (close.full) return [];
    const left = subtractLots(leg.volume, close.volume);
    return compareLots(left, 0) > 0 ? [{ ticket: leg.ticket, volume: left }] : [];
  });

/** The volume of a list of legs, exact. */
export const legsVolume = total;

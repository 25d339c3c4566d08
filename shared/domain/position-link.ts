import type { CopyMapping } from './copy-mapping';
import { type EventOf, type MasterEvent, masterVolumeOf, type OpenEvent, subjectOf } from './master-events';
import type { SlaveLeg } from './slave-legs';
import type { StopLevels } from './trading';
import { compareLots, subtractLots } from './volume';

/**
 * The copy of one master position (or pending order) on one mapping's slave. Closes,
 * partial closes and modifications of the master find their slave counterpart through it.
 */
export interface PositionLink {
  tenantId: string;
  mappingId: string;
  masterAccountId: string;
  slaveAccountId: string;
  /** The master ticket: a position id, or a pending order id while `kind` is `order`. */
  masterTicket: string;
  kind: 'position' | 'order';
  /** The slave trade the copy holds: its first (oldest) leg when it holds several. */
  slaveTicket: string;
  /**
   * The slave trades the copy holds, oldest first, when more than one: add-ons kept as trades of
   * their own (hedging accounts, OANDA), shares of trades after FIFO closes. Absent, the copy is
   * `slaveTicket` for `slaveVolume`.
   */
  legs?: SlaveLeg[];
  /** The master's symbol (before renaming), for records made from the link alone. */
  masterSymbol?: string;
  slaveSymbol: string;
  side: 'buy' | 'sell';
  masterVolume: number;
  /** What the copy should hold on the slave, over all its legs. */
  slaveVolume: number;
  openedAt: string;
  /**
   * The stop levels the copy asked for on its trades, as last set (null: none; absent: the
   * slave's own). On a FIFO account a trade that passes to this copy is given them.
   */
  stops?: StopLevels;
  /** Revision of the master position last applied to the slave. */
  appliedRev: number;
  /** Set when the slave position is closed; the link is then history. */
  closedAt?: string;
  /**
   * The slave's broker refused this copy's close (or cancel) for good: how many times, when last
   * and why. The master's trade is gone and the slave's is not, so the reconcile sends the close
   * again, later each time (`closeRetryDueAt`), until it goes through: a refusal that clears
   * (a FIFO account's older trade of the trader's own closed, trading enabled again, a login
   * mended) never leaves a copy open for good.
   */
  closeRefused?: RefusedClose;
}

export interface RefusedClose {
  count: number;
  at: string;
  reason: string;
}

/** The first retry of a refused close waits this long; each next one twice as long as the one before, up to `CLOSE_RETRY_MAX_MS`. */
export const CLOSE_RETRY_FIRST_MS = 60_000;
export const CLOSE_RETRY_MAX_MS = 60 * 60_000;

/** When the reconcile may send a refused close again: a minute after the first refusal, then 2, 4, ... up to an hour apart. */
export const closeRetryDueAt = (refused: RefusedClose): number =>
  Date.parse(refused.at) + Math.min(CLOSE_RETRY_FIRST_MS * 2 ** Math.min(Math.max(refused.count - 1, 0), 16), CLOSE_RETRY_MAX_MS);

/** One more refusal of the copy's close. */
export const refusedOnceMore = (previous: RefusedClose | undefined, at: string, reason: string): RefusedClose => ({
  count: (previous?.count ?? 0) + 1,
  at,
  reason,
});

/** The slave trades the copy holds, oldest first. */
export const legsOf = (link: Pick<PositionLink, 'slaveTicket' | 'slaveVolume' | 'legs'>): SlaveLeg[] =>
  link.legs ? link.legs.map((leg) => ({ ...leg })) : [{ ticket: link.slaveTicket, volume: link.slaveVolume }];

/**
 * The link holding `legs` (oldest first): its ticket is the first leg's, and the list is kept
 * only when there are several. No legs left keeps the last ticket (the link is then closed).
 */
export const withLegs = (link: PositionLink, legs: readonly SlaveLeg[]): PositionLink => {
  const { legs: _previous, ...rest } = link;
  const first = legs[0];
  return { ...rest, slaveTicket: first?.ticket ?? link.slaveTicket, ...(legs.length > 1 ? { legs: legs.map((leg) => ({ ...leg })) } : {}) };
};

/** What a copied open left on the slave: a position, or a pending order. */
export interface OpenedOnSlave {
  ticket: string;
  kind: 'position' | 'order';
  symbol: string;
  side: 'buy' | 'sell';
  volume: number;
  stops?: StopLevels;
}

/** Whether the link still stands for something open on the slave. */
export const isOpenLink = (link: PositionLink | undefined): link is PositionLink => link !== undefined && link.closedAt === undefined;

/** The link a copied open creates between the master's ticket and what the slave got. */
export const openedLink = (
  event: OpenEvent,
  mapping: Pick<CopyMapping, 'tenantId' | 'id' | 'masterAccountId' | 'slaveAccountId'>,
  opened: OpenedOnSlave,
  now: Date,
): PositionLink => {
  const source = subjectOf(event);
  return {
    tenantId: mapping.tenantId,
    mappingId: mapping.id,
    masterAccountId: mapping.masterAccountId,
    slaveAccountId: mapping.slaveAccountId,
    masterTicket: source.id,
    kind: opened.kind,
    slaveTicket: opened.ticket,
    masterSymbol: source.symbol,
    slaveSymbol: opened.symbol,
    side: opened.side,
    masterVolume: masterVolumeOf(event),
    slaveVolume: opened.volume,
    openedAt: now.toISOString(),
    appliedRev: source.rev,
    ...(opened.stops ? { stops: opened.stops } : {}),
  };
};

/** The link once its slave position is closed or its order cancelled (by us, or already gone). */
export const closedLink = (link: PositionLink, event: MasterEvent, now: Date): PositionLink => ({
  ...link,
  appliedRev: subjectOf(event).rev,
  closedAt: now.toISOString(),
});

/**
 * The link after the slave closed `slaveClosed` lots of it for a master partial close: it
 * keeps the rest (exact lots), follows the master's remaining volume, and is closed when
 * nothing is left.
 */
export const partiallyClosedLink = (link: PositionLink, event: EventOf<'positionPartiallyClosed'>, slaveClosed: number, now: Date): PositionLink => {
  const rest = subtractLots(link.slaveVolume, slaveClosed);
  const slaveVolume = compareLots(rest, 0) > 0 ? rest : 0;
  return {
    ...link,
    appliedRev: event.position.rev,
    masterVolume: event.position.volume,
    slaveVolume,
    ...(slaveVolume === 0 ? { closedAt: now.toISOString() } : {}),
  };
};

/** The link after the master's SL/TP or pending price change was applied (revisions never go back). */
export const modifiedLink = (link: PositionLink, event: MasterEvent): PositionLink => ({
  ...link,
  appliedRev: Math.max(subjectOf(event).rev, link.appliedRev),
});

/** The link of a copied pending order once it filled: it follows the slave position the order became. */
export const filledLink = (link: PositionLink, event: EventOf<'orderFilled'>, slavePositionId: string): PositionLink => ({
  ...link,
  masterTicket: event.position.id,
  kind: 'position',
  slaveTicket: slavePositionId,
  appliedRev: 0,
});

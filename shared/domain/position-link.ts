import type { CopyMapping } from './copy-mapping';
import { type EventOf, type MasterEvent, masterVolumeOf, type OpenEvent, subjectOf } from './master-events';
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
  slaveTicket: string;
  /** The master's symbol (before renaming), for records made from the link alone. */
  masterSymbol?: string;
  slaveSymbol: string;
  side: 'buy' | 'sell';
  masterVolume: number;
  slaveVolume: number;
  openedAt: string;
  /** Revision of the master position last applied to the slave. */
  appliedRev: number;
  /** Set when the slave position is closed; the link is then history. */
  closedAt?: string;
}

/** What a copied open left on the slave: a position, or a pending order. */
export interface OpenedOnSlave {
  ticket: string;
  kind: 'position' | 'order';
  symbol: string;
  side: 'buy' | 'sell';
  volume: number;
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

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

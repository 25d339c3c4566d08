import { createHash } from 'node:crypto';

/** The actions of the API contract; a pending order's change is a `modify` too. */
/** `addOn`: a netting master position grew, and the slave's copy grows with it. */
export const copyActions = ['open', 'modify', 'partialClose', 'addOn', 'close', 'placeOrder', 'cancelOrder'] as const;
export type CopyAction = (typeof copyActions)[number];
export type CopyStatus = 'pending' | 'placed' | 'skipped' | 'failed';

/** What every copy record carries, whatever became of it. */
interface CopyRecordFields {
  id: string;
  tenantId: string;
  mappingId: string;
  eventId: string;
  masterAccountId: string;
  slaveAccountId: string;
  action: CopyAction;
  symbol: string;
  slaveSymbol?: string;
  side?: 'buy' | 'sell';
  masterPositionId?: string;
  masterOrderId?: string;
  masterVolume?: number;
  /** The master's price: its fill of an open, the price of a pending order. */
  masterPrice?: number;
  clientId: string;
  /**
   * The client id the master's position or order carried when it was itself a copy made by
   * this system: the link to the copy before it, so a trade's origin path can be walked back.
   */
  masterClientId?: string;
  attempts: number;
  detectedAt: string;
  enqueuedAt?: string;
  startedAt?: string;
  /** When the order was handed to the broker; `completedAt - sentAt` is the broker's time. */
  sentAt?: string;
}

interface Completed {
  completedAt: string;
  /** detectedAt -> completedAt. */
  latencyMs: number;
}

/** Claimed, not finished: the broker may or may not have the order yet. */
export type PendingCopyRecord = CopyRecordFields & { status: 'pending' };
/** The broker did what the master did (or it was found done there). */
export type PlacedCopyRecord = CopyRecordFields &
  Completed & {
    status: 'placed';
    slavePositionId?: string;
    slaveOrderId?: string;
    slaveVolume?: number;
  } & SlaveFill;

/** What the slave's broker did, where it says: the fill (or pending) price and the stop levels set. */
export interface SlaveFill {
  /** The slave's fill price (an open or a close at market), or its pending order's price. */
  slavePrice?: number;
  /** How much worse than `masterPrice` the slave's open was filled, in pips (negative: better). */
  slippagePips?: number;
  /** The slave's stop loss after the copy (an open, a modify). */
  stopLoss?: number;
  takeProfit?: number;
}
/** Nothing was sent, for a reason code (`SkipReason`). */
export type SkippedCopyRecord = CopyRecordFields & Completed & { status: 'skipped'; reason: string; reasonDetail?: string };
/** The broker refused for good (`BROKER_<code>`). */
export type FailedCopyRecord = CopyRecordFields & Completed & { status: 'failed'; reason: string; reasonDetail?: string };
export type FinalCopyRecord = PlacedCopyRecord | SkippedCopyRecord | FailedCopyRecord;

/**
 * What happened to one master event on one mapping. Its key is derived from
 * (mapping, event), so however often the event is delivered there is one record, and the
 * record's `status` moving away from `pending` happens once.
 */
export type CopyRecord = PendingCopyRecord | FinalCopyRecord;

/** Why a record was skipped or failed; nothing for a pending or placed one. */
export const reasonOf = (record: CopyRecord): string | undefined => (record.status === 'skipped' || record.status === 'failed' ? record.reason : undefined);

type Hidden = 'tenantId' | 'clientId' | 'attempts' | 'eventId' | 'masterClientId';
export type PublicCopyRecord = CopyRecord extends infer R ? (R extends CopyRecord ? Omit<R, Hidden> : never) : never;

export const toPublicCopyRecord = ({ tenantId: _t, clientId: _c, attempts: _a, eventId: _e, masterClientId: _m, ...visible }: CopyRecord): PublicCopyRecord =>
  visible;

const digest = (...parts: string[]): string => createHash('sha256').update(parts.join('|')).digest('hex');

/** The record id of (mapping, event): stable across redeliveries. */
export const copyRecordId = (mappingId: string, eventId: string): string => digest('copy', mappingId, eventId).slice(0, 24);

/**
 * The client id of the broker side effect of (mapping, event). MetaApi allows 26
 * characters for client id and comment together; this takes 22 and sends no comment.
 * 80 bits of hash keep collisions out of reach for any realistic number of copies.
 */
export const copyClientId = (mappingId: string, eventId: string): string => `mc${digest('client', mappingId, eventId).slice(0, 20)}`;

const COPY_CLIENT_ID = /^mc[0-9a-f]{20}$/;

/** Whether a client id is one this system gives its copies (so the trade carrying it is a copy). */
export const isCopyClientId = (clientId: string | undefined): clientId is string => clientId !== undefined && COPY_CLIENT_ID.test(clientId);

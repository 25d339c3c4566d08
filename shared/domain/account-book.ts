import type { PendingOrder, Position } from './trading';

/** A position as the system tracks it: `rev` counts the changes it has seen since it opened. */
export interface TrackedPosition extends Position {
  rev: number;
  detectedAt: string;
  /** Already there when the account was first synced: never copied as new. */
  baseline?: boolean;
}

export interface TrackedOrder extends PendingOrder {
  rev: number;
  detectedAt: string;
  baseline?: boolean;
}

/**
 * The stored snapshot of an account at the broker. `version` increases by one on every
 * write and is the condition of the next write, so two syncs racing on one account cannot
 * both commit what they diffed.
 */
export interface AccountBook {
  tenantId: string;
  accountId: string;
  version: number;
  positions: TrackedPosition[];
  orders: TrackedOrder[];
  balance?: number;
  equity?: number;
  currency?: string;
  syncedAt: string;
}

/**
 * Risk rules of a slave account, and their state. A breach stops new opens on the slave
 * (closes are still mirrored, so the slave never keeps exposure its master gave up) until
 * a user resets it.
 */
export interface TradingHours {
  /** "HH:MM", inclusive, in `timeZone`. A window with from > to spans midnight. */
  from: string;
  /** "HH:MM", exclusive. */
  to: string;
  /** IANA time zone, e.g. "Europe/London". */
  timeZone: string;
}

import type { LossLimit, LossLimitsState, Preset } from './loss-limits';

export interface ProtectionRules {
  maxDailyLossPercent?: number;
  maxDrawdownPercent?: number;
  maxOpenPositions?: number;
  maxVolumePerTrade?: number;
  maxTotalVolume?: number;
  allowedSymbols?: string[];
  tradingHours?: TradingHours;
  /** Loss limits by period (see `shared/domain/loss-limits.ts`); a preset fills them from a prop firm's rules. */
  lossLimits?: LossLimit[];
  preset?: Preset;
  /** The capital the limits stated in it are measured from; the balance at the first mark after the rules were set without it. */
  initialCapital?: number;
  /**
   * What a breach does besides refusing new opens (closes are always mirrored): `closeAll`
   * also closes every copied position; `stopCopying` and `closeOnly` leave them open.
   */
  onBreach: 'stopCopying' | 'closeOnly' | 'closeAll';
}

export interface ProtectionStatus {
  state: 'ok' | 'breached';
  breachedAt?: string;
  reason?: string;
  /** Equity at the start of the current day in the rules' time zone (daily loss basis). */
  dayStart?: { date: string; equity: number };
  /** Highest equity seen since the rules were set or reset (drawdown basis). */
  peakEquity?: number;
  /** Each loss limit's period and reference. */
  lossLimits?: LossLimitsState;
  /** The initial capital the loss limits use, when the rules did not give one: the first balance marked. */
  initialCapital?: number;
}

export interface AccountProtection {
  tenantId: string;
  accountId: string;
  rules: ProtectionRules;
  status: ProtectionStatus;
  updatedAt: string;
}

export const defaultProtectionStatus: ProtectionStatus = { state: 'ok' };

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

export interface ProtectionRules {
  maxDailyLossPercent?: number;
  maxDrawdownPercent?: number;
  maxOpenPositions?: number;
  maxVolumePerTrade?: number;
  maxTotalVolume?: number;
  allowedSymbols?: string[];
  tradingHours?: TradingHours;
  onBreach: 'stopCopying' | 'closeAll';
}

export interface ProtectionStatus {
  state: 'ok' | 'breached';
  breachedAt?: string;
  reason?: string;
  /** Equity at the start of the current day in the rules' time zone (daily loss basis). */
  dayStart?: { date: string; equity: number };
  /** Highest equity seen since the rules were set or reset (drawdown basis). */
  peakEquity?: number;
}

export interface AccountProtection {
  tenantId: string;
  accountId: string;
  rules: ProtectionRules;
  status: ProtectionStatus;
  updatedAt: string;
}

export const defaultProtectionStatus: ProtectionStatus = { state: 'ok' };

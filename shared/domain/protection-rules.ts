import type { ProtectionRules, ProtectionStatus, TradingHours } from './protection';
import type { SkipReason } from './copy-planning';
import type { SymbolSpec } from './trading';
import { compare, min, sub } from './exact';
import { fitVolume, lotsOf } from './volume';
import { markLossLimits, type LossBreach } from './loss-limits';

/** The calendar date ("YYYY-MM-DD") of an instant in a time zone. */
export const dateIn = (at: Date, timeZone: string): string =>
  new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);

/** Minutes since midnight of an instant in a time zone. */
const minutesIn = (at: Date, timeZone: string): number => {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const value = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? 0);
  return value('hour') * 60 + value('minute');
};

const minutesOf = (hhmm: string): number => {
  const [hours, minutes] = hhmm.split(':').map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
};

/** Whether an instant falls in the window [from, to) in its time zone; from > to spans midnight. */
export const withinTradingHours = (hours: TradingHours, at: Date): boolean => {
  const now = minutesIn(at, hours.timeZone);
  const from = minutesOf(hours.from);
  const to = minutesOf(hours.to);
  if (from === to) return true;
  return from < to ? now >= from && now < to : now >= from || now < to;
};

export type BreachReason = 'MAX_DAILY_LOSS' | 'MAX_DRAWDOWN' | 'LOSS_LIMIT';

/**
 * Marks equity against the loss rules: rolls the day's starting equity over at midnight in
 * the rules' time zone (the first mark of a day is its start), raises the peak, and reports
 * a breach when the loss since the day's start or the drawdown from the peak reaches its
 * limit. A breached status stays breached until reset.
 */
export const markEquity = (
  rules: ProtectionRules,
  status: ProtectionStatus,
  equity: number,
  at: Date,
  balance?: number,
): { status: ProtectionStatus; breach?: BreachReason } => {
  const timeZone = rules.tradingHours?.timeZone ?? 'UTC';
  const today = dateIn(at, timeZone);
  const dayStart = status.dayStart && status.dayStart.date === today ? status.dayStart : { date: today, equity };
  const peakEquity = Math.max(status.peakEquity ?? equity, equity);
  let next: ProtectionStatus = { ...status, dayStart, peakEquity };
  // Loss limits by period need the balance too (their references are balances or equities).
  let limitBreach: LossBreach | undefined;
  if (rules.lossLimits && rules.lossLimits.length > 0 && balance !== undefined) {
    const initialCapital = rules.initialCapital ?? status.initialCapital ?? balance;
    const marked = markLossLimits(rules.lossLimits, status.lossLimits, { balance, equity, at }, initialCapital);
    next = { ...next, lossLimits: marked.state, ...(rules.initialCapital === undefined ? { initialCapital } : {}) };
    limitBreach = marked.breach;
  }
  if (status.state === 'breached') return { status: next };
  if (limitBreach) {
    const { limit, floor } = limitBreach;
    return {
      status: {
        ...next,
        state: 'breached',
        breachedAt: at.toISOString(),
        reason: `LOSS_LIMIT_${limit.period.toUpperCase()}: equity ${equity} at or below ${floor}`,
      },
      breach: 'LOSS_LIMIT',
    };
  }
  const dailyLoss = dayStart.equity > 0 ? ((dayStart.equity - equity) / dayStart.equity) * 100 : 0;
  const drawdown = peakEquity > 0 ? ((peakEquity - equity) / peakEquity) * 100 : 0;
  let breach: BreachReason | undefined;
  if (rules.maxDailyLossPercent !== undefined && dailyLoss >= rules.maxDailyLossPercent - 1e-9) breach = 'MAX_DAILY_LOSS';
  else if (rules.maxDrawdownPercent !== undefined && drawdown >= rules.maxDrawdownPercent - 1e-9) breach = 'MAX_DRAWDOWN';
  if (!breach) return { status: next };
  return {
    status: {
      ...next,
      state: 'breached',
      breachedAt: at.toISOString(),
      reason: `${breach}: ${(breach === 'MAX_DAILY_LOSS' ? dailyLoss : drawdown).toFixed(2)}%`,
    },
    breach,
  };
};

export const needsEquity = (rules: ProtectionRules): boolean =>
  rules.maxDailyLossPercent !== undefined || rules.maxDrawdownPercent !== undefined || (rules.lossLimits?.length ?? 0) > 0;

export const needsExposure = (rules: ProtectionRules): boolean => rules.maxOpenPositions !== undefined || rules.maxTotalVolume !== undefined;

export interface OpenRequest {
  symbol: string;
  volume: number;
  at: Date;
  spec: Pick<SymbolSpec, 'volumeMin' | 'volumeStep' | 'volumeMax'>;
  /** The slave's open positions and their volume, as the broker shows them now. */
  openPositions?: number;
  openVolume?: number;
}

/**
 * The protection verdict on a new open: refused with a reason, or allowed with a volume
 * clamped to the per-trade and total caps (rounded down to the step again). Closes are never
 * subject to this: protection may stop new risk, never keep risk the master gave up.
 */
export const checkOpen = (
  rules: ProtectionRules,
  status: ProtectionStatus,
  request: OpenRequest,
): { kind: 'allowed'; volume: number } | { kind: 'skip'; reason: SkipReason; detail?: string } => {
  if (status.state === 'breached') return { kind: 'skip', reason: 'PROTECTION_BREACHED', detail: status.reason };
  if (rules.allowedSymbols && rules.allowedSymbols.length > 0 && !rules.allowedSymbols.includes(request.symbol)) {
    return { kind: 'skip', reason: 'SYMBOL_NOT_ALLOWED', detail: `${request.symbol} is not among the allowed symbols` };
  }
  if (rules.tradingHours && !withinTradingHours(rules.tradingHours, request.at)) {
    const { from, to, timeZone } = rules.tradingHours;
    return { kind: 'skip', reason: 'OUTSIDE_TRADING_HOURS', detail: `trading hours are ${from}-${to} ${timeZone}` };
  }
  if (rules.maxOpenPositions !== undefined && (request.openPositions ?? 0) >= rules.maxOpenPositions) {
    return { kind: 'skip', reason: 'MAX_OPEN_POSITIONS', detail: `${request.openPositions} open, at most ${rules.maxOpenPositions}` };
  }
  // The caps in exact lots: 0.3 allowed with 0.1 + 0.1 open leaves 0.1, not 0.09999999999999998.
  const perTrade = rules.maxVolumePerTrade === undefined ? undefined : lotsOf(rules.maxVolumePerTrade);
  const leftInTotal = rules.maxTotalVolume === undefined ? undefined : sub(lotsOf(rules.maxTotalVolume), lotsOf(request.openVolume ?? 0));
  const cap = perTrade && leftInTotal ? min(perTrade, leftInTotal) : (perTrade ?? leftInTotal);
  if (!cap || compare(lotsOf(request.volume), cap) <= 0) return { kind: 'allowed', volume: request.volume };
  const fitted = fitVolume(cap, request.spec);
  if (!fitted.ok) {
    const reason: SkipReason = leftInTotal && (!perTrade || compare(leftInTotal, perTrade) < 0) ? 'MAX_TOTAL_VOLUME' : 'MAX_VOLUME_PER_TRADE';
    return { kind: 'skip', reason, detail: `no volume of at least ${request.spec.volumeMin} fits under the cap` };
  }
  return { kind: 'allowed', volume: fitted.volume };
};

import { compare, div, mul, sub, toNumber } from './exact';

/**
 * A loss limit of a slave over a period: the equity may not fall to `reference - allowed`,
 * where `reference` is the basis (balance, equity, or the higher of the two) at the period's
 * first mark, and `allowed` is an `amount`, or `percent` of the reference (or of the initial
 * capital, `percentOf: "initial"`, as prop firms state theirs). Periods start at `dayStartsAt`
 * in `timeZone` (00:00 UTC by default): a day, a week from Monday, a calendar month; `total`
 * never restarts: its reference is the initial capital, or the best balance at a day's start
 * so far when `trailing`.
 */
export interface LossLimit {
  period: 'day' | 'week' | 'month' | 'total';
  basis: 'balance' | 'equity' | 'higher';
  percent?: number;
  amount?: number;
  dayStartsAt?: string;
  timeZone?: string;
  percentOf?: 'start' | 'initial';
  trailing?: boolean;
}

/** What a limit remembers between marks: the period it is in and that period's reference. */
export interface LossLimitState {
  period: string;
  reference: number;
}

export interface LossLimitsState {
  /** One entry per limit, by its index in the rules. */
  limits: (LossLimitState | undefined)[];
  /** The best balance seen at the start of a day (trailing total limits). */
  bestDayStartBalance?: number;
}

export type Preset = 'ftmo-2step' | 'ftmo-1step' | 'the5ers';

/**
 * Prop firms' rules as they publish them, as loss limits:
 * - FTMO 2-step: the day's equity may not fall below the balance at midnight (Prague) minus 5 %
 *   of the initial capital; overall, not below the initial capital minus 10 %.
 * - FTMO 1-step: 3 % of the initial capital a day (from midnight Prague); overall 10 %, trailing
 *   the best end-of-day balance.
 * - The5ers: a day's loss of 5 % from the higher of balance and equity at 5 PM New York; 10 %
 *   of the initial capital overall.
 */
export const presetLossLimits = (preset: Preset): LossLimit[] => {
  switch (preset) {
    case 'ftmo-2step':
      return [
        { period: 'day', basis: 'balance', percent: 5, percentOf: 'initial', dayStartsAt: '00:00', timeZone: 'Europe/Prague' },
        { period: 'total', basis: 'balance', percent: 10, percentOf: 'initial' },
      ];
    case 'ftmo-1step':
      return [
        { period: 'day', basis: 'balance', percent: 3, percentOf: 'initial', dayStartsAt: '00:00', timeZone: 'Europe/Prague' },
        { period: 'total', basis: 'balance', percent: 10, percentOf: 'initial', trailing: true, dayStartsAt: '00:00', timeZone: 'Europe/Prague' },
      ];
    case 'the5ers':
      return [
        { period: 'day', basis: 'higher', percent: 5, dayStartsAt: '17:00', timeZone: 'America/New_York' },
        { period: 'total', basis: 'balance', percent: 10, percentOf: 'initial' },
      ];
  }
};

/** Wall-clock parts of an instant in a time zone. */
const partsIn = (at: Date, timeZone: string) => {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const value = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? 0);
  return { year: value('year'), month: value('month'), day: value('day'), minutes: value('hour') * 60 + value('minute') };
};

const minutesOf = (hhmm: string): number => {
  const [hours, minutes] = hhmm.split(':').map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
};

const iso = (year: number, month: number, day: number): string => {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.toISOString().slice(0, 10);
};

/**
 * The period an instant is in, as a stable key: the trading day's date (a day starts at
 * `dayStartsAt` in the time zone, so at 17:00 New York, 16:59 is still the previous day), the
 * Monday of its week, its month, or `total`. Daylight-saving changes move the instant a day
 * starts at, never the day an instant belongs to.
 */
export const periodOf = (limit: Pick<LossLimit, 'period' | 'dayStartsAt' | 'timeZone'>, at: Date): string => {
  if (limit.period === 'total') return 'total';
  const local = partsIn(at, limit.timeZone ?? 'UTC');
  const startsAt = minutesOf(limit.dayStartsAt ?? '00:00');
  // Before the day's start, the instant belongs to the previous trading day.
  const dayOffset = local.minutes < startsAt ? -1 : 0;
  const tradingDay = new Date(Date.UTC(local.year, local.month - 1, local.day + dayOffset));
  if (limit.period === 'day') return tradingDay.toISOString().slice(0, 10);
  if (limit.period === 'week') {
    const weekday = (tradingDay.getUTCDay() + 6) % 7;
    return iso(tradingDay.getUTCFullYear(), tradingDay.getUTCMonth() + 1, tradingDay.getUTCDate() - weekday);
  }
  return tradingDay.toISOString().slice(0, 7);
};

const basisOf = (basis: LossLimit['basis'], sample: { balance: number; equity: number }): number =>
  basis === 'balance' ? sample.balance : basis === 'equity' ? sample.equity : Math.max(sample.balance, sample.equity);

export interface LossBreach {
  limit: LossLimit;
  /** The equity the limit allowed down to. */
  floor: number;
  equity: number;
}

/**
 * Marks a sample of the slave's funds against its loss limits: each limit's reference is
 * taken at the first mark of its period, and the first limit whose floor the equity reached
 * is the breach. Amounts are compared exactly, so a limit breaches at its line, not a cent off.
 */
export const markLossLimits = (
  limits: readonly LossLimit[],
  state: LossLimitsState | undefined,
  sample: { balance: number; equity: number; at: Date },
  initialCapital: number,
): { state: LossLimitsState; breach?: LossBreach } => {
  const previous = state?.limits ?? [];
  const next: LossLimitsState = { limits: [], bestDayStartBalance: state?.bestDayStartBalance };
  let breach: LossBreach | undefined;
  limits.forEach((limit, index) => {
    const known = previous[index];
    let period = periodOf(limit, sample.at);
    let reference: number;
    if (limit.period === 'total' && limit.trailing) {
      // The first mark of a day raises the trail with that day's starting balance (the last
      // day's end): the floor trails the best end-of-day balance, never the intraday peaks.
      period = periodOf({ ...limit, period: 'day' }, sample.at);
      if (!known || known.period !== period) next.bestDayStartBalance = Math.max(next.bestDayStartBalance ?? initialCapital, sample.balance);
      reference = Math.max(initialCapital, next.bestDayStartBalance ?? initialCapital);
    } else if (limit.period === 'total') {
      reference = initialCapital;
    } else {
      reference = known && known.period === period ? known.reference : basisOf(limit.basis, sample);
    }
    next.limits[index] = { period, reference };
    const base = limit.percentOf === 'initial' ? initialCapital : reference;
    const allowed = limit.amount ?? div(mul(base, limit.percent ?? 0), 100);
    const floor = sub(reference, allowed);
    if (!breach && compare(sample.equity, floor) <= 0) breach = { limit, floor: toNumber(floor), equity: sample.equity };
  });
  return breach ? { state: next, breach } : { state: next };
};

import { describe, expect, it } from 'vitest';
import { markLossLimits, periodOf, presetLossLimits, type LossLimit, type LossLimitsState } from '../../shared/domain/loss-limits';

const at = (iso: string) => new Date(iso);

/** Marks a run of samples in order and gives the state and the breach of the last. */
const run = (limits: LossLimit[], samples: { at: string; balance: number; equity: number }[], initialCapital: number) => {
  let state: LossLimitsState | undefined;
  let last: ReturnType<typeof markLossLimits> | undefined;
  for (const sample of samples) {
    last = markLossLimits(limits, state, { ...sample, at: at(sample.at) }, initialCapital);
    state = last.state;
  }
  return last!;
};

describe('periods of loss limits', () => {
  it('starts a day at its hour in its time zone, across daylight-saving changes', () => {
    const prague = { period: 'day' as const, dayStartsAt: '00:00', timeZone: 'Europe/Prague' };
    // Winter: midnight in Prague is 23:00 UTC; summer (after 2026-03-29): 22:00 UTC.
    expect(periodOf(prague, at('2026-01-14T22:59:59Z'))).toBe('2026-01-14');
    expect(periodOf(prague, at('2026-01-14T23:00:00Z'))).toBe('2026-01-15');
    expect(periodOf(prague, at('2026-03-29T21:59:59Z'))).toBe('2026-03-29');
    expect(periodOf(prague, at('2026-03-29T22:00:00Z'))).toBe('2026-03-30');
    // The autumn change: 2026-10-25 has 25 hours in Prague; its end is 23:00 UTC.
    expect(periodOf(prague, at('2026-10-25T22:59:59Z'))).toBe('2026-10-25');
    expect(periodOf(prague, at('2026-10-25T23:00:00Z'))).toBe('2026-10-26');
    // 5 PM New York: 22:00 UTC in winter, 21:00 UTC in summer (from 2026-03-08).
    const newYork = { period: 'day' as const, dayStartsAt: '17:00', timeZone: 'America/New_York' };
    expect(periodOf(newYork, at('2026-03-06T21:59:00Z'))).toBe('2026-03-05');
    expect(periodOf(newYork, at('2026-03-06T22:00:00Z'))).toBe('2026-03-06');
    expect(periodOf(newYork, at('2026-03-09T20:59:00Z'))).toBe('2026-03-08');
    expect(periodOf(newYork, at('2026-03-09T21:00:00Z'))).toBe('2026-03-09');
  });

  it('starts a week on Monday and a month on its first day, at the hour of the day', () => {
    const week = { period: 'week' as const, dayStartsAt: '00:00', timeZone: 'UTC' };
    expect(periodOf(week, at('2026-12-06T23:59:59Z'))).toBe('2026-11-30');
    expect(periodOf(week, at('2026-12-07T00:00:00Z'))).toBe('2026-12-07');
    const month = { period: 'month' as const, dayStartsAt: '17:00', timeZone: 'America/New_York' };
    expect(periodOf(month, at('2026-12-01T21:59:00Z'))).toBe('2026-11');
    expect(periodOf(month, at('2026-12-01T22:00:00Z'))).toBe('2026-12');
    expect(periodOf({ period: 'total' }, at('2026-12-01T00:00:00Z'))).toBe('total');
  });
});

describe('loss limits at their lines', () => {
  it('ftmo-2step on 100,000: breaches at the previous midnight (Prague) balance minus 5,000, not a dollar above', () => {
    const limits = presetLossLimits('ftmo-2step');
    // The day starts with a balance of 102,000 (after yesterday's profit).
    const day = [
      { at: '2026-12-01T23:00:05Z', balance: 102_000, equity: 102_400 },
      { at: '2026-12-02T09:00:00Z', balance: 102_000, equity: 98_000 },
    ];
    expect(run(limits, [...day, { at: '2026-12-02T10:00:00Z', balance: 102_000, equity: 97_001 }], 100_000).breach).toBeUndefined();
    const breached = run(limits, [...day, { at: '2026-12-02T10:00:00Z', balance: 102_000, equity: 97_000 }], 100_000).breach;
    expect(breached).toMatchObject({ floor: 97_000, equity: 97_000, limit: { period: 'day' } });
    expect(run(limits, [...day, { at: '2026-12-02T10:00:00Z', balance: 102_000, equity: 96_999.99 }], 100_000).breach?.floor).toBe(97_000);
    // The next day starts from that day's midnight balance: yesterday's low does not count.
    const nextDay = run(
      limits,
      [...day, { at: '2026-12-02T23:00:01Z', balance: 99_000, equity: 99_000 }, { at: '2026-12-03T08:00:00Z', balance: 99_000, equity: 94_001 }],
      100_000,
    );
    expect(nextDay.breach).toBeUndefined();
    // The overall limit: 90,000, whatever the day.
    const total = run(limits, [{ at: '2026-12-02T08:00:00Z', balance: 94_000, equity: 90_000 }], 100_000);
    expect(total.breach).toMatchObject({ floor: 90_000, limit: { period: 'total' } });
  });

  it('ftmo-1step: 3 % of the initial capital a day, and an overall floor that trails the best end-of-day balance', () => {
    const limits = presetLossLimits('ftmo-1step');
    const days = [
      { at: '2026-12-01T08:00:00Z', balance: 100_000, equity: 100_000 },
      // The next two days start at 106,000 and 104,000: the trail is 106,000 - 10,000.
      { at: '2026-12-01T23:10:00Z', balance: 106_000, equity: 106_000 },
      { at: '2026-12-02T23:10:00Z', balance: 104_000, equity: 104_000 },
    ];
    expect(run(limits, [...days, { at: '2026-12-03T09:00:00Z', balance: 104_000, equity: 101_001 }], 100_000).breach).toBeUndefined();
    expect(run(limits, [...days, { at: '2026-12-03T09:00:00Z', balance: 104_000, equity: 101_000 }], 100_000).breach).toMatchObject({
      floor: 101_000,
      limit: { period: 'day' },
    });
    // An intraday peak does not raise the trail; the best day start does.
    const trail = run(
      limits,
      [...days, { at: '2026-12-03T09:00:00Z', balance: 104_000, equity: 120_000 }, { at: '2026-12-03T10:00:00Z', balance: 97_000, equity: 96_000 }],
      100_000,
    );
    expect(trail.breach).toMatchObject({ floor: 101_000 });
    expect(trail.state.bestDayStartBalance).toBe(106_000);
  });

  it('the5ers: 5 % of the higher of balance and equity at 5 PM New York', () => {
    const limits = presetLossLimits('the5ers');
    // The day starts at 22:00 UTC in December with equity above balance: 105,000 is the reference.
    const start = { at: '2026-12-01T22:00:30Z', balance: 100_000, equity: 105_000 };
    expect(run(limits, [start, { at: '2026-12-02T15:00:00Z', balance: 100_000, equity: 99_751 }], 100_000).breach).toBeUndefined();
    expect(run(limits, [start, { at: '2026-12-02T15:00:00Z', balance: 100_000, equity: 99_750 }], 100_000).breach).toMatchObject({ floor: 99_750 });
  });

  it('takes an amount instead of a percent, and a week from the equity at its start', () => {
    const limits: LossLimit[] = [{ period: 'week', basis: 'equity', amount: 250 }];
    const monday = { at: '2026-11-30T00:00:00Z', balance: 10_000, equity: 10_100 };
    expect(run(limits, [monday, { at: '2026-12-04T12:00:00Z', balance: 10_000, equity: 9_851 }], 10_000).breach).toBeUndefined();
    expect(run(limits, [monday, { at: '2026-12-04T12:00:00Z', balance: 10_000, equity: 9_850 }], 10_000).breach).toMatchObject({ floor: 9_850 });
    // The next Monday starts again from its own equity.
    expect(
      run(
        limits,
        [monday, { at: '2026-12-07T00:00:01Z', balance: 9_900, equity: 9_900 }, { at: '2026-12-07T09:00:00Z', balance: 9_900, equity: 9_651 }],
        10_000,
      ).breach,
    ).toBeUndefined();
  });
});

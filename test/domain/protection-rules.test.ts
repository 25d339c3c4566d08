import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProtectionRules } from '../../shared/domain/protection';
import { checkOpen, dateIn, markEquity, withinTradingHours } from '../../shared/domain/protection-rules';

const spec = { volumeMin: 0.01, volumeStep: 0.01, volumeMax: 100 };
const at = new Date('2026-03-02T10:00:00Z');
const rules = (extra: Partial<ProtectionRules> = {}): ProtectionRules => ({ onBreach: 'stopCopying', ...extra });

describe('loss rules', () => {
  it('takes the first equity mark of a day as its start and breaches at the daily loss limit', () => {
    const limit = rules({ maxDailyLossPercent: 5 });
    const first = markEquity(limit, { state: 'ok' }, 10_000, at);
    expect(first.status.dayStart).toEqual({ date: '2026-03-02', equity: 10_000 });
    expect(markEquity(limit, first.status, 9_501, at).breach).toBeUndefined();
    const breached = markEquity(limit, first.status, 9_500, at);
    expect(breached.breach).toBe('MAX_DAILY_LOSS');
    expect(breached.status).toMatchObject({ state: 'breached', breachedAt: at.toISOString() });
    expect(breached.status.reason).toMatch(/MAX_DAILY_LOSS: 5.00%/);
  });

  it('starts a new day at midnight in the rules time zone, not in UTC', () => {
    const tokyo = rules({ maxDailyLossPercent: 5, tradingHours: { from: '00:00', to: '00:00', timeZone: 'Asia/Tokyo' } });
    const evening = new Date('2026-03-02T14:30:00Z'); // 23:30 in Tokyo
    const afterMidnight = new Date('2026-03-02T15:30:00Z'); // 00:30 the next day in Tokyo
    const first = markEquity(tokyo, { state: 'ok' }, 10_000, evening);
    const next = markEquity(tokyo, first.status, 9_600, afterMidnight);
    expect(next.status.dayStart).toEqual({ date: '2026-03-03', equity: 9_600 });
    expect(next.breach).toBeUndefined();
  });

  it('measures drawdown from the peak equity', () => {
    const limit = rules({ maxDrawdownPercent: 10 });
    let status = markEquity(limit, { state: 'ok' }, 10_000, at).status;
    status = markEquity(limit, status, 12_000, at).status;
    expect(status.peakEquity).toBe(12_000);
    expect(markEquity(limit, status, 10_900, at).breach).toBeUndefined();
    expect(markEquity(limit, status, 10_800, at).breach).toBe('MAX_DRAWDOWN');
  });

  it('stays breached until reset, whatever the equity does', () => {
    const limit = rules({ maxDailyLossPercent: 1 });
    const breached = markEquity(limit, { state: 'ok' }, 10_000, at);
    const down = markEquity(limit, breached.status, 9_000, at).status;
    const again = markEquity(limit, down, 20_000, at);
    expect(again.status.state).toBe('breached');
    expect(again.breach).toBeUndefined();
  });
});

describe('trading hours', () => {
  const hours = { from: '08:00', to: '17:00', timeZone: 'Europe/London' };
  it('allows inside the window and refuses outside it, in the given time zone', () => {
    expect(withinTradingHours(hours, new Date('2026-07-01T07:30:00Z'))).toBe(true); // 08:30 BST
    expect(withinTradingHours(hours, new Date('2026-07-01T06:30:00Z'))).toBe(false); // 07:30 BST
    expect(withinTradingHours(hours, new Date('2026-07-01T16:00:00Z'))).toBe(false); // 17:00 BST: end is exclusive
  });
  it('handles windows that span midnight', () => {
    const night = { from: '22:00', to: '06:00', timeZone: 'UTC' };
    expect(withinTradingHours(night, new Date('2026-07-01T23:00:00Z'))).toBe(true);
    expect(withinTradingHours(night, new Date('2026-07-01T05:59:00Z'))).toBe(true);
    expect(withinTradingHours(night, new Date('2026-07-01T12:00:00Z'))).toBe(false);
  });
  it('gives the calendar date in a time zone', () => {
    expect(dateIn(new Date('2026-03-02T23:30:00Z'), 'Asia/Tokyo')).toBe('2026-03-03');
  });
});

describe('checks before an open', () => {
  it('refuses while breached, outside allowed symbols, outside hours and at the position cap', () => {
    expect(checkOpen(rules(), { state: 'breached', reason: 'x' }, { symbol: 'EURUSD', volume: 1, at, spec })).toMatchObject({ reason: 'PROTECTION_BREACHED' });
    expect(checkOpen(rules({ allowedSymbols: ['GBPUSD'] }), { state: 'ok' }, { symbol: 'EURUSD', volume: 1, at, spec })).toMatchObject({
      reason: 'SYMBOL_NOT_ALLOWED',
    });
    expect(
      checkOpen(rules({ tradingHours: { from: '12:00', to: '13:00', timeZone: 'UTC' } }), { state: 'ok' }, { symbol: 'EURUSD', volume: 1, at, spec }),
    ).toMatchObject({ reason: 'OUTSIDE_TRADING_HOURS' });
    expect(checkOpen(rules({ maxOpenPositions: 3 }), { state: 'ok' }, { symbol: 'EURUSD', volume: 1, at, spec, openPositions: 3 })).toMatchObject({
      reason: 'MAX_OPEN_POSITIONS',
    });
    expect(checkOpen(rules({ maxOpenPositions: 3 }), { state: 'ok' }, { symbol: 'EURUSD', volume: 1, at, spec, openPositions: 2 })).toEqual({
      kind: 'allowed',
      volume: 1,
    });
  });

  it('clamps to the per-trade cap and to what is left of the total cap', () => {
    expect(checkOpen(rules({ maxVolumePerTrade: 0.5 }), { state: 'ok' }, { symbol: 'EURUSD', volume: 2, at, spec })).toEqual({ kind: 'allowed', volume: 0.5 });
    expect(checkOpen(rules({ maxTotalVolume: 1 }), { state: 'ok' }, { symbol: 'EURUSD', volume: 0.5, at, spec, openVolume: 0.73 })).toEqual({
      kind: 'allowed',
      volume: 0.27,
    });
    expect(checkOpen(rules({ maxTotalVolume: 1 }), { state: 'ok' }, { symbol: 'EURUSD', volume: 0.5, at, spec, openVolume: 0.995 })).toMatchObject({
      kind: 'skip',
      reason: 'MAX_TOTAL_VOLUME',
    });
  });

  it('never allows more than the caps, and always a multiple of the step', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.option(fc.integer({ min: 1, max: 5_000 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 10_000 }),
        (volumeSteps, perTradeSteps, totalSteps, openSteps) => {
          const protection = rules({
            ...(perTradeSteps ? { maxVolumePerTrade: perTradeSteps / 100 } : {}),
            ...(totalSteps ? { maxTotalVolume: totalSteps / 100 } : {}),
          });
          const verdict = checkOpen(protection, { state: 'ok' }, { symbol: 'EURUSD', volume: volumeSteps / 100, at, spec, openVolume: openSteps / 100 });
          if (verdict.kind === 'skip') return;
          expect(verdict.volume).toBeLessThanOrEqual(volumeSteps / 100 + 1e-9);
          if (perTradeSteps) expect(verdict.volume).toBeLessThanOrEqual(perTradeSteps / 100 + 1e-9);
          if (totalSteps) expect(verdict.volume + openSteps / 100).toBeLessThanOrEqual(totalSteps / 100 + 1e-9);
          expect(Math.abs(verdict.volume * 100 - Math.round(verdict.volume * 100))).toBeLessThan(1e-6);
          expect(verdict.volume).toBeGreaterThanOrEqual(spec.volumeMin);
        },
      ),
    );
  });
});

describe('loss limits among the protection rules', () => {
  const rules = {
    onBreach: 'stopCopying' as const,
    lossLimits: [{ period: 'total' as const, basis: 'balance' as const, percent: 10, percentOf: 'initial' as const }],
  };
  const at = new Date('2026-12-02T10:00:00Z');

  it('takes the initial capital from the first balance marked when the rules give none, and keeps it', () => {
    const first = markEquity(rules, { state: 'ok' }, 20_000, at, 20_000);
    expect(first.status.initialCapital).toBe(20_000);
    expect(markEquity(rules, first.status, 18_001, at, 19_000).breach).toBeUndefined();
    const breached = markEquity(rules, first.status, 18_000, at, 19_000);
    expect(breached).toMatchObject({ breach: 'LOSS_LIMIT', status: { state: 'breached', reason: 'LOSS_LIMIT_TOTAL: equity 18000 at or below 18000' } });
    // The rules' own initial capital wins over the first balance.
    expect(markEquity({ ...rules, initialCapital: 25_000 }, { state: 'ok' }, 22_500, at, 22_500).breach).toBe('LOSS_LIMIT');
  });

  it('leaves the limits alone without a balance to mark them with', () => {
    expect(markEquity(rules, { state: 'ok' }, 1, at).status.lossLimits).toBeUndefined();
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planOpen, planPartialClose, rawSlaveVolume } from '../../shared/domain/copy-planning';
import { add, compare, div, exact, floorDiv, mul, sub, toNumber, type Exact } from '../../shared/domain/exact';
import type { EventOf } from '../../shared/domain/master-events';
import { partiallyClosedLink } from '../../shared/domain/position-link';
import { checkOpen } from '../../shared/domain/protection-rules';
import { fitVolume, floorToStep, lotsOf, subtractLots, sumLots } from '../../shared/domain/volume';
import { aLink, aMapping, aPosition, eurusdSpec, T0 } from '../support/fixtures';

/** Whether `volume` is a whole number of `step`s, decided exactly. */
const isWholeSteps = (volume: number, step: number): boolean => {
  const steps = floorDiv(volume, step);
  return compare(mul({ n: steps, d: 1n }, step), volume) === 0;
};

describe('exact', () => {
  it('reads a number as the decimal it is written as', () => {
    expect(exact(0.1)).toEqual({ n: 1n, d: 10n });
    expect(exact(-2.5)).toEqual({ n: -25n, d: 10n });
    expect(exact(1e-7)).toEqual({ n: 1n, d: 10_000_000n });
    expect(exact(1.5e21)).toEqual({ n: 1_500_000_000_000_000_000_000n, d: 1n });
    expect(() => exact(Number.NaN)).toThrow(RangeError);
  });

  it('adds and subtracts decimals without float noise', () => {
    expect(toNumber(add(0.1, 0.2))).toBe(0.3);
    expect(toNumber(sub(0.3, 0.1))).toBe(0.2);
    expect(toNumber(mul(0.7, 3))).toBe(2.1);
    expect(toNumber(div(1, 3))).toBeCloseTo(1 / 3, 15);
    expect(toNumber(div(1, 8))).toBe(0.125);
  });

  it('floors a quotient towards minus infinity', () => {
    expect(floorDiv(0.3, 0.1)).toBe(3n);
    expect(floorDiv(0.29, 0.1)).toBe(2n);
    expect(floorDiv(-0.05, 0.1)).toBe(-1n);
    expect(() => floorDiv(1, 0)).toThrow(RangeError);
  });

  it('gives back the number a decimal parses to, for any decimal of up to 8 places (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 0, max: 8 }), (units, places) => {
        const text = (units / 10 ** places).toFixed(places);
        const value = Number(text);
        expect(toNumber(exact(value))).toBe(value);
        expect(compare(add(exact(value), sub(0, value)), 0)).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('volumes in exact lots', () => {
  it('never lets float noise decide a trade', () => {
    // Each of these lost a step to binary floats (0.7 * 3 = 2.0999999999999996).
    expect(floorToStep(mul(0.7, 3), 0.1)).toBe(2.1);
    expect(toNumber((rawSlaveVolume({ mode: 'multiplier', multiplier: 3 }, { masterVolume: 0.7, spec: eurusdSpec() }) as { volume: Exact }).volume)).toBe(2.1);
    expect(subtractLots(0.3, 0.1)).toBe(0.2);
    expect(sumLots([0.1, 0.2])).toBe(0.3);
    // A broker that sent a float-noisy volume meant the decimal.
    expect(toNumber(lotsOf(0.30000000000000004))).toBe(0.3);
  });

  it('sizes by balance ratio exactly: 0.35 lots at 1,000 / 3,500 is 0.1, not 0.09', () => {
    const sized = rawSlaveVolume({ mode: 'balanceRatio' }, { masterVolume: 0.35, masterBalance: 3500, slaveBalance: 1000, spec: eurusdSpec() });
    expect(sized.kind === 'volume' && toNumber(sized.volume)).toBe(0.1);
    // In floats: 0.35 * (1000 / 3500) = 0.09999999999999999, one step short.
    expect(0.35 * (1000 / 3500)).toBeLessThan(0.1);
  });

  it('sizes by risk exactly at the step boundary', () => {
    const position = aPosition({ volume: 1, openPrice: 1.1, stopLoss: 1.097 });
    const event: EventOf<'positionOpened'> = {
      id: 'positionOpened:p-1:0',
      kind: 'positionOpened',
      tenantId: 'tenant-a',
      masterAccountId: 'master-1',
      detectedAt: T0,
      position: { ...position, rev: 0, detectedAt: T0 },
    };
    const mapping = aMapping({ sizing: { mode: 'riskPercent', percent: 0.3 } });
    // 30 USD of risk over 300 ticks of 1 USD a lot is exactly 0.1 lot; in floats it is 0.09999999999999962.
    const planned = planOpen(event, { mapping, slaveSymbol: 'EURUSD', spec: eurusdSpec(), slaveEquity: 10_000, firstAttemptAt: new Date(T0) });
    expect(planned).toMatchObject({ kind: 'trade', trade: { volume: 0.1 } });
    expect((0.3 * 10_000) / 100 / (((1.1 - 1.097) / 0.00001) * 1)).toBeLessThan(0.1);
  });

  it('takes no share of a master volume that is nothing at 10^-8 lot, rather than dividing by zero', () => {
    expect(planPartialClose(aLink({ slaveVolume: 0.1 }), 1e-12, 0, eurusdSpec())).toMatchObject({ kind: 'skip', reason: 'NOT_COPIED' });
  });

  it('leaves 0.1 under a 0.3 total cap with 0.1 + 0.1 open', () => {
    const verdict = checkOpen(
      { maxTotalVolume: 0.3, onBreach: 'stopCopying' },
      { state: 'ok' },
      { symbol: 'EURUSD', volume: 0.2, at: new Date(T0), spec: eurusdSpec(), openPositions: 2, openVolume: 0.2 },
    );
    expect(verdict).toEqual({ kind: 'allowed', volume: 0.1 });
  });

  const stepsInThousandths = fc.constantFrom(1, 2, 5, 10, 20, 50, 100, 1000);

  it('fits any computed volume to the largest whole number of steps within the bounds (property)', () => {
    fc.assert(
      fc.property(
        stepsInThousandths,
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 1, max: 1000 }),
        (stepMilli, minSteps, extraSteps, numerator, denominator) => {
          const spec = { volumeStep: stepMilli / 1000, volumeMin: (stepMilli * minSteps) / 1000, volumeMax: (stepMilli * (minSteps + extraSteps)) / 1000 };
          const volume = div(numerator, denominator * 1000);
          const decision = fitVolume(volume, spec);
          const upper = compare(volume, spec.volumeMax) < 0 ? volume : exact(spec.volumeMax);
          if (!decision.ok) {
            // Refused only when not even the minimum fits under the computed volume.
            expect(compare(upper, spec.volumeMin)).toBe(-1);
            return;
          }
          expect(isWholeSteps(decision.volume, spec.volumeStep)).toBe(true);
          expect(compare(decision.volume, upper)).toBeLessThanOrEqual(0);
          expect(compare(decision.volume, spec.volumeMin)).toBeGreaterThanOrEqual(0);
          // Tight: one more step would be above what the rules computed or allow.
          expect(compare(add(decision.volume, spec.volumeStep), upper)).toBe(1);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('mirrors any sequence of master partial closes without drift: what the slave closed adds up to what it held (property)', () => {
    fc.assert(
      fc.property(
        stepsInThousandths,
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 2, max: 5000 }),
        fc.array(fc.double({ min: 0.01, max: 0.99, noNaN: true }), { minLength: 1, maxLength: 12 }),
        (stepMilli, minSteps, slaveSteps, masterHundredths, fractions) => {
          const spec = { volumeStep: stepMilli / 1000, volumeMin: (stepMilli * minSteps) / 1000 };
          const held = toNumber(mul(slaveSteps + minSteps, spec.volumeStep));
          let link = aLink({ slaveVolume: held, masterVolume: masterHundredths / 100 });
          let master = masterHundredths;
          const closed: number[] = [];
          for (const fraction of fractions) {
            const closing = Math.max(1, Math.floor(master * fraction));
            if (closing >= master || link.closedAt) break;
            const event: EventOf<'positionPartiallyClosed'> = {
              id: `positionPartiallyClosed:p-1:${closed.length + 1}`,
              kind: 'positionPartiallyClosed',
              tenantId: 'tenant-a',
              masterAccountId: 'master-1',
              detectedAt: T0,
              previousVolume: master / 100,
              position: { ...aPosition({ volume: (master - closing) / 100 }), rev: closed.length + 1, detectedAt: T0 },
            };
            const plan = planPartialClose(link, event.previousVolume, event.position.volume, spec);
            master -= closing;
            if (plan.kind === 'skip') continue;
            const before = link.slaveVolume;
            expect(plan.full || isWholeSteps(plan.volume, spec.volumeStep)).toBe(true);
            expect(compare(plan.volume, before)).toBeLessThanOrEqual(0);
            closed.push(plan.volume);
            link = partiallyClosedLink(link, event, plan.volume, new Date(T0));
            // What is left is nothing, or a tradeable whole number of steps, never more than the master's share.
            if (link.slaveVolume !== 0) {
              expect(compare(link.slaveVolume, spec.volumeMin)).toBeGreaterThanOrEqual(0);
              expect(isWholeSteps(link.slaveVolume, spec.volumeStep)).toBe(true);
              expect(compare(link.slaveVolume, div(mul(before, master), master + closing))).toBeLessThanOrEqual(0);
            }
            // Written as a clean decimal: the number is the decimal it stands for.
            expect(link.slaveVolume).toBe(Number(link.slaveVolume.toFixed(8)));
          }
          expect(compare(add(sumLots(closed), link.slaveVolume), held)).toBe(0);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

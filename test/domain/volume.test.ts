import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitVolume, floorToStep } from '../../shared/domain/volume';

/** Steps are generated in thousandths of a lot so that min, max and step are exact decimals. */
const MILLI = 1000;

/** Whether `volume` is a whole number of `stepMilli` thousandths, with float noise tolerated. */
const isMultipleOfStep = (volume: number, stepMilli: number): boolean => {
  const milli = volume * MILLI;
  const whole = Math.round(milli);
  return Math.abs(milli - whole) < 1e-6 && whole % stepMilli === 0;
};

const symbolSpec = fc
  .record({
    stepMilli: fc.oneof(fc.constantFrom(1, 10, 100, 1000, 50), fc.integer({ min: 1, max: 2000 })),
    minSteps: fc.integer({ min: 1, max: 100 }),
    extraSteps: fc.integer({ min: 0, max: 10_000 }),
  })
  .map(({ stepMilli, minSteps, extraSteps }) => ({
    stepMilli,
    spec: {
      volumeStep: stepMilli / MILLI,
      volumeMin: (stepMilli * minSteps) / MILLI,
      volumeMax: (stepMilli * (minSteps + extraSteps)) / MILLI,
    },
  }));

const computedVolume = fc.oneof(
  fc.double({ min: 0, max: 10_000, noNaN: true }),
  fc.double({ min: 0, max: 1, noNaN: true }),
  fc.integer({ min: 0, max: 100_000 }).map((milli) => milli / MILLI),
  fc.constantFrom(0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e-12),
);

const caps = fc.record(
  {
    maxVolume: fc.double({ min: 0, max: 1000, noNaN: true }),
    minVolume: fc.double({ min: 0, max: 10, noNaN: true }),
  },
  { requiredKeys: [] },
);

describe('floorToStep', () => {
  it('rounds down to the step', () => {
    expect(floorToStep(0.1 * 0.333, 0.01)).toBe(0.03);
    expect(floorToStep(0.019, 0.01)).toBe(0.01);
    expect(floorToStep(1.99, 1)).toBe(1);
    expect(floorToStep(0.17, 0.05)).toBe(0.15);
  });

  it('counts 0.3 as three steps of 0.1 despite float noise', () => {
    expect(0.3 / 0.1).toBeLessThan(3);
    expect(floorToStep(0.3, 0.1)).toBe(0.3);
    expect(floorToStep(0.1 + 0.2, 0.1)).toBe(0.3);
    expect(floorToStep(0.7, 0.1)).toBe(0.7);
  });

  it('returns a value free of binary noise', () => {
    expect(floorToStep(0.07, 0.01)).toBe(0.07);
    expect(floorToStep(1.15, 0.05)).toBe(1.15);
    expect(floorToStep(0.009, 0.001)).toBe(0.009);
  });

  it('returns 0 for non-positive, non-finite volumes and invalid steps', () => {
    expect(floorToStep(0, 0.01)).toBe(0);
    expect(floorToStep(-0.5, 0.01)).toBe(0);
    expect(floorToStep(Number.NaN, 0.01)).toBe(0);
    expect(floorToStep(Number.POSITIVE_INFINITY, 0.01)).toBe(0);
    expect(floorToStep(1, 0)).toBe(0);
    expect(floorToStep(1, -0.01)).toBe(0);
  });

  it('floors on steps written with an exponent', () => {
    expect(floorToStep(0.00000035, 1e-7)).toBe(0.0000003);
  });
});

describe('fitVolume', () => {
  const spec = { volumeMin: 0.01, volumeStep: 0.01, volumeMax: 100 };

  it('rounds 0.1 * 0.333 lots down to 0.03', () => {
    expect(fitVolume(0.1 * 0.333, spec)).toEqual({ ok: true, volume: 0.03 });
  });

  it('keeps 0.3 lots at 0.3 on a 0.1 step', () => {
    expect(fitVolume(0.3, { volumeMin: 0.1, volumeStep: 0.1, volumeMax: 10 })).toEqual({ ok: true, volume: 0.3 });
  });

  it('refuses a volume that rounds under the broker minimum', () => {
    expect(fitVolume(0.009, spec)).toEqual({ ok: false, reason: 'VOLUME_BELOW_MIN' });
    expect(fitVolume(0.15, { volumeMin: 0.2, volumeStep: 0.1, volumeMax: 10 })).toEqual({ ok: false, reason: 'VOLUME_BELOW_MIN' });
  });

  it("refuses a volume under the mapping's own minimum", () => {
    expect(fitVolume(0.04, spec, { minVolume: 0.05 })).toEqual({ ok: false, reason: 'VOLUME_BELOW_MIN' });
    expect(fitVolume(0.05, spec, { minVolume: 0.05 })).toEqual({ ok: true, volume: 0.05 });
  });

  it("clamps to the broker maximum and to the mapping's cap, whichever is lower", () => {
    expect(fitVolume(250, spec)).toEqual({ ok: true, volume: 100 });
    expect(fitVolume(2.5, spec, { maxVolume: 1.234 })).toEqual({ ok: true, volume: 1.23 });
    expect(fitVolume(250, spec, { maxVolume: 500 })).toEqual({ ok: true, volume: 100 });
  });

  it('refuses when the cap is below the minimum', () => {
    expect(fitVolume(1, spec, { maxVolume: 0.005 })).toEqual({ ok: false, reason: 'VOLUME_BELOW_MIN' });
  });

  it('refuses zero, negative and NaN volumes', () => {
    for (const volume of [0, -1, Number.NaN]) expect(fitVolume(volume, spec)).toEqual({ ok: false, reason: 'VOLUME_BELOW_MIN' });
  });

  it('skips with a reason or returns a multiple of the step within [min, max], never above the raw volume nor the caps (property 6)', () => {
    fc.assert(
      fc.property(symbolSpec, computedVolume, caps, ({ stepMilli, spec: symbol }, volume, mappingCaps) => {
        const decision = fitVolume(volume, symbol, mappingCaps);
        if (!decision.ok) {
          expect(decision).toEqual({ ok: false, reason: 'VOLUME_BELOW_MIN' });
          return;
        }
        const tolerance = 1e-9;
        expect(isMultipleOfStep(decision.volume, stepMilli)).toBe(true);
        expect(decision.volume).toBeGreaterThanOrEqual(symbol.volumeMin - tolerance);
        expect(decision.volume).toBeLessThanOrEqual(symbol.volumeMax + tolerance);
        expect(decision.volume).toBeLessThanOrEqual(volume + tolerance);
        if (mappingCaps.maxVolume !== undefined) expect(decision.volume).toBeLessThanOrEqual(mappingCaps.maxVolume + tolerance);
        if (mappingCaps.minVolume !== undefined) expect(decision.volume).toBeGreaterThanOrEqual(mappingCaps.minVolume - tolerance);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every volume that is already a multiple of the step within the bounds, unchanged (property 6)', () => {
    fc.assert(
      fc.property(symbolSpec, fc.nat(), ({ stepMilli, spec: symbol }, pick) => {
        const minSteps = Math.round(symbol.volumeMin / symbol.volumeStep);
        const maxSteps = Math.round(symbol.volumeMax / symbol.volumeStep);
        const steps = minSteps + (pick % (maxSteps - minSteps + 1));
        const volume = (steps * stepMilli) / MILLI;
        const decision = fitVolume(volume, symbol);
        expect(decision.ok).toBe(true);
        if (decision.ok) expect(Math.abs(decision.volume - volume)).toBeLessThan(1e-9);
      }),
      { numRuns: 1000 },
    );
  });
});

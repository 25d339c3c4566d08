import type { SymbolSpec } from './trading';

/** Number of decimals a step is written with (0.01 -> 2, 0.1 -> 1, 1 -> 0). */
export const stepDecimals = (step: number): number => {
  const text = step.toString();
  if (text.includes('e-')) return Number(text.split('e-')[1]);
  const dot = text.indexOf('.');
  return dot === -1 ? 0 : text.length - dot - 1;
};

/** Removes binary floating point noise at a given number of decimals. */
export const roundTo = (value: number, decimals: number): number => Number(value.toFixed(decimals));

/**
 * Rounds a volume DOWN to a multiple of `step`. Rounding down is the safe side for money:
 * a copy never trades more than the rules computed. A tiny epsilon absorbs float noise
 * (0.3 / 0.1 = 2.9999999999999996 must count as 3 steps).
 */
export const floorToStep = (volume: number, step: number): number => {
  if (!(step > 0) || !Number.isFinite(volume) || volume <= 0) return 0;
  const steps = Math.floor(volume / step + 1e-9);
  return roundTo(steps * step, stepDecimals(step));
};

export type VolumeDecision = { ok: true; volume: number } | { ok: false; reason: 'VOLUME_BELOW_MIN' };

/**
 * Fits a computed volume to the broker's symbol and the mapping's bounds: clamps to the
 * smaller of the caps, rounds down to the volume step, and refuses what ends under the
 * minimum. The result, when ok, is always a multiple of the step within [min, max].
 */
export const fitVolume = (
  volume: number,
  spec: Pick<SymbolSpec, 'volumeMin' | 'volumeStep' | 'volumeMax'>,
  caps: { maxVolume?: number; minVolume?: number } = {},
): VolumeDecision => {
  const upper = Math.min(spec.volumeMax, caps.maxVolume ?? Number.POSITIVE_INFINITY);
  const clamped = Math.min(volume, upper);
  const rounded = floorToStep(clamped, spec.volumeStep);
  const lower = Math.max(spec.volumeMin, caps.minVolume ?? 0);
  if (rounded < lower - 1e-12 || rounded <= 0) return { ok: false, reason: 'VOLUME_BELOW_MIN' };
  return { ok: true, volume: rounded };
};

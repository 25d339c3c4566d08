import { add, compare, exact, type Exact, floorDiv, min, mul, sub, toNumber, ZERO } from './exact';
import type { SymbolSpec } from './trading';

/**
 * Lots are decimal. Volumes travel as numbers (JSON, the broker port, the records), but every
 * decision on them is made in exact arithmetic (`exact.ts`): a volume is read as the decimal
 * it is written as, to 10^-8 lot, and a result is a whole number of the broker's volume
 * steps. No float noise (0.1 + 0.2, 0.3 / 0.1) decides a trade, and nothing is patched with
 * an epsilon.
 */
export const LOT_DECIMALS = 8;

/**
 * A volume as exact lots. A volume from outside (a broker's answer, a user's mapping) is
 * taken to 10^-8 lot, the finest any broker quotes: a broker that computed 0.3 - 0.1 in
 * floats and sent 0.19999999999999998 meant 0.2.
 */
export const lotsOf = (volume: number): Exact => exact(Number(volume.toFixed(LOT_DECIMALS)));

/** a - b in exact lots (0.3 - 0.1 is 0.2). */
export const subtractLots = (a: number, b: number): number => toNumber(sub(lotsOf(a), lotsOf(b)));

/** The sum of volumes in exact lots. */
export const sumLots = (volumes: readonly number[]): number => toNumber(volumes.reduce<Exact>((sum, volume) => add(sum, lotsOf(volume)), ZERO));

/** -1, 0 or 1 as volume a is below, equal to or above b, in exact lots. */
export const compareLots = (a: number, b: number): -1 | 0 | 1 => compare(lotsOf(a), lotsOf(b));

const usable = (volume: Exact | number): Exact | undefined => {
  if (typeof volume === 'number') return Number.isFinite(volume) && volume > 0 ? exact(volume) : undefined;
  return compare(volume, ZERO) > 0 ? volume : undefined;
};

/**
 * Rounds a volume DOWN to a whole number of `step`s, exactly. Rounding down is the safe side
 * for money: a copy never trades more than the rules computed. A volume that is not a
 * positive finite amount, or a step that is not positive, gives 0.
 */
export const floorToStep = (volume: Exact | number, step: number): number => {
  const amount = usable(volume);
  if (!amount || !(step > 0) || !Number.isFinite(step)) return 0;
  const stepLots = exact(step);
  return toNumber(mul({ n: floorDiv(amount, stepLots), d: 1n }, stepLots));
};

export type VolumeDecision = { ok: true; volume: number } | { ok: false; reason: 'VOLUME_BELOW_MIN' };

/**
 * Fits a computed volume to the broker's symbol and the mapping's bounds: clamps to the
 * smaller of the caps, rounds down to the volume step, and refuses what ends under the
 * minimum. The result, when ok, is always a multiple of the step within [min, max].
 */
export const fitVolume = (
  volume: Exact | number,
  spec: Pick<SymbolSpec, 'volumeMin' | 'volumeStep' | 'volumeMax'>,
  caps: { maxVolume?: number; minVolume?: number } = {},
): VolumeDecision => {
  const amount = usable(volume);
  if (!amount) return { ok: false, reason: 'VOLUME_BELOW_MIN' };
  const upper = caps.maxVolume === undefined ? lotsOf(spec.volumeMax) : min(lotsOf(spec.volumeMax), lotsOf(caps.maxVolume));
  const rounded = floorToStep(min(amount, upper), spec.volumeStep);
  const lower = Math.max(spec.volumeMin, caps.minVolume ?? 0);
  if (rounded <= 0 || compareLots(rounded, lower) < 0) return { ok: false, reason: 'VOLUME_BELOW_MIN' };
  return { ok: true, volume: rounded };
};

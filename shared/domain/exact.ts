/**
 * Exact rational arithmetic for the money path: `n / d` with BigInt parts and `d > 0`.
 *
 * A number enters as the decimal it is written as (its shortest round-trip form, which is
 * what JSON carried and what a user typed), so 0.1 is one tenth, not the binary float next
 * to it, and 0.1 + 0.2 is exactly 0.3. Results go back to a number only at the edge, and a
 * decimal result goes back as the number that decimal parses to.
 */
export interface Exact {
  readonly n: bigint;
  readonly d: bigint;
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;

/** The decimal a finite number is written as, exactly. */
export const exact = (value: number): Exact => {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  const match = DECIMAL.exec(value.toString());
  if (!match) throw new RangeError(`not a decimal: ${value}`);
  const [, sign, whole, fraction = '', exponent = '0'] = match;
  const digits = BigInt(`${sign}${whole}${fraction}`);
  const power = Number(exponent) - fraction.length;
  return power >= 0 ? { n: digits * 10n ** BigInt(power), d: 1n } : { n: digits, d: 10n ** BigInt(-power) };
};

export const ZERO: Exact = { n: 0n, d: 1n };

const of = (value: Exact | number): Exact => (typeof value === 'number' ? exact(value) : value);

export const add = (a: Exact | number, b: Exact | number): Exact => {
  const x = of(a);
  const y = of(b);
  return x.d === y.d ? { n: x.n + y.n, d: x.d } : { n: x.n * y.d + y.n * x.d, d: x.d * y.d };
};

export const sub = (a: Exact | number, b: Exact | number): Exact => {
  const y = of(b);
  return add(a, { n: -y.n, d: y.d });
};

export const mul = (a: Exact | number, b: Exact | number): Exact => {
  const x = of(a);
  const y = of(b);
  return { n: x.n * y.n, d: x.d * y.d };
};

export const div = (a: Exact | number, b: Exact | number): Exact => {
  const x = of(a);
  const y = of(b);
  if (y.n === 0n) throw new RangeError('division by zero');
  return y.n < 0n ? { n: -x.n * y.d, d: x.d * -y.n } : { n: x.n * y.d, d: x.d * y.n };
};

/** -1, 0 or 1 as a is below, equal to or above b. */
export const compare = (a: Exact | number, b: Exact | number): -1 | 0 | 1 => {
  const x = of(a);
  const y = of(b);
  const difference = x.n * y.d - y.n * x.d;
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
};

export const min = (a: Exact, b: Exact): Exact => (compare(a, b) <= 0 ? a : b);
export const max = (a: Exact, b: Exact): Exact => (compare(a, b) >= 0 ? a : b);

/** The largest integer k with k * b <= a (b > 0). */
export const floorDiv = (a: Exact | number, b: Exact | number): bigint => {
  const x = of(a);
  const y = of(b);
  if (y.n <= 0n) throw new RangeError('floorDiv needs a positive divisor');
  const numerator = x.n * y.d;
  const denominator = x.d * y.n;
  const quotient = numerator / denominator;
  return numerator < 0n && quotient * denominator !== numerator ? quotient - 1n : quotient;
};

/**
 * Back to a number: a decimal (a denominator that divides a power of ten) as the number its
 * decimal text parses to, so 3/10 is 0.3 exactly as written; anything else to the nearest
 * number.
 */
export const toNumber = (value: Exact): number => {
  let twos = 0;
  let fives = 0;
  let rest = value.d;
  while (rest % 2n === 0n) {
    rest /= 2n;
    twos += 1;
  }
  while (rest % 5n === 0n) {
    rest /= 5n;
    fives += 1;
  }
  if (rest !== 1n) return Number(value.n) / Number(value.d);
  const decimals = Math.max(twos, fives);
  const scaled = (value.n * 10n ** BigInt(decimals)) / value.d;
  const negative = scaled < 0n;
  const digits = (negative ? -scaled : scaled).toString().padStart(decimals + 1, '0');
  const text = decimals === 0 ? digits : `${digits.slice(0, digits.length - decimals)}.${digits.slice(digits.length - decimals)}`;
  return Number(`${negative ? '-' : ''}${text}`);
};

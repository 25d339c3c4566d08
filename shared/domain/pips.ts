/**
 * A pip as traders count it, from the symbol's price digits: the fourth decimal of a
 * five-digit quote (EURUSD 1.08123: 0.0001), the second of a three-digit one (USDJPY 151.234:
 * 0.01); on a symbol quoted to 2 or 4 digits (or any other count), one unit of the last digit.
 */
export const pipSize = (digits: number): number => 1 / 10 ** (digits === 3 || digits === 5 ? digits - 1 : digits);

/**
 * How much worse than the master's price the slave was filled, in pips (negative: better),
 * for the slave's side: a buy filled higher, or a sell filled lower, slipped. Rounded to a
 * tenth of a pip.
 */
export const slippagePips = (side: 'buy' | 'sell', masterPrice: number, slavePrice: number, digits: number): number => {
  const difference = side === 'buy' ? slavePrice - masterPrice : masterPrice - slavePrice;
  const pips = Math.round((difference / pipSize(digits)) * 10) / 10;
  return pips === 0 ? 0 : pips;
};

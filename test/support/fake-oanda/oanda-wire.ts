import type { SymbolSpec } from '../../../shared/domain/trading';

/**
 * How OANDA writes values on the wire (v20 document, `v20-schemas.json`): every number that is
 * a DecimalNumber, PriceValue or AccountUnits travels as a STRING; prices carry the instrument's
 * `displayPrecision` decimals, units are whole (`tradeUnitsPrecision` 0) and signed (negative =
 * short), amounts in the home currency carry 4 decimals; times are RFC 3339 with nanoseconds.
 */

/** A body or a part of one, as it goes on the wire. `undefined` fields are left out by JSON. */
export type Wire = { [key: string]: unknown };

/** Client extensions of an order or a trade (`ClientExtensions`: id, tag, comment). */
export interface ClientExtensions {
  id?: string;
  tag?: string;
  comment?: string;
}

/** The instruments every fake starts with, at the market's default prices, under OANDA's names. */
export const defaultInstruments = [
  { symbol: 'EUR_USD', bid: 1.085, ask: 1.0851, digits: 5 },
  { symbol: 'GBP_USD', bid: 1.27, ask: 1.27015, digits: 5 },
  { symbol: 'USD_JPY', bid: 151.5, ask: 151.515, digits: 3 },
  { symbol: 'XAU_USD', bid: 2350, ask: 2350.35, digits: 3 },
] as const;

/** Instruments are named `BASE_QUOTE`; the market's own `EURUSD`-style symbols are not OANDA's. */
export const isInstrumentName = (name: string): boolean => /^[A-Z0-9]+_[A-Z0-9]+$/.test(name);

/** `2024-05-01T10:00:00.123Z` as OANDA writes it: `2024-05-01T10:00:00.123000000Z`. */
export const rfc3339 = (time: string | Date): string => {
  const iso = typeof time === 'string' ? new Date(time).toISOString() : time.toISOString();
  return iso.replace(/\.(\d{3})Z$/, '.$1000000Z');
};

const withoutNegativeZero = (text: string): string => (/^-0(\.0*)?$/.test(text) ? text.slice(1) : text);

/** A price with the instrument's display precision. */
export const priceText = (value: number, displayPrecision: number): string => withoutNegativeZero(value.toFixed(displayPrecision));

/** Units: whole, signed. */
export const unitsText = (value: number): string => withoutNegativeZero(value.toFixed(0));

/** An amount in the account's home currency. */
export const amountText = (value: number): string => withoutNegativeZero(value.toFixed(4));

/** A decimal rate such as a margin rate (`0.02`). */
export const rateText = (value: number): string => String(Number(value.toFixed(6)));

/** The number a decimal string holds; undefined unless it is one (`-12.50`, `3`). */
export const parseDecimal = (text: unknown): number | undefined => {
  if (typeof text !== 'string' || !/^-?\d+(\.\d+)?$/.test(text)) return undefined;
  return Number(text);
};

/** Decimals a decimal string needs (trailing zeros do not count: `1.10000` needs 1). */
export const decimalsOf = (text: string): number => {
  const fraction = text.split('.')[1]?.replace(/0+$/, '') ?? '';
  return fraction.length;
};

/** What `GET /instruments` says of an instrument (`Instrument`), from the market's spec. */
export const instrumentWire = (spec: SymbolSpec, marginRate: number): Wire => {
  const [base = '', quote = ''] = spec.symbol.split('_');
  const isMetal = base === 'XAU' || base === 'XAG';
  const isCurrency = /^[A-Z]{3}$/.test(base) && /^[A-Z]{3}$/.test(quote);
  return {
    name: spec.symbol,
    type: isMetal ? 'METAL' : isCurrency ? 'CURRENCY' : 'CFD',
    displayName: isMetal && base === 'XAU' ? 'Gold' : `${base}/${quote}`,
    pipLocation: -(spec.digits - 1),
    displayPrecision: spec.digits,
    tradeUnitsPrecision: 0,
    minimumTradeSize: String(spec.volumeMin),
    maximumTrailingStopDistance: priceText(1, spec.digits),
    minimumTrailingStopDistance: priceText(5 * 10 ** -(spec.digits - 1), spec.digits),
    maximumPositionSize: '0',
    maximumOrderUnits: String(spec.volumeMax),
    marginRate: rateText(marginRate),
  };
};

/** The object with its `undefined` fields and empty arrays left out. */
export const compact = (value: Wire): Wire =>
  Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined && !(Array.isArray(field) && field.length === 0)));

import type { SimulatedMarket } from '../../../local/simulated-broker/simulated-market';

/**
 * What the fake cTrader shows of the market's symbols and currencies: cTrader's ids for them
 * (symbol and asset ids differ per broker; these follow ids common at cTrader brokers where
 * they are known: EURUSD 1, GBPUSD 2, USDJPY 4, XAUUSD 41), their specification in cTrader's
 * units, and the conversions between the market (lots, decimal prices, money) and the wire.
 *
 * Units on the wire, as the definitions say: volumes in cents of units (1 lot of EURUSD =
 * 100,000 units = 10,000,000); `lotSize` the units of one lot, in cents; absolute prices as
 * doubles; spot prices and relative stops in 1/100000 of a unit of price; money as integers
 * with `moneyDigits` (2 here) decimals; times in Unix milliseconds.
 */

export type Wire = Record<string, unknown>;

/** Money on the wire has two decimals: 12.34 is 1234 with moneyDigits 2. */
export const MONEY_DIGITS = 2;

const KNOWN_SYMBOL_IDS: Record<string, number> = { EURUSD: 1, GBPUSD: 2, USDJPY: 4, XAUUSD: 41 };
const KNOWN_ASSET_IDS: Record<string, number> = { EUR: 1, GBP: 2, JPY: 3, USD: 4, XAU: 5 };
const FIRST_OTHER_SYMBOL_ID = 1001;
const FIRST_OTHER_ASSET_ID = 101;

/** Swaps (points a lot a night) shown in the symbol's details; the market books none. */
const SWAPS: Record<string, { long: number; short: number }> = {
  EURUSD: { long: -6.95, short: 2.31 },
  GBPUSD: { long: -3.42, short: -1.05 },
  USDJPY: { long: 12.4, short: -24.1 },
  XAUUSD: { long: -42.5, short: 18.2 },
};

const ASSET_NAMES: Record<string, string> = {
  EUR: 'Euro',
  GBP: 'British Pound',
  JPY: 'Japanese Yen',
  USD: 'US Dollar',
  XAU: 'Gold',
};

export interface SymbolEntry {
  symbolId: number;
  name: string;
  baseAsset: string;
  quoteAsset: string;
  digits: number;
  pipPosition: number;
  /** Units of one lot, in cents (EURUSD: 100,000 units = 10,000,000). */
  lotSize: number;
  minVolume: number;
  maxVolume: number;
  stepVolume: number;
  swapLong: number;
  swapShort: number;
}

export const compact = <T extends Wire>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;

/** Money into the wire's integer with two decimals. */
export const cents = (amount: number): number => Math.round(amount * 10 ** MONEY_DIGITS);

/** A price into 1/100000 of a unit (spot prices, relative stops). */
export const points = (price: number): number => Math.round(price * 100_000);

export const milliseconds = (iso: string): number => Date.parse(iso);

/** Lots of the market into the wire's volume (cents of units). */
export const wireVolume = (lots: number, symbol: SymbolEntry): number => Math.round(lots * symbol.lotSize);

/** The wire's volume into lots of the market, rounded off float noise (at most 8 decimals, as the market keeps them). */
export const lotsOf = (volume: number, symbol: SymbolEntry): number => Number((volume / symbol.lotSize).toFixed(8));

/** A price rounded to the symbol's digits (what cTrader shows and stores). */
export const roundPrice = (price: number, digits: number): number => Number(price.toFixed(digits));

/** The symbols and assets of one market as cTrader shows them. Ids are given on first sight and kept. */
export class CtraderCatalog {
  private readonly symbolIds = new Map<string, number>(Object.entries(KNOWN_SYMBOL_IDS));
  private readonly assetIds = new Map<string, number>(Object.entries(KNOWN_ASSET_IDS));
  private nextSymbolId = FIRST_OTHER_SYMBOL_ID;
  private nextAssetId = FIRST_OTHER_ASSET_ID;

  constructor(private readonly market: SimulatedMarket) {}

  /** Every symbol of the market, by id. */
  symbols(): SymbolEntry[] {
    return this.market
      .listSymbols()
      .map((name) => this.symbolByName(name))
      .filter((entry): entry is SymbolEntry => entry !== undefined)
      .sort((a, b) => a.symbolId - b.symbolId);
  }

  symbolByName(name: string): SymbolEntry | undefined {
    const spec = this.market.getSymbolSpec(name);
    if (!spec) return undefined;
    let symbolId = this.symbolIds.get(name);
    if (symbolId === undefined) {
      symbolId = this.nextSymbolId++;
      this.symbolIds.set(name, symbolId);
    }
    const pair = /^([A-Z]{3})_?([A-Z]{3})/.exec(name.toUpperCase());
    const baseAsset = pair?.[1] ?? name;
    const quoteAsset = pair?.[2] ?? 'USD';
    this.assetId(baseAsset);
    this.assetId(quoteAsset);
    const lotSize = Math.round(spec.contractSize * 100);
    const swaps = SWAPS[name] ?? { long: 0, short: 0 };
    return {
      symbolId,
      name,
      baseAsset,
      quoteAsset,
      digits: spec.digits,
      pipPosition: Math.max(0, spec.digits - 1),
      lotSize,
      minVolume: Math.round(spec.volumeMin * lotSize),
      maxVolume: Math.round(spec.volumeMax * lotSize),
      stepVolume: Math.round(spec.volumeStep * lotSize),
      swapLong: swaps.long,
      swapShort: swaps.short,
    };
  }

  symbolById(symbolId: number): SymbolEntry | undefined {
    for (const [name, id] of this.symbolIds) if (id === symbolId) return this.symbolByName(name);
    return undefined;
  }

  /** The id of an asset (a currency, a metal), given on first sight. */
  assetId(name: string): number {
    let id = this.assetIds.get(name);
    if (id === undefined) {
      id = this.nextAssetId++;
      this.assetIds.set(name, id);
    }
    return id;
  }

  /** `ProtoOAAsset`s of every asset the symbols and accounts use. */
  assets(): Wire[] {
    this.symbols();
    return [...this.assetIds].sort(([, a], [, b]) => a - b).map(([name, assetId]) => ({ assetId, name, displayName: ASSET_NAMES[name] ?? name, digits: 2 }));
  }

  /** `ProtoOALightSymbol`. */
  lightSymbol(symbol: SymbolEntry): Wire {
    return {
      symbolId: symbol.symbolId,
      symbolName: symbol.name,
      enabled: true,
      baseAssetId: this.assetId(symbol.baseAsset),
      quoteAssetId: this.assetId(symbol.quoteAsset),
      symbolCategoryId: symbol.baseAsset === 'XAU' || symbol.baseAsset === 'XAG' ? 2 : 1,
      description: `${symbol.baseAsset} vs ${symbol.quoteAsset}`,
      sortingNumber: symbol.symbolId,
    };
  }

  /**
   * `ProtoOASymbol`, with enum fields as their numbers. The market trades around the clock: one
   * schedule interval covers the week (seconds from Sunday 00:00 UTC); no commission, no
   * minimum distance of stops, trading ENABLED. Swaps are shown, never charged.
   */
  fullSymbol(symbol: SymbolEntry, enumValue: (enumName: string, valueName: string) => number): Wire {
    return {
      symbolId: symbol.symbolId,
      digits: symbol.digits,
      pipPosition: symbol.pipPosition,
      enableShortSelling: true,
      guaranteedStopLoss: false,
      swapRollover3Days: enumValue('ProtoOADayOfWeek', 'WEDNESDAY'),
      swapLong: symbol.swapLong,
      swapShort: symbol.swapShort,
      maxVolume: symbol.maxVolume,
      minVolume: symbol.minVolume,
      stepVolume: symbol.stepVolume,
      schedule: [{ startSecond: 0, endSecond: 7 * 24 * 3600 }],
      commissionType: enumValue('ProtoOACommissionType', 'USD_PER_MILLION_USD'),
      slDistance: 0,
      tpDistance: 0,
      distanceSetIn: enumValue('ProtoOASymbolDistanceType', 'SYMBOL_DISTANCE_IN_POINTS'),
      minCommissionType: enumValue('ProtoOAMinCommissionType', 'CURRENCY'),
      minCommissionAsset: 'USD',
      rolloverCommission: 0,
      skipRolloverDays: 0,
      scheduleTimeZone: 'UTC',
      tradingMode: enumValue('ProtoOATradingMode', 'ENABLED'),
      rolloverCommission3Days: enumValue('ProtoOADayOfWeek', 'WEDNESDAY'),
      swapCalculationType: enumValue('ProtoOASwapCalculationType', 'PIPS'),
      lotSize: symbol.lotSize,
      preciseTradingCommissionRate: 0,
      preciseMinCommission: 0,
      pnlConversionFeeRate: 0,
      swapPeriod: 24,
      swapTime: 22 * 60,
      skipSWAPPeriods: 0,
      chargeSwapAtWeekends: false,
    };
  }
}

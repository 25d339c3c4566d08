/**
 * Trading vocabulary shared by every layer: sides, positions, pending orders, deals and
 * the broker's symbol specification. Volumes are lots; prices are in quote currency;
 * times are ISO-8601 UTC strings.
 */

export type Side = 'buy' | 'sell';
export type PendingOrderType = 'limit' | 'stop';
export type OrderType = 'market' | PendingOrderType;

export const oppositeSide = (side: Side): Side => (side === 'buy' ? 'sell' : 'buy');

/** What a broker says about one tradable symbol; sizing and rounding depend on it. */
export interface SymbolSpec {
  symbol: string;
  /** Price digits after the decimal point. */
  digits: number;
  /** Units of the base asset in one lot (100000 for FX, 100 for XAUUSD). */
  contractSize: number;
  volumeMin: number;
  volumeStep: number;
  volumeMax: number;
  /** Smallest price change. */
  tickSize: number;
  /** The filling modes the broker allows for the symbol's market orders, where it says. */
  fillingModes?: FillingMode[];
  /** Value of one tick for one lot, in the account currency, where the broker knows it. */
  tickValue?: number;
  /** Currency profit is computed in before conversion to the account currency. */
  profitCurrency?: string;
}

export interface Quote {
  symbol: string;
  bid: number;
  ask: number;
  time: string;
}

export interface AccountInformation {
  balance: number;
  equity: number;
  margin: number;
  freeMargin: number;
  currency: string;
  leverage: number;
}

export interface Position {
  id: string;
  symbol: string;
  side: Side;
  volume: number;
  openPrice: number;
  stopLoss?: number;
  takeProfit?: number;
  profit?: number;
  openedAt: string;
  comment?: string;
  /** Client id the order that opened it carried, when it was placed by this system. */
  clientId?: string;
  /** The MetaTrader magic number of the expert that opened it (0 or absent: by hand). */
  magic?: number;
}

export interface PendingOrder {
  id: string;
  symbol: string;
  side: Side;
  type: PendingOrderType;
  volume: number;
  price: number;
  stopLoss?: number;
  takeProfit?: number;
  createdAt: string;
  comment?: string;
  clientId?: string;
  /** The MetaTrader magic number of the expert that placed it (0 or absent: by hand). */
  magic?: number;
}

/** One executed deal of the account's history; entry "in" opens volume, "out" closes it. */
export interface Deal {
  id: string;
  positionId: string;
  orderId?: string;
  symbol: string;
  side: Side;
  entry: 'in' | 'out';
  volume: number;
  price: number;
  profit: number;
  /** What the broker charged on the deal (negative), and the swap it booked on it: account currency. */
  commission?: number;
  swap?: number;
  time: string;
  clientId?: string;
}

/** A closed trade, as the API lists it: the open and the close of (part of) a position. */
export interface ClosedTrade {
  id: string;
  positionId: string;
  symbol: string;
  side: Side;
  volume: number;
  openPrice: number;
  closePrice: number;
  profit: number;
  openedAt: string;
  closedAt: string;
}

/**
 * A closed trade as the history keeps it: the commission of its close and its share of the
 * opening deals' commission, the swap booked on its close, and the mapping it was copied by.
 */
export interface HistoryTrade extends ClosedTrade {
  commission?: number;
  swap?: number;
  mappingId?: string;
}

/** What to trade: the order as every layer speaks of it, before any broker detail. */
/** How a market order may fill: all or nothing (FOK), what is there now (IOC), the rest left waiting (RETURN). */
export const fillingModes = ['FOK', 'IOC', 'RETURN'] as const;
export type FillingMode = (typeof fillingModes)[number];

export interface TradeOrder {
  symbol: string;
  side: Side;
  type: OrderType;
  volume: number;
  /** Required for limit and stop orders. */
  price?: number;
  stopLoss?: number;
  takeProfit?: number;
}

/** Stop levels to set: a number sets the level, `null` removes it, `undefined` leaves it as it is. */
export interface StopLevels {
  stopLoss?: number | null;
  takeProfit?: number | null;
}

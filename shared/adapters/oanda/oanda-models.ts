import type { AccountCapabilities, TradeRequest } from '../../ports/broker';
import type {
  AccountInformation,
  Deal,
  FillingMode,
  PendingOrder,
  PendingOrderType,
  Position,
  Quote,
  Side,
  StopLevels,
  SymbolSpec,
} from '../../domain/trading';

/**
 * OANDA v20's models as its REST API sends them (the v20 OpenAPI document's definitions), with
 * only the fields this adapter reads. Every number arrives as a decimal string; times are
 * RFC 3339 with up to nine fraction digits (the adapter asks for RFC 3339).
 *
 * The port's vocabulary for an OANDA account: a symbol is an OANDA instrument (`EUR_USD`), a
 * volume is a number of units (positive; the side says the direction), a position is an open
 * OANDA trade, a pending order is a LIMIT, STOP or MARKET_IF_TOUCHED order (never a trade's
 * dependent TAKE_PROFIT, STOP_LOSS or TRAILING_STOP_LOSS order).
 */
export interface OandaClientExtensions {
  id?: string;
  tag?: string;
  comment?: string;
}

/** StopLossDetails / TakeProfitDetails / TrailingStopLossDetails: a dependent order to create on fill. */
export interface OandaOnFillDetails {
  price?: string;
  distance?: string;
  timeInForce?: string;
  gtdTime?: string;
  guaranteed?: boolean;
  clientExtensions?: OandaClientExtensions;
}

/** Any order: pending LIMIT/STOP/MARKET_IF_TOUCHED, dependent TAKE_PROFIT/STOP_LOSS/TRAILING_STOP_LOSS, MARKET. */
export interface OandaOrder {
  id: string;
  type: string;
  state?: string;
  createTime?: string;
  instrument?: string;
  units?: string;
  price?: string;
  priceBound?: string;
  timeInForce?: string;
  gtdTime?: string;
  positionFill?: string;
  triggerCondition?: string;
  initialMarketPrice?: string;
  /** Dependent orders: the trade they close. */
  tradeID?: string;
  clientExtensions?: OandaClientExtensions;
  tradeClientExtensions?: OandaClientExtensions;
  takeProfitOnFill?: OandaOnFillDetails;
  stopLossOnFill?: OandaOnFillDetails;
  trailingStopLossOnFill?: OandaOnFillDetails;
  fillingTransactionID?: string;
  tradeOpenedID?: string;
  replacedByOrderID?: string;
}

/** A Trade (with its dependent orders) or a TradeSummary (with their ids only). */
export interface OandaTrade {
  id: string;
  instrument: string;
  price: string;
  openTime: string;
  state?: string;
  initialUnits: string;
  currentUnits: string;
  realizedPL?: string;
  unrealizedPL?: string;
  financing?: string;
  clientExtensions?: OandaClientExtensions;
  takeProfitOrder?: OandaOrder;
  stopLossOrder?: OandaOrder;
  takeProfitOrderID?: string;
  stopLossOrderID?: string;
}

export interface OandaTradeOpen {
  tradeID: string;
  units: string;
  price?: string;
  clientExtensions?: OandaClientExtensions;
}

export interface OandaTradeReduce {
  tradeID: string;
  units: string;
  price?: string;
  realizedPL?: string;
  financing?: string;
}

/** A transaction; the fields are those of an ORDER_FILL, an ORDER_CANCEL and an ORDER create. */
export interface OandaTransaction {
  id: string;
  time?: string;
  type?: string;
  orderID?: string;
  clientOrderID?: string;
  instrument?: string;
  units?: string;
  /** Deprecated by OANDA in favour of the trade entries' prices; read when they have none. */
  price?: string;
  fullVWAP?: string;
  commission?: string;
  financing?: string;
  reason?: string;
  replacedByOrderID?: string;
  tradeOpened?: OandaTradeOpen;
  tradesClosed?: OandaTradeReduce[];
  tradeReduced?: OandaTradeReduce;
}

export interface OandaAccountSummary {
  id: string;
  currency: string;
  balance: string;
  NAV: string;
  marginUsed: string;
  marginAvailable: string;
  marginRate?: string;
  hedgingEnabled?: boolean;
  lastTransactionID?: string;
}

export interface OandaInstrument {
  name: string;
  type?: string;
  displayPrecision: number;
  tradeUnitsPrecision: number;
  minimumTradeSize: string;
  maximumOrderUnits: string;
}

export interface OandaPriceBucket {
  price: string;
  liquidity?: number;
}

export interface OandaPrice {
  instrument: string;
  time?: string;
  bids?: OandaPriceBucket[];
  asks?: OandaPriceBucket[];
  closeoutBid?: string;
  closeoutAsk?: string;
  quoteHomeConversionFactors?: { positiveUnits?: string; negativeUnits?: string };
}

export interface OandaHomeConversion {
  currency: string;
  accountGain?: string;
  accountLoss?: string;
  positionValue?: string;
}

// ---- values ---------------------------------------------------------------------------------

/** A decimal string (or number) as a number; undefined when absent or not a finite number. */
export const decimal = (value: string | number | undefined | null): number | undefined => {
  if (value === undefined || value === null || value === '') return undefined;
  const parsed = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
};

const text = (value: string | undefined): string | undefined => (value ? value : undefined);

const withoutUndefined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/i;
const UNIX = /^(\d+)(?:\.(\d+))?$/;

/**
 * A v20 time as ISO-8601 UTC with milliseconds and `Z`. OANDA sends nanoseconds
 * (`2024-05-02T09:15:03.123456789Z`), which `Date` does not parse everywhere: the fraction is
 * cut to milliseconds (cut, not rounded, so a time never moves past a window's end). A UNIX
 * time (seconds with a fraction, what `Accept-Datetime-Format: UNIX` gives) is read too.
 */
export const isoTime = (time: string | undefined): string => {
  if (!time) return new Date(0).toISOString();
  const rfc = RFC3339.exec(time.trim());
  if (rfc) {
    const millis = (rfc[2] ?? '').padEnd(3, '0').slice(0, 3);
    const zone = rfc[3]?.toUpperCase() === 'Z' ? 'Z' : (rfc[3] ?? 'Z').replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
    const parsed = Date.parse(`${rfc[1]}.${millis}${zone}`);
    if (Number.isFinite(parsed)) return new Date(parsed).toISOString();
  }
  const unix = UNIX.exec(time.trim());
  if (unix) return new Date(Number(unix[1]) * 1000 + Number((unix[2] ?? '').padEnd(3, '0').slice(0, 3))).toISOString();
  const parsed = Date.parse(time);
  return new Date(Number.isFinite(parsed) ? parsed : 0).toISOString();
};

/** The side of signed units: long is positive. */
const sideOfUnits = (units: number): Side => (units < 0 ? 'sell' : 'buy');

/** Units as OANDA takes them: a decimal string without float noise (`0.30000000000000004` is `0.3`). */
export const formatUnits = (units: number, precision?: number): string => stripZeros(units.toFixed(precision ?? 10));

/** Signed units of an order: positive buys, negative sells. */
export const signedUnits = (side: Side, volume: number, precision?: number): string => formatUnits(side === 'buy' ? volume : -volume, precision);

/** A price with the instrument's display precision, the precision OANDA accepts for it. */
export const formatPrice = (price: number, precision: number): string => price.toFixed(Math.max(0, Math.min(precision, 20)));

const stripZeros = (value: string): string => {
  const stripped = value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
  return stripped === '-0' ? '0' : stripped;
};

/** Whether `volume` has no more decimals than `precision` allows. */
export const fitsUnitsPrecision = (volume: number, precision: number): boolean => {
  const scaled = volume * 10 ** precision;
  return Math.abs(scaled - Math.round(scaled)) < 1e-6;
};

// ---- account --------------------------------------------------------------------------------

/**
 * A hedging account holds several trades of an instrument, also of both sides. Without hedging
 * an order reduces the opposite trades first (netting), and the account is read as FIFO: US
 * accounts must close oldest first, and closing oldest first is allowed on every account. A
 * trade close carries no client id.
 */
/**
 * OANDA nets an instrument's trades into one position, but every order still opens a trade of
 * its own (the port's position): an add-on is never merged into an earlier trade, so in the
 * port's sense no OANDA account is `netting`. Without hedging, the trades of an instrument are
 * all of one side and close oldest first (treated as FIFO: that order is always allowed).
 */
export const toCapabilities = (summary: Pick<OandaAccountSummary, 'hedgingEnabled'>): AccountCapabilities => {
  const hedging = summary.hedgingEnabled === true;
  return { hedging, netting: false, fifo: !hedging, units: 'units', closeClientId: false };
};

/** Leverage from the margin rate (0.02 is 1:50); 1 when OANDA gives no rate. */
export const leverageOf = (marginRate: string | undefined): number => {
  const rate = decimal(marginRate);
  return rate !== undefined && rate > 0 ? Math.round(1 / rate) : 1;
};

export const toAccountInformation = (summary: OandaAccountSummary): AccountInformation => ({
  balance: decimal(summary.balance) ?? 0,
  equity: decimal(summary.NAV) ?? 0,
  margin: decimal(summary.marginUsed) ?? 0,
  freeMargin: decimal(summary.marginAvailable) ?? 0,
  currency: summary.currency,
  leverage: leverageOf(summary.marginRate),
});

// ---- instruments and prices -----------------------------------------------------------------

/** The currency an instrument is quoted in: what follows the last `_` (`EUR_USD` -> USD, `DE30_EUR` -> EUR). */
export const quoteCurrencyOf = (instrument: string): string | undefined => {
  const at = instrument.lastIndexOf('_');
  return at >= 0 && at < instrument.length - 1 ? instrument.slice(at + 1) : undefined;
};

const powerOfTen = (exponent: number): number => Number((10 ** -exponent).toFixed(Math.max(0, exponent)));

/** The filling modes of a v20 market order: its time in force. */
export const oandaFillingModes: readonly FillingMode[] = ['FOK', 'IOC'];

/**
 * An instrument's specification in units: one unit is the contract, prices have the display
 * precision's digits, volumes the trade units precision's. The tick value is what one tick of
 * one unit is worth in the account currency, from the quote currency's home conversion factor.
 */
export const toSymbolSpec = (instrument: OandaInstrument, quoteToHome?: number): SymbolSpec => {
  const tickSize = powerOfTen(instrument.displayPrecision);
  return withoutUndefined({
    symbol: instrument.name,
    digits: instrument.displayPrecision,
    contractSize: 1,
    volumeMin: decimal(instrument.minimumTradeSize) ?? powerOfTen(instrument.tradeUnitsPrecision),
    volumeStep: powerOfTen(instrument.tradeUnitsPrecision),
    volumeMax: decimal(instrument.maximumOrderUnits) ?? Number.MAX_SAFE_INTEGER,
    tickSize,
    fillingModes: [...oandaFillingModes],
    tickValue: quoteToHome !== undefined && quoteToHome > 0 ? Number((tickSize * quoteToHome).toPrecision(12)) : undefined,
    profitCurrency: quoteCurrencyOf(instrument.name),
  });
};

/** The instruments that convert `currency` into the account currency at market: direct (`JPY_USD`) or inverse (`USD_JPY`). */
export const crossInstruments = (currency: string, accountCurrency: string): { direct: string; inverse: string } => ({
  direct: `${currency}_${accountCurrency}`,
  inverse: `${accountCurrency}_${currency}`,
});

/**
 * The factor converting an amount of `currency` into the account currency, for a loss (sizing
 * by risk prices a loss): from the pricing answer's home conversions, else 1 for the account
 * currency itself, else the instrument's own (deprecated) quote conversion factors, else the
 * mid price of an instrument that crosses the two currencies (`prices` holds it when asked for).
 */
export const homeConversionFactor = (
  currency: string | undefined,
  accountCurrency: string | undefined,
  conversions: readonly OandaHomeConversion[] | undefined,
  prices: readonly OandaPrice[] | undefined,
  instrument?: string,
): number | undefined => {
  if (!currency) return undefined;
  const listed = conversions?.find((conversion) => conversion.currency === currency);
  const factor = decimal(listed?.accountLoss) ?? decimal(listed?.positionValue) ?? decimal(listed?.accountGain);
  if (factor !== undefined && factor > 0) return factor;
  if (currency === accountCurrency) return 1;
  const own = prices?.find((price) => price.instrument === instrument)?.quoteHomeConversionFactors;
  const ownFactor = decimal(own?.negativeUnits) ?? decimal(own?.positiveUnits);
  if (ownFactor !== undefined && ownFactor > 0) return ownFactor;
  if (!accountCurrency) return undefined;
  const { direct, inverse } = crossInstruments(currency, accountCurrency);
  const midOf = (name: string): number | undefined => {
    const price = prices?.find((candidate) => candidate.instrument === name);
    const quote = price ? toQuote(price) : undefined;
    return quote && quote.bid > 0 && quote.ask > 0 ? (quote.bid + quote.ask) / 2 : undefined;
  };
  const directMid = midOf(direct);
  if (directMid !== undefined) return directMid;
  const inverseMid = midOf(inverse);
  return inverseMid !== undefined ? 1 / inverseMid : undefined;
};

const best = (buckets: readonly OandaPriceBucket[] | undefined, pick: (...values: number[]) => number): number | undefined => {
  const prices = (buckets ?? []).map((bucket) => decimal(bucket.price)).filter((price): price is number => price !== undefined);
  return prices.length > 0 ? pick(...prices) : undefined;
};

/** The best bid and ask (the closeout prices when a side has no bucket); undefined without both. */
export const toQuote = (price: OandaPrice): Quote | undefined => {
  const bid = best(price.bids, Math.max) ?? decimal(price.closeoutBid);
  const ask = best(price.asks, Math.min) ?? decimal(price.closeoutAsk);
  if (bid === undefined || ask === undefined) return undefined;
  return { symbol: price.instrument, bid, ask, time: isoTime(price.time) };
};

// ---- trades and orders ----------------------------------------------------------------------

/** A dependent order's level while it is pending. */
const levelOf = (order: OandaOrder | undefined): number | undefined =>
  order && (order.state === undefined || order.state === 'PENDING') ? decimal(order.price) : undefined;

/**
 * An open trade as a position. Its stop levels are its dependent STOP_LOSS and TAKE_PROFIT
 * orders: embedded in a Trade, or looked up by id for a TradeSummary. Undefined for a trade
 * with nothing open.
 */
export const toPosition = (trade: OandaTrade, dependentOrder?: (orderId: string) => OandaOrder | undefined): Position | undefined => {
  const units = decimal(trade.currentUnits);
  if (units === undefined || units === 0 || trade.state === 'CLOSED') return undefined;
  const stopLossOrder = trade.stopLossOrder ?? (trade.stopLossOrderID ? dependentOrder?.(trade.stopLossOrderID) : undefined);
  const takeProfitOrder = trade.takeProfitOrder ?? (trade.takeProfitOrderID ? dependentOrder?.(trade.takeProfitOrderID) : undefined);
  return withoutUndefined({
    id: trade.id,
    symbol: trade.instrument,
    side: sideOfUnits(units),
    volume: Math.abs(units),
    openPrice: decimal(trade.price) ?? 0,
    stopLoss: levelOf(stopLossOrder),
    takeProfit: levelOf(takeProfitOrder),
    profit: decimal(trade.unrealizedPL),
    openedAt: isoTime(trade.openTime),
    comment: text(trade.clientExtensions?.comment),
    clientId: text(trade.clientExtensions?.id),
  });
};

/** Order types that wait for a price; the dependent ones (TAKE_PROFIT, STOP_LOSS, TRAILING_STOP_LOSS) belong to a trade. */
export const pendingOrderTypes: readonly string[] = ['LIMIT', 'STOP', 'MARKET_IF_TOUCHED'];

/**
 * LIMIT is a limit and STOP a stop. A MARKET_IF_TOUCHED order fills at market once touched: it
 * is a limit when it waits on the better side of the price it was placed at (a buy below), a
 * stop otherwise, and a stop when that price is not known.
 */
const pendingTypeOf = (order: OandaOrder, side: Side, price: number): PendingOrderType | undefined => {
  switch (order.type) {
    case 'LIMIT':
      return 'limit';
    case 'STOP':
      return 'stop';
    case 'MARKET_IF_TOUCHED': {
      const placedAt = decimal(order.initialMarketPrice);
      if (placedAt === undefined || placedAt === price) return 'stop';
      return (side === 'buy') === price < placedAt ? 'limit' : 'stop';
    }
    default:
      return undefined;
  }
};

/** A pending order as the domain sees it; undefined for a dependent or market order. */
export const toPendingOrder = (order: OandaOrder): PendingOrder | undefined => {
  const units = decimal(order.units);
  const price = decimal(order.price);
  if (!order.instrument || units === undefined || units === 0 || price === undefined) return undefined;
  const side = sideOfUnits(units);
  const type = pendingTypeOf(order, side, price);
  if (!type) return undefined;
  return withoutUndefined({
    id: order.id,
    symbol: order.instrument,
    side,
    type,
    volume: Math.abs(units),
    price,
    stopLoss: decimal(order.stopLossOnFill?.price),
    takeProfit: decimal(order.takeProfitOnFill?.price),
    createdAt: isoTime(order.createTime),
    comment: text(order.clientExtensions?.comment),
    clientId: text(order.clientExtensions?.id),
  });
};

// ---- deals ----------------------------------------------------------------------------------

const round = (value: number, decimals: number): number => Number(value.toFixed(decimals));

/** The deal id of a trade's opening: the trade's id, which on OANDA is the id of the fill that opened it. */
const openingDealId = (tradeId: string): string => tradeId;
/** The deal id of (part of) a trade's close: the fill's id and the trade's, so one fill closing several trades gives several deals. */
const closingDealId = (fillId: string, tradeId: string): string => `${fillId}-${tradeId}`;

/**
 * The deals of an ORDER_FILL transaction: each trade it closed or reduced is an "out" deal (with
 * its realized P/L and financing), the trade it opened an "in" deal. Every deal of one fill has
 * the fill's side. OANDA charges commission per fill (a positive amount that reduces the
 * balance): it is shared among the fill's deals by their units, as a negative amount. Empty for
 * any other transaction.
 */
export const toDeals = (fill: OandaTransaction): Deal[] => {
  if (fill.type !== 'ORDER_FILL' || !fill.instrument) return [];
  const instrument = fill.instrument;
  const fillUnits = decimal(fill.units) ?? 0;
  const sideOf = (units: number): Side => sideOfUnits(fillUnits !== 0 ? fillUnits : units);
  const time = isoTime(fill.time);
  const fillPrice = decimal(fill.price) ?? decimal(fill.fullVWAP) ?? 0;
  const orderId = text(fill.orderID);
  const closes = [...(fill.tradesClosed ?? []), ...(fill.tradeReduced ? [fill.tradeReduced] : [])];
  const deals: Deal[] = closes.map((close) => {
    const units = decimal(close.units) ?? 0;
    return withoutUndefined({
      id: closingDealId(fill.id, close.tradeID),
      positionId: close.tradeID,
      orderId,
      symbol: instrument,
      side: sideOf(units),
      entry: 'out' as const,
      volume: Math.abs(units),
      price: decimal(close.price) ?? fillPrice,
      profit: decimal(close.realizedPL) ?? 0,
      swap: decimal(close.financing),
      time,
      clientId: text(fill.clientOrderID),
    });
  });
  if (fill.tradeOpened) {
    const opened = fill.tradeOpened;
    const units = decimal(opened.units) ?? 0;
    deals.push(
      withoutUndefined({
        id: openingDealId(opened.tradeID),
        positionId: opened.tradeID,
        orderId,
        symbol: instrument,
        side: sideOf(units),
        entry: 'in' as const,
        volume: Math.abs(units),
        price: decimal(opened.price) ?? fillPrice,
        profit: 0,
        time,
        clientId: text(opened.clientExtensions?.id) ?? text(fill.clientOrderID),
      }),
    );
  }
  return shareCommission(deals, decimal(fill.commission));
};

/** The fill's commission spread over its deals by volume, the rounding left on the last one. */
const shareCommission = (deals: Deal[], commission: number | undefined): Deal[] => {
  const total = deals.reduce((sum, deal) => sum + deal.volume, 0);
  if (commission === undefined || commission === 0 || total === 0) return deals;
  let left = -commission;
  return deals.map((deal, index) => {
    const share = index === deals.length - 1 ? round(left, 8) : round((-commission * deal.volume) / total, 8);
    left -= share;
    return { ...deal, commission: share };
  });
};

/** The opening of a trade as an "in" deal, from the trade alone (when its fill is not at hand). */
export const openingDeal = (trade: OandaTrade): Deal => {
  const units = decimal(trade.initialUnits) ?? decimal(trade.currentUnits) ?? 0;
  return withoutUndefined({
    id: openingDealId(trade.id),
    positionId: trade.id,
    symbol: trade.instrument,
    side: sideOfUnits(units),
    entry: 'in' as const,
    volume: Math.abs(units),
    price: decimal(trade.price) ?? 0,
    profit: 0,
    time: isoTime(trade.openTime),
    clientId: text(trade.clientExtensions?.id),
  });
};

// ---- requests -------------------------------------------------------------------------------

/** What OANDA keeps of a comment (client extension strings are limited to 128 characters). */
const COMMENT_MAX = 128;

const extensions = (clientId: string, comment: string | undefined): OandaClientExtensions =>
  comment ? { id: clientId, comment: comment.slice(0, COMMENT_MAX) } : { id: clientId };

const onFill = (price: number, precision: number): OandaOnFillDetails => ({ price: formatPrice(price, precision), timeInForce: 'GTC' });

/**
 * The `order` of POST /orders for a trade request: a MARKET order filled or killed (or
 * immediate-or-cancel, when asked), a LIMIT or STOP order good till cancelled.
 *
 * Every order is `OPEN_ONLY` (`OrderPositionFill`): its fill only opens a trade, never reduces or
 * closes another (a copy must never close another copy's or the trader's trade; DEFAULT is
 * REDUCE_FIRST on an account without hedging).
 *
 * The client id goes on the trade the order opens (`tradeClientExtensions`), fetched as
 * `/trades/@<clientId>`. A MARKET order does not carry it itself: OANDA keeps a client order id
 * on every order, cancelled ones included, so a market order it accepted and cancelled at once
 * (MARKET_HALTED, BOUNDS_VIOLATION, ...) would make every later attempt a CLIENT_ORDER_ID_ALREADY_EXISTS.
 * A LIMIT or STOP order carries it as well (`clientExtensions`), to be found while it is pending.
 */
export const orderRequest = (request: TradeRequest, instrument: OandaInstrument): Record<string, unknown> => {
  const precision = instrument.displayPrecision;
  const market = request.type === 'market';
  const common = withoutUndefined({
    instrument: instrument.name,
    units: signedUnits(request.side, request.volume, instrument.tradeUnitsPrecision),
    positionFill: 'OPEN_ONLY',
    clientExtensions: market ? undefined : extensions(request.clientId, request.comment),
    tradeClientExtensions: extensions(request.clientId, request.comment),
    stopLossOnFill: request.stopLoss === undefined ? undefined : onFill(request.stopLoss, precision),
    takeProfitOnFill: request.takeProfit === undefined ? undefined : onFill(request.takeProfit, precision),
  });
  if (market) return { type: 'MARKET', timeInForce: request.fillingMode ?? 'FOK', ...common };
  return {
    type: request.type === 'limit' ? 'LIMIT' : 'STOP',
    price: formatPrice(request.price ?? 0, precision),
    timeInForce: 'GTC',
    ...common,
  };
};

/** The body of PUT /trades/{id}/orders: a number sets a level, null cancels its order, undefined leaves it. */
export const dependentOrdersRequest = (stops: StopLevels, precision: number): Record<string, unknown> => {
  const body: Record<string, unknown> = {};
  if (stops.stopLoss === null) body.stopLoss = null;
  else if (stops.stopLoss !== undefined) body.stopLoss = onFill(stops.stopLoss, precision);
  if (stops.takeProfit === null) body.takeProfit = null;
  else if (stops.takeProfit !== undefined) body.takeProfit = onFill(stops.takeProfit, precision);
  return body;
};

/**
 * The replacement of a pending order (PUT /orders/{id} cancels it and creates this one, under a
 * new id): the same type, instrument, units, time in force and client extensions, the new price;
 * a stop level given as a number is set, `null` drops it, `undefined` keeps the current one.
 */
export const replacementOrder = (current: OandaOrder, change: { price: number } & StopLevels, precision: number): Record<string, unknown> => {
  const level = (value: number | null | undefined, kept: OandaOnFillDetails | undefined): OandaOnFillDetails | undefined => {
    if (value === null) return undefined;
    return value === undefined ? kept : onFill(value, precision);
  };
  return withoutUndefined({
    type: current.type,
    instrument: current.instrument,
    units: current.units,
    price: formatPrice(change.price, precision),
    priceBound: current.priceBound,
    timeInForce: current.timeInForce ?? 'GTC',
    gtdTime: current.timeInForce === 'GTD' ? current.gtdTime : undefined,
    positionFill: current.positionFill,
    triggerCondition: current.triggerCondition,
    clientExtensions: current.clientExtensions,
    tradeClientExtensions: current.tradeClientExtensions,
    stopLossOnFill: level(change.stopLoss, current.stopLossOnFill),
    takeProfitOnFill: level(change.takeProfit, current.takeProfitOnFill),
    trailingStopLossOnFill: current.trailingStopLossOnFill,
  });
};

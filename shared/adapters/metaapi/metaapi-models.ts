import { type AccountCapabilities, hedgingLots } from '../../ports/broker';
import {
  fillingModes,
  type AccountInformation,
  type Deal,
  type FillingMode,
  type PendingOrder,
  type PendingOrderType,
  type Position,
  type Quote,
  type Side,
  type SymbolSpec,
} from '../../domain/trading';

/**
 * MetaApi's models as they arrive over the websocket, with only the fields this adapter
 * reads. The SDK turns every field named `time`/`...Time` into a `Date`; ids arrive as
 * strings although the SDK's typings say numbers, so both are accepted.
 */
export interface MetaApiPosition {
  id: string | number;
  type: string;
  symbol: string;
  time: Date | string;
  openPrice: number;
  volume: number;
  stopLoss?: number;
  takeProfit?: number;
  profit?: number;
  comment?: string;
  clientId?: string;
  magic?: number;
}

export interface MetaApiOrder {
  id: string | number;
  type: string;
  state?: string;
  symbol: string;
  time: Date | string;
  openPrice?: number;
  volume: number;
  currentVolume?: number;
  stopLoss?: number;
  takeProfit?: number;
  comment?: string;
  clientId?: string;
  magic?: number;
}

export interface MetaApiDeal {
  id: string | number;
  type: string;
  entryType?: string;
  symbol?: string;
  time: Date | string;
  volume?: number;
  price?: number;
  profit?: number;
  commission?: number;
  swap?: number;
  positionId?: string | number;
  orderId?: string | number;
  clientId?: string;
}

export interface MetaApiSymbolSpecification {
  symbol: string;
  tickSize: number;
  minVolume: number;
  maxVolume: number;
  volumeStep: number;
  contractSize?: number;
  digits: number;
  profitCurrency?: string;
  fillingModes?: string[];
}

export interface MetaApiSymbolPrice {
  symbol: string;
  bid: number;
  ask: number;
  profitTickValue?: number;
  lossTickValue?: number;
  time: Date | string;
}

export interface MetaApiAccountInformation {
  balance: number;
  equity: number;
  margin: number;
  freeMargin: number;
  currency: string;
  leverage: number;
  /** MT5: ACCOUNT_MARGIN_MODE_RETAIL_HEDGING, ..._RETAIL_NETTING or ..._EXCHANGE; MT4 hedges. */
  marginMode?: string;
}

/** An MT5 account in netting or exchange mode holds one position per symbol; every other account hedges. */
export const toCapabilities = (information: Pick<MetaApiAccountInformation, 'marginMode'>): AccountCapabilities => {
  const netting = information.marginMode === 'ACCOUNT_MARGIN_MODE_RETAIL_NETTING' || information.marginMode === 'ACCOUNT_MARGIN_MODE_EXCHANGE';
  return { ...hedgingLots, hedging: !netting, netting };
};

/** Times in UTC ISO-8601, whatever the SDK handed over (a Date or an ISO string). */
export const isoTime = (time: Date | string | undefined): string => new Date(time ?? 0).toISOString();

/** MetaTrader reports "no level" as absent or 0. */
const level = (value: number | undefined): number | undefined => (typeof value === 'number' && value > 0 ? value : undefined);

const text = (value: string | undefined): string | undefined => (value ? value : undefined);

const withoutUndefined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;

const positionSides: Record<string, Side> = { POSITION_TYPE_BUY: 'buy', POSITION_TYPE_SELL: 'sell' };

/**
 * The pending order types the domain knows. Stop-limit orders have no domain equivalent (a
 * stop that becomes a limit): they are left out, and what they fill into is seen as a position.
 */
const pendingTypes: Record<string, { side: Side; type: PendingOrderType }> = {
  ORDER_TYPE_BUY_LIMIT: { side: 'buy', type: 'limit' },
  ORDER_TYPE_SELL_LIMIT: { side: 'sell', type: 'limit' },
  ORDER_TYPE_BUY_STOP: { side: 'buy', type: 'stop' },
  ORDER_TYPE_SELL_STOP: { side: 'sell', type: 'stop' },
};

const dealSides: Record<string, Side> = { DEAL_TYPE_BUY: 'buy', DEAL_TYPE_SELL: 'sell' };

/**
 * Deal entries: a reversal on a netting account (INOUT) opens the new direction, so it counts
 * as "in"; a close by an opposite position (OUT_BY) as "out".
 */
const dealEntries: Record<string, Deal['entry']> = {
  DEAL_ENTRY_IN: 'in',
  DEAL_ENTRY_INOUT: 'in',
  DEAL_ENTRY_OUT: 'out',
  DEAL_ENTRY_OUT_BY: 'out',
};

/** Undefined for a position type the domain does not know. */
export const toPosition = (position: MetaApiPosition): Position | undefined => {
  const side = positionSides[position.type];
  if (!side) return undefined;
  return withoutUndefined({
    id: String(position.id),
    symbol: position.symbol,
    side,
    volume: position.volume,
    openPrice: position.openPrice,
    stopLoss: level(position.stopLoss),
    takeProfit: level(position.takeProfit),
    profit: position.profit,
    openedAt: isoTime(position.time),
    comment: text(position.comment),
    clientId: text(position.clientId),
    magic: position.magic,
  });
};

/** A pending order (also one from history) as the domain sees it; undefined for market and stop-limit orders. */
export const toPendingOrder = (order: MetaApiOrder): PendingOrder | undefined => {
  const kind = pendingTypes[order.type];
  if (!kind || order.openPrice === undefined) return undefined;
  return withoutUndefined({
    id: String(order.id),
    symbol: order.symbol,
    side: kind.side,
    type: kind.type,
    // A partly filled order still waits with what is left of it.
    volume: order.currentVolume ?? order.volume,
    price: order.openPrice,
    stopLoss: level(order.stopLoss),
    takeProfit: level(order.takeProfit),
    createdAt: isoTime(order.time),
    comment: text(order.comment),
    clientId: text(order.clientId),
    magic: order.magic,
  });
};

/** Undefined for what is not a trade (balance, credit, commission deals). */
export const toDeal = (deal: MetaApiDeal): Deal | undefined => {
  const side = dealSides[deal.type];
  const entry = deal.entryType ? dealEntries[deal.entryType] : undefined;
  if (!side || !entry || !deal.symbol || deal.positionId === undefined) return undefined;
  return withoutUndefined({
    id: String(deal.id),
    positionId: String(deal.positionId),
    orderId: deal.orderId === undefined ? undefined : String(deal.orderId),
    symbol: deal.symbol,
    side,
    entry,
    volume: deal.volume ?? 0,
    price: deal.price ?? 0,
    profit: deal.profit ?? 0,
    commission: deal.commission,
    swap: deal.swap,
    time: isoTime(deal.time),
    clientId: text(deal.clientId),
  });
};

/**
 * The symbol specification; the tick value comes from the current price (MetaApi reports it
 * there, per side): the loss tick value, because sizing by risk prices a loss.
 */
export const toSymbolSpec = (spec: MetaApiSymbolSpecification, price?: MetaApiSymbolPrice): SymbolSpec =>
  withoutUndefined({
    symbol: spec.symbol,
    digits: spec.digits,
    contractSize: spec.contractSize ?? 1,
    volumeMin: spec.minVolume,
    volumeStep: spec.volumeStep,
    volumeMax: spec.maxVolume,
    tickSize: spec.tickSize,
    tickValue: level(price?.lossTickValue) ?? level(price?.profitTickValue),
    profitCurrency: text(spec.profitCurrency),
    fillingModes: spec.fillingModes ? fillingModes.filter((mode) => spec.fillingModes?.includes(`SYMBOL_FILLING_${mode}`)) : undefined,
  });

export const toQuote = (price: MetaApiSymbolPrice): Quote => ({
  symbol: price.symbol,
  bid: price.bid,
  ask: price.ask,
  time: isoTime(price.time),
});

export const toAccountInformation = (information: MetaApiAccountInformation): AccountInformation => ({
  balance: information.balance,
  equity: information.equity,
  margin: information.margin,
  freeMargin: information.freeMargin,
  currency: information.currency,
  leverage: information.leverage,
});

/** MetaApi keeps client id and comment in one 26-character field. */
export const CLIENT_ID_AND_COMMENT_MAX = 26;

/**
 * The client id and comment a trade carries: the client id whole (it is the idempotency key),
 * the comment cut to what is left of the 26 characters. Undefined when the client id alone is
 * too long.
 */
/** MetaApi's trade options for a request: its labels and, when it asks for one, its filling mode. */
export const tradeOptions = (
  clientId: string,
  comment: string | undefined,
  fillingMode: FillingMode | undefined,
): { clientId: string; comment?: string; fillingModes?: string[] } | undefined => {
  const labels = tradeLabels(clientId, comment);
  return labels && fillingMode ? { ...labels, fillingModes: [`ORDER_FILLING_${fillingMode}`] } : labels;
};

export const tradeLabels = (clientId: string, comment?: string): { clientId: string; comment?: string } | undefined => {
  if (clientId.length > CLIENT_ID_AND_COMMENT_MAX) return undefined;
  const room = CLIENT_ID_AND_COMMENT_MAX - clientId.length;
  const kept = comment ? comment.slice(0, room) : '';
  return kept ? { clientId, comment: kept } : { clientId };
};

/**
 * The parts of the cTrader Open API this adapter speaks, as Spotware's published message
 * definitions (github.com/spotware/openapi-proto-messages) name and number them. Messages go
 * as JSON over a WebSocket: `{ clientMsgId, payloadType, payload }`, the payload's fields named
 * as in the definitions, enums as their numbers, int64 as JSON numbers.
 */

/** ProtoPayloadType and ProtoOAPayloadType values used here. */
export const payloadTypes = {
  errorRes: 50,
  heartbeat: 51,
  applicationAuthReq: 2100,
  applicationAuthRes: 2101,
  accountAuthReq: 2102,
  accountAuthRes: 2103,
  newOrderReq: 2106,
  cancelOrderReq: 2108,
  amendOrderReq: 2109,
  amendPositionSltpReq: 2110,
  closePositionReq: 2111,
  assetListReq: 2112,
  assetListRes: 2113,
  symbolsListReq: 2114,
  symbolsListRes: 2115,
  symbolByIdReq: 2116,
  symbolByIdRes: 2117,
  traderReq: 2121,
  traderRes: 2122,
  reconcileReq: 2124,
  reconcileRes: 2125,
  executionEvent: 2126,
  subscribeSpotsReq: 2127,
  subscribeSpotsRes: 2128,
  spotEvent: 2131,
  orderErrorEvent: 2132,
  dealListReq: 2133,
  dealListRes: 2134,
  oaErrorRes: 2142,
  accountsTokenInvalidatedEvent: 2147,
  clientDisconnectEvent: 2148,
  accountsByAccessTokenReq: 2149,
  accountsByAccessTokenRes: 2150,
  accountDisconnectEvent: 2164,
  refreshTokenReq: 2173,
  refreshTokenRes: 2174,
  orderListReq: 2175,
  orderListRes: 2176,
  positionUnrealizedPnlReq: 2187,
  positionUnrealizedPnlRes: 2188,
} as const;

export interface CtraderMessage {
  clientMsgId?: string;
  payloadType: number;
  payload?: Record<string, unknown>;
}

/** ProtoOATradeSide. */
export const tradeSides = { BUY: 1, SELL: 2 } as const;
/** ProtoOAOrderType. */
export const orderTypes = { MARKET: 1, LIMIT: 2, STOP: 3, STOP_LOSS_TAKE_PROFIT: 4, MARKET_RANGE: 5, STOP_LIMIT: 6 } as const;
/** ProtoOAExecutionType. */
export const executionTypes = {
  ORDER_ACCEPTED: 2,
  ORDER_FILLED: 3,
  ORDER_REPLACED: 4,
  ORDER_CANCELLED: 5,
  ORDER_EXPIRED: 6,
  ORDER_REJECTED: 7,
  ORDER_CANCEL_REJECTED: 8,
  SWAP: 9,
  DEPOSIT_WITHDRAW: 10,
  ORDER_PARTIAL_FILL: 11,
  BONUS_DEPOSIT_WITHDRAW: 12,
} as const;
/** ProtoOAAccountType. */
export const accountTypes = { HEDGED: 0, NETTED: 1, SPREAD_BETTING: 2 } as const;
/** ProtoOAPositionStatus. */
export const positionStatuses = { OPEN: 1, CLOSED: 2, CREATED: 3, ERROR: 4 } as const;
/** ProtoOADealStatus. */
export const dealStatuses = { FILLED: 2, PARTIALLY_FILLED: 3 } as const;

export interface CtraderTradeData {
  symbolId: number;
  /** In cents of units: 1,000 units is 100,000. */
  volume: number;
  tradeSide: number;
  openTimestamp?: number;
  label?: string;
  comment?: string;
}

export interface CtraderPosition {
  positionId: number;
  tradeData: CtraderTradeData;
  positionStatus: number;
  swap: number;
  price?: number;
  stopLoss?: number;
  takeProfit?: number;
  commission?: number;
  usedMargin?: number;
  moneyDigits?: number;
}

export interface CtraderOrder {
  orderId: number;
  tradeData: CtraderTradeData;
  orderType: number;
  orderStatus: number;
  executionPrice?: number;
  executedVolume?: number;
  closingOrder?: boolean;
  limitPrice?: number;
  stopPrice?: number;
  stopLoss?: number;
  takeProfit?: number;
  clientOrderId?: string;
  positionId?: number;
  utcLastUpdateTimestamp?: number;
}

export interface CtraderDeal {
  dealId: number;
  orderId: number;
  positionId: number;
  volume: number;
  filledVolume: number;
  symbolId: number;
  createTimestamp: number;
  executionTimestamp: number;
  executionPrice?: number;
  tradeSide: number;
  dealStatus: number;
  commission?: number;
  closePositionDetail?: {
    entryPrice: number;
    grossProfit: number;
    swap: number;
    commission: number;
    balance: number;
    closedVolume?: number;
    moneyDigits?: number;
  };
  moneyDigits?: number;
}

export interface CtraderExecutionEvent {
  ctidTraderAccountId: number;
  executionType: number;
  position?: CtraderPosition;
  order?: CtraderOrder;
  deal?: CtraderDeal;
  errorCode?: string;
}

export interface CtraderLightSymbol {
  symbolId: number;
  symbolName?: string;
  enabled?: boolean;
  baseAssetId?: number;
  quoteAssetId?: number;
}

export interface CtraderSymbol {
  symbolId: number;
  digits: number;
  pipPosition: number;
  maxVolume?: number;
  minVolume?: number;
  stepVolume?: number;
  lotSize?: number;
  tradingMode?: number;
}

export interface CtraderTrader {
  ctidTraderAccountId: number;
  balance: number;
  depositAssetId: number;
  leverageInCents?: number;
  traderLogin?: number;
  accountType?: number;
  moneyDigits?: number;
}

/** An amount the API sends as an integer with `moneyDigits` decimals. */
export const money = (value: number | undefined, moneyDigits: number | undefined): number =>
  value === undefined ? 0 : Number((value / 10 ** (moneyDigits ?? 2)).toFixed(moneyDigits ?? 2));

/** A price the API sends in 1/100000 of a unit (spots, relative stops). */
export const fromPoints = (value: number): number => Number((value / 100_000).toFixed(5));

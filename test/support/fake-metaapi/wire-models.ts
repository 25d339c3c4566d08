import type { BrokerErrorCode } from '../../../shared/domain/broker-errors';
import type { Deal, PendingOrder, Position, SymbolSpec } from '../../../shared/domain/trading';

/**
 * What a MetaApi server sends over the websocket, built from the simulated broker's book: the
 * MetaTrader enums (POSITION_TYPE_BUY, ORDER_TYPE_BUY_LIMIT, DEAL_ENTRY_IN...), ISO times and
 * string ids, as documented for MetatraderPosition, MetatraderOrder, MetatraderDeal,
 * MetatraderSymbolSpecification and MetatraderSymbolPrice.
 */

/** MetaApi's broker time: the server's zone (here EET, UTC+2), `YYYY-MM-DD HH:mm:ss.SSS`. */
export const brokerTime = (iso: string): string => new Date(Date.parse(iso) + 2 * 3_600_000).toISOString().replace('T', ' ').replace('Z', '');

export const wirePosition = (position: Position, currentPrice: number, tickValue: number | undefined) => ({
  id: position.id,
  platform: 'mt5',
  type: position.side === 'buy' ? 'POSITION_TYPE_BUY' : 'POSITION_TYPE_SELL',
  symbol: position.symbol,
  magic: 0,
  time: position.openedAt,
  brokerTime: brokerTime(position.openedAt),
  updateTime: position.openedAt,
  openPrice: position.openPrice,
  currentPrice,
  currentTickValue: tickValue ?? 1,
  ...(position.stopLoss !== undefined ? { stopLoss: position.stopLoss } : {}),
  ...(position.takeProfit !== undefined ? { takeProfit: position.takeProfit } : {}),
  volume: position.volume,
  swap: 0,
  realizedSwap: 0,
  unrealizedSwap: 0,
  profit: position.profit ?? 0,
  unrealizedProfit: position.profit ?? 0,
  realizedProfit: 0,
  commission: 0,
  realizedCommission: 0,
  unrealizedCommission: 0,
  ...(position.clientId ? { clientId: position.clientId } : {}),
  ...(position.comment ? { comment: position.comment } : {}),
  reason: position.clientId ? 'POSITION_REASON_EXPERT' : 'POSITION_REASON_CLIENT',
});

export const pendingOrderType = (order: Pick<PendingOrder, 'side' | 'type'>): string => `ORDER_TYPE_${order.side.toUpperCase()}_${order.type.toUpperCase()}`;

export const wireOrder = (
  order: PendingOrder,
  state: 'ORDER_STATE_PLACED' | 'ORDER_STATE_FILLED' | 'ORDER_STATE_CANCELED',
  currentPrice: number,
  doneTime?: string,
) => ({
  id: order.id,
  platform: 'mt5',
  type: pendingOrderType(order),
  state,
  symbol: order.symbol,
  magic: 0,
  time: order.createdAt,
  brokerTime: brokerTime(order.createdAt),
  ...(doneTime ? { doneTime, doneBrokerTime: brokerTime(doneTime) } : {}),
  openPrice: order.price,
  currentPrice,
  volume: order.volume,
  currentVolume: state === 'ORDER_STATE_PLACED' ? order.volume : 0,
  ...(order.stopLoss !== undefined ? { stopLoss: order.stopLoss } : {}),
  ...(order.takeProfit !== undefined ? { takeProfit: order.takeProfit } : {}),
  ...(order.clientId ? { clientId: order.clientId } : {}),
  ...(order.comment ? { comment: order.comment } : {}),
  fillingMode: 'ORDER_FILLING_RETURN',
  expirationType: 'ORDER_TIME_GTC',
  reason: order.clientId ? 'ORDER_REASON_EXPERT' : 'ORDER_REASON_CLIENT',
});

/** The market order a deal was executed by (history orders of market trades). */
export const wireDealOrder = (deal: Deal) => ({
  id: deal.orderId ?? deal.id,
  platform: 'mt5',
  type: deal.side === 'buy' ? 'ORDER_TYPE_BUY' : 'ORDER_TYPE_SELL',
  state: 'ORDER_STATE_FILLED',
  symbol: deal.symbol,
  magic: 0,
  time: deal.time,
  brokerTime: brokerTime(deal.time),
  doneTime: deal.time,
  doneBrokerTime: brokerTime(deal.time),
  openPrice: deal.price,
  volume: deal.volume,
  currentVolume: 0,
  positionId: deal.positionId,
  ...(deal.clientId ? { clientId: deal.clientId } : {}),
  fillingMode: 'ORDER_FILLING_FOK',
  expirationType: 'ORDER_TIME_GTC',
  reason: deal.clientId ? 'ORDER_REASON_EXPERT' : 'ORDER_REASON_CLIENT',
});

export const wireDeal = (deal: Deal) => ({
  id: deal.id,
  platform: 'mt5',
  type: deal.side === 'buy' ? 'DEAL_TYPE_BUY' : 'DEAL_TYPE_SELL',
  entryType: deal.entry === 'in' ? 'DEAL_ENTRY_IN' : 'DEAL_ENTRY_OUT',
  symbol: deal.symbol,
  magic: 0,
  time: deal.time,
  brokerTime: brokerTime(deal.time),
  volume: deal.volume,
  price: deal.price,
  commission: 0,
  swap: 0,
  profit: deal.profit,
  positionId: deal.positionId,
  ...(deal.orderId ? { orderId: deal.orderId } : {}),
  ...(deal.clientId ? { clientId: deal.clientId } : {}),
  reason: deal.clientId ? 'DEAL_REASON_EXPERT' : 'DEAL_REASON_CLIENT',
});

/** The deposit every new broker account starts with: a deal that is not a trade. */
export const wireBalanceDeal = (id: string, amount: number, time: string) => ({
  id,
  platform: 'mt5',
  type: 'DEAL_TYPE_BALANCE',
  time,
  brokerTime: brokerTime(time),
  commission: 0,
  swap: 0,
  profit: amount,
  comment: 'Deposit',
});

const currencies = (symbol: string) => {
  const match = /^([A-Z]{3})([A-Z]{3})/.exec(symbol);
  return match ? { base: match[1]!, quote: match[2]! } : { base: symbol, quote: 'USD' };
};

export const wireSpecification = (spec: SymbolSpec) => ({
  symbol: spec.symbol,
  tickSize: spec.tickSize,
  minVolume: spec.volumeMin,
  maxVolume: spec.volumeMax,
  volumeStep: spec.volumeStep,
  contractSize: spec.contractSize,
  digits: spec.digits,
  point: spec.tickSize,
  fillingModes: ['SYMBOL_FILLING_FOK', 'SYMBOL_FILLING_IOC'],
  executionMode: 'SYMBOL_TRADE_EXECUTION_MARKET',
  tradeMode: 'SYMBOL_TRADE_MODE_FULL',
  baseCurrency: currencies(spec.symbol).base,
  profitCurrency: spec.profitCurrency ?? currencies(spec.symbol).quote,
  marginCurrency: currencies(spec.symbol).base,
  description: spec.symbol,
  swapMode: 'SYMBOL_SWAP_MODE_POINTS',
  initialMargin: 0,
  maintenanceMargin: 0,
  stopsLevel: 0,
  freezeLevel: 0,
  allowedExpirationModes: ['SYMBOL_EXPIRATION_GTC'],
  allowedOrderTypes: ['SYMBOL_ORDER_MARKET', 'SYMBOL_ORDER_LIMIT', 'SYMBOL_ORDER_STOP', 'SYMBOL_ORDER_SL', 'SYMBOL_ORDER_TP'],
});

export const wirePrice = (quote: { symbol: string; bid: number; ask: number; time: string }, tickValue: number | undefined) => ({
  symbol: quote.symbol,
  bid: quote.bid,
  ask: quote.ask,
  profitTickValue: tickValue ?? 1,
  lossTickValue: tickValue ?? 1,
  time: quote.time,
  brokerTime: brokerTime(quote.time),
});

/**
 * The trade result code a MetaApi server answers for what the simulated broker refused:
 * MT5 retcodes where MetaTrader has one, MQL runtime errors for missing tickets and symbols.
 */
export const tradeResultCodes: Record<BrokerErrorCode, { stringCode: string; numericCode: number }> = {
  REQUOTE: { stringCode: 'TRADE_RETCODE_REQUOTE', numericCode: 10004 },
  PRICE_CHANGED: { stringCode: 'TRADE_RETCODE_PRICE_CHANGED', numericCode: 10020 },
  OFF_QUOTES: { stringCode: 'TRADE_RETCODE_PRICE_OFF', numericCode: 10021 },
  TOO_MANY_REQUESTS: { stringCode: 'TRADE_RETCODE_TOO_MANY_REQUESTS', numericCode: 10024 },
  BROKER_BUSY: { stringCode: 'TRADE_RETCODE_LOCKED', numericCode: 10028 },
  TIMEOUT: { stringCode: 'TRADE_RETCODE_TIMEOUT', numericCode: 10012 },
  CONNECTION: { stringCode: 'TRADE_RETCODE_CONNECTION', numericCode: 10031 },
  DUPLICATE_CLIENT_ID: { stringCode: 'TRADE_RETCODE_REJECT', numericCode: 10006 },
  MARKET_CLOSED: { stringCode: 'TRADE_RETCODE_MARKET_CLOSED', numericCode: 10018 },
  NO_MONEY: { stringCode: 'TRADE_RETCODE_NO_MONEY', numericCode: 10019 },
  TRADING_DISABLED: { stringCode: 'TRADE_RETCODE_TRADE_DISABLED', numericCode: 10017 },
  REJECTED: { stringCode: 'TRADE_RETCODE_REJECT', numericCode: 10006 },
  INVALID_STOPS: { stringCode: 'TRADE_RETCODE_INVALID_STOPS', numericCode: 10016 },
  INVALID_VOLUME: { stringCode: 'TRADE_RETCODE_INVALID_VOLUME', numericCode: 10014 },
  INVALID_PRICE: { stringCode: 'TRADE_RETCODE_INVALID_PRICE', numericCode: 10015 },
  INVALID_FILL: { stringCode: 'TRADE_RETCODE_INVALID_FILL', numericCode: 10030 },
  FIFO_VIOLATION: { stringCode: 'TRADE_RETCODE_FIFO_CLOSE', numericCode: 10045 },
  UNKNOWN_SYMBOL: { stringCode: 'ERR_MARKET_UNKNOWN_SYMBOL', numericCode: 4301 },
  POSITION_NOT_FOUND: { stringCode: 'ERR_TRADE_POSITION_NOT_FOUND', numericCode: 4753 },
  ORDER_NOT_FOUND: { stringCode: 'ERR_TRADE_ORDER_NOT_FOUND', numericCode: 4754 },
  AUTH_FAILED: { stringCode: 'TRADE_RETCODE_REJECT', numericCode: 10006 },
  NOT_CONFIGURED: { stringCode: 'TRADE_RETCODE_REJECT', numericCode: 10006 },
  UNKNOWN: { stringCode: 'TRADE_RETCODE_ERROR', numericCode: 10011 },
};

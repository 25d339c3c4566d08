import { BrokerError } from '../../domain/broker-errors';
import type { AccountInformation, Deal, PendingOrder, Position, Quote, StopLevels, SymbolSpec } from '../../domain/trading';
import type { AccountCapabilities, AccountView, BrokerPort, ClientIdMatch, TradeRequest, TradeResult } from '../../ports/broker';
import { pathOfPage, type OandaClient } from './oanda-client';
import { isNotFound, refusal } from './oanda-errors';
import {
  crossInstruments,
  decimal,
  dependentOrdersRequest,
  fitsUnitsPrecision,
  formatUnits,
  homeConversionFactor,
  openingDeal,
  oandaFillingModes,
  orderRequest,
  pendingOrderTypes,
  quoteCurrencyOf,
  replacementOrder,
  toAccountInformation,
  toCapabilities,
  toDeals,
  toPendingOrder,
  toPosition,
  toQuote,
  toSymbolSpec,
  type OandaAccountSummary,
  type OandaHomeConversion,
  type OandaInstrument,
  type OandaOrder,
  type OandaPrice,
  type OandaTrade,
  type OandaTransaction,
} from './oanda-models';

export interface OandaPortSettings {
  /** How long the account's instrument list is kept before it is read again. */
  instrumentsTtlMs: number;
  /** Page size of transaction queries (OANDA allows up to 1000). */
  transactionPageSize: number;
  now: () => Date;
}

export const defaultOandaPortSettings: OandaPortSettings = {
  instrumentsTtlMs: 60 * 60_000,
  transactionPageSize: 1000,
  now: () => new Date(),
};

/** The answers of the trade endpoints, as far as this port reads them. */
interface OrderAnswer {
  orderCreateTransaction?: OandaTransaction;
  orderFillTransaction?: OandaTransaction;
  orderCancelTransaction?: OandaTransaction;
  replacingOrderCancelTransaction?: OandaTransaction;
}

type DependentOrdersAnswer = Record<string, OandaTransaction | undefined>;

/** Most pages of transactions one query follows, so a misbehaving server cannot loop it. */
const MAX_PAGES = 100;

const pathId = (id: string): string => encodeURIComponent(id);

/**
 * One OANDA v20 account through its REST API. Positions are open trades, volumes are units,
 * symbols are OANDA instruments. Every call is one or a few bounded requests and fails only with
 * a classified `BrokerError`; a trade request whose answer is lost is `TIMEOUT`, which the copy
 * engine answers by looking the client id up (`GET /trades/@<clientId>`, `/orders/@<clientId>`).
 */
export class OandaBrokerPort implements BrokerPort {
  private instrumentList: { readAt: number; byName: Promise<Map<string, OandaInstrument>> } | undefined;

  constructor(
    private readonly client: OandaClient,
    private readonly settings: OandaPortSettings = defaultOandaPortSettings,
  ) {}

  async getCapabilities(): Promise<AccountCapabilities> {
    return toCapabilities(await this.summary());
  }

  async getAccountInformation(): Promise<AccountInformation> {
    return toAccountInformation(await this.summary());
  }

  async getPositions(): Promise<Position[]> {
    const { trades } = await this.client.get<{ trades?: OandaTrade[] }>('/openTrades');
    const list = trades ?? [];
    // A TradeSummary names its dependent orders by id only: their levels are read from the pending orders.
    const needsOrders = list.some((trade) => (trade.stopLossOrderID && !trade.stopLossOrder) || (trade.takeProfitOrderID && !trade.takeProfitOrder));
    const orders = needsOrders ? new Map((await this.orders()).map((order) => [order.id, order])) : undefined;
    return list.map((trade) => toPosition(trade, (id) => orders?.get(id))).filter((position): position is Position => position !== undefined);
  }

  async getPendingOrders(): Promise<PendingOrder[]> {
    return (await this.orders()).map(toPendingOrder).filter((order): order is PendingOrder => order !== undefined);
  }

  /**
   * Deals with `from <= time < to`, oldest first: the ORDER_FILL transactions of the window
   * (OANDA's window includes its end, and OANDA's times have nanoseconds: both are cut here),
   * read page by page.
   */
  async getDeals(from: string, to: string): Promise<Deal[]> {
    const start = Date.parse(from);
    const end = Date.parse(to);
    if (!Number.isFinite(start) || !Number.isFinite(end)) throw new BrokerError('REJECTED', `invalid deal window ${from} .. ${to}`);
    if (end <= start) return [];
    const index = await this.client.get<{ pages?: string[] }>('/transactions', {
      kind: 'read',
      query: {
        from: new Date(start).toISOString(),
        to: new Date(end).toISOString(),
        pageSize: String(this.settings.transactionPageSize),
        type: 'ORDER_FILL',
      },
    });
    const fills: OandaTransaction[] = [];
    for (const page of (index.pages ?? []).slice(0, MAX_PAGES)) {
      const path = pathOfPage(page);
      if (!path) throw new BrokerError('UNKNOWN', 'OANDA handed out a transaction page that is not a v20 path');
      const { transactions } = await this.client.get<{ transactions?: OandaTransaction[] }>(path);
      fills.push(...(transactions ?? []));
    }
    const seen = new Set<string>();
    return (
      fills
        .flatMap(toDeals)
        .filter((deal) => {
          const time = Date.parse(deal.time);
          if (time < start || time >= end || seen.has(deal.id)) return false;
          seen.add(deal.id);
          return true;
        })
        // Stable: deals of one millisecond stay in transaction order, a fill's closes before its open.
        .sort((a, b) => Date.parse(a.time) - Date.parse(b.time))
    );
  }

  /**
   * The instrument's specification; its tick value from the quote currency's home conversion
   * (or, where OANDA gives none, the price of an instrument crossing it with the account
   * currency). The specification stands without a tick value when those reads fail.
   */
  async getSymbolSpec(symbol: string): Promise<SymbolSpec | undefined> {
    const instruments = await this.instruments();
    const instrument = instruments.get(symbol);
    if (!instrument) return undefined;
    const quote = quoteCurrencyOf(instrument.name);
    const home = await this.summary().then(
      (summary) => summary.currency,
      () => undefined,
    );
    const crosses =
      quote && home && quote !== home ? Object.values(crossInstruments(quote, home)).filter((name) => instruments.has(name) && name !== symbol) : [];
    const answer = await this.pricing([symbol, ...crosses], true).catch(() => undefined);
    return toSymbolSpec(instrument, homeConversionFactor(quote, home, answer?.homeConversions, answer?.prices, symbol));
  }

  async getQuote(symbol: string): Promise<Quote | undefined> {
    if (!(await this.instruments()).has(symbol)) return undefined;
    const { prices } = await this.pricing([symbol], false);
    const price = prices?.find((candidate) => candidate.instrument === symbol);
    return price ? toQuote(price) : undefined;
  }

  async placeOrder(request: TradeRequest): Promise<TradeResult> {
    const instrument = await this.instrumentFor(request.symbol);
    if (!(Number.isFinite(request.volume) && request.volume > 0)) {
      throw new BrokerError('INVALID_VOLUME', `${request.volume} units is not a positive number`);
    }
    if (!fitsUnitsPrecision(request.volume, instrument.tradeUnitsPrecision)) {
      throw new BrokerError(
        'INVALID_VOLUME',
        `${request.volume} units has more decimals than ${instrument.name} allows (${instrument.tradeUnitsPrecision}): UNITS_PRECISION_EXCEEDED`,
      );
    }
    if (request.type !== 'market' && !(typeof request.price === 'number' && Number.isFinite(request.price) && request.price > 0)) {
      throw new BrokerError('INVALID_PRICE', `a ${request.type} order needs a price`);
    }
    if (request.type === 'market' && request.fillingMode && !oandaFillingModes.includes(request.fillingMode)) {
      throw new BrokerError('INVALID_FILL', `OANDA fills a market order FOK or IOC, not ${request.fillingMode}`);
    }
    const answer = await this.client.post<OrderAnswer>('/orders', { order: orderRequest(request, instrument) });
    const fill = answer.orderFillTransaction;
    const orderId = answer.orderCreateTransaction?.id ?? fill?.orderID;
    if (fill) {
      // A fill on a netting account may close other trades first: what it opened is the result.
      const opened = fill.tradeOpened;
      return withoutUndefined({
        positionId: opened?.tradeID,
        orderId,
        price: decimal(opened?.price) ?? decimal(fill.price),
        volume: opened ? Math.abs(decimal(opened.units) ?? 0) : undefined,
      });
    }
    const cancelled = answer.orderCancelTransaction;
    if (cancelled && (!orderId || !cancelled.orderID || cancelled.orderID === orderId)) {
      throw refusal(cancelled.reason ?? 'ORDER_CANCELLED', `the ${request.type} order`);
    }
    if (request.type === 'market') {
      throw new BrokerError('TIMEOUT', 'OANDA answered the market order with neither a fill nor a cancellation');
    }
    return withoutUndefined({ orderId, price: request.price, volume: request.volume });
  }

  /** Sets the trade's dependent STOP_LOSS and TAKE_PROFIT orders: a number sets one, null cancels it, undefined leaves it. */
  async modifyPosition(positionId: string, stops: StopLevels): Promise<void> {
    if (stops.stopLoss === undefined && stops.takeProfit === undefined) return;
    const { trade } = await this.client.get<{ trade: OandaTrade }>(`/trades/${pathId(positionId)}`, { kind: 'read', subject: 'position' });
    if (!toPosition(trade)) throw new BrokerError('POSITION_NOT_FOUND', `trade ${positionId} is closed`);
    const instrument = await this.instrumentFor(trade.instrument);
    const answer = await this.client.put<DependentOrdersAnswer>(
      `/trades/${pathId(positionId)}/orders`,
      dependentOrdersRequest(stops, instrument.displayPrecision),
      { subject: 'position' },
    );
    // A dependent order created and cancelled at once was refused.
    for (const key of ['stopLossOrderCreatedCancelTransaction', 'takeProfitOrderCreatedCancelTransaction'] as const) {
      const cancelled = answer[key];
      if (cancelled) throw refusal(cancelled.reason ?? 'ORDER_CANCELLED', `the ${key.startsWith('stop') ? 'stop loss' : 'take profit'} of trade ${positionId}`);
    }
  }

  /**
   * Replaces the pending order with one at the new price (OANDA cancels it and creates the
   * replacement under a new id, which is returned). Units, type, client extensions and the
   * levels left undefined are those of the current order, read first.
   */
  async modifyOrder(orderId: string, change: { price: number } & StopLevels): Promise<{ orderId: string }> {
    const { order } = await this.client.get<{ order: OandaOrder }>(`/orders/${pathId(orderId)}`, { kind: 'read', subject: 'order' });
    if (!pendingOrderTypes.includes(order.type) || (order.state !== undefined && order.state !== 'PENDING') || !order.instrument) {
      throw new BrokerError('ORDER_NOT_FOUND', `order ${orderId} is not a pending order (${order.type} ${order.state ?? ''})`.trim());
    }
    const instrument = await this.instrumentFor(order.instrument);
    const answer = await this.client.put<OrderAnswer>(
      `/orders/${pathId(orderId)}`,
      { order: replacementOrder(order, change, instrument.displayPrecision) },
      { subject: 'order' },
    );
    const replacing = answer.replacingOrderCancelTransaction;
    if (replacing) throw refusal(replacing.reason ?? 'ORDER_CANCELLED', `the replacement of order ${orderId}`);
    const replacedBy = answer.orderCreateTransaction?.id ?? answer.orderCancelTransaction?.replacedByOrderID;
    if (!replacedBy) throw new BrokerError('TIMEOUT', `OANDA replaced order ${orderId} without naming the replacement`);
    return { orderId: replacedBy };
  }

  /** Closes the trade, or `volume` units of it. A v20 trade close carries no client id (`closeClientId: false`). */
  async closePosition(positionId: string, options: { volume?: number; clientId?: string }): Promise<TradeResult> {
    if (options.volume !== undefined && !(Number.isFinite(options.volume) && options.volume > 0)) {
      throw new BrokerError('INVALID_VOLUME', `${options.volume} units is not a positive number`);
    }
    const units = options.volume === undefined ? 'ALL' : formatUnits(options.volume);
    const answer = await this.client.put<OrderAnswer>(`/trades/${pathId(positionId)}/close`, { units }, { subject: 'position' });
    const fill = answer.orderFillTransaction;
    if (!fill) {
      const cancelled = answer.orderCancelTransaction;
      throw cancelled
        ? refusal(cancelled.reason ?? 'ORDER_CANCELLED', `the close of trade ${positionId}`)
        : new BrokerError('TIMEOUT', `OANDA answered the close of trade ${positionId} without a fill`);
    }
    const closes = [...(fill.tradesClosed ?? []), ...(fill.tradeReduced ? [fill.tradeReduced] : [])];
    const closed = closes.find((close) => close.tradeID === positionId) ?? closes[0];
    return withoutUndefined({
      positionId,
      orderId: fill.orderID ?? answer.orderCreateTransaction?.id,
      price: decimal(closed?.price) ?? decimal(fill.price),
      volume: Math.abs(decimal(closed?.units) ?? decimal(fill.units) ?? 0),
    });
  }

  async cancelOrder(orderId: string): Promise<void> {
    await this.client.put<unknown>(`/orders/${pathId(orderId)}/cancel`, undefined, { subject: 'order' });
  }

  /**
   * What a request with this client id left: the trade it opened (`/trades/@id`: a position
   * while open) and its opening deal, the pending order it placed (`/orders/@id`), and when that
   * order was filled, the deals of its fill (a netting fill closes or reduces other trades). A
   * client id nothing carries finds nothing.
   */
  async findByClientId(clientId: string): Promise<ClientIdMatch> {
    const specifier = `@${encodeURIComponent(clientId)}`;
    const [trade, order] = await Promise.all([
      orNothing(this.client.get<{ trade?: OandaTrade }>(`/trades/${specifier}`, { kind: 'read', subject: 'position' }).then((answer) => answer.trade)),
      orNothing(this.client.get<{ order?: OandaOrder }>(`/orders/${specifier}`, { kind: 'read', subject: 'order' }).then((answer) => answer.order)),
    ]);
    const fill = order?.fillingTransactionID ? await this.transaction(order.fillingTransactionID) : undefined;
    const deals = fill ? toDeals(fill) : [];
    if (trade && !deals.some((deal) => deal.entry === 'in' && deal.positionId === trade.id)) deals.push(openingDeal(trade));
    const position = trade ? toPosition(trade) : undefined;
    const pending = order && order.state === 'PENDING' ? toPendingOrder(order) : undefined;
    return { positions: position ? [position] : [], orders: pending ? [pending] : [], deals };
  }

  // ---- the account at one transaction (what a stream shows) -------------------------------------

  /**
   * Open trades, pending orders and funds as of one transaction: the three are read together
   * and read again (twice at most) when a transaction came between them, as each answer's
   * `lastTransactionID` tells.
   */
  async snapshot(): Promise<{ view: AccountView; lastTransactionID?: string }> {
    for (let attempt = 1; ; attempt += 1) {
      const [trades, orders, summary] = await Promise.all([
        this.client.get<{ trades?: OandaTrade[]; lastTransactionID?: string }>('/openTrades'),
        this.client.get<{ orders?: OandaOrder[]; lastTransactionID?: string }>('/pendingOrders'),
        this.client.get<{ account: OandaAccountSummary; lastTransactionID?: string }>('/summary'),
      ]);
      const lastTransactionID = summary.lastTransactionID ?? summary.account.lastTransactionID;
      const consistent = trades.lastTransactionID === orders.lastTransactionID && orders.lastTransactionID === lastTransactionID;
      if (!consistent && attempt < 3) continue;
      const byId = new Map((orders.orders ?? []).map((order) => [order.id, order]));
      return {
        view: {
          positions: (trades.trades ?? [])
            .map((trade) => toPosition(trade, (id) => byId.get(id)))
            .filter((position): position is Position => position !== undefined),
          orders: (orders.orders ?? []).map(toPendingOrder).filter((order): order is PendingOrder => order !== undefined),
          account: toAccountInformation(summary.account),
        },
        lastTransactionID,
      };
    }
  }

  /** The account's funds and the last transaction they are as of. */
  async funds(): Promise<{ account: AccountInformation; lastTransactionID?: string }> {
    const answer = await this.client.get<{ account: OandaAccountSummary; lastTransactionID?: string }>('/summary');
    return { account: toAccountInformation(answer.account), lastTransactionID: answer.lastTransactionID ?? answer.account.lastTransactionID };
  }

  // ---- reads ----------------------------------------------------------------------------------

  private async summary(): Promise<OandaAccountSummary> {
    return (await this.client.get<{ account: OandaAccountSummary }>('/summary')).account;
  }

  private async orders(): Promise<OandaOrder[]> {
    return (await this.client.get<{ orders?: OandaOrder[] }>('/pendingOrders')).orders ?? [];
  }

  private pricing(symbols: string[], homeConversions: boolean): Promise<{ prices?: OandaPrice[]; homeConversions?: OandaHomeConversion[] }> {
    return this.client.get('/pricing', {
      kind: 'read',
      query: { instruments: symbols.join(','), ...(homeConversions ? { includeHomeConversions: 'true' } : {}) },
    });
  }

  private async transaction(id: string): Promise<OandaTransaction | undefined> {
    // A transaction that is not there reads as a missing order: nothing to report.
    const answer = await orNothing(this.client.get<{ transaction?: OandaTransaction }>(`/transactions/${pathId(id)}`, { kind: 'read', subject: 'order' }));
    return answer?.transaction;
  }

  /** The account's instruments by name, read once per `instrumentsTtlMs` (a failed read is not kept). */
  private instruments(): Promise<Map<string, OandaInstrument>> {
    const now = this.settings.now().getTime();
    if (!this.instrumentList || now - this.instrumentList.readAt >= this.settings.instrumentsTtlMs) {
      const byName = this.client
        .get<{ instruments?: OandaInstrument[] }>('/instruments')
        .then(({ instruments }) => new Map((instruments ?? []).map((instrument) => [instrument.name, instrument])));
      const entry = { readAt: now, byName };
      this.instrumentList = entry;
      byName.catch(() => {
        if (this.instrumentList === entry) this.instrumentList = undefined;
      });
    }
    return this.instrumentList.byName;
  }

  private async instrumentFor(symbol: string): Promise<OandaInstrument> {
    const instrument = (await this.instruments()).get(symbol);
    if (!instrument) throw new BrokerError('UNKNOWN_SYMBOL', `OANDA offers no instrument ${symbol} on this account`);
    return instrument;
  }
}

/** The answer, or undefined when the trade, order or transaction asked for does not exist. */
const orNothing = async <T>(request: Promise<T>): Promise<T | undefined> => {
  try {
    return await request;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
};

const withoutUndefined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;

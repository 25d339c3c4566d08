import { BrokerError, isBrokerError } from '../../domain/broker-errors';
import type { AccountInformation, Deal, PendingOrder, Position, Quote, StopLevels, SymbolSpec } from '../../domain/trading';
import type { AccountCapabilities, AccountView, BrokerPort, ClientIdMatch, TradeRequest, TradeResult } from '../../ports/broker';
import { pathOfPage, type OandaClient } from './oanda-client';
import { isNotFound, refusal } from './oanda-errors';
import {
  crossInstruments,
  decimal,
  dependentOrdersRequest,
  fitsUnitsPrecision,
  formatPrice,
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

/** Most replacements followed from an order to its live replacement. */
const MAX_REPLACEMENTS = 20;

const pathId = (id: string): string => encodeURIComponent(id);

/**
 * One OANDA v20 account through its REST API. Positions are open trades, volumes are units,
 * symbols are OANDA instruments. Every call is one or a few bounded requests and fails only with
 * a classified `BrokerError`; a trade request whose answer is lost is `TIMEOUT`, which the copy
 * engine answers by looking the client id up (`GET /trades/@<clientId>`, `/orders/@<clientId>`).
 */
/** How long a connection trusts the account's capabilities. */
const CAPABILITIES_TTL_MS = 5 * 60_000;

export class OandaBrokerPort implements BrokerPort {
  private instrumentList: { readAt: number; byName: Promise<Map<string, OandaInstrument>> } | undefined;

  constructor(
    private readonly client: OandaClient,
    private readonly settings: OandaPortSettings = defaultOandaPortSettings,
  ) {}

  /**
   * Read at most every five minutes per connection: every close asks (FIFO), and an account's
   * hedging setting changes rarely (an order on a non-hedging account reads it again anyway).
   */
  async getCapabilities(): Promise<AccountCapabilities> {
    const now = Date.now();
    if (!this.capabilities || this.capabilities.until <= now) {
      const read = this.summary().then(toCapabilities);
      this.capabilities = { read, until: now + CAPABILITIES_TTL_MS };
      read.catch(() => {
        if (this.capabilities?.read === read) this.capabilities = undefined;
      });
    }
    return this.capabilities.read;
  }

  private capabilities: { read: Promise<AccountCapabilities>; until: number } | undefined;

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
    await Promise.all([
      this.refuseAgainstOpenTrades(request.symbol, request.side),
      request.type === 'market' ? undefined : this.refuseMarketable(request.symbol, request.side, request.type, request.price ?? 0),
    ]);
    let answer: OrderAnswer;
    try {
      answer = await this.client.post<OrderAnswer>('/orders', { order: orderRequest(request, instrument) });
    } catch (error) {
      if (request.type !== 'market' && isBrokerError(error) && error.code === 'DUPLICATE_CLIENT_ID') await this.refuseBurntClientId(request.clientId, error);
      throw error;
    }
    const fill = answer.orderFillTransaction;
    const orderId = answer.orderCreateTransaction?.id ?? fill?.orderID;
    if (fill) {
      // An OPEN_ONLY fill only opens: the trade it opened is the result.
      const opened = fill.tradeOpened;
      return withoutUndefined({
        positionId: opened?.tradeID,
        // A limit or stop order that filled at once (the market reached it after the price was read)
        // is executed: a position, no pending order to track.
        orderId: request.type === 'market' ? orderId : undefined,
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
   *
   * An order already replaced (CANCELLED with `replacedByOrderID`: an earlier modify whose answer
   * was lost) is followed to its live replacement, which is returned as it is when it already
   * has the asked price and levels, and replaced otherwise. A new price the market has already
   * reached is refused (`INVALID_PRICE`, nothing sent), as when placing. Should the replacement
   * fill at once nevertheless (the market moved after the price was read: `orderFillTransaction`
   * in the answer), its id is returned all the same: that order is then FILLED, not pending, and
   * the trade it opened carries the client id (found by `findByClientId`).
   */
  async modifyOrder(orderId: string, change: { price: number } & StopLevels): Promise<{ orderId: string }> {
    const { order, followed } = await this.liveOrder(orderId);
    if (!pendingOrderTypes.includes(order.type) || (order.state !== undefined && order.state !== 'PENDING') || !order.instrument) {
      const via = order.id !== orderId ? ` (replaced by order ${order.id})` : '';
      throw new BrokerError('ORDER_NOT_FOUND', `order ${orderId}${via} is not a pending order (${order.type} ${order.state ?? ''})`.trim());
    }
    const instrument = await this.instrumentFor(order.instrument);
    if (followed && hasLevels(order, change, instrument.displayPrecision)) return { orderId: order.id };
    const side = (decimal(order.units) ?? 0) < 0 ? 'sell' : 'buy';
    await this.refuseMarketable(order.instrument, side, order.type === 'LIMIT' ? 'limit' : 'stop', change.price);
    const answer = await this.client.put<OrderAnswer>(
      `/orders/${pathId(order.id)}`,
      { order: replacementOrder(order, change, instrument.displayPrecision) },
      { subject: 'order' },
    );
    const replacing = answer.replacingOrderCancelTransaction;
    if (replacing) throw refusal(replacing.reason ?? 'ORDER_CANCELLED', `the replacement of order ${order.id}`);
    const replacedBy = answer.orderCreateTransaction?.id ?? answer.orderCancelTransaction?.replacedByOrderID ?? answer.orderFillTransaction?.orderID;
    if (!replacedBy) throw new BrokerError('TIMEOUT', `OANDA replaced order ${order.id} without naming the replacement`);
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

  /**
   * Cancels the pending order. One already replaced (an earlier modify whose answer was lost) is
   * followed to its live replacement, which is cancelled.
   */
  async cancelOrder(orderId: string): Promise<void> {
    try {
      await this.client.put<unknown>(`/orders/${pathId(orderId)}/cancel`, undefined, { subject: 'order' });
    } catch (error) {
      if (!(isBrokerError(error) && error.code === 'ORDER_NOT_FOUND')) throw error;
      const live = await orNothing(this.liveOrder(orderId));
      if (!live?.followed || live.order.state !== 'PENDING') throw error;
      await this.client.put<unknown>(`/orders/${pathId(live.order.id)}/cancel`, undefined, { subject: 'order' });
    }
  }

  /**
   * What a request with this client id left: the trade it opened (`/trades/@id`, open or closed:
   * a position while open) with its opening deal, and the LIMIT or STOP order it placed while
   * pending (`/orders/@id`). A market order carries no client order id (see `orderRequest`): its
   * copy is found by its trade alone. Only the deal that opened the copy's trade is reported,
   * never deals of other trades. A client id nothing carries finds nothing.
   */
  async findByClientId(clientId: string): Promise<ClientIdMatch> {
    const specifier = `@${encodeURIComponent(clientId)}`;
    const [trade, order] = await Promise.all([
      orNothing(this.client.get<{ trade?: OandaTrade }>(`/trades/${specifier}`, { kind: 'read', subject: 'position' }).then((answer) => answer.trade)),
      orNothing(this.client.get<{ order?: OandaOrder }>(`/orders/${specifier}`, { kind: 'read', subject: 'order' }).then((answer) => answer.order)),
    ]);
    const deals: Deal[] = [];
    if (trade) {
      // A v20 trade's id is that of the ORDER_FILL that opened it.
      const fill = await this.transaction(trade.id);
      const opening = (fill ? toDeals(fill) : []).filter((deal) => deal.entry === 'in' && deal.positionId === trade.id);
      deals.push(...(opening.length > 0 ? opening : [openingDeal(trade)]));
    }
    const position = trade ? toPosition(trade) : undefined;
    const pending = order && order.state === 'PENDING' && pendingOrderTypes.includes(order.type) ? toPendingOrder(order) : undefined;
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
      const summaryID = summary.lastTransactionID ?? summary.account.lastTransactionID;
      const consistent = trades.lastTransactionID === orders.lastTransactionID && orders.lastTransactionID === summaryID;
      if (!consistent && attempt < 3) continue;
      // Reads that still disagree are stamped with the oldest transaction any of them is as of
      // (none when one does not say): the view is not current, and the next heartbeat, which names
      // a later transaction, reads the account again.
      const lastTransactionID = consistent ? summaryID : oldestTransactionID([trades.lastTransactionID, orders.lastTransactionID, summaryID]);
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

  // ---- checks before a trade request ------------------------------------------------------------

  /**
   * On an account without hedging, a fill on the other side of the instrument's open trades would
   * close them (DEFAULT fills reduce first there; OPEN_ONLY cannot fill): refused, nothing sent, so
   * a copy never closes another copy's or the trader's trade.
   */
  private async refuseAgainstOpenTrades(symbol: string, side: 'buy' | 'sell'): Promise<void> {
    if ((await this.summary()).hedgingEnabled === true) return;
    const { trades } = await this.client.get<{ trades?: OandaTrade[] }>('/openTrades');
    const sign = side === 'buy' ? 1 : -1;
    const against = (trades ?? []).filter((trade) => trade.instrument === symbol && Math.sign(decimal(trade.currentUnits) ?? 0) === -sign);
    if (against.length > 0) {
      throw new BrokerError(
        'REJECTED',
        `the OANDA account does not hedge: a ${side} order against the open trades of ${symbol} (${against.map((trade) => trade.id).join(', ')}) would close them; nothing was sent`,
      );
    }
  }

  /**
   * A limit or stop order the market has already reached would fill at once (a buy limit at or
   * above the ask, a sell limit at or below the bid, a buy stop at or below the ask, a sell stop
   * at or above the bid): refused, nothing sent, as MetaTrader brokers refuse it.
   */
  private async refuseMarketable(symbol: string, side: 'buy' | 'sell', type: 'limit' | 'stop', price: number): Promise<void> {
    const { prices } = await this.pricing([symbol], false);
    const found = prices?.find((candidate) => candidate.instrument === symbol);
    const quote = found ? toQuote(found) : undefined;
    if (!quote) throw new BrokerError('OFF_QUOTES', `OANDA gave no price of ${symbol} to check the ${type} order against`);
    const reached = type === 'limit' ? (side === 'buy' ? price >= quote.ask : price <= quote.bid) : side === 'buy' ? price <= quote.ask : price >= quote.bid;
    if (reached) {
      throw new BrokerError(
        'INVALID_PRICE',
        `a ${side} ${type} at ${price} is already reached by the market (bid ${quote.bid}, ask ${quote.ask}): it would fill at once`,
      );
    }
  }

  /**
   * A client order id OANDA says is taken: when it is on an order OANDA cancelled unfilled, the
   * earlier attempt had no effect and reconciling would find nothing, so it is refused for good
   * (`REJECTED`) instead of being reported as an attempt that got through.
   */
  private async refuseBurntClientId(clientId: string, duplicate: BrokerError): Promise<void> {
    const found = await orNothing(
      this.client.get<{ order?: OandaOrder }>(`/orders/@${encodeURIComponent(clientId)}`, { kind: 'read', subject: 'order' }).then((answer) => answer.order),
    ).catch(() => undefined);
    if (found?.state === 'CANCELLED' && !found.fillingTransactionID && !found.replacedByOrderID) {
      throw new BrokerError(
        'REJECTED',
        `client id ${clientId} is taken by OANDA order ${found.id}, which was cancelled unfilled: nothing was placed, and OANDA refuses the id again`,
        { cause: duplicate },
      );
    }
  }

  // ---- reads ----------------------------------------------------------------------------------

  /** The order, or where it was replaced (CANCELLED, `replacedByOrderID`), the last order of its chain of replacements. */
  private async liveOrder(orderId: string): Promise<{ order: OandaOrder; followed: boolean }> {
    let { order } = await this.client.get<{ order: OandaOrder }>(`/orders/${pathId(orderId)}`, { kind: 'read', subject: 'order' });
    let followed = false;
    for (let hop = 0; hop < MAX_REPLACEMENTS && order.state === 'CANCELLED' && order.replacedByOrderID; hop += 1) {
      ({ order } = await this.client.get<{ order: OandaOrder }>(`/orders/${pathId(order.replacedByOrderID)}`, { kind: 'read', subject: 'order' }));
      followed = true;
    }
    return { order, followed };
  }

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

/** Whether the order already has the price and the levels the change asks for (a level left undefined is any). */
const hasLevels = (order: OandaOrder, change: { price: number } & StopLevels, precision: number): boolean => {
  const same = (value: string | undefined, wanted: number) => decimal(value) === decimal(formatPrice(wanted, precision));
  const level = (wanted: number | null | undefined, details: { price?: string } | undefined) =>
    wanted === undefined || (wanted === null ? details === undefined : same(details?.price, wanted));
  return same(order.price, change.price) && level(change.stopLoss, order.stopLossOnFill) && level(change.takeProfit, order.takeProfitOnFill);
};

/** The smallest of transaction ids (decimal integers), undefined when one is missing or not a number. */
const oldestTransactionID = (ids: (string | undefined)[]): string | undefined => {
  let oldest: bigint | undefined;
  for (const id of ids) {
    if (id === undefined || !/^\d+$/.test(id)) return undefined;
    const value = BigInt(id);
    if (oldest === undefined || value < oldest) oldest = value;
  }
  return oldest?.toString();
};

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

import { BrokerError, isBrokerError } from '../../domain/broker-errors';
import { div, exact, mul, toNumber } from '../../domain/exact';
import type { AccountInformation, Deal, PendingOrder, Position, Quote, Side, StopLevels, SymbolSpec } from '../../domain/trading';
import { lotsOf } from '../../domain/volume';
import type { AccountCapabilities, AccountView, BrokerPort, ClientIdMatch, TradeRequest, TradeResult } from '../../ports/broker';
import { CtraderRefusal, isTokenRefusal } from './ctrader-errors';
import {
  accountTypes,
  type CtraderDeal,
  type CtraderExecutionEvent,
  type CtraderLightSymbol,
  type CtraderMessage,
  type CtraderOrder,
  type CtraderPosition,
  type CtraderSymbol,
  type CtraderTrader,
  dealStatuses,
  executionTypes,
  money,
  orderTypes,
  payloadTypes,
  positionStatuses,
  tradeSides,
} from './ctrader-protocol';
import { type CtraderSession, only, type Settle } from './ctrader-session';

/** How the port reaches its account: the session and the account's tokens. */
export interface CtraderAccountAccess {
  session: CtraderSession;
  ctidTraderAccountId: number;
  /** The account's access token (decrypted for the request that needs it). */
  accessToken: () => Promise<string>;
  /** A new access token after cTrader refused `stale` (expired): refreshed with the refresh token, and stored. */
  refreshAccessToken: (stale: string) => Promise<string>;
  now?: () => Date;
}

/** How long the port keeps the symbol list, the assets and the capabilities. */
const CATALOG_TTL_MS = 60 * 60_000;
const CAPABILITIES_TTL_MS = 5 * 60_000;
/** How far back a client id is looked for in the order history. */
const LOOKUP_WINDOW_MS = 24 * 60 * 60_000;
const QUOTE_WAIT_MS = 3_000;

/** The account's open positions and pending orders, as one reconcile answered them. */
interface Reconciled {
  positions: CtraderPosition[];
  order?: CtraderOrder[];
}

interface Catalog {
  byName: Map<string, CtraderLightSymbol>;
  byId: Map<number, CtraderLightSymbol>;
  assets: Map<number, string>;
}

const sideOf = (tradeSide: number): Side => (tradeSide === tradeSides.SELL ? 'sell' : 'buy');
const iso = (millis: number | undefined): string => new Date(millis ?? 0).toISOString();

/** A symbol's name as the port speaks it: `EURUSD` also for a broker that writes `EUR/USD`. */
const plainName = (name: string): string => name.replace('/', '');

/**
 * One cTrader account through the Open API. Volumes are lots: the API's cents of units divided
 * by the symbol's lot size, exactly. The client id goes as `clientOrderId` and as `label`, so
 * the position an order opened carries it too. Closes carry none (`closeClientId: false`): the
 * engine recognises them by what they did. Every call fails only with a classified BrokerError.
 */
export class CtraderBrokerPort implements BrokerPort {
  private catalog: { read: Promise<Catalog>; until: number } | undefined;
  private readonly specs = new Map<number, Promise<CtraderSymbol | undefined>>();
  private capabilities: { read: Promise<AccountCapabilities>; until: number } | undefined;

  constructor(private readonly access: CtraderAccountAccess) {}

  private get ctid(): number {
    return this.access.ctidTraderAccountId;
  }

  /**
   * A request for this account: the account is authorized on the socket first. An account the
   * socket no longer counts as authorized (cTrader invalidated its token meanwhile) is
   * authorized again, and a token cTrader refuses (expired) is refreshed, each once, and the
   * request sent again: a refused request was not executed.
   */
  private async ask(payloadType: number, payload: Record<string, unknown>, settle: Settle): Promise<CtraderMessage[]> {
    let reauthorized = false;
    let refreshed = false;
    for (;;) {
      let used: string | undefined;
      try {
        await this.access.session.authorizeAccount(this.ctid, async () => {
          used = await this.access.accessToken();
          return used;
        });
        return await this.access.session.request(payloadType, { ctidTraderAccountId: this.ctid, ...payload }, settle);
      } catch (error) {
        const refusal = isBrokerError(error) && error.cause instanceof CtraderRefusal ? error.cause.errorCode : undefined;
        if (refusal === 'ACCOUNT_NOT_AUTHORIZED' && !reauthorized && used === undefined) {
          reauthorized = true;
          this.access.session.forgetAccount(this.ctid);
          continue;
        }
        if (refusal === undefined || !isTokenRefusal(refusal) || refreshed) throw error;
        refreshed = true;
        this.access.session.forgetAccount(this.ctid);
        await this.access.refreshAccessToken(used ?? (await this.access.accessToken()));
      }
    }
  }

  private async one<T>(payloadType: number, payload: Record<string, unknown>, answer: number): Promise<T> {
    const messages = await this.ask(payloadType, payload, only(answer));
    return (messages[messages.length - 1]?.payload ?? {}) as T;
  }

  async getCapabilities(): Promise<AccountCapabilities> {
    const now = Date.now();
    if (!this.capabilities || this.capabilities.until <= now) {
      const read = this.trader().then((trader): AccountCapabilities => {
        const netted = trader.accountType === accountTypes.NETTED;
        return { hedging: !netted, netting: netted, fifo: false, units: 'lots', closeClientId: false };
      });
      this.capabilities = { read, until: now + CAPABILITIES_TTL_MS };
      read.catch(() => {
        if (this.capabilities?.read === read) this.capabilities = undefined;
      });
    }
    return this.capabilities.read;
  }

  private async trader(): Promise<CtraderTrader> {
    return (await this.one<{ trader: CtraderTrader }>(payloadTypes.traderReq, {}, payloadTypes.traderRes)).trader;
  }

  /** Equity is the balance with every open position's net unrealized profit; margin what the positions use. */
  async getAccountInformation(): Promise<AccountInformation> {
    return this.accountInformation(this.reconcile());
  }

  /**
   * Positions, pending orders and funds from one reconcile: what a stream reads after each
   * execution event, and what the sync reads (three reads of the port would ask for the
   * reconcile three times).
   */
  async readAccount(): Promise<AccountView> {
    const reconciled = this.reconcile();
    const [positions, orders, account] = await Promise.all([
      this.positionsOf(reconciled),
      this.pendingOrdersOf(reconciled),
      this.accountInformation(reconciled),
    ]);
    return { positions, orders, account };
  }

  private async accountInformation(reconciled: Promise<Reconciled>): Promise<AccountInformation> {
    const [trader, pnl, reconcile, catalog] = await Promise.all([
      this.trader(),
      this.one<{ positionUnrealizedPnL?: { netUnrealizedPnL: number }[]; moneyDigits: number }>(
        payloadTypes.positionUnrealizedPnlReq,
        {},
        payloadTypes.positionUnrealizedPnlRes,
      ),
      reconciled,
      this.symbols(),
    ]);
    const balance = money(trader.balance, trader.moneyDigits);
    const unrealized = (pnl.positionUnrealizedPnL ?? []).reduce((sum, each) => sum + each.netUnrealizedPnL, 0);
    const equity = Number((balance + money(unrealized, pnl.moneyDigits)).toFixed(2));
    const margin = Number(reconcile.positions.reduce((sum, position) => sum + money(position.usedMargin, position.moneyDigits), 0).toFixed(2));
    return {
      balance,
      equity,
      margin,
      freeMargin: Number((equity - margin).toFixed(2)),
      currency: catalog.assets.get(trader.depositAssetId) ?? '',
      leverage: (trader.leverageInCents ?? 100) / 100,
    };
  }

  private reconcile(): Promise<Reconciled> {
    return this.one<{ position?: CtraderPosition[]; order?: CtraderOrder[] }>(payloadTypes.reconcileReq, {}, payloadTypes.reconcileRes).then((answer) => ({
      positions: answer.position ?? [],
      ...(answer.order ? { order: answer.order } : {}),
    }));
  }

  getPositions(): Promise<Position[]> {
    return this.positionsOf(this.reconcile());
  }

  private async positionsOf(reconciled: Promise<Reconciled>): Promise<Position[]> {
    const [answer, catalog] = await Promise.all([reconciled, this.symbols()]);
    const positions: Position[] = [];
    for (const position of answer.positions) {
      if (position.positionStatus !== positionStatuses.OPEN) continue;
      const converted = await this.toPosition(position, catalog);
      if (converted) positions.push(converted);
    }
    return positions;
  }

  private async toPosition(position: CtraderPosition, catalog: Catalog): Promise<Position | undefined> {
    const symbol = catalog.byId.get(position.tradeData.symbolId);
    const spec = await this.symbolById(position.tradeData.symbolId);
    if (!symbol?.symbolName || !spec?.lotSize) return undefined;
    return {
      id: String(position.positionId),
      symbol: plainName(symbol.symbolName),
      side: sideOf(position.tradeData.tradeSide),
      volume: this.lots(position.tradeData.volume, spec),
      openPrice: position.price ?? 0,
      ...(position.stopLoss ? { stopLoss: position.stopLoss } : {}),
      ...(position.takeProfit ? { takeProfit: position.takeProfit } : {}),
      openedAt: iso(position.tradeData.openTimestamp),
      ...(position.tradeData.comment ? { comment: position.tradeData.comment } : {}),
      ...(position.tradeData.label ? { clientId: position.tradeData.label } : {}),
    };
  }

  getPendingOrders(): Promise<PendingOrder[]> {
    return this.pendingOrdersOf(this.reconcile());
  }

  private async pendingOrdersOf(reconciled: Promise<Reconciled>): Promise<PendingOrder[]> {
    const [answer, catalog] = await Promise.all([reconciled, this.symbols()]);
    const orders: PendingOrder[] = [];
    for (const order of answer.order ?? []) {
      const converted = await this.toPendingOrder(order, catalog);
      if (converted) orders.push(converted);
    }
    return orders;
  }

  private async toPendingOrder(order: CtraderOrder, catalog: Catalog): Promise<PendingOrder | undefined> {
    if (order.closingOrder || (order.orderType !== orderTypes.LIMIT && order.orderType !== orderTypes.STOP)) return undefined;
    const symbol = catalog.byId.get(order.tradeData.symbolId);
    const spec = await this.symbolById(order.tradeData.symbolId);
    if (!symbol?.symbolName || !spec?.lotSize) return undefined;
    const price = order.orderType === orderTypes.LIMIT ? order.limitPrice : order.stopPrice;
    return {
      id: String(order.orderId),
      symbol: plainName(symbol.symbolName),
      side: sideOf(order.tradeData.tradeSide),
      type: order.orderType === orderTypes.LIMIT ? 'limit' : 'stop',
      volume: this.lots(order.tradeData.volume, spec),
      price: price ?? 0,
      ...(order.stopLoss ? { stopLoss: order.stopLoss } : {}),
      ...(order.takeProfit ? { takeProfit: order.takeProfit } : {}),
      createdAt: iso(order.tradeData.openTimestamp),
      ...(order.clientOrderId ? { clientId: order.clientOrderId } : {}),
    };
  }

  /** Deals with `from <= time < to`, oldest first, filled ones only, read in pages of 1,000. */
  async getDeals(from: string, to: string): Promise<Deal[]> {
    const start = Date.parse(from);
    const end = Date.parse(to);
    if (!Number.isFinite(start) || !Number.isFinite(end)) throw new BrokerError('REJECTED', `invalid deal window ${from} .. ${to}`);
    const catalog = await this.symbols();
    const deals: Deal[] = [];
    const seen = new Set<number>();
    let cursor = start;
    for (let page = 0; page < 100 && cursor < end; page += 1) {
      const answer = await this.one<{ deal?: CtraderDeal[]; hasMore: boolean }>(
        payloadTypes.dealListReq,
        { fromTimestamp: cursor, toTimestamp: end - 1, maxRows: 1000 },
        payloadTypes.dealListRes,
      );
      const list = (answer.deal ?? []).sort((a, b) => a.executionTimestamp - b.executionTimestamp);
      for (const deal of list) {
        if (seen.has(deal.dealId) || deal.executionTimestamp < start || deal.executionTimestamp >= end) continue;
        seen.add(deal.dealId);
        const converted = await this.toDeal(deal, catalog);
        if (converted) deals.push(converted);
      }
      const last = list[list.length - 1];
      if (!answer.hasMore || !last || last.executionTimestamp <= cursor) break;
      cursor = last.executionTimestamp;
    }
    return deals.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  }

  private async toDeal(deal: CtraderDeal, catalog: Catalog): Promise<Deal | undefined> {
    if (deal.dealStatus !== dealStatuses.FILLED && deal.dealStatus !== dealStatuses.PARTIALLY_FILLED) return undefined;
    const symbol = catalog.byId.get(deal.symbolId);
    const spec = await this.symbolById(deal.symbolId);
    if (!symbol?.symbolName || !spec?.lotSize) return undefined;
    const close = deal.closePositionDetail;
    const digits = close?.moneyDigits ?? deal.moneyDigits;
    return {
      id: String(deal.dealId),
      positionId: String(deal.positionId),
      orderId: String(deal.orderId),
      symbol: plainName(symbol.symbolName),
      side: sideOf(deal.tradeSide),
      entry: close ? 'out' : 'in',
      volume: this.lots(deal.filledVolume, spec),
      price: deal.executionPrice ?? 0,
      profit: close ? money(close.grossProfit, digits) : 0,
      ...(deal.commission ? { commission: money(deal.commission, deal.moneyDigits) } : {}),
      ...(close?.swap ? { swap: money(close.swap, digits) } : {}),
      time: iso(deal.executionTimestamp),
    };
  }

  async getSymbolSpec(symbol: string): Promise<SymbolSpec | undefined> {
    const catalog = await this.symbols();
    const light = catalog.byName.get(symbol);
    if (!light) return undefined;
    const spec = await this.symbolById(light.symbolId);
    if (!spec?.lotSize) return undefined;
    const quote = light.quoteAssetId === undefined ? undefined : catalog.assets.get(light.quoteAssetId);
    const tickSize = Number((10 ** -spec.digits).toFixed(spec.digits));
    const tickValue = await this.tickValueOf(light, tickSize * (spec.lotSize / 100), catalog).catch(() => undefined);
    return {
      symbol,
      digits: spec.digits,
      // The lot size is in cents of units.
      contractSize: spec.lotSize / 100,
      volumeMin: this.lots(spec.minVolume ?? spec.stepVolume ?? 100, spec),
      volumeStep: this.lots(spec.stepVolume ?? 100, spec),
      volumeMax: this.lots(spec.maxVolume ?? spec.lotSize * 1000, spec),
      tickSize,
      ...(tickValue ? { tickValue } : {}),
      ...(quote ? { profitCurrency: quote } : {}),
    };
  }

  /**
   * What one tick of one lot is worth in the account's currency: in the quote currency, then
   * converted with the price of a symbol between the two (the symbol itself when its base is
   * the account's currency). Undefined when no such symbol is offered.
   */
  private async tickValueOf(light: CtraderLightSymbol, inQuote: number, catalog: Catalog): Promise<number | undefined> {
    const deposit = (await this.trader()).depositAssetId;
    if (light.quoteAssetId === deposit) return inQuote;
    const mid = async (symbol: CtraderLightSymbol | undefined): Promise<number | undefined> => {
      const quote = symbol?.symbolName ? await this.getQuote(plainName(symbol.symbolName)) : undefined;
      return quote ? (quote.bid + quote.ask) / 2 : undefined;
    };
    const pairs = [...catalog.byId.values()];
    // deposit/quote (USDJPY for a USD account): divide; quote/deposit (GBPUSD for a GBP-quoted symbol): multiply.
    const inverse = pairs.find((pair) => pair.baseAssetId === deposit && pair.quoteAssetId === light.quoteAssetId);
    const direct = pairs.find((pair) => pair.baseAssetId === light.quoteAssetId && pair.quoteAssetId === deposit);
    const inversePrice = await mid(inverse);
    if (inversePrice) return Number((inQuote / inversePrice).toFixed(8));
    const directPrice = await mid(direct);
    return directPrice ? Number((inQuote * directPrice).toFixed(8)) : undefined;
  }

  /**
   * The last price pushed for the symbol on the socket as it is now; the first read subscribes
   * to its spots and waits for one. A socket that dropped took its subscriptions and prices
   * with it: they are made again, never read stale.
   */
  async getQuote(symbol: string): Promise<Quote | undefined> {
    const light = (await this.symbols()).byName.get(symbol);
    if (!light) return undefined;
    const session = this.access.session;
    if (!session.spotSubscribed(this.ctid, light.symbolId)) {
      try {
        await this.ask(payloadTypes.subscribeSpotsReq, { symbolId: [light.symbolId] }, only(payloadTypes.subscribeSpotsRes));
      } catch (error) {
        // Subscribed already on this socket (by a port made before): the spots come all the same.
        if (!(isBrokerError(error) && error.cause instanceof CtraderRefusal && error.cause.errorCode === 'ALREADY_SUBSCRIBED')) throw error;
      }
      session.markSpotSubscribed(this.ctid, light.symbolId);
    }
    const deadline = Date.now() + QUOTE_WAIT_MS;
    while (!session.spot(this.ctid, light.symbolId) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    const spot = session.spot(this.ctid, light.symbolId);
    return spot ? { symbol, bid: spot.bid, ask: spot.ask, time: iso(spot.time) } : undefined;
  }

  /**
   * A market order is sent with its stops relative to the price it will fill near (cTrader takes
   * no absolute stops on market orders), then they are set to the exact levels asked once it
   * filled. A pending order takes absolute levels.
   */
  async placeOrder(request: TradeRequest): Promise<TradeResult> {
    const light = (await this.symbols()).byName.get(request.symbol);
    const spec = light && (await this.symbolById(light.symbolId));
    if (!light || !spec?.lotSize) throw new BrokerError('UNKNOWN_SYMBOL', `${request.symbol} is not offered by the account's broker`);
    const volume = this.cents(request.volume, spec);
    const base: Record<string, unknown> = {
      symbolId: light.symbolId,
      tradeSide: request.side === 'buy' ? tradeSides.BUY : tradeSides.SELL,
      volume,
      clientOrderId: request.clientId,
      label: request.clientId,
      ...(request.comment ? { comment: request.comment } : {}),
    };
    if (request.type === 'market') {
      const quote = request.stopLoss !== undefined || request.takeProfit !== undefined ? await this.getQuote(request.symbol).catch(() => undefined) : undefined;
      const entry = quote ? (request.side === 'buy' ? quote.ask : quote.bid) : undefined;
      // A level on the wrong side of the price is refused before anything is sent: as a distance it would land on the other side.
      const below = (level: number | undefined) => level !== undefined && entry !== undefined && level < entry;
      const above = (level: number | undefined) => level !== undefined && entry !== undefined && level > entry;
      if (
        (request.stopLoss !== undefined && entry !== undefined && (request.side === 'buy' ? !below(request.stopLoss) : !above(request.stopLoss))) ||
        (request.takeProfit !== undefined && entry !== undefined && (request.side === 'buy' ? !above(request.takeProfit) : !below(request.takeProfit)))
      ) {
        throw new BrokerError('INVALID_STOPS', `the stops of a ${request.side} must lie on their side of the price (${entry})`);
      }
      // Distances in 1/100000 of the price, whole ticks of the symbol.
      const tick = 10 ** Math.max(0, 5 - spec.digits);
      const relative = (level: number | undefined) =>
        level === undefined || entry === undefined ? undefined : Math.max(tick, Math.round((Math.abs(entry - level) * 100_000) / tick) * tick);
      const stopLoss = relative(request.stopLoss);
      const takeProfit = relative(request.takeProfit);
      const messages = await this.ask(
        payloadTypes.newOrderReq,
        {
          ...base,
          orderType: orderTypes.MARKET,
          ...(stopLoss ? { relativeStopLoss: stopLoss } : {}),
          ...(takeProfit ? { relativeTakeProfit: takeProfit } : {}),
        },
        settlesOrder,
      );
      const event = lastExecution(messages);
      const filled = filledVolume(messages);
      if (!event || filled <= 0) {
        throw new BrokerError('REJECTED', `cTrader did not fill the market order (${event?.errorCode ?? event?.executionType ?? 'no execution'})`);
      }
      const positionId = event.position?.positionId ?? event.deal?.positionId ?? event.order?.positionId;
      const result: TradeResult = {
        ...(positionId !== undefined ? { positionId: String(positionId) } : {}),
        ...(event.deal?.executionPrice !== undefined ? { price: event.deal.executionPrice } : event.position?.price ? { price: event.position.price } : {}),
        ...(filled ? { volume: this.lots(filled, spec) } : {}),
      };
      if (positionId !== undefined && (request.stopLoss !== undefined || request.takeProfit !== undefined)) {
        const levels = { stopLoss: request.stopLoss ?? null, takeProfit: request.takeProfit ?? null };
        const placed = event.position;
        if (!placed || placed.stopLoss !== request.stopLoss || placed.takeProfit !== request.takeProfit) {
          // The position is open: a level refused now must not turn it into a failed order. It is
          // tried three times; failing that, it keeps the distances it was sent with, and says so.
          let amended = false;
          for (let attempt = 0; attempt < 3 && !amended; attempt += 1) {
            try {
              await this.amendPosition(positionId, levels, placed);
              amended = true;
            } catch (error) {
              if (!isBrokerError(error)) throw error;
              if (attempt < 2) await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)));
            }
          }
          if (!amended) result.stopsNotSet = true;
        }
      }
      return result;
    }
    const messages = await this.ask(
      payloadTypes.newOrderReq,
      {
        ...base,
        orderType: request.type === 'limit' ? orderTypes.LIMIT : orderTypes.STOP,
        ...(request.type === 'limit' ? { limitPrice: request.price } : { stopPrice: request.price }),
        ...(request.stopLoss !== undefined ? { stopLoss: request.stopLoss } : {}),
        ...(request.takeProfit !== undefined ? { takeProfit: request.takeProfit } : {}),
      },
      settlesOrder,
    );
    const event = lastExecution(messages);
    const orderId = event?.order?.orderId;
    if (orderId === undefined) throw new BrokerError('UNKNOWN', 'cTrader accepted the order but named no order');
    return { orderId: String(orderId) };
  }

  /** Sets both levels: cTrader's amend replaces the two, so a level left undefined is sent as it is now. */
  async modifyPosition(positionId: string, stops: StopLevels): Promise<void> {
    const id = Number(positionId);
    const current = (await this.reconcile()).positions.find((position) => position.positionId === id);
    if (!current || current.positionStatus !== positionStatuses.OPEN) throw new BrokerError('POSITION_NOT_FOUND', `position ${positionId} is not open`);
    await this.amendPosition(id, stops, current);
  }

  private async amendPosition(positionId: number, stops: StopLevels, current: CtraderPosition | undefined): Promise<void> {
    const stopLoss = stops.stopLoss === undefined ? current?.stopLoss : (stops.stopLoss ?? undefined);
    const takeProfit = stops.takeProfit === undefined ? current?.takeProfit : (stops.takeProfit ?? undefined);
    await this.ask(
      payloadTypes.amendPositionSltpReq,
      { positionId, ...(stopLoss ? { stopLoss } : {}), ...(takeProfit ? { takeProfit } : {}) },
      (message) => message.payloadType === payloadTypes.executionEvent,
    );
  }

  async modifyOrder(orderId: string, change: { price: number } & StopLevels): Promise<{ orderId: string }> {
    const id = Number(orderId);
    const current = (await this.reconcile()).order?.find((order) => order.orderId === id);
    if (!current) throw new BrokerError('ORDER_NOT_FOUND', `order ${orderId} is not pending`);
    const stopLoss = change.stopLoss === undefined ? current.stopLoss : (change.stopLoss ?? undefined);
    const takeProfit = change.takeProfit === undefined ? current.takeProfit : (change.takeProfit ?? undefined);
    await this.ask(
      payloadTypes.amendOrderReq,
      {
        orderId: id,
        ...(current.orderType === orderTypes.LIMIT ? { limitPrice: change.price } : { stopPrice: change.price }),
        ...(stopLoss ? { stopLoss } : {}),
        ...(takeProfit ? { takeProfit } : {}),
      },
      (message) => message.payloadType === payloadTypes.executionEvent,
    );
    // cTrader keeps the order's id when it is amended.
    return { orderId };
  }

  /** Closes `volume` lots of the position, or all of it (cTrader asks for the volume: it is read first). */
  async closePosition(positionId: string, options: { volume?: number; clientId?: string }): Promise<TradeResult> {
    const id = Number(positionId);
    const current = (await this.reconcile()).positions.find((position) => position.positionId === id);
    if (!current || current.positionStatus !== positionStatuses.OPEN) throw new BrokerError('POSITION_NOT_FOUND', `position ${positionId} is not open`);
    const spec = await this.symbolById(current.tradeData.symbolId);
    if (!spec?.lotSize) throw new BrokerError('UNKNOWN_SYMBOL', `the symbol of position ${positionId} is unknown`);
    const volume = options.volume === undefined ? current.tradeData.volume : this.cents(options.volume, spec);
    const messages = await this.ask(payloadTypes.closePositionReq, { positionId: id, volume }, settlesOrder);
    const event = lastExecution(messages);
    const filled = filledVolume(messages);
    if (!event || filled <= 0) {
      throw new BrokerError('REJECTED', `cTrader did not fill the close (${event?.errorCode ?? event?.executionType ?? 'no execution'})`);
    }
    return {
      positionId,
      ...(event.deal?.executionPrice !== undefined ? { price: event.deal.executionPrice } : {}),
      volume: this.lots(filled, spec),
    };
  }

  async cancelOrder(orderId: string): Promise<void> {
    await this.ask(
      payloadTypes.cancelOrderReq,
      { orderId: Number(orderId) },
      (message) =>
        message.payloadType === payloadTypes.executionEvent &&
        (message.payload as unknown as CtraderExecutionEvent).executionType === executionTypes.ORDER_CANCELLED,
    );
  }

  /**
   * What carries the client id: open positions (their label), pending orders (their
   * clientOrderId), and, from the last day's orders, the deals of an order that carried it.
   */
  async findByClientId(clientId: string): Promise<ClientIdMatch> {
    const [answer, catalog] = await Promise.all([this.reconcile(), this.symbols()]);
    const positions: Position[] = [];
    for (const position of answer.positions) {
      if (position.positionStatus !== positionStatuses.OPEN || position.tradeData.label !== clientId) continue;
      const converted = await this.toPosition(position, catalog);
      if (converted) positions.push(converted);
    }
    const orders: PendingOrder[] = [];
    for (const order of answer.order ?? []) {
      if (order.clientOrderId !== clientId) continue;
      const converted = await this.toPendingOrder(order, catalog);
      if (converted) orders.push(converted);
    }
    const now = (this.access.now?.() ?? new Date()).getTime();
    // The last day's orders, page by page (a busy account has more than one).
    const carried = new Set<string>();
    let from = now - LOOKUP_WINDOW_MS;
    for (let page = 0; page < 20; page += 1) {
      const history = await this.one<{ order?: CtraderOrder[]; hasMore?: boolean }>(
        payloadTypes.orderListReq,
        { fromTimestamp: from, toTimestamp: now + 60_000 },
        payloadTypes.orderListRes,
      );
      const orders = history.order ?? [];
      for (const order of orders) if (order.clientOrderId === clientId) carried.add(String(order.orderId));
      const last = Math.max(...orders.map((order) => order.utcLastUpdateTimestamp ?? order.tradeData.openTimestamp ?? 0));
      if (!history.hasMore || orders.length === 0 || !(last > from)) break;
      from = last;
    }
    if (carried.size === 0) return { positions, orders, deals: [] };
    const deals = (await this.getDeals(new Date(now - LOOKUP_WINDOW_MS).toISOString(), new Date(now + 60_000).toISOString()))
      .filter((deal) => deal.orderId !== undefined && carried.has(deal.orderId))
      .map((deal) => ({ ...deal, clientId }));
    return { positions, orders, deals };
  }

  /** Lots from the API's cents of units, exactly. */
  private lots(cents: number, spec: CtraderSymbol): number {
    return toNumber(div(exact(cents), exact(spec.lotSize ?? 1)));
  }

  /** The API's cents of units from lots: a volume that is not a whole number of cents is refused. */
  private cents(lots: number, spec: CtraderSymbol): number {
    const value = toNumber(mul(lotsOf(lots), exact(spec.lotSize ?? 1)));
    if (!Number.isSafeInteger(value) || !(value > 0))
      throw new BrokerError('INVALID_VOLUME', `${lots} lots is not a whole number of the symbol's smallest volume`);
    return value;
  }

  private symbols(): Promise<Catalog> {
    const now = Date.now();
    if (!this.catalog || this.catalog.until <= now) {
      const read = (async (): Promise<Catalog> => {
        const [list, assets] = await Promise.all([
          this.one<{ symbol?: CtraderLightSymbol[] }>(payloadTypes.symbolsListReq, {}, payloadTypes.symbolsListRes),
          this.one<{ asset?: { assetId: number; name: string }[] }>(payloadTypes.assetListReq, {}, payloadTypes.assetListRes),
        ]);
        const byName = new Map<string, CtraderLightSymbol>();
        const byId = new Map<number, CtraderLightSymbol>();
        for (const symbol of list.symbol ?? []) {
          byId.set(symbol.symbolId, symbol);
          if (symbol.symbolName && symbol.enabled !== false) byName.set(plainName(symbol.symbolName), symbol);
        }
        return { byName, byId, assets: new Map((assets.asset ?? []).map((asset) => [asset.assetId, asset.name])) };
      })();
      this.catalog = { read, until: now + CATALOG_TTL_MS };
      read.catch(() => {
        if (this.catalog?.read === read) this.catalog = undefined;
      });
    }
    return this.catalog.read;
  }

  private symbolById(symbolId: number): Promise<CtraderSymbol | undefined> {
    let spec = this.specs.get(symbolId);
    if (!spec) {
      spec = this.one<{ symbol?: CtraderSymbol[] }>(payloadTypes.symbolByIdReq, { symbolId: [symbolId] }, payloadTypes.symbolByIdRes).then((answer) =>
        answer.symbol?.find((symbol) => symbol.symbolId === symbolId),
      );
      this.specs.set(symbolId, spec);
      spec.catch(() => this.specs.delete(symbolId));
    }
    return spec;
  }
}

/** An order request is answered when the order filled, was placed (pending), cancelled or rejected. */
const settlesOrder: Settle = (message) => {
  if (message.payloadType !== payloadTypes.executionEvent) return false;
  const event = message.payload as unknown as CtraderExecutionEvent;
  if (event.executionType === executionTypes.ORDER_ACCEPTED) {
    // A market order (and a close) is accepted before it fills; a pending order is placed when accepted.
    return event.order !== undefined && event.order.orderType !== orderTypes.MARKET && !event.order.closingOrder;
  }
  return event.executionType !== executionTypes.ORDER_PARTIAL_FILL;
};

const lastExecution = (messages: CtraderMessage[]): CtraderExecutionEvent | undefined => {
  const last = [...messages].reverse().find((message) => message.payloadType === payloadTypes.executionEvent);
  return last?.payload as unknown as CtraderExecutionEvent | undefined;
};

/** The volume the answers say filled, in cents (the deals of a fill, partial fills summed). */
const filledVolume = (messages: CtraderMessage[]): number =>
  messages
    .map((message) => message.payload as unknown as CtraderExecutionEvent | undefined)
    .filter(
      (event) =>
        event?.deal !== undefined && (event.executionType === executionTypes.ORDER_FILLED || event.executionType === executionTypes.ORDER_PARTIAL_FILL),
    )
    .reduce((sum, event) => sum + (event?.deal?.filledVolume ?? 0), 0);

import { BrokerError } from '../../domain/broker-errors';
import type { AccountInformation, Deal, PendingOrder, Position, Quote, StopLevels, SymbolSpec } from '../../domain/trading';
import type { AccountCapabilities, BrokerPort, ClientIdMatch, TradeRequest, TradeResult } from '../../ports/broker';
import { withDeadline } from '../../domain/deadline';
import { meansConnectionLost, toBrokerError, type ErrorContext } from './metaapi-errors';
import {
  toAccountInformation,
  toCapabilities,
  toDeal,
  toPendingOrder,
  toPosition,
  toQuote,
  toSymbolSpec,
  tradeLabels,
  tradeOptions,
  type MetaApiAccountInformation,
  type MetaApiDeal,
  type MetaApiOrder,
  type MetaApiPosition,
  type MetaApiSymbolPrice,
  type MetaApiSymbolSpecification,
} from './metaapi-models';
import type { RpcConnection } from './metaapi-sdk';

/** How a port bounds and pages its calls. */
export interface MetaApiPortSettings {
  /** Budget of one read (the SDK may retry inside it). */
  requestMs: number;
  /** Budget of one trade request; past it the outcome is unknown (`TIMEOUT`). */
  tradeMs: number;
  /** How far back `findByClientId` looks into deals and history orders. */
  clientIdLookbackMs: number;
  /** Page size of deal and history order queries (MetaApi allows up to 1000). */
  historyPageSize: number;
  now: () => Date;
  /** Told when a call shows the connection is unusable, so the next `connect` opens a new one. */
  onConnectionLost: () => void;
}

interface MetaApiTradeResponse {
  orderId?: string | number;
  positionId?: string | number;
}

const idOf = (value: string | number | undefined): string | undefined => (value === undefined || value === '' ? undefined : String(value));

/** `null` removes a level (MetaApi removes what a modification omits), a number sets it. */
const levelToSend = (value: number | null | undefined): number | undefined => (typeof value === 'number' ? value : undefined);

/**
 * One MetaTrader account through a MetaApi RPC connection. Every call is bounded by its budget
 * and fails only with a classified `BrokerError`; a trade whose answer does not come in time
 * is `TIMEOUT`, which the copy engine answers by looking the client id up.
 */
export class MetaApiBrokerPort implements BrokerPort {
  constructor(
    private readonly connection: RpcConnection,
    private readonly settings: MetaApiPortSettings,
  ) {}

  /** An account's margin mode is set when it is opened: read once per connection (a failed read is tried again). */
  getCapabilities(): Promise<AccountCapabilities> {
    this.capabilities ??= this.read('getAccountInformation', async () =>
      toCapabilities((await this.connection.getAccountInformation()) as MetaApiAccountInformation),
    ).catch((error: unknown) => {
      this.capabilities = undefined;
      throw error;
    });
    return this.capabilities;
  }

  private capabilities: Promise<AccountCapabilities> | undefined;

  getAccountInformation(): Promise<AccountInformation> {
    return this.read('getAccountInformation', async () => toAccountInformation((await this.connection.getAccountInformation()) as MetaApiAccountInformation));
  }

  getPositions(): Promise<Position[]> {
    return this.read('getPositions', async () => this.positions());
  }

  getPendingOrders(): Promise<PendingOrder[]> {
    return this.read('getOrders', async () => this.pendingOrders());
  }

  /** Deals with `from <= time < to`, oldest first, read page by page. */
  getDeals(from: string, to: string): Promise<Deal[]> {
    return this.read('getDealsByTimeRange', () => this.deals(new Date(from), new Date(to)));
  }

  async getSymbolSpec(symbol: string): Promise<SymbolSpec | undefined> {
    return this.read('getSymbolSpecification', async () => {
      const [spec, price] = await Promise.allSettled([this.connection.getSymbolSpecification(symbol), this.connection.getSymbolPrice(symbol, false)]);
      if (spec.status === 'rejected') {
        if (isNotFound(spec.reason)) return undefined;
        throw spec.reason;
      }
      if (!spec.value) return undefined;
      return toSymbolSpec(spec.value as MetaApiSymbolSpecification, price.status === 'fulfilled' ? (price.value as MetaApiSymbolPrice) : undefined);
    });
  }

  async getQuote(symbol: string): Promise<Quote | undefined> {
    return this.read('getSymbolPrice', async () => {
      try {
        const price = await this.connection.getSymbolPrice(symbol, false);
        return price ? toQuote(price as MetaApiSymbolPrice) : undefined;
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    });
  }

  placeOrder(request: TradeRequest): Promise<TradeResult> {
    const labels = tradeOptions(request.clientId, request.comment, request.type === 'market' ? request.fillingMode : undefined);
    if (!labels) {
      return Promise.reject(new BrokerError('REJECTED', `client id ${request.clientId} is longer than MetaApi's 26 characters`));
    }
    const { symbol, volume, stopLoss, takeProfit } = request;
    const c = this.connection;
    return this.trade('placeOrder', {}, async () => {
      if (request.type === 'market') {
        const response = (await (request.side === 'buy'
          ? c.createMarketBuyOrder(symbol, volume, stopLoss, takeProfit, labels)
          : c.createMarketSellOrder(symbol, volume, stopLoss, takeProfit, labels))) as MetaApiTradeResponse;
        // On MT4 (and hedging MT5) the position carries the ticket of the order that opened it.
        const positionId = idOf(response.positionId) ?? idOf(response.orderId);
        return { positionId, orderId: idOf(response.orderId) };
      }
      if (request.price === undefined) throw new BrokerError('INVALID_PRICE', `a ${request.type} order needs a price`);
      const price = request.price;
      const place: Promise<unknown> =
        request.type === 'limit'
          ? request.side === 'buy'
            ? c.createLimitBuyOrder(symbol, volume, price, stopLoss, takeProfit, labels)
            : c.createLimitSellOrder(symbol, volume, price, stopLoss, takeProfit, labels)
          : request.side === 'buy'
            ? c.createStopBuyOrder(symbol, volume, price, stopLoss, takeProfit, labels)
            : c.createStopSellOrder(symbol, volume, price, stopLoss, takeProfit, labels);
      const response = (await place) as MetaApiTradeResponse;
      return { orderId: idOf(response.orderId) };
    });
  }

  /** A level left `undefined` keeps its current value, read from the position first. */
  modifyPosition(positionId: string, stops: StopLevels): Promise<void> {
    return this.trade('modifyPosition', { ticket: 'position' }, async () => {
      let { stopLoss, takeProfit } = stops;
      if (stopLoss === undefined || takeProfit === undefined) {
        const current = toPosition((await this.connection.getPosition(positionId)) as MetaApiPosition);
        if (!current) throw new BrokerError('POSITION_NOT_FOUND', `position ${positionId} not found`);
        if (stopLoss === undefined) stopLoss = current.stopLoss;
        if (takeProfit === undefined) takeProfit = current.takeProfit;
      }
      await this.connection.modifyPosition(positionId, levelToSend(stopLoss), levelToSend(takeProfit));
    });
  }

  /** Moves the order's price; a level left `undefined` keeps its current value. */
  modifyOrder(orderId: string, change: { price: number } & StopLevels): Promise<{ orderId: string }> {
    return this.trade('modifyOrder', { ticket: 'order' }, async () => {
      let { stopLoss, takeProfit } = change;
      if (stopLoss === undefined || takeProfit === undefined) {
        const current = toPendingOrder((await this.connection.getOrder(orderId)) as MetaApiOrder);
        if (!current) throw new BrokerError('ORDER_NOT_FOUND', `order ${orderId} not found`);
        if (stopLoss === undefined) stopLoss = current.stopLoss;
        if (takeProfit === undefined) takeProfit = current.takeProfit;
      }
      await this.connection.modifyOrder(orderId, change.price, levelToSend(stopLoss), levelToSend(takeProfit));
      // MetaTrader keeps an order's ticket when it is modified.
      return { orderId };
    });
  }

  closePosition(positionId: string, options: { volume?: number; clientId?: string }): Promise<TradeResult> {
    const labels = options.clientId === undefined ? {} : tradeLabels(options.clientId);
    if (!labels) {
      return Promise.reject(new BrokerError('REJECTED', `client id ${options.clientId} is longer than MetaApi's 26 characters`));
    }
    return this.trade('closePosition', { ticket: 'position' }, async () => {
      const response = (await (options.volume === undefined
        ? this.connection.closePosition(positionId, labels)
        : this.connection.closePositionPartially(positionId, options.volume, labels))) as MetaApiTradeResponse;
      return { positionId, orderId: idOf(response.orderId) };
    });
  }

  cancelOrder(orderId: string): Promise<void> {
    return this.trade('cancelOrder', { ticket: 'order' }, async () => {
      await this.connection.cancelOrder(orderId);
    });
  }

  /**
   * Everything an earlier request with this client id left: open positions and pending
   * orders, deals of the lookback window (also of positions closed since), and pending orders
   * of the window's history that were placed and are gone (filled or cancelled).
   */
  findByClientId(clientId: string): Promise<ClientIdMatch> {
    return this.read('findByClientId', async () => {
      const now = this.settings.now();
      const from = new Date(now.getTime() - this.settings.clientIdLookbackMs);
      // A deal stamped by the broker's clock a little ahead of ours still counts.
      const to = new Date(now.getTime() + 60_000);
      const [positions, orders, deals, history] = await Promise.all([
        this.positions(),
        this.pendingOrders(),
        this.deals(from, to),
        this.historyOrders(from, to),
      ]);
      const pending = orders.filter((order) => order.clientId === clientId);
      const seen = new Set(pending.map((order) => order.id));
      const placedBefore = history.filter((order) => order.clientId === clientId && !seen.has(order.id));
      return {
        positions: positions.filter((position) => position.clientId === clientId),
        orders: [...pending, ...placedBefore],
        deals: deals.filter((deal) => deal.clientId === clientId),
      };
    });
  }

  private async positions(): Promise<Position[]> {
    const positions = (await this.connection.getPositions()) as MetaApiPosition[];
    return positions.map(toPosition).filter((position): position is Position => position !== undefined);
  }

  private async pendingOrders(): Promise<PendingOrder[]> {
    const orders = (await this.connection.getOrders()) as MetaApiOrder[];
    return orders.map(toPendingOrder).filter((order): order is PendingOrder => order !== undefined);
  }

  private async deals(from: Date, to: Date): Promise<Deal[]> {
    const raw = await this.pages((offset, limit) =>
      this.connection.getDealsByTimeRange(from, to, offset, limit).then((page) => (page.deals ?? []) as MetaApiDeal[]),
    );
    const start = from.getTime();
    const end = to.getTime();
    return raw
      .map(toDeal)
      .filter((deal): deal is Deal => deal !== undefined && Date.parse(deal.time) >= start && Date.parse(deal.time) < end)
      .sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || a.id.localeCompare(b.id));
  }

  /** Pending orders of the history window that really were placed (a rejected one never was). */
  private async historyOrders(from: Date, to: Date): Promise<PendingOrder[]> {
    const raw = await this.pages((offset, limit) =>
      this.connection.getHistoryOrdersByTimeRange(from, to, offset, limit).then((page) => (page.historyOrders ?? []) as MetaApiOrder[]),
    );
    return raw
      .filter((order) => order.state !== 'ORDER_STATE_REJECTED')
      .map(toPendingOrder)
      .filter((order): order is PendingOrder => order !== undefined);
  }

  /** Reads pages until one comes back short; bounded so a misbehaving server cannot loop it. */
  private async pages<T>(page: (offset: number, limit: number) => Promise<T[]>): Promise<T[]> {
    const limit = this.settings.historyPageSize;
    const all: T[] = [];
    for (let offset = 0; offset < 100 * limit; offset += limit) {
      const items = await page(offset, limit);
      all.push(...items);
      if (items.length < limit) break;
    }
    return all;
  }

  private read<T>(what: string, call: () => Promise<T>): Promise<T> {
    return this.bounded(what, this.settings.requestMs, {}, call);
  }

  private trade<T>(what: string, context: ErrorContext, call: () => Promise<T>): Promise<T> {
    return this.bounded(what, this.settings.tradeMs, context, call);
  }

  private async bounded<T>(what: string, ms: number, context: ErrorContext, call: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(call, ms, `MetaApi ${what}`);
    } catch (error) {
      const brokerError = toBrokerError(error, { ...context, now: () => this.settings.now().getTime() });
      if (meansConnectionLost(brokerError)) this.settings.onConnectionLost();
      throw brokerError;
    }
  }
}

const isNotFound = (error: unknown): boolean => typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'NotFoundError';

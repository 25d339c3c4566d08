import type { SimulatedMarket } from '../../../local/simulated-broker/simulated-market';
import type { Deal, PendingOrder, Position, Side } from '../../../shared/domain/trading';
import { type CtraderCatalog, cents, compact, MONEY_DIGITS, milliseconds, roundPrice, type SymbolEntry, type Wire, wireVolume } from './ctrader-wire';

/**
 * One cTrader trading account on top of a `SimulatedMarket` account (volumes in lots): the
 * market holds the money, the positions and the pending orders; this book holds what cTrader
 * shows on top of them: orders in every state (market, pending, closing and the positions'
 * STOP_LOSS_TAKE_PROFIT protection orders), positions also once closed, labels, and the deals
 * as the wire carries them (a closing deal with its `closePositionDetail`).
 *
 * Ids are the market's tickets (one increasing sequence for orders, positions and deals), so
 * they never repeat; a position has the id of the market order that opened it, as the market
 * numbers it.
 *
 * `sync()` turns what changed in the market since the last look into `ProtoOAExecutionEvent`s,
 * in the order cTrader sends them. The fake calls it right after a request's market call (with
 * the request's intent: its order's label, comment, client order id, relative stops), and
 * whenever the market reports a change nobody asked for through the API: a trade, close or
 * stop change in the trader's terminal, a pending order the price reached, a stop loss or take
 * profit hit. What cTrader sends then (the docs are silent on most of it; decided here):
 * - a market order: ORDER_ACCEPTED (the order; a position POSITION_STATUS_CREATED with volume 0
 *   when it opens one, the position as it was when it adds to or closes one), then per deal
 *   ORDER_FILLED (the order FILLED, the position as it is now, the deal); a fill of less than
 *   asked (the market's partial-fill fault) is ORDER_PARTIAL_FILL then ORDER_CANCELLED (the
 *   rest); an order that fills in several deals (a netted position reversed) has
 *   ORDER_PARTIAL_FILL for all but the last;
 * - a pending order: ORDER_ACCEPTED when placed, ORDER_REPLACED when amended, ORDER_CANCELLED
 *   when cancelled (isServerEvent when the market dropped it for want of margin as it
 *   triggered), ORDER_FILLED (no ORDER_ACCEPTED again) when the price reached it;
 * - a position's stop loss / take profit set or changed: ORDER_REPLACED with the position and
 *   its STOP_LOSS_TAKE_PROFIT order; both removed: ORDER_CANCELLED; hit: ORDER_FILLED of that
 *   order with the closing deal;
 * - a closed position: POSITION_STATUS_CLOSED, volume 0, `closeTimestamp`.
 * No SWAP or DEPOSIT_WITHDRAW events: the market charges no swap and moves no money.
 */

export type EnumValue = (enumName: string, valueName: string) => number;

type OrderType = 'MARKET' | 'LIMIT' | 'STOP' | 'STOP_LOSS_TAKE_PROFIT';
type OrderStatus = 'ORDER_STATUS_ACCEPTED' | 'ORDER_STATUS_FILLED' | 'ORDER_STATUS_CANCELLED';
type TimeInForce = 'GOOD_TILL_CANCEL' | 'IMMEDIATE_OR_CANCEL';
type ExecutionType = 'ORDER_ACCEPTED' | 'ORDER_FILLED' | 'ORDER_PARTIAL_FILL' | 'ORDER_REPLACED' | 'ORDER_CANCELLED';

/** An order as cTrader keeps it; volumes in lots. */
export interface OrderRecord {
  orderId: number;
  symbol: string;
  side: Side;
  type: OrderType;
  status: OrderStatus;
  volume: number;
  executedVolume: number;
  executionPrice?: number;
  /** The LIMIT or STOP price. */
  price?: number;
  stopLoss?: number;
  takeProfit?: number;
  relativeStopLoss?: number;
  relativeTakeProfit?: number;
  label?: string;
  comment?: string;
  clientOrderId?: string;
  positionId?: number;
  closingOrder: boolean;
  timeInForce: TimeInForce;
  openTimestamp: number;
  updated: number;
}

/** A position as cTrader keeps it, open or closed; volume in lots. */
export interface PositionRecord {
  positionId: number;
  symbol: string;
  side: Side;
  volume: number;
  price: number;
  stopLoss?: number;
  takeProfit?: number;
  openTimestamp: number;
  closeTimestamp?: number;
  label?: string;
  comment?: string;
  clientOrderId?: string;
  open: boolean;
  updated: number;
  /** The STOP_LOSS_TAKE_PROFIT order that holds the levels, once it had any. */
  protectionOrderId?: number;
}

/** What a request asked for, so the order it makes carries it. */
export interface OrderIntent {
  orderType: 'MARKET' | 'LIMIT' | 'STOP';
  side: Side;
  symbol: string;
  /** Lots. */
  volume: number;
  label?: string;
  comment?: string;
  clientOrderId?: string;
  relativeStopLoss?: number;
  relativeTakeProfit?: number;
  /** The position a closing order (ProtoOAClosePositionReq, or a new order with `positionId`) closes. */
  closingPositionId?: number;
}

export interface CtraderAccountOptions {
  market: SimulatedMarket;
  catalog: CtraderCatalog;
  enumValue: EnumValue;
  now: () => Date;
  ctidTraderAccountId: number;
  traderLogin: number;
  marketAccountId: string;
  hedging: boolean;
  balance: number;
  currency: string;
  leverage: number;
  live: boolean;
}

interface Group {
  order: OrderRecord;
  deals: Deal[];
  /** Lots the order asked for. */
  requested: number;
  /** Whether the order is new (ORDER_ACCEPTED first). */
  fresh: boolean;
}

const EPOCH = '1970-01-01T00:00:00.000Z';
const END_OF_TIME = '9999-12-31T00:00:00.000Z';
const VOLUME_EPSILON = 1e-7;
export const BROKER_NAME = 'Fake cTrader';

const byId = (a: { id: string }, b: { id: string }): number => Number(a.id) - Number(b.id);
const opposite = (side: Side): Side => (side === 'buy' ? 'sell' : 'buy');
const sameLevel = (a: number | undefined, b: number | undefined): boolean => (a === undefined || b === undefined ? a === b : Math.abs(a - b) < 1e-9);

export class CtraderAccount {
  readonly ctidTraderAccountId: number;
  readonly traderLogin: number;
  readonly marketAccountId: string;
  readonly hedging: boolean;
  readonly currency: string;
  readonly leverage: number;
  readonly live: boolean;
  readonly registrationTimestamp: number;
  private readonly market: SimulatedMarket;
  private readonly catalog: CtraderCatalog;
  private readonly enumValue: EnumValue;
  private readonly now: () => Date;
  private readonly orders = new Map<number, OrderRecord>();
  private readonly positions = new Map<number, PositionRecord>();
  private readonly seenDeals = new Set<string>();
  /** Every deal as the wire carries it, in id order. */
  private readonly deals: Wire[] = [];
  private balanceVersion = 1;
  private lastClosingDealTimestamp: number | undefined;
  private readonly lastBalanceUpdateTimestamp: number;

  constructor(options: CtraderAccountOptions) {
    this.market = options.market;
    this.catalog = options.catalog;
    this.enumValue = options.enumValue;
    this.now = options.now;
    this.ctidTraderAccountId = options.ctidTraderAccountId;
    this.traderLogin = options.traderLogin;
    this.marketAccountId = options.marketAccountId;
    this.hedging = options.hedging;
    this.currency = options.currency;
    this.leverage = options.leverage;
    this.live = options.live;
    this.registrationTimestamp = this.now().getTime();
    this.lastBalanceUpdateTimestamp = this.registrationTimestamp;
    this.market.openAccount(this.marketAccountId, {
      netting: !options.hedging,
      balance: options.balance,
      currency: options.currency,
      leverage: options.leverage,
    });
    this.catalog.assetId(options.currency);
  }

  // ---- reads ---------------------------------------------------------------------------

  /** `ProtoOATrader`. */
  trader(): Wire {
    const information = this.market.getAccountInformation(this.marketAccountId);
    return {
      ctidTraderAccountId: this.ctidTraderAccountId,
      balance: cents(information.balance),
      balanceVersion: this.balanceVersion,
      managerBonus: 0,
      ibBonus: 0,
      nonWithdrawableBonus: 0,
      accessRights: this.enumValue('ProtoOAAccessRights', 'FULL_ACCESS'),
      depositAssetId: this.catalog.assetId(this.currency),
      swapFree: false,
      leverageInCents: this.leverage * 100,
      totalMarginCalculationType: this.enumValue('ProtoOATotalMarginCalculationType', this.hedging ? 'MAX' : 'NET'),
      maxLeverage: this.leverage,
      traderLogin: this.traderLogin,
      accountType: this.enumValue('ProtoOAAccountType', this.hedging ? 'HEDGED' : 'NETTED'),
      brokerName: BROKER_NAME,
      registrationTimestamp: this.registrationTimestamp,
      isLimitedRisk: false,
      moneyDigits: MONEY_DIGITS,
    };
  }

  /** `ProtoOACtidTraderAccount`, as the account list by access token shows it. */
  ctidTraderAccount(): Wire {
    return compact({
      ctidTraderAccountId: this.ctidTraderAccountId,
      isLive: this.live,
      traderLogin: this.traderLogin,
      lastClosingDealTimestamp: this.lastClosingDealTimestamp,
      lastBalanceUpdateTimestamp: this.lastBalanceUpdateTimestamp,
      brokerTitleShort: BROKER_NAME,
    });
  }

  /** `ProtoOAReconcileRes` fields: the open positions and the pending orders (and, when asked, the protection orders). */
  reconcile(returnProtectionOrders: boolean): { position: Wire[]; order: Wire[] } {
    const position = [...this.positions.values()].filter((record) => record.open).map((record) => this.positionWire(record));
    const order = [...this.orders.values()]
      .filter(
        (record) =>
          record.status === 'ORDER_STATUS_ACCEPTED' &&
          (record.type === 'LIMIT' || record.type === 'STOP' || (returnProtectionOrders && record.type === 'STOP_LOSS_TAKE_PROFIT')),
      )
      .map((record) => this.orderWire(record));
    return { position, order };
  }

  /** Deals executed in [from, to], oldest first, at most `maxRows` (hasMore when there were more). */
  dealList(from: number, to: number, maxRows: number | undefined): { deal: Wire[]; hasMore: boolean } {
    const matching = this.deals.filter((deal) => Number(deal.executionTimestamp) >= from && Number(deal.executionTimestamp) <= to);
    const limit = maxRows !== undefined && maxRows > 0 ? maxRows : matching.length;
    return { deal: matching.slice(0, limit), hasMore: matching.length > limit };
  }

  /** Orders of every state last updated in [from, to], oldest first. */
  orderList(from: number, to: number): Wire[] {
    return [...this.orders.values()]
      .filter((order) => order.updated >= from && order.updated <= to)
      .sort((a, b) => a.updated - b.updated || a.orderId - b.orderId)
      .map((order) => this.orderWire(order));
  }

  /** `ProtoOAPositionUnrealizedPnL` of every open position: no commission, so gross is net. */
  unrealizedPnL(): Wire[] {
    return this.market.getPositions(this.marketAccountId).map((position) => ({
      positionId: Number(position.id),
      grossUnrealizedPnL: cents(position.profit ?? 0),
      netUnrealizedPnL: cents(position.profit ?? 0),
    }));
  }

  openPosition(positionId: number): PositionRecord | undefined {
    const record = this.positions.get(positionId);
    return record?.open ? record : undefined;
  }

  pendingOrder(orderId: number): OrderRecord | undefined {
    const record = this.orders.get(orderId);
    return record && record.status === 'ORDER_STATUS_ACCEPTED' && (record.type === 'LIMIT' || record.type === 'STOP') ? record : undefined;
  }

  /** ORDER_REPLACED of a pending order as it is (an amend that changed nothing is still answered). */
  orderReplaced(orderId: number): Wire | undefined {
    const order = this.orders.get(orderId);
    if (!order) return undefined;
    order.updated = this.now().getTime();
    return this.execution('ORDER_REPLACED', { order: this.orderWire(order) });
  }

  /** ORDER_REPLACED of a position's protection as it is (an amend that changed nothing is still answered). */
  positionAmended(positionId: number): Wire | undefined {
    const position = this.positions.get(positionId);
    if (!position?.open) return undefined;
    const protection = this.protectionOrder(position);
    return this.execution(protection.status === 'ORDER_STATUS_CANCELLED' ? 'ORDER_CANCELLED' : 'ORDER_REPLACED', {
      position: this.positionWire(position),
      order: this.orderWire(protection),
    });
  }

  // ---- wire shapes ---------------------------------------------------------------------

  private symbol(name: string): SymbolEntry {
    const symbol = this.catalog.symbolByName(name);
    if (!symbol) throw new Error(`The market has no symbol ${name}`);
    return symbol;
  }

  private side(side: Side): number {
    return this.enumValue('ProtoOATradeSide', side === 'buy' ? 'BUY' : 'SELL');
  }

  private execution(type: ExecutionType, fields: { order?: Wire; position?: Wire; deal?: Wire; isServerEvent?: boolean }): Wire {
    return compact({
      ctidTraderAccountId: this.ctidTraderAccountId,
      executionType: this.enumValue('ProtoOAExecutionType', type),
      position: fields.position,
      order: fields.order,
      deal: fields.deal,
      isServerEvent: fields.isServerEvent,
    });
  }

  /** `ProtoOAOrder`. */
  orderWire(order: OrderRecord): Wire {
    const symbol = this.symbol(order.symbol);
    return compact({
      orderId: order.orderId,
      tradeData: compact({
        symbolId: symbol.symbolId,
        volume: wireVolume(order.volume, symbol),
        tradeSide: this.side(order.side),
        openTimestamp: order.openTimestamp,
        label: order.label,
        comment: order.comment,
        guaranteedStopLoss: false,
      }),
      orderType: this.enumValue('ProtoOAOrderType', order.type),
      orderStatus: this.enumValue('ProtoOAOrderStatus', order.status),
      executionPrice: order.executionPrice,
      executedVolume: order.executedVolume > 0 ? wireVolume(order.executedVolume, symbol) : undefined,
      utcLastUpdateTimestamp: order.updated,
      closingOrder: order.closingOrder,
      limitPrice: order.type === 'LIMIT' ? order.price : undefined,
      stopPrice: order.type === 'STOP' ? order.price : undefined,
      stopLoss: order.stopLoss,
      takeProfit: order.takeProfit,
      clientOrderId: order.clientOrderId,
      timeInForce: this.enumValue('ProtoOATimeInForce', order.timeInForce),
      positionId: order.positionId,
      relativeStopLoss: order.relativeStopLoss,
      relativeTakeProfit: order.relativeTakeProfit,
      isStopOut: false,
      trailingStopLoss: false,
      stopTriggerMethod: order.type === 'STOP' || order.type === 'STOP_LOSS_TAKE_PROFIT' ? this.enumValue('ProtoOAOrderTriggerMethod', 'TRADE') : undefined,
    });
  }

  /** `ProtoOAPosition`; a closed one has volume 0. */
  positionWire(position: PositionRecord): Wire {
    const symbol = this.symbol(position.symbol);
    const usedMargin = position.open ? cents(this.market.requiredMargin(this.marketAccountId, position.symbol, position.side, position.volume)) : 0;
    return compact({
      positionId: position.positionId,
      tradeData: compact({
        symbolId: symbol.symbolId,
        volume: position.open ? wireVolume(position.volume, symbol) : 0,
        tradeSide: this.side(position.side),
        openTimestamp: position.openTimestamp,
        label: position.label,
        comment: position.comment,
        guaranteedStopLoss: false,
        closeTimestamp: position.open ? undefined : position.closeTimestamp,
      }),
      positionStatus: this.enumValue('ProtoOAPositionStatus', position.open ? 'POSITION_STATUS_OPEN' : 'POSITION_STATUS_CLOSED'),
      swap: 0,
      price: position.price,
      stopLoss: position.stopLoss,
      takeProfit: position.takeProfit,
      utcLastUpdateTimestamp: position.updated,
      commission: 0,
      guaranteedStopLoss: false,
      usedMargin,
      stopLossTriggerMethod: this.enumValue('ProtoOAOrderTriggerMethod', 'TRADE'),
      moneyDigits: MONEY_DIGITS,
      trailingStopLoss: false,
    });
  }

  /** The empty position a new order opens into (POSITION_STATUS_CREATED), as ORDER_ACCEPTED shows it. */
  private createdPositionWire(positionId: number, order: OrderRecord): Wire {
    const symbol = this.symbol(order.symbol);
    return compact({
      positionId,
      tradeData: compact({
        symbolId: symbol.symbolId,
        volume: 0,
        tradeSide: this.side(order.side),
        openTimestamp: order.openTimestamp,
        label: order.label,
        comment: order.comment,
        guaranteedStopLoss: false,
      }),
      positionStatus: this.enumValue('ProtoOAPositionStatus', 'POSITION_STATUS_CREATED'),
      swap: 0,
      utcLastUpdateTimestamp: order.updated,
      commission: 0,
      moneyDigits: MONEY_DIGITS,
    });
  }

  /** The STOP_LOSS_TAKE_PROFIT order of a position, made on first need; its state follows the position's levels. */
  private protectionOrder(position: PositionRecord): OrderRecord {
    let order = position.protectionOrderId === undefined ? undefined : this.orders.get(position.protectionOrderId);
    if (!order) {
      order = {
        orderId: Number(this.market.takeTicket()),
        symbol: position.symbol,
        side: opposite(position.side),
        type: 'STOP_LOSS_TAKE_PROFIT',
        status: 'ORDER_STATUS_ACCEPTED',
        volume: position.volume,
        executedVolume: 0,
        label: position.label,
        positionId: position.positionId,
        closingOrder: true,
        timeInForce: 'GOOD_TILL_CANCEL',
        openTimestamp: this.now().getTime(),
        updated: this.now().getTime(),
      };
      this.orders.set(order.orderId, order);
      position.protectionOrderId = order.orderId;
    }
    if (order.status !== 'ORDER_STATUS_FILLED') {
      order.side = opposite(position.side);
      order.volume = position.volume;
      order.stopLoss = position.stopLoss;
      order.takeProfit = position.takeProfit;
      order.status =
        position.open && (position.stopLoss !== undefined || position.takeProfit !== undefined) ? 'ORDER_STATUS_ACCEPTED' : 'ORDER_STATUS_CANCELLED';
      order.updated = position.updated;
    }
    return order;
  }

  // ---- sync ----------------------------------------------------------------------------

  /**
   * The execution events of what changed in the market since the last look, in order. With an
   * intent, every deal of the sync belongs to the one order the request made.
   */
  sync(intent?: OrderIntent): Wire[] {
    const events: Wire[] = [];
    const now = this.now().getTime();
    const before = new Map([...this.positions].filter(([, record]) => record.open).map(([id, record]) => [id, { ...record }]));
    const deals = this.market
      .getDeals(this.marketAccountId, EPOCH, END_OF_TIME)
      .filter((deal) => !this.seenDeals.has(deal.id))
      .sort(byId);
    for (const deal of deals) this.seenDeals.add(deal.id);
    const marketOrders = new Map(this.market.getPendingOrders(this.marketAccountId).map((order) => [Number(order.id), order]));
    this.refreshPositions(new Map(this.market.getPositions(this.marketAccountId).map((position) => [Number(position.id), position])), now);

    // Balance after each deal: the balance now less the profit of the deals after it.
    const balance = this.market.getAccountInformation(this.marketAccountId).balance;
    const balanceAfter = new Map<string, number>();
    let later = 0;
    for (const deal of [...deals].reverse()) {
      balanceAfter.set(deal.id, balance - later);
      later += deal.profit;
    }

    for (const group of this.groups(deals, intent, marketOrders, before, now)) {
      this.emitGroup(group, before, balanceAfter, events);
    }
    this.syncPendingOrders(marketOrders, intent, now, events);
    const touched = new Set(deals.map((deal) => Number(deal.positionId)));
    for (const position of this.positions.values()) {
      const previous = before.get(position.positionId);
      if (!position.open) {
        const protection = position.protectionOrderId === undefined ? undefined : this.orders.get(position.protectionOrderId);
        if (protection?.status === 'ORDER_STATUS_ACCEPTED') this.protectionOrder(position);
        continue;
      }
      const levels = position.stopLoss !== undefined || position.takeProfit !== undefined;
      if (!previous || touched.has(position.positionId)) {
        // New levels came with the fill: the position shows them; its protection order follows silently.
        if (position.protectionOrderId !== undefined || levels) this.protectionOrder(position);
        continue;
      }
      if (sameLevel(previous.stopLoss, position.stopLoss) && sameLevel(previous.takeProfit, position.takeProfit)) continue;
      const protection = this.protectionOrder(position);
      events.push(
        this.execution(protection.status === 'ORDER_STATUS_CANCELLED' ? 'ORDER_CANCELLED' : 'ORDER_REPLACED', {
          position: this.positionWire(position),
          order: this.orderWire(protection),
        }),
      );
    }
    return events;
  }

  /** Positions as the market holds them now; those it no longer holds are closed. */
  private refreshPositions(held: Map<number, Position>, now: number): void {
    for (const [id, position] of held) {
      const record = this.positions.get(id);
      const fields = {
        symbol: position.symbol,
        side: position.side,
        volume: position.volume,
        price: position.openPrice,
        stopLoss: position.stopLoss,
        takeProfit: position.takeProfit,
      };
      if (!record) {
        this.positions.set(id, {
          positionId: id,
          ...fields,
          openTimestamp: milliseconds(position.openedAt),
          comment: position.comment,
          clientOrderId: position.clientId,
          open: true,
          updated: now,
        });
        continue;
      }
      const changed =
        !record.open ||
        record.side !== fields.side ||
        Math.abs(record.volume - fields.volume) > VOLUME_EPSILON ||
        record.price !== fields.price ||
        !sameLevel(record.stopLoss, fields.stopLoss) ||
        !sameLevel(record.takeProfit, fields.takeProfit);
      if (!changed) continue;
      if (!record.open || record.side !== fields.side) {
        record.openTimestamp = milliseconds(position.openedAt);
        record.closeTimestamp = undefined;
      }
      Object.assign(record, fields, { open: true, updated: now });
      if (fields.stopLoss === undefined) delete record.stopLoss;
      if (fields.takeProfit === undefined) delete record.takeProfit;
    }
    for (const record of this.positions.values()) {
      if (!record.open || held.has(record.positionId)) continue;
      record.open = false;
      record.closeTimestamp = now;
      record.updated = now;
    }
  }

  /**
   * The orders the new deals belong to. With an intent: one order, the request's. Without: a
   * pending order the price reached (with, on a netted account, the deals that reduced the
   * position it met), a stop loss or take profit hit, or a trade in the terminal.
   */
  private groups(
    deals: Deal[],
    intent: OrderIntent | undefined,
    marketOrders: Map<number, PendingOrder>,
    before: Map<number, PositionRecord>,
    now: number,
  ): Group[] {
    if (deals.length === 0) return [];
    if (intent) {
      const first = deals.find((deal) => deal.entry === 'in') ?? deals[0];
      const order = this.orderFromIntent(intent, Number(first?.orderId), now);
      return [{ order, deals, requested: intent.volume, fresh: true }];
    }
    const groups: Group[] = [];
    const left = [...deals];
    const take = (deal: Deal) => left.splice(left.indexOf(deal), 1);
    // Pending orders filled by the price: their own deals, and on a netted account the closing deals that came first.
    const filled = [...this.orders.values()].filter(
      (order) => order.status === 'ORDER_STATUS_ACCEPTED' && (order.type === 'LIMIT' || order.type === 'STOP') && !marketOrders.has(order.orderId),
    );
    for (const order of filled) {
      const own = left.filter((deal) => deal.entry === 'in' && Number(deal.orderId) === order.orderId);
      let reducing: Deal[] = [];
      if (!this.hedging) {
        const reach = order.volume - own.reduce((sum, deal) => sum + deal.volume, 0);
        let volume = 0;
        reducing = left.filter((deal) => {
          const fits = deal.entry === 'out' && deal.symbol === order.symbol && deal.side === order.side && !this.orders.has(Number(deal.orderId));
          if (!fits || volume + deal.volume > reach + VOLUME_EPSILON) return false;
          volume += deal.volume;
          return true;
        });
      }
      const mine = [...reducing, ...own].sort(byId);
      if (mine.length === 0) continue;
      for (const deal of mine) take(deal);
      groups.push({ order, deals: mine, requested: order.volume, fresh: false });
    }
    for (const deal of [...left]) {
      take(deal);
      const time = milliseconds(deal.time);
      if (deal.entry === 'in') {
        const order = this.newOrder({
          orderId: Number(deal.orderId),
          symbol: deal.symbol,
          side: deal.side,
          type: 'MARKET',
          volume: deal.volume,
          comment: this.positions.get(Number(deal.positionId))?.comment,
          timeInForce: 'IMMEDIATE_OR_CANCEL',
          time,
        });
        groups.push({ order, deals: [deal], requested: deal.volume, fresh: true });
        continue;
      }
      const previous = before.get(Number(deal.positionId));
      const position = this.positions.get(Number(deal.positionId));
      const sign = previous?.side === 'sell' ? -1 : 1;
      const hit =
        previous !== undefined &&
        ((previous.stopLoss !== undefined && sign * (deal.price - previous.stopLoss) <= 0) ||
          (previous.takeProfit !== undefined && sign * (deal.price - previous.takeProfit) >= 0));
      if (hit && position) {
        const protection = this.protectionOrder(Object.assign(position, { stopLoss: previous.stopLoss, takeProfit: previous.takeProfit }));
        groups.push({ order: protection, deals: [deal], requested: deal.volume, fresh: false });
        continue;
      }
      const order = this.newOrder({
        orderId: Number(deal.orderId),
        symbol: deal.symbol,
        side: deal.side,
        type: 'MARKET',
        volume: deal.volume,
        timeInForce: 'IMMEDIATE_OR_CANCEL',
        time,
        closingOrder: true,
        positionId: Number(deal.positionId),
      });
      groups.push({ order, deals: [deal], requested: deal.volume, fresh: true });
    }
    return groups.sort((a, b) => Number(a.deals[0]?.id) - Number(b.deals[0]?.id));
  }

  private newOrder(fields: {
    orderId: number;
    symbol: string;
    side: Side;
    type: OrderType;
    volume: number;
    timeInForce: TimeInForce;
    time: number;
    comment?: string | undefined;
    label?: string | undefined;
    clientOrderId?: string | undefined;
    closingOrder?: boolean;
    positionId?: number | undefined;
    price?: number | undefined;
    stopLoss?: number | undefined;
    takeProfit?: number | undefined;
    relativeStopLoss?: number | undefined;
    relativeTakeProfit?: number | undefined;
  }): OrderRecord {
    const order: OrderRecord = {
      orderId: fields.orderId,
      symbol: fields.symbol,
      side: fields.side,
      type: fields.type,
      status: 'ORDER_STATUS_ACCEPTED',
      volume: fields.volume,
      executedVolume: 0,
      closingOrder: fields.closingOrder ?? false,
      timeInForce: fields.timeInForce,
      openTimestamp: fields.time,
      updated: fields.time,
    };
    for (const key of [
      'comment',
      'label',
      'clientOrderId',
      'positionId',
      'price',
      'stopLoss',
      'takeProfit',
      'relativeStopLoss',
      'relativeTakeProfit',
    ] as const) {
      const value = fields[key];
      if (value !== undefined) Object.assign(order, { [key]: value });
    }
    this.orders.set(order.orderId, order);
    return order;
  }

  private orderFromIntent(intent: OrderIntent, orderId: number, now: number, pending?: PendingOrder): OrderRecord {
    return this.newOrder({
      orderId,
      symbol: intent.symbol,
      side: intent.side,
      type: intent.orderType,
      volume: intent.volume,
      timeInForce: intent.orderType === 'MARKET' ? 'IMMEDIATE_OR_CANCEL' : 'GOOD_TILL_CANCEL',
      time: now,
      comment: intent.comment,
      label: intent.label,
      clientOrderId: intent.clientOrderId,
      closingOrder: intent.closingPositionId !== undefined,
      positionId: intent.closingPositionId,
      price: pending?.price,
      stopLoss: pending?.stopLoss,
      takeProfit: pending?.takeProfit,
      relativeStopLoss: intent.relativeStopLoss,
      relativeTakeProfit: intent.relativeTakeProfit,
    });
  }

  private emitGroup(group: Group, before: Map<number, PositionRecord>, balanceAfter: Map<string, number>, events: Wire[]): void {
    const { order, deals } = group;
    const symbol = this.symbol(order.symbol);
    if (group.fresh) {
      const firstPositionId = Number(deals[0]?.positionId);
      const existing = before.get(firstPositionId);
      order.positionId ??= firstPositionId;
      events.push(
        this.execution('ORDER_ACCEPTED', {
          order: this.orderWire(order),
          position: existing ? this.positionWire(existing) : this.createdPositionWire(firstPositionId, order),
        }),
      );
    }
    let filled = 0;
    let value = 0;
    const single = deals.length === 1;
    deals.forEach((deal, index) => {
      filled += deal.volume;
      value += deal.volume * deal.price;
      const complete = filled >= group.requested - VOLUME_EPSILON;
      const last = index === deals.length - 1;
      const positionId = Number(deal.positionId);
      const position = this.positions.get(positionId);
      if (position && !before.has(positionId) && deal.entry === 'in') {
        position.label ??= order.label;
        position.clientOrderId ??= order.clientOrderId;
      }
      order.executedVolume = filled;
      order.executionPrice = roundPrice(value / filled, symbol.digits);
      order.positionId ??= positionId;
      if (deal.entry === 'in') order.positionId = positionId;
      order.status = last && complete ? 'ORDER_STATUS_FILLED' : 'ORDER_STATUS_ACCEPTED';
      order.updated = milliseconds(deal.time);
      const partial = single && !complete;
      const wire = this.dealWire(
        deal,
        order.orderId,
        partial ? group.requested : deal.volume,
        partial,
        balanceAfter.get(deal.id),
        before.get(positionId)?.price,
      );
      this.deals.push(wire);
      events.push(
        this.execution(last && complete ? 'ORDER_FILLED' : 'ORDER_PARTIAL_FILL', {
          order: this.orderWire(order),
          position: position ? this.positionWire(position) : undefined,
          deal: wire,
        }),
      );
    });
    if (filled < group.requested - VOLUME_EPSILON) {
      order.status = 'ORDER_STATUS_CANCELLED';
      events.push(this.execution('ORDER_CANCELLED', { order: this.orderWire(order) }));
    }
  }

  /** `ProtoOADeal`; a closing deal with its `closePositionDetail`. */
  private dealWire(deal: Deal, orderId: number, requested: number, partial: boolean, balanceAfter: number | undefined, entryPrice: number | undefined): Wire {
    const symbol = this.symbol(deal.symbol);
    const time = milliseconds(deal.time);
    let closePositionDetail: Wire | undefined;
    if (deal.entry === 'out') {
      this.balanceVersion += 1;
      this.lastClosingDealTimestamp = time;
      closePositionDetail = {
        entryPrice: entryPrice ?? deal.price,
        grossProfit: cents(deal.profit),
        swap: 0,
        commission: 0,
        balance: cents(balanceAfter ?? this.market.getAccountInformation(this.marketAccountId).balance),
        closedVolume: wireVolume(deal.volume, symbol),
        balanceVersion: this.balanceVersion,
        moneyDigits: MONEY_DIGITS,
        pnlConversionFee: 0,
      };
    }
    return compact({
      dealId: Number(deal.id),
      orderId,
      positionId: Number(deal.positionId),
      volume: wireVolume(requested, symbol),
      filledVolume: wireVolume(deal.volume, symbol),
      symbolId: symbol.symbolId,
      createTimestamp: time,
      executionTimestamp: time,
      utcLastUpdateTimestamp: time,
      executionPrice: deal.price,
      tradeSide: this.side(deal.side),
      dealStatus: this.enumValue('ProtoOADealStatus', partial ? 'PARTIALLY_FILLED' : 'FILLED'),
      commission: 0,
      closePositionDetail,
      moneyDigits: MONEY_DIGITS,
    });
  }

  /** Pending orders placed, amended, cancelled (or dropped by the market) since the last look. */
  private syncPendingOrders(marketOrders: Map<number, PendingOrder>, intent: OrderIntent | undefined, now: number, events: Wire[]): void {
    for (const order of this.orders.values()) {
      if (order.status !== 'ORDER_STATUS_ACCEPTED' || (order.type !== 'LIMIT' && order.type !== 'STOP')) continue;
      const current = marketOrders.get(order.orderId);
      if (!current) {
        // Gone without a fill: cancelled, or dropped by the market for want of margin as the price reached it.
        const quote = this.market.getQuote(order.symbol);
        const market = order.side === 'buy' ? quote?.ask : quote?.bid;
        const waitsBelow = (order.side === 'buy') === (order.type === 'LIMIT');
        const triggered = market !== undefined && order.price !== undefined && (waitsBelow ? market <= order.price : market >= order.price);
        order.status = 'ORDER_STATUS_CANCELLED';
        order.updated = now;
        events.push(this.execution('ORDER_CANCELLED', { order: this.orderWire(order), ...(triggered ? { isServerEvent: true } : {}) }));
        continue;
      }
      if (current.price === order.price && sameLevel(current.stopLoss, order.stopLoss) && sameLevel(current.takeProfit, order.takeProfit)) continue;
      order.price = current.price;
      order.stopLoss = current.stopLoss;
      order.takeProfit = current.takeProfit;
      if (current.stopLoss === undefined) delete order.stopLoss;
      if (current.takeProfit === undefined) delete order.takeProfit;
      order.updated = now;
      events.push(this.execution('ORDER_REPLACED', { order: this.orderWire(order) }));
    }
    for (const [id, pending] of marketOrders) {
      if (this.orders.has(id)) continue;
      const fromRequest = intent && intent.orderType !== 'MARKET' && intent.symbol === pending.symbol && intent.side === pending.side ? intent : undefined;
      const order = fromRequest
        ? this.orderFromIntent(fromRequest, id, now, pending)
        : this.newOrder({
            orderId: id,
            symbol: pending.symbol,
            side: pending.side,
            type: pending.type === 'limit' ? 'LIMIT' : 'STOP',
            volume: pending.volume,
            timeInForce: 'GOOD_TILL_CANCEL',
            time: milliseconds(pending.createdAt),
            comment: pending.comment,
            clientOrderId: pending.clientId,
            price: pending.price,
            stopLoss: pending.stopLoss,
            takeProfit: pending.takeProfit,
          });
      events.push(this.execution('ORDER_ACCEPTED', { order: this.orderWire(order) }));
    }
  }
}

/** For a BUY the stop loss is below the entry, for a SELL above: 1/100000 of a unit of price, as the definitions say. */
export const absoluteFromRelative = (side: Side, entry: number, relative: number, kind: 'stopLoss' | 'takeProfit', digits: number): number => {
  const distance = relative / 100_000;
  const below = (side === 'buy') === (kind === 'stopLoss');
  return roundPrice(below ? entry - distance : entry + distance, digits);
};

/** Whether a relative distance is a whole number of the symbol's ticks (10^(5 - digits) points). */
export const isRelativePrecise = (relative: number, digits: number): boolean => digits >= 5 || relative % 10 ** (5 - digits) === 0;

import type { SimulatedMarket } from '../../../local/simulated-broker/simulated-market';
import { isBrokerError } from '../../../shared/domain/broker-errors';
import type { Position, Side } from '../../../shared/domain/trading';
import { type CancelReason, type RejectReason, type Refusal, refusalOf, rejectMessage, type TradeRoute } from './oanda-reasons';
import { amountText, type ClientExtensions, compact, decimalsOf, parseDecimal, priceText, rateText, rfc3339, unitsText, type Wire } from './oanda-wire';

/**
 * One OANDA v20 account on top of a `SimulatedMarket` account: the market holds the money,
 * the positions and the pending orders; this book holds what OANDA shows on top of them and
 * the market does not know: transactions with increasing ids, trades with their signed units,
 * realized P/L and client extensions, orders in every state, dependent TAKE_PROFIT / STOP_LOSS
 * orders with ids of their own, netting (FIFO) of the trades of an instrument.
 *
 * Ids: every OANDA id (transaction, order, trade) is a ticket of the market's one sequence,
 * so ids only grow and never repeat. As OANDA says (`OrderID`, `TradeID`), an order's id is
 * the id of the transaction that created it, and a trade opened by a market order has the id
 * of the ORDER_FILL transaction that opened it. Every trade is the market position of the same
 * id, every pending LIMIT / STOP order the market order of the same id (a pending order filled
 * by the market opens a trade with the order's id).
 *
 * What happens in the market without the fake (a trader's terminal trade, a pending order the
 * market fills, a stop loss or take profit the market hits) is turned into the transactions
 * OANDA would have written when `sync()` runs: before every request and whenever the market
 * reports a change.
 */

export interface Reply {
  status: number;
  body: Wire;
}

export interface OandaAccountOptions {
  market: SimulatedMarket;
  marketAccountId: string;
  id: string;
  hedging: boolean;
  fifo: boolean;
  currency: string;
  leverage: number;
  balance: number;
  now: () => Date;
  /** Called with every transaction once its request is done, in id order. */
  onTransactions: (transactions: Wire[]) => void;
}

type OrderType = 'MARKET' | 'LIMIT' | 'STOP' | 'TAKE_PROFIT' | 'STOP_LOSS';
type OrderState = 'PENDING' | 'FILLED' | 'TRIGGERED' | 'CANCELLED';
type FillReason = 'MARKET_ORDER' | 'LIMIT_ORDER' | 'STOP_ORDER' | 'TAKE_PROFIT_ORDER' | 'STOP_LOSS_ORDER' | 'MARKET_ORDER_TRADE_CLOSE';

/** An order in any state, as OANDA keeps it (`Order`: MarketOrder, LimitOrder, StopOrder, TakeProfitOrder, StopLossOrder). */
interface OrderRecord {
  id: string;
  type: OrderType;
  state: OrderState;
  createTime: string;
  clientExtensions?: ClientExtensions;
  /** Entry orders (MARKET, LIMIT, STOP). */
  instrument?: string;
  units?: number;
  price?: number;
  timeInForce: string;
  gtdTime?: string;
  positionFill?: string;
  priceBound?: string;
  takeProfitOnFill?: Wire;
  stopLossOnFill?: Wire;
  tradeClientExtensions?: ClientExtensions;
  /** A market order that closes (part of) a trade. */
  tradeClose?: Wire;
  /** Dependent orders (TAKE_PROFIT, STOP_LOSS). */
  tradeID?: string;
  clientTradeID?: string;
  distance?: string;
  fillingTransactionID?: string;
  filledTime?: string;
  tradeOpenedID?: string;
  tradeReducedID?: string;
  tradeClosedIDs?: string[];
  cancellingTransactionID?: string;
  cancelledTime?: string;
  replacesOrderID?: string;
  replacedByOrderID?: string;
}

/** A trade (`Trade`); units are signed, negative for a short. */
interface TradeRecord {
  id: string;
  instrument: string;
  price: number;
  openTime: string;
  initialUnits: number;
  currentUnits: number;
  initialMarginRequired: number;
  realizedPL: number;
  closedUnits: number;
  closedValue: number;
  closingTransactionIDs: string[];
  closeTime?: string;
  clientExtensions?: ClientExtensions;
  takeProfitOrderID?: string;
  stopLossOrderID?: string;
}

/** The transactions one request (or one market event) writes; they share a batch id. */
class Batch {
  readonly transactions: Wire[] = [];
  constructor(readonly requestID: string | undefined) {}
  get ids(): string[] {
    return this.transactions.map((transaction) => String(transaction.id));
  }
}

/** An order request that passed OANDA's checks: numbers parsed, details kept as sent. */
interface EntryOrder {
  type: 'MARKET' | 'LIMIT' | 'STOP';
  instrument: string;
  units: number;
  price?: number;
  timeInForce: string;
  gtdTime?: string;
  positionFill: string;
  priceBound?: string;
  clientExtensions?: ClientExtensions;
  tradeClientExtensions?: ClientExtensions;
  takeProfitOnFill?: Wire;
  stopLossOnFill?: Wire;
}

/** A refusal OANDA gives before anything executes. */
class Refused extends Error {
  constructor(
    readonly refusal: Extract<Refusal, { kind: 'reject' | 'cancel' }>,
    message?: string,
  ) {
    super(message ?? refusal.reason);
  }
}

const reject = (reason: RejectReason, message?: string): Refused => new Refused({ kind: 'reject', reason }, message);

const EPOCH = '1970-01-01T00:00:00.000Z';
const END_OF_TIME = '9999-12-31T00:00:00.000Z';
const MAXIMUM_UNITS = 100_000_000;

const byIdAscending = (a: { id: string }, b: { id: string }): number => Number(a.id) - Number(b.id);
const byIdDescending = (a: { id: string }, b: { id: string }): number => Number(b.id) - Number(a.id);
const sideOf = (units: number): Side => (units > 0 ? 'buy' : 'sell');
const sameLevel = (a: number | undefined, b: number | undefined): boolean => (a === undefined || b === undefined ? a === b : Math.abs(a - b) < 1e-9);
const isObject = (value: unknown): value is Wire => typeof value === 'object' && value !== null && !Array.isArray(value);

const clientExtensionsOf = (value: unknown): ClientExtensions | undefined => {
  if (!isObject(value)) return undefined;
  const extensions = compact({ id: value.id, tag: value.tag, comment: value.comment }) as ClientExtensions;
  return Object.keys(extensions).length > 0 ? extensions : undefined;
};

export class OandaAccount {
  readonly id: string;
  readonly marketAccountId: string;
  readonly hedging: boolean;
  readonly fifo: boolean;
  readonly currency: string;
  readonly leverage: number;
  readonly createdTime: string;
  /** The user part of the account id (`101-004-<user>-001`). */
  readonly userID: number;
  /** Every transaction, in id order. */
  readonly transactions: Wire[] = [];
  private readonly market: SimulatedMarket;
  private readonly now: () => Date;
  private readonly onTransactions: (transactions: Wire[]) => void;
  private readonly orders = new Map<string, OrderRecord>();
  private readonly trades = new Map<string, TradeRecord>();
  private readonly accountedDeals = new Set<string>();
  /** Realized P/L over the account's life (`pl`). */
  private pl = 0;
  private lastOrderFillTimestamp: string | undefined;

  constructor(options: OandaAccountOptions) {
    this.market = options.market;
    this.marketAccountId = options.marketAccountId;
    this.id = options.id;
    this.hedging = options.hedging;
    this.fifo = options.fifo;
    this.currency = options.currency;
    this.leverage = options.leverage;
    this.now = options.now;
    this.onTransactions = options.onTransactions;
    this.createdTime = this.time();
    const [site = '0', division = '0', user = '0', number = '0'] = this.id.split('-');
    this.userID = Number(user);
    this.market.openAccount(this.marketAccountId, { balance: options.balance, leverage: options.leverage, currency: options.currency });
    const batch = new Batch(undefined);
    this.record(batch, {
      type: 'CREATE',
      divisionID: Number(division),
      siteID: Number(site),
      accountUserID: Number(user),
      accountNumber: Number(number),
      homeCurrency: options.currency,
    });
    if (options.balance > 0) {
      this.record(batch, {
        type: 'TRANSFER_FUNDS',
        amount: amountText(options.balance),
        fundingReason: 'CLIENT_FUNDING',
        accountBalance: amountText(this.balance()),
      });
    }
    this.commit(batch);
  }

  // ---- reads ---------------------------------------------------------------------------

  get lastTransactionID(): string {
    return String(this.transactions.at(-1)?.id ?? '0');
  }

  /** `AccountProperties` for `GET /v3/accounts`. */
  properties(): Wire {
    return { id: this.id, tags: [] };
  }

  /** `AccountSummary`: the market's money with OANDA's names; NAV = balance + unrealizedPL. */
  summary(): Wire {
    const snapshot = this.market.getAccountSnapshot(this.marketAccountId);
    const open = this.openTrades();
    const marginUsed = snapshot.margin;
    const nav = snapshot.equity;
    return compact({
      id: this.id,
      currency: this.currency,
      balance: amountText(snapshot.balance),
      createdByUserID: this.userID,
      createdTime: this.createdTime,
      guaranteedStopLossOrderMode: 'DISABLED',
      pl: amountText(this.pl),
      resettablePL: amountText(this.pl),
      financing: amountText(0),
      commission: amountText(0),
      guaranteedExecutionFees: amountText(0),
      marginRate: rateText(1 / this.leverage),
      openTradeCount: open.length,
      openPositionCount: new Set(open.map((trade) => trade.instrument)).size,
      pendingOrderCount: this.pendingOrders().length,
      hedgingEnabled: this.hedging,
      lastOrderFillTimestamp: this.lastOrderFillTimestamp,
      lastTransactionID: this.lastTransactionID,
      ...this.calculatedState(nav, snapshot.balance, marginUsed, snapshot.freeMargin),
    });
  }

  /** `Account`: the summary with the open trades, positions and pending orders. */
  full(): Wire {
    return {
      ...this.summary(),
      trades: this.openTrades().map((trade) => this.tradeWire(trade, 'summary')),
      positions: this.positions().map((position) => this.positionWire(position)),
      orders: this.pendingOrders().map((order) => this.orderWire(order)),
    };
  }

  /** `CalculatedAccountState`: margin closeout happens when NAV falls to half the margin used (`marginCloseoutPercent` 1). */
  private calculatedState(nav: number, balance: number, marginUsed: number, marginAvailable: number): Wire {
    const closeoutPercent = nav > 0 ? marginUsed / 2 / nav : 0;
    return {
      unrealizedPL: amountText(nav - balance),
      NAV: amountText(nav),
      marginUsed: amountText(marginUsed),
      marginAvailable: amountText(marginAvailable),
      positionValue: amountText(marginUsed * this.leverage),
      marginCloseoutUnrealizedPL: amountText(nav - balance),
      marginCloseoutNAV: amountText(nav),
      marginCloseoutMarginUsed: amountText(marginUsed),
      marginCloseoutPercent: rateText(closeoutPercent),
      marginCloseoutPositionValue: amountText(marginUsed * this.leverage),
      withdrawalLimit: amountText(Math.max(0, marginAvailable)),
      marginCallMarginUsed: amountText(marginUsed),
      marginCallPercent: rateText(nav > 0 ? marginUsed / nav : 0),
    };
  }

  openTrades(): TradeRecord[] {
    return [...this.trades.values()].filter((trade) => trade.currentUnits !== 0).sort(byIdDescending);
  }

  /** Trades by `GET .../trades` query: state OPEN (default) / CLOSED / ALL, ids, instrument, count (50, at most 500), beforeID (exclusive); newest first. */
  listTrades(query: { state?: string; ids?: string[]; instrument?: string; count?: number; beforeID?: string }): TradeRecord[] {
    const state = query.state ?? 'OPEN';
    const inState = (trade: TradeRecord) =>
      state === 'ALL' || (state === 'OPEN' && trade.currentUnits !== 0) || (state === 'CLOSED' && trade.currentUnits === 0);
    return [...this.trades.values()]
      .filter(inState)
      .filter((trade) => !query.ids || query.ids.includes(trade.id))
      .filter((trade) => !query.instrument || trade.instrument === query.instrument)
      .filter((trade) => query.beforeID === undefined || Number(trade.id) < Number(query.beforeID))
      .sort(byIdDescending)
      .slice(0, Math.min(query.count ?? 50, 500));
  }

  /** A trade by its id or `@` + its client id (the most recent trade with that client id). */
  findTrade(specifier: string): TradeRecord | undefined {
    if (specifier.startsWith('@')) {
      const clientId = specifier.slice(1);
      return [...this.trades.values()].filter((trade) => trade.clientExtensions?.id === clientId).sort(byIdDescending)[0];
    }
    return this.trades.get(specifier);
  }

  /** An order by its id or `@` + its client id (the most recent order with that client id). */
  findOrder(specifier: string): OrderRecord | undefined {
    if (specifier.startsWith('@')) {
      const clientId = specifier.slice(1);
      return [...this.orders.values()].filter((order) => order.clientExtensions?.id === clientId).sort(byIdDescending)[0];
    }
    return this.orders.get(specifier);
  }

  /** Pending orders, dependent TAKE_PROFIT / STOP_LOSS orders included (as OANDA lists them); newest first. */
  pendingOrders(): OrderRecord[] {
    return [...this.orders.values()].filter((order) => order.state === 'PENDING').sort(byIdDescending);
  }

  /** Orders by `GET .../orders` query: state PENDING (default) / FILLED / TRIGGERED / CANCELLED / ALL, ids, instrument, count, beforeID. */
  listOrders(query: { state?: string; ids?: string[]; instrument?: string; count?: number; beforeID?: string }): OrderRecord[] {
    const state = query.state ?? 'PENDING';
    return [...this.orders.values()]
      .filter((order) => state === 'ALL' || order.state === state)
      .filter((order) => !query.ids || query.ids.includes(order.id))
      .filter((order) => !query.instrument || this.instrumentOfOrder(order) === query.instrument)
      .filter((order) => query.beforeID === undefined || Number(order.id) < Number(query.beforeID))
      .sort(byIdDescending)
      .slice(0, Math.min(query.count ?? 50, 500));
  }

  private instrumentOfOrder(order: OrderRecord): string | undefined {
    return order.instrument ?? (order.tradeID ? this.trades.get(order.tradeID)?.instrument : undefined);
  }

  /** The instruments with open trades, or (with `all`) every instrument the account has ever traded. */
  positions(all = false): string[] {
    const trades = all ? [...this.trades.values()] : this.openTrades();
    return [...new Set(trades.map((trade) => trade.instrument))].sort();
  }

  private marketPositions(): Map<string, Position> {
    return new Map(this.market.getPositions(this.marketAccountId).map((position) => [position.id, position]));
  }

  private marginOf(trade: TradeRecord): number {
    if (trade.currentUnits === 0) return 0;
    return this.market.requiredMargin(this.marketAccountId, trade.instrument, sideOf(trade.currentUnits), Math.abs(trade.currentUnits));
  }

  private digitsOf(instrument: string): number {
    return this.market.getSymbolSpec(instrument)?.digits ?? 5;
  }

  private price(instrument: string, value: number): string {
    return priceText(value, this.digitsOf(instrument));
  }

  /** `Trade` (or `TradeSummary` with the dependent orders' ids instead of the orders). */
  tradeWire(trade: TradeRecord, shape: 'full' | 'summary' = 'full'): Wire {
    const open = trade.currentUnits !== 0;
    const marked = open ? this.marketPositions().get(trade.id) : undefined;
    // An open trade shows the dependent orders that wait; a closed one the last it had, in their final state.
    const dependent = (id: string | undefined) => {
      const order = id ? this.orders.get(id) : undefined;
      return order && (order.state === 'PENDING' || !open) ? order : undefined;
    };
    const wire = (order: OrderRecord | undefined) => (order ? this.orderWire(order) : undefined);
    return compact({
      id: trade.id,
      instrument: trade.instrument,
      price: this.price(trade.instrument, trade.price),
      openTime: trade.openTime,
      state: open ? 'OPEN' : 'CLOSED',
      initialUnits: unitsText(trade.initialUnits),
      initialMarginRequired: amountText(trade.initialMarginRequired),
      currentUnits: unitsText(trade.currentUnits),
      realizedPL: amountText(trade.realizedPL),
      unrealizedPL: open ? amountText(marked?.profit ?? 0) : undefined,
      marginUsed: open ? amountText(this.marginOf(trade)) : undefined,
      averageClosePrice: trade.closedUnits > 0 ? this.price(trade.instrument, trade.closedValue / trade.closedUnits) : undefined,
      closingTransactionIDs: trade.closingTransactionIDs.length > 0 ? [...trade.closingTransactionIDs] : undefined,
      financing: amountText(0),
      closeTime: trade.closeTime,
      clientExtensions: trade.clientExtensions,
      ...(shape === 'full'
        ? { takeProfitOrder: wire(dependent(trade.takeProfitOrderID)), stopLossOrder: wire(dependent(trade.stopLossOrderID)) }
        : { takeProfitOrderID: dependent(trade.takeProfitOrderID)?.id, stopLossOrderID: dependent(trade.stopLossOrderID)?.id }),
    });
  }

  /** `Order` of its type (`MarketOrder`, `LimitOrder`, `StopOrder`, `TakeProfitOrder`, `StopLossOrder`). */
  orderWire(order: OrderRecord): Wire {
    const instrument = this.instrumentOfOrder(order) ?? 'EUR_USD';
    const lifecycle = {
      fillingTransactionID: order.fillingTransactionID,
      filledTime: order.filledTime,
      tradeOpenedID: order.tradeOpenedID,
      tradeReducedID: order.tradeReducedID,
      tradeClosedIDs: order.tradeClosedIDs,
      cancellingTransactionID: order.cancellingTransactionID,
      cancelledTime: order.cancelledTime,
    };
    const replacement = { replacesOrderID: order.replacesOrderID, replacedByOrderID: order.replacedByOrderID };
    return compact({
      id: order.id,
      createTime: order.createTime,
      state: order.state,
      clientExtensions: order.clientExtensions,
      ...this.orderSpec(order, instrument),
      ...lifecycle,
      ...(order.type === 'MARKET' ? {} : replacement),
    });
  }

  /** The fields an order and the transaction that created it share. */
  private orderSpec(order: OrderRecord, instrument: string): Wire {
    switch (order.type) {
      case 'MARKET':
        return {
          type: 'MARKET',
          instrument,
          units: unitsText(order.units ?? 0),
          timeInForce: order.timeInForce,
          priceBound: order.priceBound,
          positionFill: order.positionFill,
          tradeClose: order.tradeClose,
          takeProfitOnFill: order.takeProfitOnFill,
          stopLossOnFill: order.stopLossOnFill,
          tradeClientExtensions: order.tradeClientExtensions,
        };
      case 'LIMIT':
      case 'STOP':
        return {
          type: order.type,
          instrument,
          units: unitsText(order.units ?? 0),
          price: this.price(instrument, order.price ?? 0),
          priceBound: order.type === 'STOP' ? order.priceBound : undefined,
          timeInForce: order.timeInForce,
          gtdTime: order.gtdTime,
          positionFill: order.positionFill,
          triggerCondition: 'DEFAULT',
          takeProfitOnFill: order.takeProfitOnFill,
          stopLossOnFill: order.stopLossOnFill,
          tradeClientExtensions: order.tradeClientExtensions,
        };
      case 'TAKE_PROFIT':
      case 'STOP_LOSS':
        return {
          type: order.type,
          tradeID: order.tradeID,
          clientTradeID: order.clientTradeID,
          price: this.price(instrument, order.price ?? 0),
          distance: order.type === 'STOP_LOSS' ? order.distance : undefined,
          timeInForce: order.timeInForce,
          gtdTime: order.gtdTime,
          triggerCondition: 'DEFAULT',
          guaranteed: order.type === 'STOP_LOSS' ? false : undefined,
        };
    }
  }

  /** `Position` of an instrument: its long and short sides, realized P/L over all its trades. */
  positionWire(instrument: string): Wire {
    const marked = this.marketPositions();
    const trades = [...this.trades.values()].filter((trade) => trade.instrument === instrument);
    const side = (sign: 1 | -1): Wire => {
      const open = trades.filter((trade) => Math.sign(trade.currentUnits) === sign).sort(byIdAscending);
      const units = open.reduce((sum, trade) => sum + trade.currentUnits, 0);
      const realized = trades.filter((trade) => Math.sign(trade.initialUnits) === sign).reduce((sum, trade) => sum + trade.realizedPL, 0);
      const unrealized = open.reduce((sum, trade) => sum + (marked.get(trade.id)?.profit ?? 0), 0);
      const value = open.reduce((sum, trade) => sum + Math.abs(trade.currentUnits) * trade.price, 0);
      return compact({
        units: unitsText(units),
        averagePrice: units !== 0 ? this.price(instrument, value / Math.abs(units)) : undefined,
        tradeIDs: open.map((trade) => trade.id),
        pl: amountText(realized),
        unrealizedPL: amountText(unrealized),
        resettablePL: amountText(realized),
        financing: amountText(0),
        guaranteedExecutionFees: amountText(0),
      });
    };
    const long = side(1);
    const short = side(-1);
    const realized = trades.reduce((sum, trade) => sum + trade.realizedPL, 0);
    const unrealized = trades.reduce((sum, trade) => sum + (marked.get(trade.id)?.profit ?? 0), 0);
    return {
      instrument,
      pl: amountText(realized),
      unrealizedPL: amountText(unrealized),
      marginUsed: amountText(trades.reduce((sum, trade) => sum + this.marginOf(trade), 0)),
      resettablePL: amountText(realized),
      financing: amountText(0),
      commission: amountText(0),
      guaranteedExecutionFees: amountText(0),
      long,
      short,
    };
  }

  /**
   * `GET .../changes?sinceTransactionID=`: what changed after that transaction (`AccountChanges`,
   * each order and trade listed once, under its state now) and the account's state
   * (`AccountChangesState`).
   */
  changes(since: number): Wire {
    const transactions = this.transactions.filter((transaction) => Number(transaction.id) > since);
    const orderIds = new Set<string>();
    const opened = new Set<string>();
    const touched = new Set<string>();
    const instruments = new Set<string>();
    for (const transaction of transactions) {
      const type = String(transaction.type);
      if (/^(MARKET|LIMIT|STOP|TAKE_PROFIT|STOP_LOSS)_ORDER$/.test(type)) orderIds.add(String(transaction.id));
      if (type === 'ORDER_CANCEL' || type === 'ORDER_FILL') orderIds.add(String(transaction.orderID));
      if (type === 'ORDER_FILL') {
        instruments.add(String(transaction.instrument));
        const tradeOpened = transaction.tradeOpened as Wire | undefined;
        if (tradeOpened) opened.add(String(tradeOpened.tradeID));
        const reduced = transaction.tradeReduced as Wire | undefined;
        if (reduced) touched.add(String(reduced.tradeID));
        for (const closed of (transaction.tradesClosed as Wire[] | undefined) ?? []) touched.add(String(closed.tradeID));
      }
    }
    const orders = [...orderIds].flatMap((id) => {
      const order = this.orders.get(id);
      return order ? [order] : [];
    });
    const ordersIn = (state: OrderState) => orders.filter((order) => order.state === state).map((order) => this.orderWire(order));
    const tradesOf = (ids: Iterable<string>) =>
      [...ids].flatMap((id) => {
        const trade = this.trades.get(id);
        return trade ? [trade] : [];
      });
    const all = tradesOf(new Set([...opened, ...touched]));
    const summaries = (trades: TradeRecord[]) => trades.map((trade) => this.tradeWire(trade, 'summary'));
    const snapshot = this.market.getAccountSnapshot(this.marketAccountId);
    const marked = this.marketPositions();
    const open = this.openTrades();
    return {
      changes: {
        ordersCreated: ordersIn('PENDING'),
        ordersCancelled: ordersIn('CANCELLED'),
        ordersFilled: ordersIn('FILLED'),
        ordersTriggered: ordersIn('TRIGGERED'),
        tradesOpened: summaries(all.filter((trade) => trade.currentUnits !== 0 && opened.has(trade.id))),
        tradesReduced: summaries(all.filter((trade) => trade.currentUnits !== 0 && !opened.has(trade.id))),
        tradesClosed: summaries(all.filter((trade) => trade.currentUnits === 0)),
        positions: [...instruments].map((instrument) => this.positionWire(instrument)),
        transactions,
      },
      state: {
        ...this.calculatedState(snapshot.equity, snapshot.balance, snapshot.margin, snapshot.freeMargin),
        orders: [],
        trades: open.map((trade) => ({
          id: trade.id,
          unrealizedPL: amountText(marked.get(trade.id)?.profit ?? 0),
          marginUsed: amountText(this.marginOf(trade)),
        })),
        positions: this.positions().map((instrument) => {
          const sideProfit = (sign: number) =>
            open
              .filter((trade) => trade.instrument === instrument && Math.sign(trade.currentUnits) === sign)
              .reduce((sum, trade) => sum + (marked.get(trade.id)?.profit ?? 0), 0);
          return {
            instrument,
            netUnrealizedPL: amountText(sideProfit(1) + sideProfit(-1)),
            longUnrealizedPL: amountText(sideProfit(1)),
            shortUnrealizedPL: amountText(sideProfit(-1)),
            marginUsed: amountText(open.filter((trade) => trade.instrument === instrument).reduce((sum, trade) => sum + this.marginOf(trade), 0)),
          };
        }),
      },
      lastTransactionID: this.lastTransactionID,
    };
  }

  // ---- transactions --------------------------------------------------------------------

  private time(): string {
    return rfc3339(this.now());
  }

  private balance(): number {
    return this.market.getAccountInformation(this.marketAccountId).balance;
  }

  /**
   * Writes a transaction into the batch: the common fields of `Transaction` (id, time, userID,
   * accountID, batchID = the batch's first id, requestID of the request that made it).
   */
  private record(batch: Batch, fields: Wire, id: string = this.market.takeTicket()): Wire {
    const transaction = compact({
      id,
      time: this.time(),
      userID: this.userID,
      accountID: this.id,
      batchID: batch.transactions[0]?.id ?? id,
      requestID: batch.requestID,
      ...fields,
    });
    batch.transactions.push(transaction);
    return transaction;
  }

  /** Adds the batch to the account's transactions (in id order) and hands it to the streams. */
  private commit(batch: Batch): void {
    if (batch.transactions.length === 0) return;
    const sorted = [...batch.transactions].sort((a, b) => Number(a.id) - Number(b.id));
    this.transactions.push(...sorted);
    this.transactions.sort((a, b) => Number(a.id) - Number(b.id));
    this.markDealsAccounted();
    this.onTransactions(sorted);
  }

  /** The market's deals so far are the fake's own doing (or already turned into transactions). */
  private markDealsAccounted(): void {
    for (const deal of this.market.getDeals(this.marketAccountId, EPOCH, END_OF_TIME)) this.accountedDeals.add(deal.id);
  }

  private reply(status: number, batch: Batch, fields: Wire): Reply {
    this.commit(batch);
    return { status, body: { ...fields, relatedTransactionIDs: batch.ids, lastTransactionID: this.lastTransactionID } };
  }

  // ---- checks --------------------------------------------------------------------------

  /** OANDA's checks of an entry order request, in the order it reports them; throws `Refused` (a reject). */
  private checkEntryOrder(request: Wire, replacing?: OrderRecord): EntryOrder {
    const type = request.type as EntryOrder['type'];
    const instrument = request.instrument;
    if (typeof instrument !== 'string') throw reject('INSTRUMENT_MISSING');
    const spec = this.market.getSymbolSpec(instrument);
    if (!spec) throw reject('INSTRUMENT_UNKNOWN');
    if (request.units === undefined) throw reject('UNITS_MISSING');
    const units = parseDecimal(request.units);
    if (units === undefined || units === 0) throw reject('UNITS_INVALID');
    if (decimalsOf(String(request.units)) > 0) throw reject('UNITS_PRECISION_EXCEEDED');
    if (Math.abs(units) > Math.min(spec.volumeMax, MAXIMUM_UNITS)) throw reject('UNITS_LIMIT_EXCEEDED');
    if (Math.abs(units) < spec.volumeMin) throw reject('UNITS_MIMIMUM_NOT_MET');
    let price: number | undefined;
    if (type !== 'MARKET') {
      if (request.price === undefined) throw reject('PRICE_MISSING');
      price = parseDecimal(request.price);
      if (price === undefined || price <= 0) throw reject('PRICE_INVALID');
      if (decimalsOf(String(request.price)) > spec.digits) throw reject('PRICE_PRECISION_EXCEEDED');
    }
    const timeInForce = typeof request.timeInForce === 'string' ? request.timeInForce : type === 'MARKET' ? 'FOK' : 'GTC';
    if (type === 'MARKET' ? !['FOK', 'IOC'].includes(timeInForce) : !['GTC', 'GTD', 'GFD'].includes(timeInForce)) {
      throw reject('TIME_IN_FORCE_INVALID', `The fake accepts ${type === 'MARKET' ? 'FOK or IOC' : 'GTC, GTD or GFD'} for a ${type} order`);
    }
    const gtdTime = typeof request.gtdTime === 'string' ? request.gtdTime : undefined;
    if (timeInForce === 'GTD' && !gtdTime) throw reject('TIME_IN_FORCE_GTD_TIMESTAMP_MISSING');
    if (timeInForce === 'GTD' && gtdTime && Date.parse(gtdTime) <= this.now().getTime()) throw reject('TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST');
    const clientExtensions = clientExtensionsOf(request.clientExtensions);
    const clientId = clientExtensions?.id;
    // A replacement carries the client id of the order it replaces, and of that order's predecessors.
    const chain = new Set<OrderRecord>();
    for (let order = replacing; order && !chain.has(order); order = order.replacesOrderID ? this.orders.get(order.replacesOrderID) : undefined)
      chain.add(order);
    if (clientId !== undefined && [...this.orders.values()].some((order) => order.clientExtensions?.id === clientId && !chain.has(order))) {
      throw reject('CLIENT_ORDER_ID_ALREADY_EXISTS');
    }
    if (request.trailingStopLossOnFill !== undefined) throw reject('TRAILING_STOP_LOSS_ORDERS_NOT_SUPPORTED');
    const takeProfitOnFill = isObject(request.takeProfitOnFill) ? request.takeProfitOnFill : undefined;
    if (takeProfitOnFill) {
      if (takeProfitOnFill.price === undefined) throw reject('TAKE_PROFIT_ON_FILL_PRICE_MISSING');
      const level = parseDecimal(takeProfitOnFill.price);
      if (level === undefined || level <= 0) throw reject('TAKE_PROFIT_ON_FILL_PRICE_INVALID');
      if (decimalsOf(String(takeProfitOnFill.price)) > spec.digits) throw reject('TAKE_PROFIT_ON_FILL_PRICE_PRECISION_EXCEEDED');
    }
    const stopLossOnFill = isObject(request.stopLossOnFill) ? request.stopLossOnFill : undefined;
    if (stopLossOnFill) {
      if (stopLossOnFill.guaranteed === true) throw reject('STOP_LOSS_ON_FILL_GUARANTEED_NOT_ALLOWED');
      if (stopLossOnFill.price !== undefined && stopLossOnFill.distance !== undefined) throw reject('STOP_LOSS_ON_FILL_PRICE_AND_DISTANCE_BOTH_SPECIFIED');
      if (stopLossOnFill.price === undefined && stopLossOnFill.distance === undefined) throw reject('STOP_LOSS_ON_FILL_PRICE_AND_DISTANCE_BOTH_MISSING');
      if (stopLossOnFill.price !== undefined) {
        const level = parseDecimal(stopLossOnFill.price);
        if (level === undefined || level <= 0) throw reject('STOP_LOSS_ON_FILL_PRICE_INVALID');
        if (decimalsOf(String(stopLossOnFill.price)) > spec.digits) throw reject('STOP_LOSS_ON_FILL_PRICE_PRECISION_EXCEEDED');
      } else {
        const distance = parseDecimal(stopLossOnFill.distance);
        if (distance === undefined || distance <= 0) throw reject('STOP_LOSS_ON_FILL_DISTANCE_INVALID');
      }
    }
    const positionFill = typeof request.positionFill === 'string' ? request.positionFill : 'DEFAULT';
    if (type === 'MARKET' && positionFill === 'REDUCE_ONLY' && this.opposite(instrument, units).length === 0) {
      throw reject('ORDER_FILL_POSITION_ACTION_INVALID', 'REDUCE_ONLY, and there is nothing to reduce');
    }
    if (type === 'MARKET' && this.cannotOpenOnly(positionFill, instrument, units)) throw this.openOnlyRefusal();
    return compact({
      type,
      instrument,
      units,
      price,
      timeInForce,
      gtdTime,
      positionFill,
      priceBound: typeof request.priceBound === 'string' ? request.priceBound : undefined,
      clientExtensions,
      tradeClientExtensions: clientExtensionsOf(request.tradeClientExtensions),
      takeProfitOnFill,
      stopLossOnFill,
    }) as unknown as EntryOrder;
  }

  /** Open trades of the instrument on the other side of `units`, oldest first: what a netting fill reduces. */
  private opposite(instrument: string, units: number): TradeRecord[] {
    return [...this.trades.values()]
      .filter((trade) => trade.instrument === instrument && trade.currentUnits !== 0 && Math.sign(trade.currentUnits) !== Math.sign(units))
      .sort((a, b) => a.openTime.localeCompare(b.openTime) || byIdAscending(a, b));
  }

  /**
   * Whether a fill reduces the opposite trades before it opens: DEFAULT reduces first on an
   * account without hedging (netting, US FIFO) and only opens on one with hedging;
   * REDUCE_FIRST and REDUCE_ONLY always reduce; OPEN_ONLY never reduces (`OrderPositionFill`:
   * "only allow Positions to be opened or extended"): it opens beside the opposite trades where
   * hedging allows it and cannot fill elsewhere (see `cannotOpenOnly`).
   */
  private reducesFirst(positionFill: string): boolean {
    if (positionFill === 'OPEN_ONLY') return false;
    return positionFill === 'REDUCE_FIRST' || positionFill === 'REDUCE_ONLY' || !this.hedging;
  }

  /** An OPEN_ONLY fill on an account without hedging against open trades on the other side: it could only reduce them. */
  private cannotOpenOnly(positionFill: string | undefined, instrument: string, units: number): boolean {
    return positionFill === 'OPEN_ONLY' && !this.hedging && this.opposite(instrument, units).length > 0;
  }

  /**
   * How such an order is refused: the v20 document names no reason for it in so many words, so
   * the fake rejects it (400, `...ORDER_REJECT`) with the `TransactionRejectReason`
   * ORDER_FILL_POSITION_ACTION_INVALID (the order's position fill action cannot be carried out),
   * the reason it already gives a REDUCE_ONLY order with nothing to reduce. No
   * `OrderCancelReason` fits (none speaks of the position fill).
   */
  private openOnlyRefusal(): Refused {
    return reject(
      'ORDER_FILL_POSITION_ACTION_INVALID',
      'OPEN_ONLY, and the account does not hedge: the fill could only reduce the open trades on the other side',
    );
  }

  /** The stop loss level of an on-fill detail: its price, or the fill price less / plus its distance. */
  private stopLossLevel(details: Wire | undefined, units: number, fillPrice: number, instrument: string): number | undefined {
    if (!details) return undefined;
    const price = parseDecimal(details.price);
    if (price !== undefined) return price;
    const distance = parseDecimal(details.distance) ?? 0;
    return Number((fillPrice - Math.sign(units) * distance).toFixed(this.digitsOf(instrument)));
  }

  // ---- creating orders -----------------------------------------------------------------

  /** `POST .../orders`: a MARKET, LIMIT or STOP order (`MarketOrderRequest`, `LimitOrderRequest`, `StopOrderRequest`). */
  createOrder(request: Wire, requestID: string): Reply {
    const batch = new Batch(requestID);
    let order: EntryOrder;
    try {
      order = this.checkEntryOrder(request);
    } catch (error) {
      if (error instanceof Refused) return this.rejectOrder(batch, request, error);
      throw error;
    }
    if (order.type === 'MARKET') return this.placeMarketOrder(batch, order);
    return this.placePendingOrder(batch, order);
  }

  /** 400 with the request's `...OrderRejectTransaction`, as `POST .../orders` and `PUT .../orders/{spec}` answer a refused order. */
  private rejectOrder(batch: Batch, request: Wire, refused: Refused, replacing?: OrderRecord): Reply {
    const type = typeof request.type === 'string' ? request.type : 'MARKET';
    const rejection = this.record(
      batch,
      compact({
        type: `${type}_ORDER_REJECT`,
        instrument: request.instrument,
        units: request.units,
        price: type === 'MARKET' ? undefined : request.price,
        priceBound: request.priceBound,
        timeInForce: request.timeInForce ?? (type === 'MARKET' ? 'FOK' : 'GTC'),
        gtdTime: type === 'MARKET' ? undefined : request.gtdTime,
        positionFill: request.positionFill ?? 'DEFAULT',
        triggerCondition: type === 'MARKET' ? undefined : (request.triggerCondition ?? 'DEFAULT'),
        reason: replacing ? 'REPLACEMENT' : 'CLIENT_ORDER',
        clientExtensions: request.clientExtensions,
        takeProfitOnFill: request.takeProfitOnFill,
        stopLossOnFill: request.stopLossOnFill,
        trailingStopLossOnFill: request.trailingStopLossOnFill,
        tradeClientExtensions: request.tradeClientExtensions,
        intendedReplacesOrderID: replacing?.id,
        rejectReason: refused.refusal.reason,
      }),
    );
    return this.reply(400, batch, {
      orderRejectTransaction: rejection,
      errorCode: refused.refusal.reason,
      errorMessage: refused.message === refused.refusal.reason ? rejectMessage(refused.refusal.reason as RejectReason) : refused.message,
    });
  }

  /** The order record of an entry order and the transaction that creates it (`MARKET_ORDER`, `LIMIT_ORDER`, `STOP_ORDER`). */
  private createEntry(batch: Batch, order: EntryOrder, id: string, extra: { replacesOrderID?: string; tradeClose?: Wire; reason?: string } = {}): OrderRecord {
    const record: OrderRecord = compact({
      id,
      type: order.type,
      state: 'PENDING',
      createTime: this.time(),
      clientExtensions: order.clientExtensions,
      instrument: order.instrument,
      units: order.units,
      price: order.price,
      timeInForce: order.timeInForce,
      gtdTime: order.gtdTime,
      positionFill: order.positionFill,
      priceBound: order.priceBound,
      takeProfitOnFill: order.takeProfitOnFill,
      stopLossOnFill: order.stopLossOnFill,
      tradeClientExtensions: order.tradeClientExtensions,
      tradeClose: extra.tradeClose,
      replacesOrderID: extra.replacesOrderID,
    }) as unknown as OrderRecord;
    this.orders.set(id, record);
    const spec = this.orderSpec(record, order.instrument);
    const { type: orderType, ...fields } = spec;
    this.record(
      batch,
      compact({
        type: `${String(orderType)}_ORDER`,
        ...fields,
        reason: extra.reason ?? (extra.replacesOrderID ? 'REPLACEMENT' : 'CLIENT_ORDER'),
        clientExtensions: order.clientExtensions,
        replacesOrderID: extra.replacesOrderID,
      }),
      id,
    );
    return record;
  }

  /** Cancels an order: `ORDER_CANCEL` with the reason, the order CANCELLED. */
  private cancelRecord(batch: Batch, order: OrderRecord, reason: CancelReason, replacedByOrderID?: string, id?: string): Wire {
    const transaction = this.record(
      batch,
      compact({ type: 'ORDER_CANCEL', orderID: order.id, clientOrderID: order.clientExtensions?.id, reason, replacedByOrderID }),
      id,
    );
    order.state = 'CANCELLED';
    order.cancellingTransactionID = String(transaction.id);
    order.cancelledTime = String(transaction.time);
    if (replacedByOrderID) order.replacedByOrderID = replacedByOrderID;
    return transaction;
  }

  /**
   * A market order: created, then filled at once (201 with `orderCreateTransaction` and
   * `orderFillTransaction`) or cancelled when it cannot fill (201 with `orderCancelTransaction`:
   * INSUFFICIENT_MARGIN, STOP_LOSS_ON_FILL_LOSS, TAKE_PROFIT_ON_FILL_LOSS, CLIENT_TRADE_ID_ALREADY_EXISTS,
   * MARKET_HALTED, ...).
   */
  private placeMarketOrder(batch: Batch, order: EntryOrder): Reply {
    const created = this.createEntry(batch, order, this.market.takeTicket());
    const filled = this.fillNow(batch, created, 'MARKET_ORDER');
    const orderCreateTransaction = batch.transactions[0];
    return this.reply(201, batch, { orderCreateTransaction, ...filled });
  }

  /**
   * A LIMIT or STOP order: waits in the market until the price reaches it. One whose price the
   * market has already reached fills at once, as OANDA fills a marketable limit or stop order.
   */
  private placePendingOrder(batch: Batch, order: EntryOrder, replacing?: OrderRecord, cancelId?: string): Reply {
    const quote = this.market.getQuote(order.instrument);
    const price = order.price ?? 0;
    const side = sideOf(order.units);
    const market = side === 'buy' ? (quote?.ask ?? 0) : (quote?.bid ?? 0);
    const waitsBelow = (side === 'buy') === (order.type === 'LIMIT');
    const reachedAlready = waitsBelow ? market <= price : market >= price;
    const cancelReplaced = () =>
      replacing
        ? {
            orderCancelTransaction: this.cancelRecord(batch, replacing, 'CLIENT_REQUEST_REPLACED', undefined, cancelId),
          }
        : {};
    if (reachedAlready) {
      if (this.cannotOpenOnly(order.positionFill, order.instrument, order.units))
        return this.rejectOrder(batch, this.requestOf(order), this.openOnlyRefusal(), replacing);
      if (replacing) this.market.cancelOrder(this.marketAccountId, replacing.id);
      const cancelled = cancelReplaced();
      const created = this.createEntry(batch, order, this.market.takeTicket(), { replacesOrderID: replacing?.id });
      if (replacing) {
        replacing.replacedByOrderID = created.id;
        (cancelled.orderCancelTransaction as Wire).replacedByOrderID = created.id;
      }
      const orderCreateTransaction = batch.transactions.find((transaction) => transaction.id === created.id);
      const filled = this.fillNow(batch, created, order.type === 'LIMIT' ? 'LIMIT_ORDER' : 'STOP_ORDER');
      return this.reply(201, batch, { ...cancelled, orderCreateTransaction, ...filled });
    }
    const stops = this.pendingStops(order);
    if (stops instanceof Refused) return this.rejectOrder(batch, this.requestOf(order), stops, replacing);
    let id: string;
    try {
      const result = this.market.placeOrder(this.marketAccountId, {
        symbol: order.instrument,
        side,
        type: order.type === 'LIMIT' ? 'limit' : 'stop',
        volume: Math.abs(order.units),
        price,
        stopLoss: stops.stopLoss,
        takeProfit: stops.takeProfit,
        clientId: order.clientExtensions?.id ?? '',
      });
      id = result.orderId ?? '';
    } catch (error) {
      if (!isBrokerError(error)) throw error;
      const refusal = refusalOf(error.code, 'pendingOrder');
      const reason = refusal.kind === 'reject' ? refusal.reason : 'INTERNAL_SERVER_ERROR';
      return this.rejectOrder(batch, this.requestOf(order), reject(reason, error.message), replacing);
    }
    if (replacing) this.market.cancelOrder(this.marketAccountId, replacing.id);
    const cancelled = cancelReplaced();
    const created = this.createEntry(batch, order, id, { replacesOrderID: replacing?.id });
    if (replacing) {
      replacing.replacedByOrderID = created.id;
      (cancelled.orderCancelTransaction as Wire).replacedByOrderID = created.id;
    }
    const orderCreateTransaction = batch.transactions.find((transaction) => transaction.id === created.id);
    return this.reply(201, batch, { ...cancelled, orderCreateTransaction });
  }

  /** The request an `EntryOrder` came from, for a reject transaction. */
  private requestOf(order: EntryOrder): Wire {
    return compact({
      type: order.type,
      instrument: order.instrument,
      units: unitsText(order.units),
      price: order.price === undefined ? undefined : this.price(order.instrument, order.price),
      timeInForce: order.timeInForce,
      gtdTime: order.gtdTime,
      positionFill: order.positionFill,
      clientExtensions: order.clientExtensions,
      takeProfitOnFill: order.takeProfitOnFill,
      stopLossOnFill: order.stopLossOnFill,
      tradeClientExtensions: order.tradeClientExtensions,
    });
  }

  /** Stops of a pending order must be on the losing / winning side of its price (the market keeps them with the order). */
  private pendingStops(order: EntryOrder): { stopLoss?: number; takeProfit?: number } | Refused {
    const price = order.price ?? 0;
    const sign = Math.sign(order.units);
    const stopLoss = this.stopLossLevel(order.stopLossOnFill, order.units, price, order.instrument);
    const takeProfit = parseDecimal(order.takeProfitOnFill?.price);
    if (stopLoss !== undefined && Math.sign(price - stopLoss) !== sign) return reject('STOP_LOSS_ON_FILL_PRICE_INVALID');
    if (takeProfit !== undefined && Math.sign(takeProfit - price) !== sign) return reject('TAKE_PROFIT_ON_FILL_PRICE_INVALID');
    return compact({ stopLoss, takeProfit }) as { stopLoss?: number; takeProfit?: number };
  }

  /**
   * Fills an entry order now at the market: first reduces the opposite trades oldest first
   * when the account reduces first (netting / FIFO), then opens a trade with the rest, with its
   * on-fill take profit and stop loss. Returns the fill (or the cancel) for the answer.
   */
  private fillNow(batch: Batch, order: OrderRecord, reason: FillReason): Wire {
    const instrument = order.instrument ?? '';
    const units = order.units ?? 0;
    const side = sideOf(units);
    const quote = this.market.getQuote(instrument);
    if (!quote) return { orderCancelTransaction: this.cancelRecord(batch, order, 'MARKET_HALTED') };
    const reductions: { trade: TradeRecord; units: number }[] = [];
    let left = Math.abs(units);
    if (this.reducesFirst(order.positionFill ?? 'DEFAULT')) {
      for (const trade of this.opposite(instrument, units)) {
        if (left <= 0) break;
        const take = Math.min(left, Math.abs(trade.currentUnits));
        reductions.push({ trade, units: take });
        left -= take;
      }
    }
    const opening = order.positionFill === 'REDUCE_ONLY' ? 0 : left;
    const fillPrice = side === 'buy' ? quote.ask : quote.bid;
    const exitPrice = side === 'buy' ? quote.bid : quote.ask;
    const stopLoss = opening > 0 ? this.stopLossLevel(order.stopLossOnFill, units, fillPrice, instrument) : undefined;
    const takeProfit = opening > 0 ? parseDecimal(order.takeProfitOnFill?.price) : undefined;
    const sign = Math.sign(units);
    const refusal = (() => {
      if (opening <= 0) return undefined;
      const clientTradeId = order.tradeClientExtensions?.id;
      if (clientTradeId !== undefined && this.openTrades().some((trade) => trade.clientExtensions?.id === clientTradeId)) {
        return 'CLIENT_TRADE_ID_ALREADY_EXISTS' as const;
      }
      if (stopLoss !== undefined && sign * (exitPrice - stopLoss) <= 0) return 'STOP_LOSS_ON_FILL_LOSS' as const;
      if (takeProfit !== undefined && sign * (takeProfit - exitPrice) <= 0) return 'TAKE_PROFIT_ON_FILL_LOSS' as const;
      const freed = reductions.reduce(
        (sum, reduction) => sum + this.market.requiredMargin(this.marketAccountId, instrument, sideOf(reduction.trade.currentUnits), reduction.units),
        0,
      );
      const required = this.market.requiredMargin(this.marketAccountId, instrument, side, opening);
      const free = this.market.getAccountInformation(this.marketAccountId).freeMargin;
      if (required > free + freed) return 'INSUFFICIENT_MARGIN' as const;
      return undefined;
    })();
    if (refusal) return { orderCancelTransaction: this.cancelRecord(batch, order, refusal) };
    const balanceBefore = this.balance();
    const reduced: { trade: TradeRecord; units: number; price: number; realized: number }[] = [];
    let opened: { positionId: string; price: number; volume: number } | undefined;
    try {
      for (const reduction of reductions) {
        const before = this.balance();
        const result = this.market.closePosition(this.marketAccountId, reduction.trade.id, { volume: reduction.units });
        reduced.push({ ...reduction, price: result.price ?? exitPrice, realized: this.balance() - before });
      }
      if (opening > 0) {
        const result = this.market.placeOrder(this.marketAccountId, {
          symbol: instrument,
          side,
          type: 'market',
          volume: opening,
          stopLoss,
          takeProfit,
          clientId: order.tradeClientExtensions?.id ?? order.clientExtensions?.id ?? '',
        });
        opened = { positionId: result.positionId ?? '', price: result.price ?? fillPrice, volume: result.volume ?? opening };
      }
    } catch (error) {
      if (!isBrokerError(error) || reduced.length > 0) throw error;
      const refused = refusalOf(error.code, 'marketOrder');
      return { orderCancelTransaction: this.cancelRecord(batch, order, refused.kind === 'cancel' ? refused.reason : 'INTERNAL_SERVER_ERROR') };
    }
    const fill = this.recordFill(batch, {
      order,
      reason,
      instrument,
      sign,
      reduced,
      opened: opened && { ...opened, clientExtensions: order.tradeClientExtensions },
      pl: this.balance() - balanceBefore,
      id: opened?.positionId,
    });
    if (opened) this.openDependentOrders(batch, this.trades.get(opened.positionId), fill, order.takeProfitOnFill, order.stopLossOnFill, stopLoss);
    return { orderFillTransaction: fill };
  }

  /**
   * Writes an `ORDER_FILL` and brings the trades and the order up to date: `tradesClosed` and
   * `tradeReduced` (units signed as the fill, realized P/L), `tradeOpened`, `pl` (realized),
   * `accountBalance`. Trades a fill closes lose their dependent orders (LINKED_TRADE_CLOSED).
   */
  private recordFill(
    batch: Batch,
    fill: {
      order: OrderRecord;
      reason: FillReason;
      instrument: string;
      /** The sign of the fill's units: +1 buys, -1 sells. */
      sign: number;
      reduced: { trade: TradeRecord; units: number; price: number; realized: number }[];
      opened?: { positionId: string; price: number; volume: number; clientExtensions?: ClientExtensions };
      pl: number;
      id?: string;
    },
  ): Wire {
    const { order, instrument, sign } = fill;
    const id = fill.id ?? this.market.takeTicket();
    const time = this.time();
    const price = (value: number) => this.price(instrument, value);
    const tradeReduce = (entry: (typeof fill.reduced)[number]): Wire => ({
      tradeID: entry.trade.id,
      units: unitsText(sign * entry.units),
      price: price(entry.price),
      realizedPL: amountText(entry.realized),
      financing: amountText(0),
      guaranteedExecutionFee: amountText(0),
    });
    const closed: Wire[] = [];
    let reducedOne: Wire | undefined;
    for (const entry of fill.reduced) {
      const trade = entry.trade;
      trade.currentUnits -= Math.sign(trade.currentUnits) * entry.units;
      trade.realizedPL += entry.realized;
      trade.closedUnits += entry.units;
      trade.closedValue += entry.units * entry.price;
      trade.closingTransactionIDs.push(id);
      if (trade.currentUnits === 0) {
        trade.closeTime = time;
        closed.push(tradeReduce(entry));
      } else {
        reducedOne = tradeReduce(entry);
      }
    }
    const units = fill.reduced.reduce((sum, entry) => sum + entry.units, 0) + (fill.opened?.volume ?? 0);
    const vwapValue = fill.reduced.reduce((sum, entry) => sum + entry.units * entry.price, 0) + (fill.opened ? fill.opened.volume * fill.opened.price : 0);
    let tradeOpened: Wire | undefined;
    if (fill.opened) {
      const margin = this.market.requiredMargin(this.marketAccountId, instrument, sideOf(sign), fill.opened.volume);
      const position = this.marketPositions().get(fill.opened.positionId);
      this.trades.set(fill.opened.positionId, {
        id: fill.opened.positionId,
        instrument,
        price: fill.opened.price,
        openTime: position ? rfc3339(position.openedAt) : time,
        initialUnits: sign * fill.opened.volume,
        currentUnits: sign * fill.opened.volume,
        initialMarginRequired: margin,
        realizedPL: 0,
        closedUnits: 0,
        closedValue: 0,
        closingTransactionIDs: [],
        ...(fill.opened.clientExtensions ? { clientExtensions: fill.opened.clientExtensions } : {}),
      });
      tradeOpened = compact({
        tradeID: fill.opened.positionId,
        units: unitsText(sign * fill.opened.volume),
        price: price(fill.opened.price),
        guaranteedExecutionFee: amountText(0),
        clientExtensions: fill.opened.clientExtensions,
        initialMarginRequired: amountText(margin),
      });
    }
    this.pl += fill.pl;
    const transaction = this.record(
      batch,
      compact({
        type: 'ORDER_FILL',
        orderID: order.id,
        clientOrderID: order.clientExtensions?.id,
        instrument,
        units: unitsText(sign * units),
        price: price(units > 0 ? vwapValue / units : 0),
        fullVWAP: price(units > 0 ? vwapValue / units : 0),
        reason: fill.reason,
        pl: amountText(fill.pl),
        financing: amountText(0),
        commission: amountText(0),
        guaranteedExecutionFee: amountText(0),
        accountBalance: amountText(this.balance()),
        tradeOpened,
        tradesClosed: closed.length > 0 ? closed : undefined,
        tradeReduced: reducedOne,
      }),
      id,
    );
    this.lastOrderFillTimestamp = time;
    order.state = 'FILLED';
    order.fillingTransactionID = id;
    order.filledTime = time;
    if (fill.opened) order.tradeOpenedID = fill.opened.positionId;
    if (reducedOne) order.tradeReducedID = String(reducedOne.tradeID);
    if (closed.length > 0) order.tradeClosedIDs = closed.map((entry) => String(entry.tradeID));
    for (const entry of fill.reduced) {
      if (entry.trade.currentUnits === 0) this.cancelDependents(batch, entry.trade, 'LINKED_TRADE_CLOSED');
    }
    return transaction;
  }

  /** Cancels a trade's pending take profit and stop loss. */
  private cancelDependents(batch: Batch, trade: TradeRecord, reason: CancelReason): void {
    for (const id of [trade.takeProfitOrderID, trade.stopLossOrderID]) {
      const order = id ? this.orders.get(id) : undefined;
      if (order?.state === 'PENDING') this.cancelRecord(batch, order, reason);
    }
  }

  /** The take profit and stop loss a fill creates for the trade it opened (`TAKE_PROFIT_ORDER` / `STOP_LOSS_ORDER`, reason ON_FILL). */
  private openDependentOrders(
    batch: Batch,
    trade: TradeRecord | undefined,
    fill: Wire,
    takeProfit: Wire | undefined,
    stopLoss: Wire | undefined,
    stopLossLevel: number | undefined,
  ): void {
    if (!trade) return;
    if (takeProfit) {
      const order = this.createDependent(batch, trade, 'TAKE_PROFIT', parseDecimal(takeProfit.price) ?? 0, 'ON_FILL', {
        clientExtensions: clientExtensionsOf(takeProfit.clientExtensions),
        timeInForce: typeof takeProfit.timeInForce === 'string' ? takeProfit.timeInForce : 'GTC',
        orderFillTransactionID: String(fill.id),
      });
      trade.takeProfitOrderID = order.id;
    }
    if (stopLoss && stopLossLevel !== undefined) {
      const order = this.createDependent(batch, trade, 'STOP_LOSS', stopLossLevel, 'ON_FILL', {
        clientExtensions: clientExtensionsOf(stopLoss.clientExtensions),
        timeInForce: typeof stopLoss.timeInForce === 'string' ? stopLoss.timeInForce : 'GTC',
        orderFillTransactionID: String(fill.id),
        distance: typeof stopLoss.distance === 'string' ? stopLoss.distance : undefined,
      });
      trade.stopLossOrderID = order.id;
    }
  }

  /** A TAKE_PROFIT or STOP_LOSS order of a trade and its transaction. The caller keeps the market's levels in step. */
  private createDependent(
    batch: Batch,
    trade: TradeRecord,
    type: 'TAKE_PROFIT' | 'STOP_LOSS',
    price: number,
    reason: 'CLIENT_ORDER' | 'REPLACEMENT' | 'ON_FILL',
    extra: { clientExtensions?: ClientExtensions; timeInForce?: string; orderFillTransactionID?: string; replacesOrderID?: string; distance?: string },
  ): OrderRecord {
    const id = this.market.takeTicket();
    const order: OrderRecord = compact({
      id,
      type,
      state: 'PENDING',
      createTime: this.time(),
      clientExtensions: extra.clientExtensions,
      timeInForce: extra.timeInForce ?? 'GTC',
      tradeID: trade.id,
      clientTradeID: trade.clientExtensions?.id,
      price,
      distance: extra.distance,
      replacesOrderID: extra.replacesOrderID,
    }) as unknown as OrderRecord;
    this.orders.set(id, order);
    const { type: orderType, ...fields } = this.orderSpec(order, trade.instrument);
    this.record(
      batch,
      compact({
        type: `${String(orderType)}_ORDER`,
        ...fields,
        reason,
        clientExtensions: order.clientExtensions,
        orderFillTransactionID: extra.orderFillTransactionID,
        replacesOrderID: extra.replacesOrderID,
      }),
      id,
    );
    return order;
  }

  // ---- replacing and cancelling orders -------------------------------------------------

  /** 404 with an `ORDER_CANCEL_REJECT` (ORDER_DOESNT_EXIST), as the cancel and replace routes answer an unknown order. */
  private orderDoesNotExist(batch: Batch, specifier: string, reason: RejectReason = 'ORDER_DOESNT_EXIST', status = 404, order?: OrderRecord): Reply {
    const rejection = this.record(
      batch,
      compact({
        type: 'ORDER_CANCEL_REJECT',
        orderID: order?.id ?? (specifier.startsWith('@') ? undefined : specifier),
        clientOrderID: order?.clientExtensions?.id ?? (specifier.startsWith('@') ? specifier.slice(1) : undefined),
        rejectReason: reason,
      }),
    );
    return this.reply(status, batch, { orderCancelRejectTransaction: rejection, errorCode: reason, errorMessage: rejectMessage(reason) });
  }

  /**
   * `PUT .../orders/{spec}`: replaces a pending LIMIT or STOP order by cancelling it
   * (ORDER_CANCEL, reason CLIENT_REQUEST_REPLACED, `replacedByOrderID`) and creating a new
   * order with a NEW id (reason REPLACEMENT, `replacesOrderID`); the replacing order must be of
   * the same type. Client extensions left out of the request stay those of the replaced order.
   */
  replaceOrder(specifier: string, request: Wire, requestID: string): Reply {
    const batch = new Batch(requestID);
    const order = this.findOrder(specifier);
    if (order?.state !== 'PENDING' || (order.type !== 'LIMIT' && order.type !== 'STOP')) return this.orderDoesNotExist(batch, specifier);
    const withExtensions = { ...request, clientExtensions: request.clientExtensions ?? order.clientExtensions };
    if (request.type !== order.type)
      return this.rejectOrder(batch, withExtensions, reject('REPLACING_ORDER_INVALID', 'The replacing Order must have the type of the replaced Order'), order);
    let replacement: EntryOrder;
    try {
      replacement = this.checkEntryOrder(withExtensions, order);
    } catch (error) {
      if (error instanceof Refused) return this.rejectOrder(batch, withExtensions, error, order);
      throw error;
    }
    return this.placePendingOrder(batch, replacement, order, this.market.takeTicket());
  }

  /** `PUT .../orders/{spec}/cancel`: a pending order (a trade's take profit or stop loss too) is cancelled with reason CLIENT_REQUEST. */
  cancelOrder(specifier: string, requestID: string): Reply {
    const batch = new Batch(requestID);
    const order = this.findOrder(specifier);
    if (order?.state !== 'PENDING') return this.orderDoesNotExist(batch, specifier);
    if (order.type === 'TAKE_PROFIT' || order.type === 'STOP_LOSS') {
      const trade = order.tradeID ? this.trades.get(order.tradeID) : undefined;
      if (trade) this.setMarketStops(trade, order.type === 'TAKE_PROFIT' ? { takeProfit: null } : { stopLoss: null });
    } else {
      this.market.cancelOrder(this.marketAccountId, order.id);
    }
    const transaction = this.cancelRecord(batch, order, 'CLIENT_REQUEST');
    return this.reply(200, batch, { orderCancelTransaction: transaction });
  }

  // ---- closing trades and their dependent orders ---------------------------------------

  /** 404 with a `MARKET_ORDER_REJECT` (TRADE_DOESNT_EXIST), as `PUT .../trades/{spec}/close` answers an unknown trade. */
  private tradeDoesNotExist(batch: Batch, specifier: string, units: unknown): Reply {
    const rejection = this.record(batch, {
      type: 'MARKET_ORDER_REJECT',
      timeInForce: 'FOK',
      positionFill: 'REDUCE_ONLY',
      reason: 'TRADE_CLOSE',
      tradeClose: compact({
        tradeID: specifier.startsWith('@') ? undefined : specifier,
        clientTradeID: specifier.startsWith('@') ? specifier.slice(1) : undefined,
        units: typeof units === 'string' ? units : 'ALL',
      }),
      rejectReason: 'TRADE_DOESNT_EXIST',
    });
    return this.reply(404, batch, { orderRejectTransaction: rejection, errorCode: 'TRADE_DOESNT_EXIST', errorMessage: rejectMessage('TRADE_DOESNT_EXIST') });
  }

  /**
   * `PUT .../trades/{spec}/close` with `units` "ALL" (the default) or a positive number of
   * units: a MARKET_ORDER (reason TRADE_CLOSE, `tradeClose`) filled at once (ORDER_FILL reason
   * MARKET_ORDER_TRADE_CLOSE). On a FIFO account a trade may only be reduced while no older
   * trade of its instrument is open: the order is cancelled with reason FIFO_VIOLATION
   * (`OrderCancelReason`; the document has no FIFO reject reason), answered 200 with
   * `orderCreateTransaction` and `orderCancelTransaction`.
   */
  closeTrade(specifier: string, requestedUnits: unknown, requestID: string): Reply {
    const batch = new Batch(requestID);
    const trade = this.findTrade(specifier);
    if (!trade || trade.currentUnits === 0) return this.tradeDoesNotExist(batch, specifier, requestedUnits);
    const text = requestedUnits === undefined ? 'ALL' : String(requestedUnits);
    const open = Math.abs(trade.currentUnits);
    const units = text === 'ALL' ? open : parseDecimal(text);
    const rejection = (reason: RejectReason): Reply => this.rejectClose(batch, trade, text, reason);
    if (units === undefined || units <= 0) return rejection('UNITS_INVALID');
    if (decimalsOf(text) > 0) return rejection('UNITS_PRECISION_EXCEEDED');
    if (units > open) return rejection('CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE');
    const order = this.createCloseOrder(batch, trade, text, units);
    const orderCreateTransaction = batch.transactions[0];
    if (this.fifo && this.opposite(trade.instrument, -trade.currentUnits).some((older) => older !== trade && Number(older.id) < Number(trade.id))) {
      return this.reply(200, batch, { orderCreateTransaction, orderCancelTransaction: this.cancelRecord(batch, order, 'FIFO_VIOLATION') });
    }
    const before = this.balance();
    let price: number;
    try {
      price = this.market.closePosition(this.marketAccountId, trade.id, { volume: units }).price ?? trade.price;
    } catch (error) {
      if (!isBrokerError(error)) throw error;
      const refused = refusalOf(error.code, 'closeTrade');
      const reason = refused.kind === 'cancel' ? refused.reason : 'INTERNAL_SERVER_ERROR';
      return this.reply(200, batch, { orderCreateTransaction, orderCancelTransaction: this.cancelRecord(batch, order, reason) });
    }
    const realized = this.balance() - before;
    const fill = this.recordFill(batch, {
      order,
      reason: 'MARKET_ORDER_TRADE_CLOSE',
      instrument: trade.instrument,
      sign: -Math.sign(trade.currentUnits),
      reduced: [{ trade, units, price, realized }],
      pl: realized,
    });
    return this.reply(200, batch, { orderCreateTransaction, orderFillTransaction: fill });
  }

  /** The MARKET order OANDA creates to close (part of) a trade. */
  private createCloseOrder(batch: Batch, trade: TradeRecord, closeUnits: string, units: number): OrderRecord {
    return this.createEntry(
      batch,
      {
        type: 'MARKET',
        instrument: trade.instrument,
        units: -Math.sign(trade.currentUnits) * units,
        timeInForce: 'FOK',
        positionFill: 'REDUCE_ONLY',
      },
      this.market.takeTicket(),
      {
        reason: 'TRADE_CLOSE',
        tradeClose: compact({ tradeID: trade.id, clientTradeID: trade.clientExtensions?.id, units: closeUnits }),
      },
    );
  }

  /** 400 with a `MARKET_ORDER_REJECT` for a close OANDA refuses (the document's 400 of this route has no transaction ids). */
  private rejectClose(batch: Batch, trade: TradeRecord, units: string, reason: RejectReason): Reply {
    const rejection = this.record(batch, {
      type: 'MARKET_ORDER_REJECT',
      instrument: trade.instrument,
      timeInForce: 'FOK',
      positionFill: 'REDUCE_ONLY',
      reason: 'TRADE_CLOSE',
      tradeClose: compact({ tradeID: trade.id, clientTradeID: trade.clientExtensions?.id, units }),
      rejectReason: reason,
    });
    const fields = { orderRejectTransaction: rejection, errorCode: reason, errorMessage: rejectMessage(reason) };
    if (reason === 'TRADE_DOESNT_EXIST') return this.reply(404, batch, fields);
    this.commit(batch);
    return { status: 400, body: fields };
  }

  /** Sets the market position's levels; `null` removes one, `undefined` keeps it. */
  private setMarketStops(trade: TradeRecord, change: { stopLoss?: number | null; takeProfit?: number | null }): void {
    const position = this.marketPositions().get(trade.id);
    this.market.modifyPosition(this.marketAccountId, trade.id, {
      stopLoss: change.stopLoss === undefined ? (position?.stopLoss ?? null) : change.stopLoss,
      takeProfit: change.takeProfit === undefined ? (position?.takeProfit ?? null) : change.takeProfit,
    });
  }

  /**
   * `PUT .../trades/{spec}/orders` with `takeProfit` / `stopLoss`: a detail creates the order,
   * or replaces the current one (ORDER_CANCEL reason CLIENT_REQUEST_REPLACED, new order with a
   * new id, reason REPLACEMENT); `null` cancels it (CLIENT_REQUEST); left out keeps it. As the
   * answer's fields say, an order the price has already reached does not wait: a stop loss
   * fills at once (`stopLossOrderFillTransaction`, the trade closes), a take profit fills at
   * once when it closes the trade at a profit (`takeProfitOrderFillTransaction`) and is
   * cancelled with LOSING_TAKE_PROFIT otherwise (`takeProfitOrderCreatedCancelTransaction`).
   */
  setTradeOrders(specifier: string, body: Wire, requestID: string): Reply {
    const batch = new Batch(requestID);
    const trade = this.findTrade(specifier);
    if (!trade || trade.currentUnits === 0) {
      return { status: 404, body: { errorCode: 'NO_SUCH_TRADE', errorMessage: 'The Trade ID specified does not exist' } };
    }
    if (body.trailingStopLoss !== undefined && body.trailingStopLoss !== null) {
      return {
        status: 400,
        body: { errorCode: 'TRAILING_STOP_LOSS_ORDERS_NOT_SUPPORTED', errorMessage: rejectMessage('TRAILING_STOP_LOSS_ORDERS_NOT_SUPPORTED') },
      };
    }
    const digits = this.digitsOf(trade.instrument);
    const quote = this.market.getQuote(trade.instrument);
    const sign = Math.sign(trade.currentUnits);
    const exitPrice = sign > 0 ? (quote?.bid ?? trade.price) : (quote?.ask ?? trade.price);
    const levels: { takeProfit?: number | null; stopLoss?: number | null } = {};
    for (const kind of ['takeProfit', 'stopLoss'] as const) {
      const detail = body[kind];
      if (detail === undefined) continue;
      if (detail === null) {
        levels[kind] = null;
        continue;
      }
      const problem = this.checkDependentDetail(kind, detail as Wire, digits);
      if (problem) return this.rejectDependent(batch, trade, kind, detail as Wire, problem);
      const given = detail as Wire;
      levels[kind] =
        kind === 'stopLoss' && given.price === undefined
          ? Number((trade.price - sign * (parseDecimal(given.distance) ?? 0)).toFixed(digits))
          : (parseDecimal(given.price) ?? 0);
    }
    const answer: Wire = {};
    const immediate: { kind: 'takeProfit' | 'stopLoss'; order: OrderRecord }[] = [];
    for (const kind of ['takeProfit', 'stopLoss'] as const) {
      const level = levels[kind];
      if (level === undefined) continue;
      const type = kind === 'takeProfit' ? 'TAKE_PROFIT' : 'STOP_LOSS';
      const currentId = kind === 'takeProfit' ? trade.takeProfitOrderID : trade.stopLossOrderID;
      const current = currentId ? this.orders.get(currentId) : undefined;
      const pending = current?.state === 'PENDING' ? current : undefined;
      if (level === null) {
        if (pending) {
          this.setMarketStops(trade, { [kind]: null });
          answer[`${kind}OrderCancelTransaction`] = this.cancelRecord(batch, pending, 'CLIENT_REQUEST');
        }
        continue;
      }
      const detail = body[kind] as Wire;
      const cancelTransaction = pending ? this.cancelRecord(batch, pending, 'CLIENT_REQUEST_REPLACED') : undefined;
      const order = this.createDependent(batch, trade, type, level, pending ? 'REPLACEMENT' : 'CLIENT_ORDER', {
        clientExtensions: clientExtensionsOf(detail.clientExtensions) ?? pending?.clientExtensions,
        timeInForce: typeof detail.timeInForce === 'string' ? detail.timeInForce : 'GTC',
        replacesOrderID: pending?.id,
        distance: kind === 'stopLoss' && typeof detail.distance === 'string' ? detail.distance : undefined,
      });
      if (pending && cancelTransaction) {
        pending.replacedByOrderID = order.id;
        cancelTransaction.replacedByOrderID = order.id;
        answer[`${kind}OrderCancelTransaction`] = cancelTransaction;
      }
      if (kind === 'takeProfit') trade.takeProfitOrderID = order.id;
      else trade.stopLossOrderID = order.id;
      answer[`${kind}OrderTransaction`] = batch.transactions.find((transaction) => transaction.id === order.id);
      const reached = kind === 'stopLoss' ? sign * (exitPrice - level) <= 0 : sign * (level - exitPrice) <= 0;
      this.setMarketStops(trade, { [kind]: reached ? null : level });
      if (reached) immediate.push({ kind, order });
    }
    for (const { kind, order } of immediate) {
      if (trade.currentUnits === 0 || order.state !== 'PENDING') continue;
      if (kind === 'takeProfit' && sign * (exitPrice - trade.price) < 0) {
        answer.takeProfitOrderCreatedCancelTransaction = this.cancelRecord(batch, order, 'LOSING_TAKE_PROFIT');
        continue;
      }
      const before = this.balance();
      const units = Math.abs(trade.currentUnits);
      const result = this.market.closePosition(this.marketAccountId, trade.id, { volume: units });
      const realized = this.balance() - before;
      answer[`${kind}OrderFillTransaction`] = this.recordFill(batch, {
        order,
        reason: kind === 'takeProfit' ? 'TAKE_PROFIT_ORDER' : 'STOP_LOSS_ORDER',
        instrument: trade.instrument,
        sign: -sign,
        reduced: [{ trade, units, price: result.price ?? exitPrice, realized }],
        pl: realized,
      });
    }
    return this.reply(200, batch, answer);
  }

  /** OANDA's checks of a `TakeProfitDetails` / `StopLossDetails`; the reject reason, or undefined. */
  private checkDependentDetail(kind: 'takeProfit' | 'stopLoss', detail: Wire, digits: number): RejectReason | undefined {
    if (kind === 'stopLoss') {
      if (detail.guaranteed === true) return 'STOP_LOSS_ORDER_GUARANTEED_NOT_ALLOWED';
      if (detail.price !== undefined && detail.distance !== undefined) return 'STOP_LOSS_ORDER_PRICE_AND_DISTANCE_BOTH_SPECIFIED';
      if (detail.price === undefined && detail.distance === undefined) return 'STOP_LOSS_ORDER_PRICE_AND_DISTANCE_BOTH_MISSING';
      if (detail.price === undefined) {
        const distance = parseDecimal(detail.distance);
        return distance === undefined || distance <= 0 ? 'PRICE_INVALID' : undefined;
      }
    }
    if (detail.price === undefined) return 'PRICE_MISSING';
    const price = parseDecimal(detail.price);
    if (price === undefined || price <= 0) return 'PRICE_INVALID';
    if (decimalsOf(String(detail.price)) > digits) return 'PRICE_PRECISION_EXCEEDED';
    return undefined;
  }

  /** 400 with a `TAKE_PROFIT_ORDER_REJECT` / `STOP_LOSS_ORDER_REJECT` for the trade's dependent order. */
  private rejectDependent(batch: Batch, trade: TradeRecord, kind: 'takeProfit' | 'stopLoss', detail: Wire, reason: RejectReason): Reply {
    const type = kind === 'takeProfit' ? 'TAKE_PROFIT' : 'STOP_LOSS';
    const current = kind === 'takeProfit' ? trade.takeProfitOrderID : trade.stopLossOrderID;
    const replaces = current && this.orders.get(current)?.state === 'PENDING' ? current : undefined;
    const price = parseDecimal(detail.price);
    const rejection = this.record(
      batch,
      compact({
        type: `${type}_ORDER_REJECT`,
        tradeID: trade.id,
        clientTradeID: trade.clientExtensions?.id,
        price: price !== undefined && price > 0 ? this.price(trade.instrument, price) : undefined,
        distance: kind === 'stopLoss' && parseDecimal(detail.distance) !== undefined ? detail.distance : undefined,
        timeInForce: typeof detail.timeInForce === 'string' ? detail.timeInForce : 'GTC',
        triggerCondition: 'DEFAULT',
        guaranteed: kind === 'stopLoss' ? detail.guaranteed === true : undefined,
        reason: replaces ? 'REPLACEMENT' : 'CLIENT_ORDER',
        clientExtensions: clientExtensionsOf(detail.clientExtensions),
        intendedReplacesOrderID: replaces,
        rejectReason: reason,
      }),
    );
    return this.reply(400, batch, {
      [`${kind}OrderRejectTransaction`]: rejection,
      errorCode: reason,
      errorMessage: rejectMessage(reason),
    });
  }

  // ---- refusing a trade request (injected faults) --------------------------------------

  /**
   * Answers a trade request the way OANDA answers it when it refuses it, without executing
   * anything: the injected market fault's code mapped by `refusalOf` (a reject, or the cancel
   * of the market order OANDA creates).
   */
  refuse(route: TradeRoute, refusal: Extract<Refusal, { kind: 'reject' | 'cancel' }>, request: { body: Wire; specifier?: string }, requestID: string): Reply {
    const batch = new Batch(requestID);
    const refused = new Refused(refusal);
    switch (route) {
      case 'marketOrder':
      case 'pendingOrder': {
        const order = isObject(request.body.order) ? request.body.order : {};
        const replacing = request.specifier ? this.findOrder(request.specifier) : undefined;
        if (refusal.kind === 'reject') return this.rejectOrder(batch, order, refused, replacing);
        if (typeof order.instrument !== 'string' || !this.market.hasSymbol(order.instrument))
          return this.rejectOrder(batch, order, reject('INSTRUMENT_UNKNOWN'));
        const created = this.createEntry(
          batch,
          {
            type: 'MARKET',
            instrument: String(order.instrument),
            units: parseDecimal(order.units) ?? 0,
            timeInForce: typeof order.timeInForce === 'string' ? order.timeInForce : 'FOK',
            positionFill: typeof order.positionFill === 'string' ? order.positionFill : 'DEFAULT',
            clientExtensions: clientExtensionsOf(order.clientExtensions),
            tradeClientExtensions: clientExtensionsOf(order.tradeClientExtensions),
            takeProfitOnFill: isObject(order.takeProfitOnFill) ? order.takeProfitOnFill : undefined,
            stopLossOnFill: isObject(order.stopLossOnFill) ? order.stopLossOnFill : undefined,
          },
          this.market.takeTicket(),
        );
        const orderCreateTransaction = batch.transactions[0];
        return this.reply(201, batch, { orderCreateTransaction, orderCancelTransaction: this.cancelRecord(batch, created, refusal.reason) });
      }
      case 'closeTrade': {
        const trade = this.findTrade(request.specifier ?? '');
        const units = typeof request.body.units === 'string' ? request.body.units : 'ALL';
        if (!trade || trade.currentUnits === 0) return this.tradeDoesNotExist(batch, request.specifier ?? '', units);
        if (refusal.kind === 'reject') return this.rejectClose(batch, trade, units, refusal.reason);
        const order = this.createCloseOrder(batch, trade, units, units === 'ALL' ? Math.abs(trade.currentUnits) : (parseDecimal(units) ?? 0));
        const orderCreateTransaction = batch.transactions[0];
        return this.reply(200, batch, { orderCreateTransaction, orderCancelTransaction: this.cancelRecord(batch, order, refusal.reason) });
      }
      case 'tradeOrders': {
        const trade = this.findTrade(request.specifier ?? '');
        const reason = refusal.kind === 'reject' ? refusal.reason : 'INTERNAL_SERVER_ERROR';
        const kind = isObject(request.body.stopLoss) ? 'stopLoss' : isObject(request.body.takeProfit) ? 'takeProfit' : undefined;
        if (!trade || !kind) return { status: 400, body: { errorCode: reason, errorMessage: rejectMessage(reason) } };
        return this.rejectDependent(batch, trade, kind, request.body[kind] as Wire, reason);
      }
      case 'cancelOrder': {
        const order = this.findOrder(request.specifier ?? '');
        const reason = refusal.kind === 'reject' ? refusal.reason : 'INTERNAL_SERVER_ERROR';
        return this.orderDoesNotExist(batch, request.specifier ?? '', reason, 404, order);
      }
    }
  }

  // ---- what the market did on its own --------------------------------------------------

  /**
   * Turns what happened in the market since the last look into OANDA transactions: trades
   * opened in the trader's terminal (MARKET_ORDER + ORDER_FILL), pending orders the market
   * filled (ORDER_FILL reason LIMIT_ORDER / STOP_ORDER, netted on an account without hedging)
   * or dropped (ORDER_CANCEL), stop losses and take profits the market hit (ORDER_FILL reason
   * STOP_LOSS_ORDER / TAKE_PROFIT_ORDER), closes and level changes made in the terminal.
   */
  sync(): void {
    const deals = this.market
      .getDeals(this.marketAccountId, EPOCH, END_OF_TIME)
      .filter((deal) => !this.accountedDeals.has(deal.id))
      .sort(byIdAscending);
    const batch = new Batch(undefined);
    const marked = this.marketPositions();
    for (const deal of deals) {
      this.accountedDeals.add(deal.id);
      const sign = deal.side === 'buy' ? 1 : -1;
      if (deal.entry === 'in') {
        const pending = this.orders.get(deal.positionId);
        const order =
          pending && pending.state === 'PENDING' && (pending.type === 'LIMIT' || pending.type === 'STOP')
            ? pending
            : this.createEntry(
                batch,
                { type: 'MARKET', instrument: deal.symbol, units: sign * deal.volume, timeInForce: 'FOK', positionFill: 'DEFAULT' },
                this.market.takeTicket(),
              );
        this.fillFromMarket(batch, order, deal.positionId, deal.volume, deal.price, marked.get(deal.positionId));
        continue;
      }
      const trade = this.trades.get(deal.positionId);
      if (!trade || trade.currentUnits === 0) continue;
      const stopLoss = trade.stopLossOrderID ? this.orders.get(trade.stopLossOrderID) : undefined;
      const takeProfit = trade.takeProfitOrderID ? this.orders.get(trade.takeProfitOrderID) : undefined;
      const tradeSign = Math.sign(trade.currentUnits);
      const hit = (order: OrderRecord | undefined, losing: boolean) =>
        order?.state === 'PENDING' &&
        order.price !== undefined &&
        (losing ? tradeSign * (deal.price - order.price) <= 0 : tradeSign * (deal.price - order.price) >= 0);
      const stopped = hit(stopLoss, true) ? stopLoss : hit(takeProfit, false) ? takeProfit : undefined;
      const order = stopped ?? this.createCloseOrder(batch, trade, deal.volume === Math.abs(trade.currentUnits) ? 'ALL' : unitsText(deal.volume), deal.volume);
      this.recordFill(batch, {
        order,
        reason: stopped ? (stopped.type === 'STOP_LOSS' ? 'STOP_LOSS_ORDER' : 'TAKE_PROFIT_ORDER') : 'MARKET_ORDER_TRADE_CLOSE',
        instrument: trade.instrument,
        sign: -tradeSign,
        reduced: [{ trade, units: deal.volume, price: deal.price, realized: deal.profit }],
        pl: deal.profit,
      });
    }
    this.syncPendingOrders(batch);
    this.syncLevels(batch);
    this.commit(batch);
  }

  /** A trade the market opened (a filled pending order, a terminal trade), netted oldest first on an account without hedging. */
  private fillFromMarket(batch: Batch, order: OrderRecord, positionId: string, volume: number, price: number, position: Position | undefined): void {
    const instrument = order.instrument ?? position?.symbol ?? '';
    const sign = Math.sign(order.units ?? 0);
    const reduced: { trade: TradeRecord; units: number; price: number; realized: number }[] = [];
    let opened = volume;
    let pl = 0;
    if (this.reducesFirst(order.positionFill ?? 'DEFAULT')) {
      // The market opened the whole order beside the opposite trades; close both sides of the overlap
      // (the netted units cost the spread once more than a real netting fill).
      for (const trade of this.opposite(instrument, sign)) {
        if (opened <= 0) break;
        const take = Math.min(opened, Math.abs(trade.currentUnits));
        const before = this.balance();
        const result = this.market.closePosition(this.marketAccountId, trade.id, { volume: take });
        const realized = this.balance() - before;
        const beforeOwn = this.balance();
        this.market.closePosition(this.marketAccountId, positionId, { volume: take });
        pl += realized + (this.balance() - beforeOwn);
        reduced.push({ trade, units: take, price: result.price ?? price, realized });
        opened -= take;
      }
    }
    const kind = order.type === 'LIMIT' ? 'LIMIT_ORDER' : order.type === 'STOP' ? 'STOP_ORDER' : 'MARKET_ORDER';
    const fill = this.recordFill(batch, {
      order,
      reason: kind,
      instrument,
      sign,
      reduced,
      opened: opened > 0 ? { positionId, price, volume: opened, clientExtensions: order.tradeClientExtensions } : undefined,
      pl,
    });
    const trade = opened > 0 ? this.trades.get(positionId) : undefined;
    if (trade && position) {
      if (position.takeProfit !== undefined) {
        trade.takeProfitOrderID = this.createDependent(batch, trade, 'TAKE_PROFIT', position.takeProfit, 'ON_FILL', {
          orderFillTransactionID: String(fill.id),
        }).id;
      }
      if (position.stopLoss !== undefined) {
        trade.stopLossOrderID = this.createDependent(batch, trade, 'STOP_LOSS', position.stopLoss, 'ON_FILL', { orderFillTransactionID: String(fill.id) }).id;
      }
    }
  }

  /** Pending orders the market dropped (no margin when they triggered) or the terminal placed. */
  private syncPendingOrders(batch: Batch): void {
    const inMarket = new Map(this.market.getPendingOrders(this.marketAccountId).map((order) => [order.id, order]));
    for (const order of this.orders.values()) {
      if (order.state !== 'PENDING' || (order.type !== 'LIMIT' && order.type !== 'STOP') || inMarket.has(order.id)) continue;
      // Gone without a fill: the market drops a triggered order it cannot cover; anything else was cancelled in the terminal.
      const quote = this.market.getQuote(order.instrument ?? '');
      const buys = (order.units ?? 0) > 0;
      const market = buys ? quote?.ask : quote?.bid;
      const waitsBelow = buys === (order.type === 'LIMIT');
      const triggered = market !== undefined && order.price !== undefined && (waitsBelow ? market <= order.price : market >= order.price);
      this.cancelRecord(batch, order, triggered ? 'INSUFFICIENT_MARGIN' : 'CLIENT_REQUEST');
    }
    for (const pending of inMarket.values()) {
      if (this.orders.has(pending.id) || !this.market.hasSymbol(pending.symbol)) continue;
      const sign = pending.side === 'buy' ? 1 : -1;
      const details = (level: number | undefined) => (level === undefined ? undefined : { price: this.price(pending.symbol, level), timeInForce: 'GTC' });
      this.createEntry(
        batch,
        compact({
          type: pending.type === 'limit' ? 'LIMIT' : 'STOP',
          instrument: pending.symbol,
          units: sign * pending.volume,
          price: pending.price,
          timeInForce: 'GTC',
          positionFill: 'DEFAULT',
          takeProfitOnFill: details(pending.takeProfit),
          stopLossOnFill: details(pending.stopLoss),
        }) as unknown as EntryOrder,
        pending.id,
      );
    }
  }

  /** Stop loss and take profit levels changed in the trader's terminal become replaced, new or cancelled dependent orders. */
  private syncLevels(batch: Batch): void {
    const marked = this.marketPositions();
    for (const trade of this.openTrades()) {
      const position = marked.get(trade.id);
      if (!position) continue;
      for (const [type, level] of [
        ['TAKE_PROFIT', position.takeProfit],
        ['STOP_LOSS', position.stopLoss],
      ] as const) {
        const currentId = type === 'TAKE_PROFIT' ? trade.takeProfitOrderID : trade.stopLossOrderID;
        const current = currentId ? this.orders.get(currentId) : undefined;
        const pending = current?.state === 'PENDING' ? current : undefined;
        if (sameLevel(pending?.price, level)) continue;
        if (level === undefined) {
          if (pending) this.cancelRecord(batch, pending, 'CLIENT_REQUEST');
          continue;
        }
        const cancelled = pending ? this.cancelRecord(batch, pending, 'CLIENT_REQUEST_REPLACED') : undefined;
        const order = this.createDependent(batch, trade, type, level, pending ? 'REPLACEMENT' : 'CLIENT_ORDER', { replacesOrderID: pending?.id });
        if (pending && cancelled) {
          pending.replacedByOrderID = order.id;
          cancelled.replacedByOrderID = order.id;
        }
        if (type === 'TAKE_PROFIT') trade.takeProfitOrderID = order.id;
        else trade.stopLossOrderID = order.id;
      }
    }
  }
}

import { BrokerError, brokerErrorCodes, type BrokerErrorCode } from '../../shared/domain/broker-errors';
import { ValidationError } from '../../shared/domain/errors';
import type {
  AccountInformation,
  Deal,
  OrderType,
  PendingOrder,
  PendingOrderType,
  Position,
  Quote,
  Side,
  StopLevels,
  SymbolSpec,
  TradeOrder,
} from '../../shared/domain/trading';
import type { ClientIdMatch, TradeRequest, TradeResult } from '../../shared/ports/broker';

/**
 * A broker in memory that behaves like a MetaTrader account server: quotes, symbol
 * specifications, accounts with margin, market and pending orders, SL/TP, deals history,
 * and injectable faults. Pure apart from the state store and the random-walk timer it is
 * given; under an injected clock and random source every outcome is deterministic.
 */

/** How a symbol is defined or repriced. Omitted spec fields keep the current value, or a default for a new symbol. */
export interface SymbolDefinition {
  symbol: string;
  bid: number;
  ask: number;
  volumeMin?: number;
  volumeStep?: number;
  volumeMax?: number;
  contractSize?: number;
  digits?: number;
}

/** One symbol as the simulator stores it: its specification and its current quote. */
export interface SimulatedSymbolState {
  symbol: string;
  bid: number;
  ask: number;
  time: string;
  digits: number;
  contractSize: number;
  volumeMin: number;
  volumeStep: number;
  volumeMax: number;
}

/**
 * Faults injected into the requests that reach an account through the broker port.
 * `rejectNext` trade requests fail with `code` without executing; after them,
 * `timeoutAfterExecuteNext` trade requests execute and then fail with `TIMEOUT`.
 * `partialFillNext` market orders fill half their volume (down to the step, at least the
 * minimum), as a broker with too little liquidity does. Every port request, reads included,
 * first waits `latencyMs`.
 */
export interface SimulatorFaults {
  rejectNext: number;
  code: BrokerErrorCode;
  timeoutAfterExecuteNext: number;
  partialFillNext: number;
  latencyMs: number;
}

/** A change of faults: fields given replace the current ones, fields omitted stay. */
export interface SimulatorFaultsChange {
  rejectNext?: number;
  /** The code of the rejections; `REQUOTE` when `rejectNext` is given without it. */
  code?: BrokerErrorCode;
  timeoutAfterExecuteNext?: number;
  partialFillNext?: number;
  latencyMs?: number;
}

/** The fault the next trade request of an account meets; consuming it counts it down. */
export type TradeFault = { kind: 'reject'; code: BrokerErrorCode } | { kind: 'timeoutAfterExecute' };

/** An order as it opens (or, on a netting account, adds to) a position. */
interface OpeningOrder {
  orderId: string;
  /** The position's id when it is not the order's: a netting position reversed keeps its own (as MT5's identifier). */
  positionId?: string;
  side: Side;
  volume: number;
  stops: StopLevels;
  clientId: string | undefined;
  comment: string | undefined;
  magic?: number | undefined;
}

/** A stored position: a `Position` without the floating profit, which is marked on read. */
export type SimulatedPositionState = Omit<Position, 'profit'>;

export interface SimulatedAccountState {
  id: string;
  /**
   * One position per symbol (MT5 netting, OANDA without hedging): an order on the position's side
   * adds to it under its id; one on the other side reduces it, closes it, or reverses it (the
   * old position closed, the rest opened as a new one). Absent: hedging, as MT4.
   */
  netting?: boolean;
  balance: number;
  leverage: number;
  currency: string;
  positions: SimulatedPositionState[];
  orders: PendingOrder[];
  deals: Deal[];
  faults: SimulatorFaults;
}

/** Everything the simulator knows; saved whole after every mutation so a restart loses nothing. */
export interface SimulatorState {
  version: 1;
  /** The next ticket: orders, positions and deals share one increasing sequence. */
  nextTicket: number;
  symbols: SimulatedSymbolState[];
  accounts: SimulatedAccountState[];
}

/** Where the simulator keeps its state between processes. */
export interface SimulatorStateStore {
  load(): SimulatorState | undefined;
  save(state: SimulatorState): void;
}

export interface SimulatedMarketOptions {
  store?: SimulatorStateStore;
  now?: () => Date;
  /** Uniform in [0, 1); drives the random walk only. */
  random?: () => number;
}

export interface OpenAccountOptions {
  /** One position per symbol (see `SimulatedAccountState.netting`); hedging without. */
  netting?: boolean;
  balance?: number;
  leverage?: number;
  currency?: string;
}

/** What the broker itself knows of an account, marked to the current prices. */
export interface SimulatedAccountSnapshot extends AccountInformation {
  positions: Position[];
  orders: PendingOrder[];
}

/** A trade made in the trader's own terminal: no client id, no faults, no latency. */
export type TerminalTrade = Omit<TradeOrder, 'type'> & { type?: OrderType; comment?: string; magic?: number };

/** Symbols every new market starts with, at realistic prices. */
export const defaultSymbols: readonly SymbolDefinition[] = [
  { symbol: 'EURUSD', bid: 1.085, ask: 1.0851 },
  { symbol: 'GBPUSD', bid: 1.27, ask: 1.27015 },
  { symbol: 'USDJPY', bid: 151.5, ask: 151.515 },
  { symbol: 'XAUUSD', bid: 2350, ask: 2350.35 },
];

/** The first ticket a new market hands out. */
const FIRST_TICKET = 100_001;
/** Largest random-walk step, as a fraction of the price (1 basis point). */
const WALK_STEP_FRACTION = 1e-4;
const VOLUME_EPSILON = 1e-7;

const noFaults = (): SimulatorFaults => ({ rejectNext: 0, code: 'REQUOTE', timeoutAfterExecuteNext: 0, partialFillNext: 0, latencyMs: 0 });

/** Base and quote currency of a symbol named like a currency pair (`EURUSD`, `XAUUSD`, `EURUSD.m`, OANDA's `EUR_USD`). */
const currencyPair = (symbol: string): { base: string; quote: string } | undefined => {
  const match = /^([A-Z]{3})_?([A-Z]{3})/.exec(symbol.toUpperCase());
  return match?.[1] && match[2] ? { base: match[1], quote: match[2] } : undefined;
};

/** The quote currency; symbols not named like a pair (indices, CFDs) are quoted in USD. */
const quoteCurrency = (symbol: string): string => currencyPair(symbol)?.quote ?? 'USD';

const defaultSpec = (symbol: string): Omit<SimulatedSymbolState, 'symbol' | 'bid' | 'ask' | 'time'> => {
  const pair = currencyPair(symbol);
  const lots = { volumeMin: 0.01, volumeStep: 0.01, volumeMax: 100 };
  if (pair?.base === 'XAU') return { ...lots, digits: 2, contractSize: 100 };
  if (pair?.base === 'XAG') return { ...lots, digits: 3, contractSize: 5000 };
  if (pair) return { ...lots, digits: pair.quote === 'JPY' ? 3 : 5, contractSize: 100_000 };
  return { ...lots, digits: 2, contractSize: 1 };
};

const roundTo = (value: number, decimals: number): number => Number(value.toFixed(decimals));
const money = (value: number): number => roundTo(value, 2);
const normalizeVolume = (volume: number, step: number): number => roundTo(Math.round(volume / step) * step, 8);
const isMultipleOf = (value: number, step: number): boolean => Math.abs(value / step - Math.round(value / step)) < 1e-6;
const direction = (side: Side): 1 | -1 => (side === 'buy' ? 1 : -1);
const mid = (symbol: SimulatedSymbolState): number => (symbol.bid + symbol.ask) / 2;
const isPositiveNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value > 0;

/** Price a position of this side opens at: buys at the ask, sells at the bid. */
const openingPrice = (symbol: SimulatedSymbolState, side: Side): number => (side === 'buy' ? symbol.ask : symbol.bid);
/** Price a position of this side closes at: buys at the bid, sells at the ask. */
const closingPrice = (symbol: SimulatedSymbolState, side: Side): number => (side === 'buy' ? symbol.bid : symbol.ask);

/** Buy limit fills at ask <= price, buy stop at ask >= price, sell limit at bid >= price, sell stop at bid <= price. */
const isTriggered = (order: PendingOrder, symbol: SimulatedSymbolState): boolean => {
  const market = openingPrice(symbol, order.side);
  const belowIsBetter = (order.side === 'buy') === (order.type === 'limit');
  return belowIsBetter ? market <= order.price : market >= order.price;
};

/** A buy is stopped out when the bid reaches its SL or TP; a sell when the ask does. */
const isStopHit = (position: SimulatedPositionState, symbol: SimulatedSymbolState): boolean => {
  const market = closingPrice(symbol, position.side);
  const sign = direction(position.side);
  const slHit = position.stopLoss !== undefined && sign * (market - position.stopLoss) <= 0;
  const tpHit = position.takeProfit !== undefined && sign * (market - position.takeProfit) >= 0;
  return slHit || tpHit;
};

/** A pending price must be on the side of the market where the order waits, never where it would fill at once. */
const isPendingPriceValid = (symbol: SimulatedSymbolState, side: Side, type: PendingOrderType, price: number): boolean => {
  const market = openingPrice(symbol, side);
  const belowIsBetter = (side === 'buy') === (type === 'limit');
  return belowIsBetter ? price < market : price > market;
};

const copyPosition = (position: SimulatedPositionState): SimulatedPositionState => ({ ...position });
const copyOrder = (order: PendingOrder): PendingOrder => ({ ...order });
const copyDeal = (deal: Deal): Deal => ({ ...deal });

const withoutUndefined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;

/**
 * The simulated broker. Invariants, after every public call:
 * - equity = balance + the floating profit of the open positions (each rounded to cents);
 *   balance changes only by the realised profit of out deals.
 * - every open volume is > 0 and a multiple of its symbol's volume step.
 * - tickets (order, position and deal ids) are increasing integers never reused, also
 *   across restarts, and a position has the id of the order that opened it.
 * - no pending order is triggered and no position has its SL or TP hit at the current quotes.
 * - the store holds the state as it is now.
 * Errors are `BrokerError`s with the code a real broker would give; an unknown account is
 * `AUTH_FAILED`. Faults are not applied here: the broker port applies them (see `takeTradeFault`).
 */
export class SimulatedMarket {
  private readonly symbols = new Map<string, SimulatedSymbolState>();
  private readonly accounts = new Map<string, SimulatedAccountState>();
  private nextTicket = FIRST_TICKET;
  private readonly store: SimulatorStateStore | undefined;
  private readonly now: () => Date;
  private readonly random: () => number;
  private walkTimer: ReturnType<typeof setInterval> | undefined;
  private readonly watchers = new Set<(accountId: string) => void>();
  private readonly changed = new Set<string>();

  /** Loads the store's state when it has one; otherwise starts with the default symbols and no accounts. */
  constructor(options: SimulatedMarketOptions = {}) {
    this.store = options.store;
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
    const saved = this.store?.load();
    if (saved) {
      this.restore(saved);
    } else {
      for (const definition of defaultSymbols) this.putSymbol(definition);
    }
  }

  /** A market that continues from the store's state (or starts fresh and saves into it). */
  static open(store: SimulatorStateStore, options: Omit<SimulatedMarketOptions, 'store'> = {}): SimulatedMarket {
    return new SimulatedMarket({ ...options, store });
  }

  // ---- symbols -------------------------------------------------------------------------

  /**
   * Defines a symbol or reprices it, then fills the pending orders and closes the positions
   * whose price the new quote reached. Throws `ValidationError` on an impossible definition.
   */
  defineSymbol(definition: SymbolDefinition): SymbolSpec {
    this.putSymbol(definition);
    this.settle();
    this.persist();
    return this.specOf(this.requireSymbol(definition.symbol));
  }

  hasSymbol(symbol: string): boolean {
    return this.symbols.has(symbol);
  }

  /** Undefined when the symbol is not offered. tickValue is in USD where a USD rate for the quote currency exists. */
  getSymbolSpec(symbol: string): SymbolSpec | undefined {
    const state = this.symbols.get(symbol);
    return state ? this.specOf(state) : undefined;
  }

  getQuote(symbol: string): Quote | undefined {
    const state = this.symbols.get(symbol);
    return state ? { symbol: state.symbol, bid: state.bid, ask: state.ask, time: state.time } : undefined;
  }

  listSymbols(): string[] {
    return [...this.symbols.keys()];
  }

  // ---- accounts ------------------------------------------------------------------------

  /** Opens an account under the caller's id; opening an existing one changes nothing. */
  openAccount(accountId: string, options: OpenAccountOptions = {}): void {
    if (this.accounts.has(accountId)) return;
    const balance = options.balance ?? 10_000;
    const leverage = options.leverage ?? 100;
    if (!(balance >= 0 && Number.isFinite(balance))) {
      throw new ValidationError('Invalid balance', [{ path: 'balance', message: 'must be a number >= 0' }]);
    }
    if (!isPositiveNumber(leverage)) {
      throw new ValidationError('Invalid leverage', [{ path: 'leverage', message: 'must be a number > 0' }]);
    }
    this.accounts.set(accountId, {
      id: accountId,
      ...(options.netting ? { netting: true } : {}),
      balance: money(balance),
      leverage,
      currency: options.currency ?? 'USD',
      positions: [],
      orders: [],
      deals: [],
      faults: noFaults(),
    });
    this.persist();
  }

  hasAccount(accountId: string): boolean {
    return this.accounts.has(accountId);
  }

  /** Removes the account with its positions, orders and history; closing an unknown one does nothing. */
  closeAccount(accountId: string): void {
    if (this.accounts.delete(accountId)) this.persist();
  }

  getAccountInformation(accountId: string): AccountInformation {
    const { positions: _positions, orders: _orders, ...information } = this.getAccountSnapshot(accountId);
    return information;
  }

  /** The account marked to the current prices: equity = balance + the sum of the positions' profit. */
  getAccountSnapshot(accountId: string): SimulatedAccountSnapshot {
    const account = this.requireAccount(accountId);
    const positions = account.positions.map((position) => this.markedPosition(account, position));
    const floating = positions.reduce((sum, position) => sum + (position.profit ?? 0), 0);
    const margin = money(account.positions.reduce((sum, position) => sum + this.marginOf(account, position), 0));
    const equity = money(account.balance + floating);
    return {
      balance: account.balance,
      equity,
      margin,
      freeMargin: money(equity - margin),
      currency: account.currency,
      leverage: account.leverage,
      positions,
      orders: account.orders.map(copyOrder),
    };
  }

  getPositions(accountId: string): Position[] {
    const account = this.requireAccount(accountId);
    return account.positions.map((position) => this.markedPosition(account, position));
  }

  getPendingOrders(accountId: string): PendingOrder[] {
    return this.requireAccount(accountId).orders.map(copyOrder);
  }

  /** Deals with `from <= time < to`, oldest first. */
  getDeals(accountId: string, from: string, to: string): Deal[] {
    const start = Date.parse(from);
    const end = Date.parse(to);
    return this.requireAccount(accountId)
      .deals.filter((deal) => {
        const time = Date.parse(deal.time);
        return time >= start && time < end;
      })
      .map(copyDeal);
  }

  /** Every open position, pending order and deal (also of closed positions) that carries the client id. */
  findByClientId(accountId: string, clientId: string): ClientIdMatch {
    const account = this.requireAccount(accountId);
    return {
      positions: account.positions.filter((position) => position.clientId === clientId).map((position) => this.markedPosition(account, position)),
      orders: account.orders.filter((order) => order.clientId === clientId).map(copyOrder),
      deals: account.deals.filter((deal) => deal.clientId === clientId).map(copyDeal),
    };
  }

  // ---- trading -------------------------------------------------------------------------

  /**
   * Executes a trade request: a market order opens a position at the ask (buy) or bid
   * (sell); a limit or stop order waits until the market crosses its price. Validation, in
   * order: symbol, volume, price, stops, free margin; a rejected request changes nothing.
   * Prices and stops are rounded to the symbol's digits.
   */
  placeOrder(accountId: string, request: TradeRequest): TradeResult {
    return this.executeOrder(accountId, { ...request, volume: this.takePartialFill(accountId, request) });
  }

  /** The volume a market order fills: half of it (to the step, at least the minimum) while `partialFillNext` lasts. */
  private takePartialFill(accountId: string, request: TradeRequest): number {
    const faults = this.requireAccount(accountId).faults;
    const symbol = this.symbols.get(request.symbol);
    if (!(faults.partialFillNext > 0) || request.type !== 'market' || !symbol) return request.volume;
    faults.partialFillNext -= 1;
    this.persist();
    const steps = Math.floor(request.volume / 2 / symbol.volumeStep + VOLUME_EPSILON);
    return Math.max(symbol.volumeMin, normalizeVolume(steps * symbol.volumeStep, symbol.volumeStep));
  }

  private executeOrder(accountId: string, request: Omit<TradeRequest, 'clientId'> & { clientId?: string; magic?: number }): TradeResult {
    const account = this.requireAccount(accountId);
    const symbol = this.requireSymbol(request.symbol);
    const volume = this.validVolume(symbol, request.volume);
    if (request.type === 'market') {
      const price = openingPrice(symbol, request.side);
      const stops = this.validStops(symbol, request.side, closingPrice(symbol, request.side), {
        stopLoss: request.stopLoss ?? null,
        takeProfit: request.takeProfit ?? null,
      });
      this.requireFreeMargin(account, symbol, volume, price);
      const positionId = this.openPosition(account, symbol, {
        orderId: this.issueTicket(),
        side: request.side,
        volume,
        stops,
        clientId: request.clientId,
        comment: request.comment,
        magic: request.magic,
      });
      this.persist();
      return { positionId, price, volume };
    }
    if (request.type !== 'limit' && request.type !== 'stop') {
      throw new BrokerError('REJECTED', `Unsupported order type ${String(request.type)}`);
    }
    const price = this.validPendingPrice(symbol, request.side, request.type, request.price);
    const stops = this.validStops(symbol, request.side, price, {
      stopLoss: request.stopLoss ?? null,
      takeProfit: request.takeProfit ?? null,
    });
    this.requireFreeMargin(account, symbol, volume, price);
    const order: PendingOrder = withoutUndefined({
      id: this.issueTicket(),
      symbol: symbol.symbol,
      side: request.side,
      type: request.type,
      volume,
      price,
      stopLoss: stops.stopLoss ?? undefined,
      takeProfit: stops.takeProfit ?? undefined,
      createdAt: this.timestamp(),
      comment: request.comment,
      clientId: request.clientId,
      magic: request.magic,
    });
    account.orders.push(order);
    this.touch(account.id);
    this.persist();
    return { orderId: order.id, price, volume };
  }

  /**
   * Closes all of a position, or `volume` of it at the current bid (buy) or ask (sell),
   * books the realised profit to the balance and appends an out deal carrying `clientId`.
   */
  closePosition(accountId: string, positionId: string, options: { volume?: number; clientId?: string } = {}): TradeResult {
    const account = this.requireAccount(accountId);
    const position = this.requirePosition(account, positionId);
    const symbol = this.requireSymbol(position.symbol);
    const volume = options.volume === undefined ? position.volume : this.validCloseVolume(symbol, position, options.volume);
    const result = this.closeVolume(account, position, symbol, volume, options.clientId);
    this.persist();
    return result;
  }

  /** Sets both stop levels of a position absolutely; `null` removes one. */
  modifyPosition(accountId: string, positionId: string, stops: StopLevels): void {
    const account = this.requireAccount(accountId);
    const position = this.requirePosition(account, positionId);
    const symbol = this.requireSymbol(position.symbol);
    const valid = this.validStops(symbol, position.side, closingPrice(symbol, position.side), stops);
    setStops(position, valid);
    this.touch(account.id);
    this.persist();
  }

  /** Moves a pending order's price and sets its stop levels absolutely; `null` removes one. */
  modifyOrder(accountId: string, orderId: string, change: { price: number } & StopLevels): void {
    const account = this.requireAccount(accountId);
    const order = this.requireOrder(account, orderId);
    const symbol = this.requireSymbol(order.symbol);
    const price = this.validPendingPrice(symbol, order.side, order.type, change.price);
    const valid = this.validStops(symbol, order.side, price, change);
    order.price = price;
    setStops(order, valid);
    this.touch(account.id);
    this.persist();
  }

  cancelOrder(accountId: string, orderId: string): void {
    const account = this.requireAccount(accountId);
    const order = this.requireOrder(account, orderId);
    account.orders = account.orders.filter((candidate) => candidate !== order);
    this.touch(account.id);
    this.persist();
  }

  // ---- the trader's own terminal -------------------------------------------------------

  /** A trade the trader makes in their own terminal, outside the system: no client id, never faulted or delayed. */
  traderTrade(accountId: string, trade: TerminalTrade): TradeResult {
    return this.executeOrder(accountId, { ...trade, type: trade.type ?? 'market' });
  }

  /** Closes a position (or `volume` of it) from the trader's terminal. */
  traderClose(accountId: string, positionId: string, volume?: number): TradeResult {
    return this.closePosition(accountId, positionId, volume === undefined ? {} : { volume });
  }

  /** Changes the stops of a position from the terminal: a level omitted stays, `null` removes it. */
  traderModify(accountId: string, positionId: string, change: { stopLoss?: number | null; takeProfit?: number | null }): Position {
    const account = this.requireAccount(accountId);
    const position = this.requirePosition(account, positionId);
    this.modifyPosition(accountId, positionId, {
      stopLoss: change.stopLoss === undefined ? (position.stopLoss ?? null) : change.stopLoss,
      takeProfit: change.takeProfit === undefined ? (position.takeProfit ?? null) : change.takeProfit,
    });
    return this.markedPosition(account, position);
  }

  /**
   * The margin `volume` of `symbol` opened on `side` would take now, in the account currency:
   * what a trade request checks against the free margin (and what such a position holds).
   */
  requiredMargin(accountId: string, symbol: string, side: Side, volume: number): number {
    const account = this.requireAccount(accountId);
    const state = this.requireSymbol(symbol);
    return this.marginFor(account, state, volume, openingPrice(state, side));
  }

  /**
   * Hands out the next ticket of the market's one increasing sequence, for a gateway that
   * numbers its own records (an OANDA transaction, a dependent order) among the market's
   * orders, positions and deals, so no number is ever used twice.
   */
  takeTicket(): string {
    const ticket = this.issueTicket();
    this.persist();
    return ticket;
  }

  // ---- faults --------------------------------------------------------------------------

  /** Changes the faults of an account: fields given replace the current ones, fields omitted stay. */
  setFaults(accountId: string, change: SimulatorFaultsChange): SimulatorFaults {
    const account = this.requireAccount(accountId);
    const problems: { path: string; message: string }[] = [];
    for (const field of ['rejectNext', 'timeoutAfterExecuteNext', 'partialFillNext', 'latencyMs'] as const) {
      const value = change[field];
      if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
        problems.push({ path: field, message: 'must be an integer >= 0' });
      }
    }
    if (change.code !== undefined && !(change.code in brokerErrorCodes)) {
      problems.push({ path: 'code', message: 'must be a broker error code' });
    }
    if (problems.length > 0) throw new ValidationError('Invalid faults', problems);
    const faults = account.faults;
    if (change.rejectNext !== undefined) {
      faults.rejectNext = change.rejectNext;
      faults.code = change.code ?? 'REQUOTE';
    } else if (change.code !== undefined) {
      faults.code = change.code;
    }
    if (change.timeoutAfterExecuteNext !== undefined) faults.timeoutAfterExecuteNext = change.timeoutAfterExecuteNext;
    if (change.partialFillNext !== undefined) faults.partialFillNext = change.partialFillNext;
    if (change.latencyMs !== undefined) faults.latencyMs = change.latencyMs;
    this.persist();
    return { ...faults };
  }

  getFaults(accountId: string): SimulatorFaults {
    return { ...this.requireAccount(accountId).faults };
  }

  /**
   * Consumes the fault the next trade request of the account meets, if any: rejections
   * first, then timeouts after execution. Called by the broker port once per trade request.
   */
  takeTradeFault(accountId: string): TradeFault | undefined {
    const faults = this.requireAccount(accountId).faults;
    if (faults.rejectNext > 0) {
      faults.rejectNext -= 1;
      this.persist();
      return { kind: 'reject', code: faults.code };
    }
    if (faults.timeoutAfterExecuteNext > 0) {
      faults.timeoutAfterExecuteNext -= 1;
      this.persist();
      return { kind: 'timeoutAfterExecute' };
    }
    return undefined;
  }

  // ---- price movement ------------------------------------------------------------------

  /**
   * Moves every symbol once: the bid by a random whole number of ticks, at most about one
   * basis point of the price, the ask with it so the spread stays. Then fills and stops out
   * whatever the new quotes reached.
   */
  randomWalkStep(): void {
    const time = this.timestamp();
    for (const symbol of this.symbols.values()) {
      const tick = 10 ** -symbol.digits;
      const maxTicks = Math.max(1, Math.round((symbol.bid * WALK_STEP_FRACTION) / tick));
      const ticks = Math.round((this.random() * 2 - 1) * maxTicks);
      const spread = roundTo(symbol.ask - symbol.bid, symbol.digits);
      const bid = roundTo(symbol.bid + ticks * tick, symbol.digits);
      if (bid > tick) {
        symbol.bid = bid;
        symbol.ask = roundTo(bid + spread, symbol.digits);
      }
      symbol.time = time;
    }
    this.settle();
    this.persist();
  }

  /** Takes a random-walk step every `intervalMs`; a running walk is replaced. The timer does not keep the process alive. */
  startRandomWalk(intervalMs: number): void {
    if (!isPositiveNumber(intervalMs)) throw new RangeError('intervalMs must be > 0');
    this.stopRandomWalk();
    this.walkTimer = setInterval(() => this.randomWalkStep(), intervalMs);
    this.walkTimer.unref?.();
  }

  stopRandomWalk(): void {
    if (this.walkTimer !== undefined) clearInterval(this.walkTimer);
    this.walkTimer = undefined;
  }

  /**
   * Calls `watcher` with the id of every account whose positions or pending orders change
   * (trades, stop and order changes, fills, stop-outs), just after the change. Returns the
   * function that stops the watching.
   */
  watchAccounts(watcher: (accountId: string) => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** A copy of the whole state, as the store receives it. */
  exportState(): SimulatorState {
    return {
      version: 1,
      nextTicket: this.nextTicket,
      symbols: [...this.symbols.values()].map((symbol) => ({ ...symbol })),
      accounts: [...this.accounts.values()].map((account) => ({
        ...account,
        positions: account.positions.map(copyPosition),
        orders: account.orders.map(copyOrder),
        deals: account.deals.map(copyDeal),
        faults: { ...account.faults },
      })),
    };
  }

  // ---- internals -----------------------------------------------------------------------

  private restore(state: SimulatorState): void {
    if (state.version !== 1) throw new Error(`Unsupported simulator state version ${String(state.version)}`);
    this.nextTicket = state.nextTicket;
    for (const symbol of state.symbols) this.symbols.set(symbol.symbol, { ...symbol });
    for (const account of state.accounts) {
      this.accounts.set(account.id, {
        ...account,
        positions: account.positions.map(copyPosition),
        orders: account.orders.map(copyOrder),
        deals: account.deals.map(copyDeal),
        faults: { ...noFaults(), ...account.faults },
      });
    }
  }

  private putSymbol(definition: SymbolDefinition): void {
    const current = this.symbols.get(definition.symbol) ?? {
      symbol: definition.symbol,
      ...defaultSpec(definition.symbol),
    };
    const next = {
      symbol: definition.symbol,
      digits: definition.digits ?? current.digits,
      contractSize: definition.contractSize ?? current.contractSize,
      volumeMin: definition.volumeMin ?? current.volumeMin,
      volumeStep: definition.volumeStep ?? current.volumeStep,
      volumeMax: definition.volumeMax ?? current.volumeMax,
    };
    const problems: { path: string; message: string }[] = [];
    if (!/^[A-Za-z0-9._#+-]{1,32}$/.test(definition.symbol)) {
      problems.push({ path: 'symbol', message: 'must be 1 to 32 letters, digits or . _ # + -' });
    }
    for (const field of ['bid', 'ask', 'contractSize', 'volumeMin', 'volumeStep', 'volumeMax'] as const) {
      const value = field === 'bid' || field === 'ask' ? definition[field] : next[field];
      if (!isPositiveNumber(value)) problems.push({ path: field, message: 'must be a number > 0' });
    }
    if (!(Number.isInteger(next.digits) && next.digits >= 0 && next.digits <= 10)) {
      problems.push({ path: 'digits', message: 'must be an integer from 0 to 10' });
    }
    if (definition.ask < definition.bid) problems.push({ path: 'ask', message: 'must not be below bid' });
    if (next.volumeMax < next.volumeMin) problems.push({ path: 'volumeMax', message: 'must not be below volumeMin' });
    if (problems.length > 0) throw new ValidationError('Invalid symbol definition', problems);
    const bid = roundTo(definition.bid, next.digits);
    const ask = roundTo(definition.ask, next.digits);
    if (!(bid > 0)) throw new ValidationError('Invalid symbol definition', [{ path: 'bid', message: 'rounds to 0' }]);
    this.symbols.set(definition.symbol, { ...next, bid, ask, time: this.timestamp() });
  }

  private specOf(symbol: SimulatedSymbolState): SymbolSpec {
    const tickSize = roundTo(10 ** -symbol.digits, symbol.digits);
    const toUsd = this.rate(quoteCurrency(symbol.symbol), 'USD');
    return withoutUndefined({
      symbol: symbol.symbol,
      digits: symbol.digits,
      contractSize: symbol.contractSize,
      volumeMin: symbol.volumeMin,
      volumeStep: symbol.volumeStep,
      volumeMax: symbol.volumeMax,
      tickSize,
      tickValue: toUsd === undefined ? undefined : roundTo(tickSize * symbol.contractSize * toUsd, 8),
      profitCurrency: quoteCurrency(symbol.symbol),
    });
  }

  /**
   * How many units of `to` one unit of `from` is worth, through the USD rates of the defined
   * symbols (`XXX_USD` or `USD_XXX` as OANDA names them, else `XXXUSD` or `USDXXX`, at mid price). Undefined when no such symbol exists.
   */
  private rate(from: string, to: string): number | undefined {
    if (from === to) return 1;
    const fromUsd = this.usdValueOf(from);
    const toUsd = this.usdValueOf(to);
    return fromUsd === undefined || toUsd === undefined ? undefined : fromUsd / toUsd;
  }

  private usdValueOf(currency: string): number | undefined {
    if (currency === 'USD') return 1;
    const direct = this.symbols.get(`${currency}_USD`) ?? this.symbols.get(`${currency}USD`);
    if (direct) return mid(direct);
    const inverse = this.symbols.get(`USD_${currency}`) ?? this.symbols.get(`USD${currency}`);
    if (inverse) return 1 / mid(inverse);
    return undefined;
  }

  /** Amounts in the symbol's quote currency into the account currency; 1:1 where no rate is derivable. */
  private toAccountCurrency(account: SimulatedAccountState, symbol: string, amount: number): number {
    return amount * (this.rate(quoteCurrency(symbol), account.currency) ?? 1);
  }

  private profitOf(account: SimulatedAccountState, position: SimulatedPositionState, symbol: SimulatedSymbolState, volume: number, closePrice: number): number {
    const inQuote = (closePrice - position.openPrice) * direction(position.side) * volume * symbol.contractSize;
    return money(this.toAccountCurrency(account, symbol.symbol, inQuote));
  }

  /** margin = volume * contractSize * price / leverage, in the account currency. */
  private marginFor(account: SimulatedAccountState, symbol: SimulatedSymbolState, volume: number, price: number): number {
    return this.toAccountCurrency(account, symbol.symbol, (volume * symbol.contractSize * price) / account.leverage);
  }

  private marginOf(account: SimulatedAccountState, position: SimulatedPositionState): number {
    const symbol = this.requireSymbol(position.symbol);
    return this.marginFor(account, symbol, position.volume, openingPrice(symbol, position.side));
  }

  private markedPosition(account: SimulatedAccountState, position: SimulatedPositionState): Position {
    const symbol = this.requireSymbol(position.symbol);
    return {
      ...position,
      profit: this.profitOf(account, position, symbol, position.volume, closingPrice(symbol, position.side)),
    };
  }

  private requireFreeMargin(account: SimulatedAccountState, symbol: SimulatedSymbolState, volume: number, price: number): void {
    const required = this.marginFor(account, symbol, volume, price);
    const { freeMargin } = this.getAccountSnapshot(account.id);
    if (required > freeMargin) {
      throw new BrokerError('NO_MONEY', `Not enough money: margin ${money(required)} > free margin ${freeMargin}`);
    }
  }

  /** Whether the account holds one position per symbol. */
  isNetting(accountId: string): boolean {
    return this.requireAccount(accountId).netting === true;
  }

  /** Makes an account netting or hedging; only while it holds no position (a broker sets it when the account is opened). */
  setNetting(accountId: string, netting: boolean): void {
    const account = this.requireAccount(accountId);
    if (account.positions.length > 0) throw new ValidationError('The account holds positions', [{ path: 'netting', message: 'can change only while flat' }]);
    if (netting) account.netting = true;
    else delete account.netting;
    this.persist();
  }

  private openPosition(account: SimulatedAccountState, symbol: SimulatedSymbolState, order: OpeningOrder): string {
    const held = account.netting ? account.positions.find((position) => position.symbol === symbol.symbol) : undefined;
    if (!held) return this.openNewPosition(account, symbol, order);
    if (held.side === order.side) return this.addToPosition(account, held, symbol, order);
    // The other side: reduce; what is left over opens the other way under the order's ticket.
    const closing = Math.min(held.volume, order.volume);
    this.closeVolume(account, held, symbol, closing, order.clientId);
    const rest = normalizeVolume(order.volume - closing, symbol.volumeStep);
    return rest > 0 ? this.openNewPosition(account, symbol, { ...order, volume: rest, positionId: held.id }) : held.id;
  }

  /** A netting account's order on its position's side: the volume grows, the price averages, the id stays. */
  private addToPosition(
    account: SimulatedAccountState,
    position: SimulatedPositionState,
    symbol: SimulatedSymbolState,
    order: { orderId: string; volume: number; stops: StopLevels; clientId: string | undefined },
  ): string {
    this.touch(account.id);
    const price = openingPrice(symbol, position.side);
    const volume = normalizeVolume(position.volume + order.volume, symbol.volumeStep);
    position.openPrice = roundTo((position.openPrice * position.volume + price * order.volume) / volume, symbol.digits);
    position.volume = volume;
    // The order's stops, where it has them, become the position's (as MetaTrader's netting does).
    if (order.stops.stopLoss != null || order.stops.takeProfit != null) setStops(position, order.stops);
    account.deals.push(
      withoutUndefined({
        id: this.issueTicket(),
        positionId: position.id,
        orderId: order.orderId,
        symbol: symbol.symbol,
        side: position.side,
        entry: 'in' as const,
        volume: order.volume,
        price,
        profit: 0,
        time: this.timestamp(),
        clientId: order.clientId,
      }),
    );
    return position.id;
  }

  private openNewPosition(account: SimulatedAccountState, symbol: SimulatedSymbolState, order: OpeningOrder): string {
    this.touch(account.id);
    const price = openingPrice(symbol, order.side);
    const time = this.timestamp();
    const positionId = order.positionId ?? order.orderId;
    account.positions.push(
      withoutUndefined({
        id: positionId,
        symbol: symbol.symbol,
        side: order.side,
        volume: order.volume,
        openPrice: price,
        stopLoss: order.stops.stopLoss ?? undefined,
        takeProfit: order.stops.takeProfit ?? undefined,
        openedAt: time,
        comment: order.comment,
        clientId: order.clientId,
        magic: order.magic,
      }),
    );
    account.deals.push(
      withoutUndefined({
        id: this.issueTicket(),
        positionId,
        orderId: order.orderId,
        symbol: symbol.symbol,
        side: order.side,
        entry: 'in' as const,
        volume: order.volume,
        price,
        profit: 0,
        time,
        clientId: order.clientId,
      }),
    );
    return positionId;
  }

  private closeVolume(
    account: SimulatedAccountState,
    position: SimulatedPositionState,
    symbol: SimulatedSymbolState,
    volume: number,
    clientId: string | undefined,
  ): TradeResult {
    this.touch(account.id);
    const price = closingPrice(symbol, position.side);
    const profit = this.profitOf(account, position, symbol, volume, price);
    account.balance = money(account.balance + profit);
    const remaining = normalizeVolume(position.volume - volume, symbol.volumeStep);
    if (remaining > 0) {
      position.volume = remaining;
    } else {
      account.positions = account.positions.filter((candidate) => candidate !== position);
    }
    const orderId = this.issueTicket();
    account.deals.push(
      withoutUndefined({
        id: this.issueTicket(),
        positionId: position.id,
        orderId,
        symbol: symbol.symbol,
        side: position.side === 'buy' ? ('sell' as const) : ('buy' as const),
        entry: 'out' as const,
        volume,
        price,
        profit,
        time: this.timestamp(),
        clientId,
      }),
    );
    return { positionId: position.id, price, volume };
  }

  /**
   * Fills the pending orders and closes the positions the current quotes reached. A pending
   * order whose margin the account cannot cover when it triggers is cancelled, as MetaTrader does.
   */
  private settle(): void {
    for (const account of this.accounts.values()) {
      for (const order of [...account.orders]) {
        const symbol = this.symbols.get(order.symbol);
        if (!symbol || !isTriggered(order, symbol)) continue;
        account.orders = account.orders.filter((candidate) => candidate !== order);
        this.touch(account.id);
        const price = openingPrice(symbol, order.side);
        if (this.marginFor(account, symbol, order.volume, price) > this.getAccountSnapshot(account.id).freeMargin) {
          continue;
        }
        this.openPosition(account, symbol, {
          orderId: order.id,
          side: order.side,
          volume: order.volume,
          stops: { stopLoss: order.stopLoss ?? null, takeProfit: order.takeProfit ?? null },
          clientId: order.clientId,
          comment: order.comment,
          magic: order.magic,
        });
      }
      for (const position of [...account.positions]) {
        const symbol = this.symbols.get(position.symbol);
        if (symbol && isStopHit(position, symbol)) {
          this.closeVolume(account, position, symbol, position.volume, undefined);
        }
      }
    }
  }

  private validVolume(symbol: SimulatedSymbolState, volume: number): number {
    if (
      !isPositiveNumber(volume) ||
      volume < symbol.volumeMin - VOLUME_EPSILON ||
      volume > symbol.volumeMax + VOLUME_EPSILON ||
      !isMultipleOf(volume, symbol.volumeStep)
    ) {
      throw new BrokerError(
        'INVALID_VOLUME',
        `Invalid volume ${String(volume)} for ${symbol.symbol}: [${symbol.volumeMin}, ${symbol.volumeMax}] step ${symbol.volumeStep}`,
      );
    }
    return normalizeVolume(volume, symbol.volumeStep);
  }

  /** A partial close takes at least the minimum volume, in steps, and at most what is open. */
  private validCloseVolume(symbol: SimulatedSymbolState, position: SimulatedPositionState, volume: number): number {
    const isWhole = isPositiveNumber(volume) && Math.abs(volume - position.volume) < VOLUME_EPSILON;
    if (isWhole) return position.volume;
    if (
      !isPositiveNumber(volume) ||
      volume > position.volume + VOLUME_EPSILON ||
      volume < symbol.volumeMin - VOLUME_EPSILON ||
      !isMultipleOf(volume, symbol.volumeStep)
    ) {
      throw new BrokerError('INVALID_VOLUME', `Invalid close volume ${String(volume)} of position ${position.id}`);
    }
    return normalizeVolume(volume, symbol.volumeStep);
  }

  private validPendingPrice(symbol: SimulatedSymbolState, side: Side, type: PendingOrderType, price: number | undefined): number {
    if (!isPositiveNumber(price)) throw new BrokerError('INVALID_PRICE', 'A limit or stop order needs a price > 0');
    const rounded = roundTo(price, symbol.digits);
    if (!isPendingPriceValid(symbol, side, type, rounded)) {
      throw new BrokerError('INVALID_PRICE', `Invalid ${side} ${type} price ${rounded} at bid ${symbol.bid} / ask ${symbol.ask}`);
    }
    return rounded;
  }

  /** For a buy the SL is below and the TP above `reference`; for a sell the other way round. */
  private validStops(symbol: SimulatedSymbolState, side: Side, reference: number, stops: StopLevels): StopLevels {
    const sign = direction(side);
    const check = (level: number | null | undefined, wantedSign: 1 | -1, name: string): number | null => {
      if (level === null || level === undefined) return null;
      if (!isPositiveNumber(level)) throw new BrokerError('INVALID_STOPS', `Invalid ${name} ${String(level)}`);
      const rounded = roundTo(level, symbol.digits);
      if (Math.sign(rounded - reference) !== wantedSign) {
        throw new BrokerError('INVALID_STOPS', `Invalid ${name} ${rounded} for a ${side} at ${reference}`);
      }
      return rounded;
    };
    return {
      stopLoss: check(stops.stopLoss, sign === 1 ? -1 : 1, 'stop loss'),
      takeProfit: check(stops.takeProfit, sign === 1 ? 1 : -1, 'take profit'),
    };
  }

  private requireAccount(accountId: string): SimulatedAccountState {
    const account = this.accounts.get(accountId);
    if (!account) throw new BrokerError('AUTH_FAILED', 'Unknown simulated account');
    return account;
  }

  private requireSymbol(symbol: string): SimulatedSymbolState {
    const state = this.symbols.get(symbol);
    if (!state) throw new BrokerError('UNKNOWN_SYMBOL', `Unknown symbol ${symbol}`);
    return state;
  }

  private requirePosition(account: SimulatedAccountState, positionId: string): SimulatedPositionState {
    const position = account.positions.find((candidate) => candidate.id === positionId);
    if (!position) throw new BrokerError('POSITION_NOT_FOUND', `Position ${positionId} not found`);
    return position;
  }

  private requireOrder(account: SimulatedAccountState, orderId: string): PendingOrder {
    const order = account.orders.find((candidate) => candidate.id === orderId);
    if (!order) throw new BrokerError('ORDER_NOT_FOUND', `Order ${orderId} not found`);
    return order;
  }

  private issueTicket(): string {
    const ticket = String(this.nextTicket);
    this.nextTicket += 1;
    return ticket;
  }

  private timestamp(): string {
    return this.now().toISOString();
  }

  private persist(): void {
    this.store?.save(this.exportState());
  }

  /**
   * Tells the watchers, once the current trade has returned, which accounts it changed: a
   * push, as a broker's terminal streams its updates. Several changes of one account in a
   * burst reach a watcher once.
   */
  private touch(accountId: string): void {
    if (this.watchers.size === 0) return;
    if (this.changed.size === 0) {
      queueMicrotask(() => {
        const accounts = [...this.changed];
        this.changed.clear();
        for (const watcher of this.watchers) for (const id of accounts) watcher(id);
      });
    }
    this.changed.add(accountId);
  }
}

function setStops(target: { stopLoss?: number; takeProfit?: number }, stops: StopLevels): void {
  if (stops.stopLoss === null) delete target.stopLoss;
  else target.stopLoss = stops.stopLoss;
  if (stops.takeProfit === null) delete target.takeProfit;
  else target.takeProfit = stops.takeProfit;
}

/** A state store in memory: what a test uses to restart a market without a file. */
export const memorySimulatorStateStore = (): SimulatorStateStore & { readonly saves: number } => {
  let saved: string | undefined;
  let saves = 0;
  return {
    load: () => (saved === undefined ? undefined : (JSON.parse(saved) as SimulatorState)),
    save: (state) => {
      saved = JSON.stringify(state);
      saves += 1;
    },
    get saves() {
      return saves;
    },
  };
};

/** A seeded uniform random source in [0, 1) (mulberry32): the same seed walks the same prices. */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

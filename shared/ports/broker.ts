import type { AccountInformation, Deal, FillingMode, PendingOrder, Position, Quote, StopLevels, SymbolSpec, TradeOrder } from '../domain/trading';
import type { BrokerView } from '../domain/master-events';

/**
 * A trade request. `clientId` is the idempotency key of the side effect: the same request
 * carries the same client id every time it is attempted, and `findByClientId` finds what
 * an earlier attempt did. Brokers limit its length (MetaApi: clientId + comment <= 26).
 */
export interface TradeRequest extends TradeOrder {
  clientId: string;
  comment?: string;
  /** The filling mode a market order asks for; the broker's default without. */
  fillingMode?: FillingMode;
}

export interface TradeResult {
  positionId?: string;
  orderId?: string;
  /** Fill price of a market order. */
  price?: number;
  volume?: number;
  /** The order filled but its stop levels could not be set as asked (cTrader sets them after the fill). */
  stopsNotSet?: boolean;
}

/** What an earlier request with a client id left at the broker. */
export interface ClientIdMatch {
  positions: Position[];
  orders: PendingOrder[];
  deals: Deal[];
}

/**
 * What one account at its broker allows, as the broker says (not per platform: an MT5 account
 * may be hedging or netting, an OANDA account hedging or not, FIFO in the US).
 */
export interface AccountCapabilities {
  /** Several positions of one symbol, also of opposite sides, can be open at once. */
  hedging: boolean;
  /**
   * One position per symbol: an order on its side adds to it under its id, one on the other
   * side reduces or reverses it (MT5 netting). OANDA without hedging is not this: every order
   * opens a trade (a position of the port) of its own; it is `fifo`.
   */
  netting: boolean;
  /** Positions of a symbol must be closed oldest first (US rules). */
  fifo: boolean;
  /** What `volume` counts: lots (MetaTrader) or units of the base asset (OANDA). */
  units: 'lots' | 'units';
  /**
   * A close carries the request's client id, so `findByClientId` finds a close whose outcome
   * was unknown. Where it does not (OANDA), a close is recognised by what it did.
   */
  closeClientId: boolean;
}

/** The capabilities of a MetaTrader-like hedging account in lots: the simulator's and MetaApi's default. */
export const hedgingLots: AccountCapabilities = { hedging: true, netting: false, fifo: false, units: 'lots', closeClientId: true };

/**
 * One connected trading account at a broker. Every method either succeeds or throws a
 * `BrokerError` whose class tells the caller whether to retry, reconcile, defer or stop.
 */
export interface BrokerPort {
  /** What the account allows; read once per connection. */
  getCapabilities(): Promise<AccountCapabilities>;
  getAccountInformation(): Promise<AccountInformation>;
  getPositions(): Promise<Position[]>;
  getPendingOrders(): Promise<PendingOrder[]>;
  /** Deals with `from <= time < to`, oldest first. */
  getDeals(from: string, to: string): Promise<Deal[]>;
  /** Undefined when the broker does not offer the symbol. */
  getSymbolSpec(symbol: string): Promise<SymbolSpec | undefined>;
  getQuote(symbol: string): Promise<Quote | undefined>;
  placeOrder(request: TradeRequest): Promise<TradeResult>;
  /** Sets the given stop levels; `null` removes a level, `undefined` keeps it. */
  modifyPosition(positionId: string, stops: StopLevels): Promise<void>;
  /**
   * Moves a pending order and sets its stops. Returns the id the order has afterwards: a
   * broker that replaces an order (OANDA) gives it a new one.
   */
  modifyOrder(orderId: string, change: { price: number } & StopLevels): Promise<{ orderId: string }>;
  /** Closes all of a position, or `volume` of it. */
  closePosition(positionId: string, options: { volume?: number; clientId?: string }): Promise<TradeResult>;
  cancelOrder(orderId: string): Promise<void>;
  findByClientId(clientId: string): Promise<ClientIdMatch>;
  /**
   * Positions, pending orders and funds in one read, where the broker answers them together
   * (cTrader's reconcile): the sync reads an account with it when offered, instead of the
   * three reads above.
   */
  readAccount?(): Promise<AccountView>;
}

/** What a sync reads of an account: its positions, pending orders and funds (the diff's `BrokerView`, funds included). */
export type AccountView = Required<BrokerView>;

/**
 * A live feed of one account's state, pushed by the broker (MetaApi's streaming connection).
 * It calls `onChange` after every change it received; the sync then diffs `view()` against
 * the book as it would an RPC read, so event ids, dedup and ordering are the same.
 */
export interface AccountStream {
  /** The account as last pushed, or undefined while the stream is not synchronized (read it over RPC then). */
  view(): AccountView | undefined;
  /** Resolves true once synchronized, false if that did not happen within `timeoutMs`. */
  synchronized(timeoutMs: number): Promise<boolean>;
  /** Stops the feed and releases the broker's subscription. Never throws. */
  close(): Promise<void>;
  /**
   * The account's deals pushed since the last call, where the platform pushes them (MetaApi's
   * stream does): the history is kept from them, not read over RPC. A deal may come twice.
   */
  takeDeals?(): Deal[];
}

/** What the system knows of an account when it needs to reach it at the broker. */
export interface BrokerAccountRef {
  tenantId: string;
  accountId: string;
  platform: string;
  login: string;
  server: string;
  /** The broker-side id (MetaApi account id), once provisioned. */
  brokerAccountId?: string;
}

export interface ProvisionResult {
  brokerAccountId?: string;
  status: 'connecting' | 'connected' | 'disconnected' | 'error';
  statusDetail?: string;
}

/**
 * Everything a platform needs: account lifecycle at the broker, and connections. The
 * password is handed over decrypted only for the call that needs it.
 */
export interface BrokerGateway {
  readonly platform: string;
  provision(ref: BrokerAccountRef, password: string): Promise<ProvisionResult>;
  updatePassword(ref: BrokerAccountRef, password: string): Promise<ProvisionResult>;
  deprovision(ref: BrokerAccountRef): Promise<void>;
  connect(ref: BrokerAccountRef): Promise<BrokerPort>;
  /**
   * Opens a stream of the account's changes, when the platform pushes them. It returns at
   * once: the stream connects and synchronizes in the background, and reconnects by itself.
   */
  watch?(ref: BrokerAccountRef, onChange: () => void): AccountStream;
}

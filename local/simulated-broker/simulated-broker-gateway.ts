import { BrokerError } from '../../shared/domain/broker-errors';
import type { AccountInformation, Deal, PendingOrder, Position, Quote, StopLevels, SymbolSpec } from '../../shared/domain/trading';
import {
  type AccountCapabilities,
  type BrokerAccountRef,
  type BrokerGateway,
  type BrokerPort,
  type ClientIdMatch,
  hedgingLots,
  type ProvisionResult,
  type TradeRequest,
  type TradeResult,
} from '../../shared/ports/broker';
import type { SimulatedMarket } from './simulated-market';

export interface SimulatedBrokerGatewayOptions {
  /** Balance of a newly provisioned account (10,000 as the contract says). */
  initialBalance?: number;
  /** Leverage of a newly provisioned account (1:100). */
  leverage?: number;
  /** How the port waits out the injected latency; a test may replace it. */
  sleep?: (ms: number) => Promise<void>;
}

/** Waits at least `ms`: a timer may fire a little early, so it waits again for the rest. */
const realSleep = async (ms: number): Promise<void> => {
  const end = performance.now() + ms;
  for (let left = ms; left > 0; left = end - performance.now()) {
    await new Promise((resolve) => setTimeout(resolve, Math.ceil(left)));
  }
};

/**
 * The `simulated` platform: accounts live in a `SimulatedMarket` under the API's account id.
 * The password is accepted and dropped: it is never stored or logged. A port reaches the
 * market through the account's injected faults and latency, which the market's own
 * terminal methods never meet.
 */
export class SimulatedBrokerGateway implements BrokerGateway {
  readonly platform = 'simulated';
  private readonly initialBalance: number;
  private readonly leverage: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly market: SimulatedMarket,
    options: SimulatedBrokerGatewayOptions = {},
  ) {
    this.initialBalance = options.initialBalance ?? 10_000;
    this.leverage = options.leverage ?? 100;
    this.sleep = options.sleep ?? realSleep;
  }

  /** Opens the account (idempotent: a second provision keeps its balance and positions). */
  async provision(ref: BrokerAccountRef, _password: string): Promise<ProvisionResult> {
    this.market.openAccount(ref.accountId, { balance: this.initialBalance, leverage: this.leverage });
    return { brokerAccountId: ref.accountId, status: 'connected' };
  }

  /** Nothing to change at a simulated broker; reports whether the account is there. */
  async updatePassword(ref: BrokerAccountRef, _password: string): Promise<ProvisionResult> {
    return this.market.hasAccount(ref.accountId)
      ? { brokerAccountId: ref.accountId, status: 'connected' }
      : { status: 'error', statusDetail: 'Account is not provisioned at the simulated broker' };
  }

  async deprovision(ref: BrokerAccountRef): Promise<void> {
    this.market.closeAccount(ref.accountId);
  }

  /** Throws `AUTH_FAILED` for an account the market does not have. */
  async connect(ref: BrokerAccountRef): Promise<BrokerPort> {
    if (!this.market.hasAccount(ref.accountId)) {
      throw new BrokerError('AUTH_FAILED', 'Unknown simulated account');
    }
    return new SimulatedBrokerPort(this.market, ref.accountId, this.sleep);
  }
}

/**
 * One account of the market behind the broker port. Every request first waits the
 * account's `latencyMs`; every trade request then meets the next injected fault: a
 * rejection does not execute, a timeout-after-execute executes and then throws `TIMEOUT`,
 * whatever the execution's own outcome (the answer is lost, as when a connection drops).
 */
class SimulatedBrokerPort implements BrokerPort {
  constructor(
    private readonly market: SimulatedMarket,
    private readonly accountId: string,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  async getAccountInformation(): Promise<AccountInformation> {
    await this.delay();
    return this.market.getAccountInformation(this.accountId);
  }

  async getPositions(): Promise<Position[]> {
    await this.delay();
    return this.market.getPositions(this.accountId);
  }

  async getPendingOrders(): Promise<PendingOrder[]> {
    await this.delay();
    return this.market.getPendingOrders(this.accountId);
  }

  async getDeals(from: string, to: string): Promise<Deal[]> {
    await this.delay();
    return this.market.getDeals(this.accountId, from, to);
  }

  async getSymbolSpec(symbol: string): Promise<SymbolSpec | undefined> {
    await this.delay();
    return this.market.getSymbolSpec(symbol);
  }

  async getQuote(symbol: string): Promise<Quote | undefined> {
    await this.delay();
    return this.market.getQuote(symbol);
  }

  async findByClientId(clientId: string): Promise<ClientIdMatch> {
    await this.delay();
    return this.market.findByClientId(this.accountId, clientId);
  }

  placeOrder(request: TradeRequest): Promise<TradeResult> {
    return this.trade(() => this.market.placeOrder(this.accountId, request));
  }

  /** A level left `undefined` keeps its current value (the market sets both levels absolutely). */
  modifyPosition(positionId: string, stops: StopLevels): Promise<void> {
    return this.trade(() => {
      const current = this.market.getPositions(this.accountId).find((position) => position.id === positionId);
      return this.market.modifyPosition(this.accountId, positionId, keepUnset(stops, current));
    });
  }

  modifyOrder(orderId: string, change: { price: number } & StopLevels): Promise<{ orderId: string }> {
    return this.trade(() => {
      const current = this.market.getPendingOrders(this.accountId).find((order) => order.id === orderId);
      this.market.modifyOrder(this.accountId, orderId, { price: change.price, ...keepUnset(change, current) });
      return { orderId };
    });
  }

  async getCapabilities(): Promise<AccountCapabilities> {
    const netting = this.market.isNetting(this.accountId);
    return { ...hedgingLots, hedging: !netting, netting };
  }

  closePosition(positionId: string, options: { volume?: number; clientId?: string }): Promise<TradeResult> {
    return this.trade(() => this.market.closePosition(this.accountId, positionId, options));
  }

  cancelOrder(orderId: string): Promise<void> {
    return this.trade(() => this.market.cancelOrder(this.accountId, orderId));
  }

  private async delay(): Promise<void> {
    await this.sleep(this.market.getFaults(this.accountId).latencyMs);
  }

  private async trade<T>(execute: () => T): Promise<T> {
    await this.delay();
    const fault = this.market.takeTradeFault(this.accountId);
    if (fault?.kind === 'reject') {
      throw new BrokerError(fault.code, `Simulated rejection: ${fault.code}`);
    }
    if (fault?.kind === 'timeoutAfterExecute') {
      let cause: unknown;
      try {
        execute();
      } catch (error) {
        cause = error;
      }
      throw new BrokerError('TIMEOUT', 'Simulated timeout after the request reached the broker', { cause });
    }
    return execute();
  }
}

/** Stop levels with every `undefined` replaced by the current level (`null` when there is none). */
const keepUnset = (stops: StopLevels, current: { stopLoss?: number; takeProfit?: number } | undefined): StopLevels => ({
  stopLoss: stops.stopLoss === undefined ? (current?.stopLoss ?? null) : stops.stopLoss,
  takeProfit: stops.takeProfit === undefined ? (current?.takeProfit ?? null) : stops.takeProfit,
});

import type {
  AccountCapabilities,
  AccountStream,
  AccountView,
  BrokerAccountRef,
  BrokerGateway,
  BrokerPort,
  ClientIdMatch,
  ProvisionResult,
  TradeRequest,
  TradeResult,
} from '../../ports/broker';
import type { SpanAnnotations, Tracing } from '../../ports/tracing';
import type { AccountInformation, Deal, PendingOrder, Position, Quote, StopLevels, SymbolSpec } from '../../domain/trading';

const annotationsOf = (ref: BrokerAccountRef): SpanAnnotations => ({ tenantId: ref.tenantId, accountId: ref.accountId, platform: ref.platform });

/** Every call of a connected account is a span `broker.<method>`, annotated with the account and, for orders, the client id. */
class TracedBrokerPort implements BrokerPort {
  readonly readAccount?: () => Promise<AccountView>;

  constructor(
    private readonly port: BrokerPort,
    private readonly tracing: Tracing,
    private readonly annotations: SpanAnnotations,
  ) {
    const readAccount = port.readAccount?.bind(port);
    if (readAccount) this.readAccount = () => this.span('readAccount', readAccount);
  }

  private span<T>(method: string, work: () => Promise<T>, extra: SpanAnnotations = {}): Promise<T> {
    return this.tracing.span(`broker.${method}`, { ...this.annotations, ...extra }, work);
  }

  getAccountInformation(): Promise<AccountInformation> {
    return this.span('getAccountInformation', () => this.port.getAccountInformation());
  }
  getPositions(): Promise<Position[]> {
    return this.span('getPositions', () => this.port.getPositions());
  }
  getPendingOrders(): Promise<PendingOrder[]> {
    return this.span('getPendingOrders', () => this.port.getPendingOrders());
  }
  getDeals(from: string, to: string): Promise<Deal[]> {
    return this.span('getDeals', () => this.port.getDeals(from, to));
  }
  getSymbolSpec(symbol: string): Promise<SymbolSpec | undefined> {
    return this.span('getSymbolSpec', () => this.port.getSymbolSpec(symbol), { symbol });
  }
  getQuote(symbol: string): Promise<Quote | undefined> {
    return this.span('getQuote', () => this.port.getQuote(symbol), { symbol });
  }
  placeOrder(request: TradeRequest): Promise<TradeResult> {
    return this.span('placeOrder', () => this.port.placeOrder(request), { clientId: request.clientId, symbol: request.symbol });
  }
  modifyPosition(positionId: string, stops: StopLevels): Promise<void> {
    return this.span('modifyPosition', () => this.port.modifyPosition(positionId, stops), { positionId });
  }
  getCapabilities(): Promise<AccountCapabilities> {
    return this.port.getCapabilities();
  }
  modifyOrder(orderId: string, change: { price: number } & StopLevels): Promise<{ orderId: string }> {
    return this.span('modifyOrder', () => this.port.modifyOrder(orderId, change), { orderId });
  }
  closePosition(positionId: string, options: { volume?: number; clientId?: string }): Promise<TradeResult> {
    return this.span('closePosition', () => this.port.closePosition(positionId, options), {
      positionId,
      ...(options.clientId ? { clientId: options.clientId } : {}),
    });
  }
  cancelOrder(orderId: string): Promise<void> {
    return this.span('cancelOrder', () => this.port.cancelOrder(orderId), { orderId });
  }
  findByClientId(clientId: string): Promise<ClientIdMatch> {
    return this.span('findByClientId', () => this.port.findByClientId(clientId), { clientId });
  }
}

/**
 * A gateway whose calls are spans: provisioning (`broker.provision`, ...), connecting
 * (`broker.connect`) and every call of the accounts it connects. Streams are not spans:
 * they live longer than any invocation.
 */
export class TracedGateway implements BrokerGateway {
  readonly platform: string;
  readonly watch?: (ref: BrokerAccountRef, onChange: () => void) => AccountStream;

  constructor(
    /** The gateway traced. */
    readonly inner: BrokerGateway,
    private readonly tracing: Tracing,
  ) {
    this.platform = inner.platform;
    const watch = inner.watch?.bind(inner);
    if (watch) this.watch = (ref, onChange) => watch(ref, onChange);
  }

  provision(ref: BrokerAccountRef, password: string): Promise<ProvisionResult> {
    return this.tracing.span('broker.provision', annotationsOf(ref), () => this.inner.provision(ref, password));
  }
  updatePassword(ref: BrokerAccountRef, password: string): Promise<ProvisionResult> {
    return this.tracing.span('broker.updatePassword', annotationsOf(ref), () => this.inner.updatePassword(ref, password));
  }
  deprovision(ref: BrokerAccountRef): Promise<void> {
    return this.tracing.span('broker.deprovision', annotationsOf(ref), () => this.inner.deprovision(ref));
  }
  async connect(ref: BrokerAccountRef): Promise<BrokerPort> {
    const port = await this.tracing.span('broker.connect', annotationsOf(ref), () => this.inner.connect(ref));
    return new TracedBrokerPort(port, this.tracing, annotationsOf(ref));
  }
}

export const tracedGateway = (gateway: BrokerGateway, tracing: Tracing): TracedGateway => new TracedGateway(gateway, tracing);

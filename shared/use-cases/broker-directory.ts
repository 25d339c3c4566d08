import type { Account } from '../domain/account';
import { BrokerError } from '../domain/broker-errors';
import type { SymbolSpec } from '../domain/trading';
import type { BrokerAccountRef, BrokerGateway, BrokerPort } from '../ports/broker';

export const brokerRef = (account: Account): BrokerAccountRef => ({
  tenantId: account.tenantId,
  accountId: account.id,
  platform: account.platform,
  login: account.login,
  server: account.server,
  brokerAccountId: account.brokerAccountId,
});

const SPEC_TTL_MS = 5 * 60_000;

/**
 * The gateways of every configured platform, and the connections and symbol specs of warm
 * invocations: a connection is opened once per account and container, a spec fetched once
 * per five minutes.
 */
export class BrokerDirectory {
  private readonly ports = new Map<string, Promise<BrokerPort>>();
  private readonly specs = new Map<string, { spec: SymbolSpec | undefined; until: number }>();

  constructor(private readonly gateways: Record<string, BrokerGateway | undefined>) {}

  gateway(platform: string): BrokerGateway {
    const gateway = this.gateways[platform];
    if (!gateway) throw new BrokerError('NOT_CONFIGURED', `no broker gateway is configured for platform ${platform}`);
    return gateway;
  }

  connect(account: Account): Promise<BrokerPort> {
    const cached = this.ports.get(account.id);
    if (cached) return cached;
    const connecting = (async () => this.gateway(account.platform).connect(brokerRef(account)))();
    this.ports.set(account.id, connecting);
    connecting.catch(() => this.ports.delete(account.id));
    return connecting;
  }

  /** Forgets a connection (after the account was deleted or its connection broke). */
  forget(accountId: string): void {
    this.ports.delete(accountId);
  }

  async symbolSpec(account: Account, port: BrokerPort, symbol: string, now = Date.now()): Promise<SymbolSpec | undefined> {
    const key = `${account.id}|${symbol}`;
    const cached = this.specs.get(key);
    if (cached && cached.until > now) return cached.spec;
    const spec = await port.getSymbolSpec(symbol);
    this.specs.set(key, { spec, until: now + SPEC_TTL_MS });
    return spec;
  }
}

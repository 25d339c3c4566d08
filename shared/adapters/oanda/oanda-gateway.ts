import { BrokerError, isBrokerError, withoutInternals, type BrokerErrorCode } from '../../domain/broker-errors';
import { oandaServers } from '../../domain/account';
import type { AccountStream, BrokerAccountRef, BrokerGateway, BrokerPort, ProvisionResult } from '../../ports/broker';
import { OandaClient } from './oanda-client';
import type { OandaAccountSummary } from './oanda-models';
import { defaultOandaPortSettings, OandaBrokerPort } from './oanda-port';
import { OandaAccountStream, type OandaStreamOptions } from './oanda-stream';

/** OANDA's two environments: an OANDA account's `server`. */
export type OandaEnvironment = (typeof oandaServers)[number];

export interface OandaHost {
  /** REST base; the API is below `/v3`. */
  rest: string;
  /** Streaming base (prices, transactions). */
  stream: string;
}

/** OANDA's own hosts: fxPractice for demo accounts, fxTrade for live ones. */
export const oandaHosts: Record<OandaEnvironment, OandaHost> = {
  practice: { rest: 'https://api-fxpractice.oanda.com', stream: 'https://stream-fxpractice.oanda.com' },
  live: { rest: 'https://api-fxtrade.oanda.com', stream: 'https://stream-fxtrade.oanda.com' },
};

export interface OandaGatewayOptions {
  hosts: Record<OandaEnvironment, OandaHost>;
  /** The account's personal access token, decrypted for the connection that needs it. */
  tokenFor: (ref: BrokerAccountRef) => Promise<string>;
  /** Budget of one request (default 10 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => Date;
  /** How long a connection keeps the account's instrument list (default an hour). */
  instrumentsTtlMs?: number;
  /** How `watch` follows a transaction stream (defaults: dead after 20 s without a heartbeat, reopened after 5 s doubling to a minute). */
  stream?: Partial<Pick<OandaStreamOptions, 'heartbeatTimeoutMs' | 'reopenDelayMs' | 'maxReopenDelayMs'>>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

const isEnvironment = (server: string): server is OandaEnvironment => (oandaServers as readonly string[]).includes(server);

/** Failures that say OANDA could not be asked, not that it refused: the account stays `connecting`. */
const unreachable: ReadonlySet<BrokerErrorCode> = new Set(['CONNECTION', 'TIMEOUT', 'BROKER_BUSY', 'TOO_MANY_REQUESTS']);

/**
 * The `oanda` platform: OANDA v20 accounts reached with their personal access token (the
 * account's "password"). `server` is the environment (`practice` or `live`), `login` the v20
 * account id (`101-004-1234567-001`). Nothing is created at OANDA: provisioning checks that the
 * token opens the account; a connection is a port with the token, taken from `tokenFor` each
 * time one is made. The token is sent to OANDA's host only, and never logged or put in a message.
 */
export class OandaGateway implements BrokerGateway {
  readonly platform = 'oanda';
  private readonly timeoutMs: number;
  private readonly fetcher: typeof fetch;
  private readonly now: () => Date;

  constructor(private readonly options: OandaGatewayOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? (() => new Date());
  }

  /** Reads the account's summary with the token: connected when it opens, `error` with the reason when OANDA refuses it. */
  async provision(ref: BrokerAccountRef, token: string): Promise<ProvisionResult> {
    const problem = this.refProblem(ref) ?? (token.trim() ? undefined : 'the OANDA access token is empty');
    if (problem) return { status: 'error', statusDetail: problem };
    try {
      const { account } = await this.client(ref, token).get<{ account?: OandaAccountSummary }>('/summary');
      if (account?.id && account.id !== ref.login) {
        return { status: 'error', statusDetail: `OANDA answered for account ${account.id}, not ${ref.login}` };
      }
      return { status: 'connected', brokerAccountId: ref.login };
    } catch (error) {
      if (!isBrokerError(error)) throw error;
      const said = withoutInternals(error.message);
      if (unreachable.has(error.code)) {
        return { status: 'connecting', statusDetail: `OANDA could not be asked about the account yet (${error.code}: ${said})` };
      }
      if (error.code === 'AUTH_FAILED') {
        return {
          status: 'error',
          statusDetail: `OANDA did not open account ${ref.login} (${ref.server}) with this access token: check the token, the account id and the environment (${said})`,
        };
      }
      return { status: 'error', statusDetail: `OANDA refused account ${ref.login} (${ref.server}): ${error.code}: ${said}` };
    }
  }

  /** A new token is checked as a first one is. */
  updatePassword(ref: BrokerAccountRef, token: string): Promise<ProvisionResult> {
    return this.provision(ref, token);
  }

  /** Nothing was created at OANDA: nothing to remove. */
  async deprovision(): Promise<void> {}

  async connect(ref: BrokerAccountRef): Promise<BrokerPort> {
    const problem = this.refProblem(ref);
    if (problem) throw new BrokerError('AUTH_FAILED', problem);
    return this.port(ref, await this.tokenOf(ref));
  }

  /**
   * Follows the account's transaction stream: the view is read over REST whenever the stream
   * says something happened (see `OandaAccountStream`). A ref OANDA cannot serve gives a stream
   * that never synchronizes (the RPC reads say why).
   */
  watch(ref: BrokerAccountRef, onChange: () => void): AccountStream {
    const problem = this.refProblem(ref);
    const environment = ref.server as OandaEnvironment;
    return new OandaAccountStream(
      {
        streamUrl: problem ? '' : this.options.hosts[environment].stream,
        accountId: ref.login.trim(),
        token: async () => {
          if (problem) throw new BrokerError('AUTH_FAILED', problem);
          return this.tokenOf(ref);
        },
        port: (token) => this.port(ref, token),
        fetch: this.fetcher,
        connectMs: this.timeoutMs,
        heartbeatTimeoutMs: this.options.stream?.heartbeatTimeoutMs ?? 20_000,
        reopenDelayMs: this.options.stream?.reopenDelayMs ?? 5_000,
        maxReopenDelayMs: this.options.stream?.maxReopenDelayMs ?? 60_000,
      },
      onChange,
    );
  }

  private async tokenOf(ref: BrokerAccountRef): Promise<string> {
    const token = await this.options.tokenFor(ref);
    if (!token.trim()) throw new BrokerError('AUTH_FAILED', `no OANDA access token for account ${ref.login}`);
    return token;
  }

  private port(ref: BrokerAccountRef, token: string): OandaBrokerPort {
    return new OandaBrokerPort(this.client(ref, token), {
      ...defaultOandaPortSettings,
      now: this.now,
      ...(this.options.instrumentsTtlMs !== undefined ? { instrumentsTtlMs: this.options.instrumentsTtlMs } : {}),
    });
  }

  private refProblem(ref: BrokerAccountRef): string | undefined {
    if (!isEnvironment(ref.server)) return `an OANDA account's server must be "practice" or "live", not "${ref.server}"`;
    if (!ref.login.trim()) return 'an OANDA account needs its v20 account id as login';
    return undefined;
  }

  private client(ref: BrokerAccountRef, token: string): OandaClient {
    const environment = ref.server as OandaEnvironment;
    return new OandaClient({
      restUrl: this.options.hosts[environment].rest,
      accountId: ref.login.trim(),
      token,
      timeoutMs: this.timeoutMs,
      fetch: this.fetcher,
      now: this.now,
    });
  }
}

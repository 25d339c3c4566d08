import { ctraderServers } from '../../domain/account';
import { BrokerError, isBrokerError, withoutInternals } from '../../domain/broker-errors';
import type { AccountStream, AccountView, BrokerAccountRef, BrokerGateway, BrokerPort, ProvisionResult } from '../../ports/broker';
import { SynchronizationWaiters } from '../synchronization-waiters';
import { CtraderRefusal } from './ctrader-errors';
import { CtraderBrokerPort } from './ctrader-port';
import { type CtraderExecutionEvent, type CtraderMessage, payloadTypes } from './ctrader-protocol';
import { type CtraderApp, CtraderSession, only } from './ctrader-session';

export type CtraderEnvironment = (typeof ctraderServers)[number];

/** The Open API's JSON endpoints (port 5036). */
export const ctraderHosts: Record<CtraderEnvironment, string> = {
  live: 'wss://live.ctraderapi.com:5036',
  demo: 'wss://demo.ctraderapi.com:5036',
};

/** cTrader's consent pages and token endpoint. */
export const CTRADER_AUTH_URL = 'https://id.ctrader.com';
export const CTRADER_TOKEN_URL = 'https://openapi.ctrader.com/apps/token';

/** An account's OAuth tokens: what a `ctrader` account keeps, encrypted, in place of a password. */
export interface CtraderTokens {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires (ISO), where known. */
  expiresAt?: string;
}

/** Reads and keeps an account's tokens (decrypted only for the call that needs them). */
export interface CtraderTokenStore {
  read(ref: BrokerAccountRef): Promise<CtraderTokens>;
  /** Keeps the tokens a refresh gave (the old refresh token no longer works). */
  write(ref: BrokerAccountRef, tokens: CtraderTokens): Promise<void>;
}

export interface CtraderGatewayOptions {
  hosts: Record<CtraderEnvironment, string>;
  /** The deployer's Open API application (client id and secret). */
  app: () => Promise<CtraderApp>;
  tokens: CtraderTokenStore;
  /** Budget of one request (default 10 s). */
  timeoutMs?: number;
  now?: () => Date;
  /** How often a stream whose socket dropped tries to read the account again (default 5 s). */
  reopenDelayMs?: number;
  /**
   * An access token this close to its expiry is refreshed before it is used (cTrader's last about
   * 30 days). Given to the process that renews tokens (the sync: one owner per shard); the others
   * refresh only a token cTrader refused, so two processes rarely refresh at once.
   */
  refreshBeforeMs?: number;
}

/** The tokens a credential holds: the JSON a `ctrader` account keeps encrypted. */
export const parseCtraderTokens = (credential: string): CtraderTokens | undefined => {
  try {
    const parsed = JSON.parse(credential) as Partial<CtraderTokens>;
    if (typeof parsed.accessToken !== 'string' || typeof parsed.refreshToken !== 'string' || !parsed.accessToken || !parsed.refreshToken) return undefined;
    return { accessToken: parsed.accessToken, refreshToken: parsed.refreshToken, ...(parsed.expiresAt ? { expiresAt: parsed.expiresAt } : {}) };
  } catch {
    return undefined;
  }
};

/** How long a refresh refused as spent looks for the tokens another process got: five looks a second apart. */
const REFRESH_LOOKS = 5;
const REFRESH_LOOK_MS = 1_000;

const keyOf = (ref: BrokerAccountRef): string => `${ref.tenantId}#${ref.accountId}`;

const isEnvironment = (server: string): server is CtraderEnvironment => (ctraderServers as readonly string[]).includes(server);

/**
 * The `ctrader` platform: cTrader accounts of any broker through the deployer's Open API
 * application. `login` is the ctid trader account id, `server` the environment (`live` or
 * `demo`); the account's credential is its OAuth tokens. One socket per environment carries
 * every account's requests; an access token cTrader refuses is refreshed (on the socket) once,
 * coalesced per account, and the new tokens are kept before they are used.
 */
export class CtraderGateway implements BrokerGateway {
  readonly platform = 'ctrader';
  private readonly sessions = new Map<CtraderEnvironment, CtraderSession>();
  private readonly refreshing = new Map<string, Promise<string>>();
  /** Tokens a refresh gave that the store did not take yet, per account. */
  private readonly unsaved = new Map<string, CtraderTokens>();

  constructor(private readonly options: CtraderGatewayOptions) {}

  /** Checks that the tokens reach the account in its environment: connected, or `error` with the reason. */
  async provision(ref: BrokerAccountRef, credential: string): Promise<ProvisionResult> {
    const problem = this.refProblem(ref);
    const tokens = parseCtraderTokens(credential);
    if (problem || !tokens) return { status: 'error', statusDetail: problem ?? 'the cTrader account has not been authorized yet' };
    try {
      const session = this.session(ref.server as CtraderEnvironment);
      const [answer] = await session.request(
        payloadTypes.accountsByAccessTokenReq,
        { accessToken: tokens.accessToken },
        only(payloadTypes.accountsByAccessTokenRes),
      );
      const accounts = (answer?.payload?.ctidTraderAccount as { ctidTraderAccountId: number; isLive?: boolean }[] | undefined) ?? [];
      const account = accounts.find((candidate) => String(candidate.ctidTraderAccountId) === ref.login.trim());
      if (!account) return { status: 'error', statusDetail: `the cTrader authorization does not include account ${ref.login}` };
      if ((account.isLive ?? false) !== (ref.server === 'live')) {
        return { status: 'error', statusDetail: `cTrader account ${ref.login} is a ${account.isLive ? 'live' : 'demo'} account, not ${ref.server}` };
      }
      return { status: 'connected', brokerAccountId: ref.login.trim() };
    } catch (error) {
      if (!isBrokerError(error)) throw error;
      const said = withoutInternals(error.message);
      if (['CONNECTION', 'TIMEOUT', 'BROKER_BUSY', 'TOO_MANY_REQUESTS'].includes(error.code)) {
        return { status: 'connecting', statusDetail: `cTrader could not be asked about the account yet (${error.code}: ${said})` };
      }
      return { status: 'error', statusDetail: `cTrader refused account ${ref.login}: ${error.code}: ${said}` };
    }
  }

  updatePassword(ref: BrokerAccountRef, credential: string): Promise<ProvisionResult> {
    return this.provision(ref, credential);
  }

  /** Nothing is created at cTrader. */
  async deprovision(): Promise<void> {}

  async connect(ref: BrokerAccountRef): Promise<BrokerPort> {
    return this.port(ref);
  }

  /** Follows the account's execution events: the view is read again after each (see `CtraderAccountStream`). */
  watch(ref: BrokerAccountRef, onChange: () => void): AccountStream {
    const problem = this.refProblem(ref);
    return new CtraderAccountStream(
      problem ? undefined : this.session(ref.server as CtraderEnvironment),
      problem ? undefined : this.port(ref),
      Number(ref.login.trim()),
      this.options.reopenDelayMs ?? 5_000,
      onChange,
    );
  }

  private port(ref: BrokerAccountRef): CtraderBrokerPort {
    const problem = this.refProblem(ref);
    if (problem) throw new BrokerError('AUTH_FAILED', problem);
    return new CtraderBrokerPort({
      session: this.session(ref.server as CtraderEnvironment),
      ctidTraderAccountId: Number(ref.login.trim()),
      accessToken: async () => {
        const tokens = await this.current(ref);
        const ahead = this.options.refreshBeforeMs;
        const now = (this.options.now?.() ?? new Date()).getTime();
        // Refreshed before it expires (where this process is the one that renews): no request is refused for it.
        const expiring = ahead !== undefined && tokens.expiresAt !== undefined && Date.parse(tokens.expiresAt) - now <= ahead;
        if (!expiring) return tokens.accessToken;
        // A refresh that cannot be made now leaves the token it has: it still works for a while.
        return this.refresh(ref, tokens.accessToken).catch((error: unknown) => {
          if (isBrokerError(error) && error.code !== 'AUTH_FAILED') return tokens.accessToken;
          throw error;
        });
      },
      refreshAccessToken: (stale) => this.refresh(ref, stale),
      ...(this.options.now ? { now: this.options.now } : {}),
    });
  }

  /**
   * The account's tokens: the stored ones, or those a refresh of this process gave and could not
   * keep yet (kept again now).
   */
  private async current(ref: BrokerAccountRef): Promise<CtraderTokens> {
    const key = keyOf(ref);
    const unsaved = this.unsaved.get(key);
    if (unsaved) {
      try {
        await this.options.tokens.write(ref, unsaved);
        this.unsaved.delete(key);
      } catch {
        return unsaved;
      }
    }
    return this.options.tokens.read(ref);
  }

  /**
   * A new access token for the account: the stored tokens when another caller refreshed them
   * already, else a refresh on the socket, kept before it is used. cTrader spends the refresh
   * token it is given: a refresh refused because another process spent it first finds that
   * process's tokens in the store (looked for a few seconds). A refresh refused otherwise (the
   * grant was revoked) is AUTH_FAILED: the account needs authorizing again. New tokens that
   * cannot be kept (the store refused) are used by this process and kept at its next use.
   */
  private refresh(ref: BrokerAccountRef, stale: string): Promise<string> {
    const key = keyOf(ref);
    let running = this.refreshing.get(key);
    if (!running) {
      running = (async () => {
        const stored = await this.current(ref);
        if (stored.accessToken !== stale) return stored.accessToken;
        let answer: CtraderMessage | undefined;
        try {
          [answer] = await this.session(ref.server as CtraderEnvironment).request(
            payloadTypes.refreshTokenReq,
            { refreshToken: stored.refreshToken },
            only(payloadTypes.refreshTokenRes),
          );
        } catch (error) {
          if (!(isBrokerError(error) && error.cause instanceof CtraderRefusal)) throw error;
          for (let look = 0; look < REFRESH_LOOKS; look += 1) {
            await new Promise((resolve) => setTimeout(resolve, REFRESH_LOOK_MS));
            const again = await this.options.tokens.read(ref);
            if (again.accessToken !== stale) return again.accessToken;
          }
          throw new BrokerError('AUTH_FAILED', `cTrader no longer accepts the authorization of account ${ref.login}: authorize it again`, { cause: error });
        }
        const payload = (answer?.payload ?? {}) as { accessToken?: string; refreshToken?: string; expiresIn?: number };
        if (!payload.accessToken || !payload.refreshToken) throw new BrokerError('AUTH_FAILED', 'cTrader answered a refresh without tokens');
        const now = this.options.now?.() ?? new Date();
        const tokens: CtraderTokens = {
          accessToken: payload.accessToken,
          refreshToken: payload.refreshToken,
          ...(payload.expiresIn ? { expiresAt: new Date(now.getTime() + payload.expiresIn * 1000).toISOString() } : {}),
        };
        for (let attempt = 0; ; attempt += 1) {
          try {
            await this.options.tokens.write(ref, tokens);
            break;
          } catch {
            // The old refresh token is spent: these tokens are the only ones that work now.
            if (attempt >= 2) {
              this.unsaved.set(key, tokens);
              break;
            }
            await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)));
          }
        }
        return tokens.accessToken;
      })().finally(() => this.refreshing.delete(key));
      this.refreshing.set(key, running);
    }
    return running;
  }

  private session(environment: CtraderEnvironment): CtraderSession {
    let session = this.sessions.get(environment);
    if (!session) {
      session = new CtraderSession({ url: this.options.hosts[environment], app: this.options.app, timeoutMs: this.options.timeoutMs ?? 10_000 });
      this.sessions.set(environment, session);
    }
    return session;
  }

  /** Closes the sockets (tests, shutdown). */
  close(): void {
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }

  private refProblem(ref: BrokerAccountRef): string | undefined {
    if (!isEnvironment(ref.server)) return `a cTrader account's server must be "live" or "demo", not "${ref.server}"`;
    if (!/^\d+$/.test(ref.login.trim())) return 'a cTrader account needs its ctid trader account id (a number) as login';
    return undefined;
  }
}

/**
 * One account's execution events as an `AccountStream`: cTrader pushes an event for every
 * order, fill, close and stop change of an account authorized on the socket. The view is read
 * (positions, orders, funds) when the stream starts and after each event (reads coalesce: one
 * runs, one more after it), so it is never a state assembled from deltas. While a read fails
 * (the socket dropped) there is no view and the sync reads over RPC; it is tried again every
 * `reopenDelayMs`, which also opens the socket again.
 */
class CtraderAccountStream implements AccountStream {
  private current: AccountView | undefined;
  private closed = false;
  private reading = false;
  private readAgain = false;
  private readonly waiters = new SynchronizationWaiters();
  private readonly stops: (() => void)[];
  private retry: NodeJS.Timeout | undefined;

  constructor(
    session: CtraderSession | undefined,
    private readonly port: CtraderBrokerPort | undefined,
    private readonly ctidTraderAccountId: number,
    private readonly reopenDelayMs: number,
    private readonly onChange: () => void,
  ) {
    this.stops = session
      ? [
          session.onPush((message) => this.pushed(message)),
          // Events pushed while the socket was down are lost: no view until it is read again.
          session.onDrop(() => {
            this.current = undefined;
            this.scheduleRead();
          }),
        ]
      : [];
    this.read();
  }

  view(): AccountView | undefined {
    return this.closed ? undefined : this.current;
  }

  synchronized(timeoutMs: number): Promise<boolean> {
    if (this.view()) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return this.waiters.wait(timeoutMs, () => this.view() !== undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.current = undefined;
    clearTimeout(this.retry);
    for (const stop of this.stops) stop();
    this.waiters.settle(false);
  }

  private pushed(message: CtraderMessage): void {
    const payload = message.payload as Partial<CtraderExecutionEvent> & { ctidTraderAccountIds?: number[] };
    if (message.payloadType === payloadTypes.executionEvent && Number(payload?.ctidTraderAccountId) === this.ctidTraderAccountId) this.read();
    const ended =
      (message.payloadType === payloadTypes.accountsTokenInvalidatedEvent && payload.ctidTraderAccountIds?.map(Number).includes(this.ctidTraderAccountId)) ||
      (message.payloadType === payloadTypes.accountDisconnectEvent && Number(payload.ctidTraderAccountId) === this.ctidTraderAccountId);
    if (ended) {
      // Its events stop (token invalidated, session ended): read, authorizing it again, to follow it on.
      this.current = undefined;
      this.read();
    }
  }

  private scheduleRead(): void {
    if (this.closed) return;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.read(), this.reopenDelayMs);
    this.retry.unref?.();
  }

  private read(): void {
    if (this.closed || !this.port) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    const port = this.port;
    void (async () => {
      try {
        do {
          this.readAgain = false;
          try {
            const view = await port.readAccount();
            if (this.closed) return;
            this.current = view;
            this.waiters.settle(true);
            this.onChange();
          } catch {
            this.current = undefined;
            this.scheduleRead();
            return;
          }
        } while (this.readAgain && !this.closed);
      } finally {
        this.reading = false;
      }
    })();
  }
}

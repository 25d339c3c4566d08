import { BrokerError } from '../../domain/broker-errors';
import type { BrokerAccountRef, BrokerPort } from '../../ports/broker';
import { DeadlineExceededError, withDeadline } from '../../domain/deadline';
import { toBrokerError } from './metaapi-errors';
import { MetaApiBrokerPort } from './metaapi-port';
import { createMetaApiSdk, NothingKeptHistoryStorage, type MetaApiAccount, type MetaApiSdk, type RpcConnection, type StreamingConnection } from './metaapi-sdk';
import { MetaApiAccountStream } from './metaapi-stream';

/** Time budgets of the calls to MetaApi, in milliseconds. */
export interface MetaApiTimeouts {
  /** Finding the account, opening its RPC connection and waiting until it is synchronized. */
  connectMs: number;
  /** One read through a connection. */
  requestMs: number;
  /** One trade request; past it the outcome is unknown. */
  tradeMs: number;
  /** Creating, updating or removing an account at MetaApi, within an API request. */
  provisionMs: number;
  /** How often provisioning reloads the account while following its state. */
  statePollMs: number;
}

/**
 * Fit for the sync function: it has about 50 s per invocation and polls masters every 5 s,
 * so a read that takes longer than a poll interval is given up. A slow account costs its own
 * worker at most `connectMs` + `requestMs` in a pass; the other accounts go on.
 */
export const defaultMetaApiTimeouts: MetaApiTimeouts = {
  connectMs: 15_000,
  requestMs: 5_000,
  tradeMs: 10_000,
  provisionMs: 7_000,
  statePollMs: 1_000,
};

/**
 * Budgets per Lambda function, within the function's own timeout: the API answers within
 * 10 s (API Gateway allows 30), a copy invocation has 30 s for a batch, the sync invocation a
 * minute.
 */
export const metaApiTimeoutsFor = (service: string): MetaApiTimeouts => {
  switch (service) {
    case 'api':
      return { ...defaultMetaApiTimeouts, connectMs: 5_000, requestMs: 3_000, tradeMs: 4_000, provisionMs: 6_000 };
    case 'copy':
      return { ...defaultMetaApiTimeouts, connectMs: 8_000, requestMs: 4_000, tradeMs: 8_000 };
    default:
      return defaultMetaApiTimeouts;
  }
};

export interface MetaApiCloudOptions {
  /** The MetaApi API token (a JWT). Never logged. */
  token: string;
  domain?: string;
  region?: string;
  /** Test only: see `MetaApiSdkOptions.websocketUrl`. */
  websocketUrl?: string;
  timeouts?: Partial<MetaApiTimeouts>;
  /** Reliability of new MetaApi accounts; `high` runs two terminals (billed twice). */
  reliability?: 'regular' | 'high';
  /** How far back `findByClientId` looks (default 3 days). */
  clientIdLookbackMs?: number;
  /** Page size of deal and history order queries (default 1000, MetaApi's maximum). */
  historyPageSize?: number;
  quietSdkLogs?: boolean;
  now?: () => Date;
}

interface OpenConnection {
  connection: Promise<RpcConnection>;
  /** A call saw the connection fail: the next `connect` opens a new one. */
  stale: boolean;
}

/** The name of an account at MetaApi: it finds the account when its MetaApi id is not known. */
export const metaApiAccountName = (ref: Pick<BrokerAccountRef, 'accountId'>): string => `mt-copier ${ref.accountId}`;

const isNotFound = (error: unknown): boolean => typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'NotFoundError';

/**
 * MetaApi as this process sees it: one SDK instance (created on first use, so a function that
 * never reaches MetaApi starts no timers) and one RPC connection per account, kept while the
 * process is warm and reopened after a call saw it fail. Shared by the mt4 and mt5 gateways.
 */
export class MetaApiCloud {
  readonly timeouts: MetaApiTimeouts;
  readonly now: () => Date;
  private sdkInstance: MetaApiSdk | undefined;
  private readonly connections = new Map<string, OpenConnection>();
  private readonly streams = new Set<MetaApiAccountStream>();
  private closed = false;

  constructor(readonly options: MetaApiCloudOptions) {
    this.timeouts = { ...defaultMetaApiTimeouts, ...options.timeouts };
    this.now = options.now ?? (() => new Date());
  }

  /** The SDK instance, created on first use. */
  sdk(): MetaApiSdk {
    if (this.closed) throw new BrokerError('CONNECTION', 'the MetaApi client is closed');
    this.sdkInstance ??= createMetaApiSdk({
      token: this.options.token,
      domain: this.options.domain,
      region: this.options.region,
      websocketUrl: this.options.websocketUrl,
      requestTimeoutSeconds: Math.max(1, Math.ceil(this.timeouts.requestMs / 1000)),
      connectTimeoutSeconds: Math.max(1, Math.ceil(this.timeouts.connectMs / 1000)),
      retryOpts: { retries: 1, minDelayInSeconds: 1, maxDelayInSeconds: 2 },
      packetOrderingTimeoutSeconds: 3,
      quietLogs: this.options.quietSdkLogs,
    });
    return this.sdkInstance;
  }

  /** The account at MetaApi: by its MetaApi id when known, otherwise by its name. */
  async findAccount(ref: BrokerAccountRef): Promise<MetaApiAccount | undefined> {
    const api = this.sdk().metatraderAccountApi;
    if (ref.brokerAccountId) {
      try {
        return await api.getAccount(ref.brokerAccountId);
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    }
    const found = await api.getAccountsWithClassicPagination({ query: ref.accountId, limit: 100 });
    return found.items.find((account) => account.name === metaApiAccountName(ref));
  }

  /**
   * A port on the account's connection: the open one, or a new one opened and synchronized
   * within `connectMs`. Fails with `CONNECTION` (reconcile: the account shows as
   * disconnected and the next sync tries again) or `NOT_CONFIGURED` when the account is not
   * at MetaApi.
   */
  async connect(ref: BrokerAccountRef): Promise<BrokerPort> {
    const current = this.connections.get(ref.accountId);
    if (current && !current.stale) return this.portOn(current);
    const deadlineAt = Date.now() + this.timeouts.connectMs;
    const opening = this.open(ref, deadlineAt);
    // Past the deadline the opening goes on in the SDK; whatever it opens is closed again.
    const bounded = withDeadline(() => opening, this.timeouts.connectMs + 1_000, 'MetaApi connect');
    const entry: OpenConnection = { connection: bounded, stale: false };
    this.connections.set(ref.accountId, entry);
    // The connection a call saw fail is closed once a new one is opened, or failed to open.
    const retire = (): void => {
      if (current) void current.connection.then((connection) => connection.close()).catch(() => undefined);
    };
    try {
      await bounded;
    } catch (error) {
      retire();
      if (this.connections.get(ref.accountId) === entry) this.connections.delete(ref.accountId);
      if (!(error instanceof DeadlineExceededError)) throw toBrokerError(error);
      void opening.then((connection) => connection.close()).catch(() => undefined);
      throw connectionError(`MetaApi did not connect within ${this.timeouts.connectMs} ms`, error);
    }
    retire();
    return this.portOn(entry);
  }

  /** A stream of the account's changes (see `MetaApiAccountStream`), closed with this client. */
  watch(ref: BrokerAccountRef, onChange: () => void): MetaApiAccountStream {
    const stream = new MetaApiAccountStream(this, ref, onChange);
    this.streams.add(stream);
    const close = stream.close.bind(stream);
    stream.close = async () => {
      this.streams.delete(stream);
      await close();
    };
    return stream;
  }

  /**
   * Opens the account's streaming connection with `listener` on it, within `connectMs`. The
   * SDK then synchronizes it in the background (and again after every reconnection).
   */
  async openStream(ref: BrokerAccountRef, listener: Parameters<StreamingConnection['addSynchronizationListener']>[0]): Promise<StreamingConnection> {
    const opening = (async () => {
      let account: MetaApiAccount | undefined;
      try {
        account = await this.findAccount(ref);
      } catch (error) {
        throw toBrokerError(error);
      }
      if (!account) throw new BrokerError('NOT_CONFIGURED', 'the account is not at MetaApi: save its password again to provision it');
      await ensureDeployed(account);
      // Nothing before now: the book already holds what the account had, and history is read over RPC.
      const connection = account.getStreamingConnection(new NothingKeptHistoryStorage(), this.now());
      connection.addSynchronizationListener(listener);
      await connection.connect();
      return connection;
    })();
    try {
      return await withDeadline(() => opening, this.timeouts.connectMs, 'MetaApi stream connect');
    } catch (error) {
      void opening.then((connection) => connection.close()).catch(() => undefined);
      throw error;
    }
  }

  /** Closes the account's connection (after its password changed or it was removed). */
  async disconnect(ref: Pick<BrokerAccountRef, 'accountId'>): Promise<void> {
    const current = this.connections.get(ref.accountId);
    this.connections.delete(ref.accountId);
    if (current) await current.connection.then((connection) => connection.close()).catch(() => undefined);
  }

  /** Closes every connection and the SDK's sockets and timers. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.streams].map((stream) => stream.close()));
    const open = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(open.map((entry) => entry.connection.then((connection) => connection.close()).catch(() => undefined)));
    this.sdkInstance?.close();
    this.sdkInstance = undefined;
  }

  private async portOn(entry: OpenConnection): Promise<BrokerPort> {
    const connection = await entry.connection;
    return new MetaApiBrokerPort(connection, {
      requestMs: this.timeouts.requestMs,
      tradeMs: this.timeouts.tradeMs,
      clientIdLookbackMs: this.options.clientIdLookbackMs ?? 3 * 24 * 3_600_000,
      historyPageSize: this.options.historyPageSize ?? 1000,
      now: this.now,
      onConnectionLost: () => {
        entry.stale = true;
      },
    });
  }

  private async open(ref: BrokerAccountRef, deadlineAt: number): Promise<RpcConnection> {
    let account: MetaApiAccount | undefined;
    try {
      account = await this.findAccount(ref);
    } catch (error) {
      throw toBrokerError(error);
    }
    if (!account) {
      throw new BrokerError('NOT_CONFIGURED', 'the account is not at MetaApi: save its password again to provision it');
    }
    await ensureDeployed(account);
    const connection = account.getRPCConnection();
    await connection.connect();
    const left = Math.max(1, deadlineAt - Date.now());
    try {
      await withDeadline(() => connection.waitSynchronized(Math.max(1, Math.floor(left / 1000))), left, 'MetaApi synchronization');
      return connection;
    } catch (error) {
      await connection.close().catch(() => undefined);
      // The state read before connecting may be stale: the terminal's status now tells why.
      await withDeadline(() => account.reload(), 2_000, 'MetaApi account reload').catch(() => undefined);
      const status = account.connectionStatus;
      const why =
        status === 'DISCONNECTED_FROM_BROKER'
          ? 'MetaApi cannot reach the broker with this account (DISCONNECTED_FROM_BROKER): check its password and server'
          : `MetaApi did not synchronize the account within ${Math.round(left / 1000)} s (terminal ${String(status ?? 'unknown').toLowerCase()})`;
      throw connectionError(why, error);
    }
  }
}

const connectionError = (message: string, cause: unknown): BrokerError => new BrokerError('CONNECTION', message, { cause });

/**
 * Only a deployed account can be connected. An undeployed one is deployed again (it
 * connects a minute or two later, on a later sync); any other state is reported as it is.
 */
const ensureDeployed = async (account: MetaApiAccount): Promise<void> => {
  const state = account.state;
  if (state === 'DEPLOYED') return;
  if (state === 'UNDEPLOYED' || state === 'CREATED') {
    try {
      await account.deploy();
    } catch (error) {
      throw toBrokerError(error);
    }
    throw connectionError('MetaApi is deploying the account: it connects in a minute or two', undefined);
  }
  if (state.endsWith('_FAILED')) throw connectionError(`MetaApi failed to deploy the account (${state})`, undefined);
  throw connectionError(`the MetaApi account is ${state.toLowerCase()}`, undefined);
};

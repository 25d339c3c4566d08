import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import createSocketServer from 'socket.io';
import { SimulatedMarket } from '../../../local/simulated-broker/simulated-market';
import { isBrokerError } from '../../../shared/domain/broker-errors';
import type { Deal, PendingOrder, Side } from '../../../shared/domain/trading';
import { tradeResultCodes, wireBalanceDeal, wireDeal, wireDealOrder, wireOrder, wirePosition, wirePrice, wireSpecification } from './wire-models';

/**
 * A MetaApi cloud on this machine, for tests that run the real, unchanged SDK:
 *
 * - the provisioning REST API (`https://mt-provisioning-api-v1.<domain>`), answered in
 *   process through `nock` (nothing leaves the process): accounts created with credentials
 *   checked against the fake broker (E_AUTH, E_SRV_NOT_FOUND), 202 "validation in progress"
 *   answers, deploy / undeploy / redeploy / update / delete, states that move on as the
 *   client polls (DEPLOYING -> DEPLOYED, DISCONNECTED -> CONNECTED), 429 with a retry time;
 * - the websocket API on a socket.io 2.x server on 127.0.0.1, speaking the packets the SDK's
 *   own integration tests use: `request` in, `response` / `processingError` /
 *   `synchronization` (authenticated, status, disconnected) out.
 *
 * Behind both is a `SimulatedMarket`: broker accounts are market accounts named
 * `<server>/<login>`, so trading, validation and history behave like the simulated broker.
 * Tests inject faults per request type, delay answers, drop every socket or refuse
 * connections, and read every request the SDK sent.
 */

export interface BrokerAccountSetup {
  server: string;
  login: string;
  password: string;
  balance?: number;
  /** An MT5 netting account (one position per symbol); hedging without. */
  netting?: boolean;
}

/** What a fake MetaApi answers instead of executing a request. */
export type RequestFault =
  | { kind: 'tradeCode'; stringCode: string; numericCode?: number; message?: string }
  | {
      kind: 'error';
      error: 'TooManyRequestsError' | 'TimeoutError' | 'NotAuthenticatedError' | 'NotSynchronizedError' | 'NotFoundError' | 'ValidationError' | 'InternalError';
      message?: string;
      /** For TooManyRequestsError: sets `metadata.recommendedRetryTime` this far ahead. */
      retryAfterMs?: number;
    }
  /** Never answers: the client's request times out. */
  | { kind: 'silent' }
  /** Executes the trade, then never answers: the outcome is unknown to the client. */
  | { kind: 'executeSilently' };

export interface ReceivedRequest {
  type: string;
  accountId: string;
  instanceIndex?: number;
  application?: string;
  trade?: Record<string, unknown>;
  at: number;
}

export interface FakeMetaApiAccount {
  _id: string;
  name: string;
  login: string;
  password: string;
  server: string;
  platform: string;
  type: string;
  magic: number;
  region: string;
  reliability: string;
  state: string;
  connectionStatus: string;
  metadata?: Record<string, unknown>;
  createdAt: string;
  /** Polls of the account left before a deploying account is DEPLOYED. */
  deployPollsLeft: number;
  /** Polls left, once deployed, before the terminal is CONNECTED (or DISCONNECTED_FROM_BROKER). */
  connectPollsLeft: number;
}

export interface FakeMetaApiOptions {
  /** Answers of 202 "broker settings detection in progress" before an account is created. */
  validationPolls?: number;
  /** Polls of a deploying account before it is DEPLOYED. */
  deployPolls?: number;
  /** Polls of a deployed account before its terminal is CONNECTED. */
  connectPolls?: number;
  /** MetaApi's region of new accounts. */
  region?: string;
}

interface HttpFault {
  method: string;
  path: RegExp;
  status: number;
  body: Record<string, unknown>;
  times: number;
}

interface SocketState {
  socket: createSocketServer.Socket;
  statusTimers: ReturnType<typeof setInterval>[];
  /** Streaming sessions on this socket, by MetaApi account id. */
  streams: Map<string, StreamSession>;
}

/**
 * One synchronized stream of an account on a socket: the packets carry `sequenceNumber`
 * (+1 from `synchronizationStarted`) and `sequenceTimestamp` (never below the session start),
 * as the SDK's packet orderer checks them.
 */
interface StreamSession {
  accountId: string;
  host: string;
  synchronizationId: string;
  sequence: number;
  sessionStart: number;
  /** The ids last pushed, to tell what was removed. */
  positionIds: Set<string>;
  orderIds: Set<string>;
  /** Deals from this time on are sent (the SDK's `startingDealTime`), each once. */
  dealsFrom: number;
  dealIds: Set<string>;
  synchronized: boolean;
  /** Updates pushed on this session. */
  updates: number;
}

/** A fault of the streaming API (see `failStream`). */
export type StreamFault =
  /** The next update skips a sequence number: the SDK waits for the missing packet. */
  | 'sequenceGap'
  /** The next update carries a timestamp older than the session start: the SDK drops it. */
  | 'staleTimestamp'
  /** The terminal tells the client it disconnected; the stream synchronizes again on the next subscribe. */
  | 'disconnected'
  /** Status packets stop: the SDK's health check gives up on the account after its timeout. */
  | 'silentStatus'
  /** Synchronizations are answered but never sent (MetaApi's synchronization stalls or is queued). */
  | 'stalledSynchronization'
  /** Subscriptions are refused with 429 and MetaApi's `LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_USER` metadata. */
  | 'subscriptionLimit';

/** The fake's API token: shaped like a JWT, as the SDK requires for account management. */
export const FAKE_METAAPI_TOKEN = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJmYWtlLW1ldGFhcGkifQ.fake-signature';

let running = 0;

/** The websocket requests that read an account (what polling costs). */
const READ_REQUESTS = new Set([
  'getAccountInformation',
  'getPositions',
  'getPosition',
  'getOrders',
  'getOrder',
  'getDealsByTimeRange',
  'getHistoryOrdersByTimeRange',
  'getSymbolSpecification',
  'getSymbolPrice',
]);

export class FakeMetaApi {
  readonly token = FAKE_METAAPI_TOKEN;
  readonly market = new SimulatedMarket();
  readonly requests: ReceivedRequest[] = [];
  readonly accounts = new Map<string, FakeMetaApiAccount>();
  readonly httpRequests: { method: string; path: string }[] = [];
  /** Delay of every answer to a websocket request (not to subscriptions). */
  latencyMs = 0;
  /** How long a synchronization takes between its start and its positions (specifications hashing at MetaApi). */
  synchronizationGapMs = 0;
  /** Extra delay of the answers for one MetaApi account: a slow broker behind one account. */
  readonly accountLatencyMs = new Map<string, number>();
  private readonly brokerPasswords = new Map<string, string>();
  private readonly servers = new Set<string>();
  private readonly faults: { type: string; accountId?: string; fault: RequestFault; times: number }[] = [];
  private readonly httpFaults: HttpFault[] = [];
  private readonly pendingValidations = new Map<string, number>();
  private readonly placedOrders = new Map<string, PendingOrder>();
  private readonly cancelledOrders = new Map<string, { order: PendingOrder; at: string }[]>();
  private readonly deposits = new Map<string, { id: string; amount: number; time: string }>();
  private readonly sockets = new Set<SocketState>();
  private readonly streamFaults: { accountId?: string; fault: StreamFault; times: number }[] = [];
  private readonly silentStatus = new Set<string>();
  private unwatchMarket: (() => void) | undefined;
  private reachable = true;
  private interceptors: nock.Interceptor[] = [];

  private constructor(
    readonly domain: string,
    readonly websocketUrl: string,
    private readonly http: HttpServer,
    private readonly io: createSocketServer.Server,
    private readonly options: Required<FakeMetaApiOptions>,
  ) {}

  static async start(options: FakeMetaApiOptions = {}): Promise<FakeMetaApi> {
    const http = createServer();
    const io = createSocketServer(http, { path: '/ws', pingTimeout: 60_000, serveClient: false });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const fake = new FakeMetaApi(`fake-${randomUUID().slice(0, 8)}.metaapi.test`, `http://127.0.0.1:${port}`, http, io, {
      validationPolls: options.validationPolls ?? 1,
      deployPolls: options.deployPolls ?? 1,
      connectPolls: options.connectPolls ?? 1,
      region: options.region ?? 'vint-hill',
    });
    io.on('connection', (socket) => fake.onSocket(socket));
    fake.interceptHttp();
    // Every change on the market is pushed to the streams of the accounts it changed.
    fake.unwatchMarket = fake.market.watchAccounts((brokerAccountId) => fake.pushUpdate(brokerAccountId));
    return fake;
  }

  /** The id of the fake broker's market account behind login@server. */
  static brokerAccountId(server: string, login: string): string {
    return `${server}/${login}`;
  }

  /** Opens an account at the fake broker: what a trader has before adding it to MetaApi. */
  addBrokerAccount(setup: BrokerAccountSetup): string {
    const id = FakeMetaApi.brokerAccountId(setup.server, setup.login);
    this.servers.add(setup.server);
    this.brokerPasswords.set(id, setup.password);
    if (!this.market.hasAccount(id)) {
      this.market.openAccount(id, { balance: setup.balance ?? 10_000, leverage: 100, netting: setup.netting === true });
      this.deposits.set(id, { id: `${Date.now()}0`, amount: setup.balance ?? 10_000, time: new Date(Date.now() - 60_000).toISOString() });
    }
    return id;
  }

  /** The trader changed the password at the broker: MetaApi's terminal can no longer log in. */
  changeBrokerPassword(server: string, login: string, password: string): void {
    this.brokerPasswords.set(FakeMetaApi.brokerAccountId(server, login), password);
  }

  /** The MetaApi account of a broker login. */
  accountByLogin(login: string): FakeMetaApiAccount | undefined {
    return [...this.accounts.values()].find((account) => account.login === login);
  }

  /** The market account behind a MetaApi account. */
  marketAccountOf(metaApiAccountId: string): string {
    const account = this.accounts.get(metaApiAccountId);
    if (!account) throw new Error(`no MetaApi account ${metaApiAccountId}`);
    return FakeMetaApi.brokerAccountId(account.server, account.login);
  }

  /** The trade requests the SDK sent for a MetaApi account. */
  tradeRequests(metaApiAccountId?: string): Record<string, unknown>[] {
    return this.requests
      .filter((request) => request.type === 'trade' && (metaApiAccountId === undefined || request.accountId === metaApiAccountId))
      .map((request) => request.trade ?? {});
  }

  /** The next `times` websocket requests of this type (and account) meet `fault`. */
  failNext(type: string, fault: RequestFault, options: { times?: number; accountId?: string } = {}): void {
    this.faults.push({ type, fault, times: options.times ?? 1, accountId: options.accountId });
  }

  /** The next `times` HTTP requests matching method and path are answered with `status` and `body`. */
  failNextHttp(method: string, path: RegExp, status: number, body: Record<string, unknown>, times = 1): void {
    this.httpFaults.push({ method: method.toUpperCase(), path, status, body, times });
  }

  /** Closes every websocket from the server side, as when MetaApi restarts a server. */
  dropConnections(): void {
    for (const state of this.sockets) state.socket.disconnect(true);
  }

  /** While unreachable, every socket is closed as soon as it connects. */
  setReachable(reachable: boolean): void {
    this.reachable = reachable;
    if (!reachable) this.dropConnections();
  }

  /** The next `times` streaming events of the kind (for one account, or any) meet the fault. */
  failStream(fault: StreamFault, options: { times?: number; accountId?: string } = {}): void {
    if (fault === 'disconnected') {
      for (const state of this.sockets) {
        for (const session of state.streams.values()) {
          if (options.accountId && session.accountId !== options.accountId) continue;
          session.synchronized = false;
          state.socket.emit('synchronization', { type: 'disconnected', accountId: session.accountId, instanceIndex: 0, host: session.host });
        }
      }
      return;
    }
    if (fault === 'silentStatus') {
      this.silentStatus.add(options.accountId ?? '*');
      return;
    }
    this.streamFaults.push({ fault, accountId: options.accountId, times: options.times ?? 1 });
  }

  /** Forgets every streaming fault not yet met (between tests sharing one fake). */
  clearStreamFaults(): void {
    this.streamFaults.length = 0;
    this.silentStatus.clear();
  }

  /** Streaming sessions now open (synchronized or not), by MetaApi account id. */
  streamingSessions(metaApiAccountId?: string): { accountId: string; synchronized: boolean; updates: number }[] {
    return [...this.sockets].flatMap((state) =>
      [...state.streams.values()]
        .filter((session) => metaApiAccountId === undefined || session.accountId === metaApiAccountId)
        .map(({ accountId, synchronized, updates }) => ({ accountId, synchronized, updates })),
    );
  }

  /** RPC reads (not trades, subscriptions or synchronizations) of a MetaApi account since `since`. */
  rpcReads(metaApiAccountId: string, since = 0): ReceivedRequest[] {
    return this.requests.filter((request) => request.accountId === metaApiAccountId && request.at >= since && READ_REQUESTS.has(request.type));
  }

  async stop(): Promise<void> {
    this.unwatchMarket?.();
    this.dropConnections();
    for (const state of this.sockets) state.statusTimers.forEach(clearInterval);
    this.sockets.clear();
    for (const interceptor of this.interceptors) nock.removeInterceptor(interceptor);
    running -= 1;
    if (running === 0) nock.restore();
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  // ---- provisioning API ------------------------------------------------------------------

  private interceptHttp(): void {
    if (!nock.isActive()) nock.activate();
    running += 1;
    const reply = (method: string) =>
      function (this: nock.ReplyFnContext, uri: string, body: nock.Body): nock.ReplyFnResult {
        return fake.answerHttp(method, uri, body, this.req.headers);
      };
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const fake = this;
    const scope = nock(`https://mt-provisioning-api-v1.${this.domain}`).persist();
    this.interceptors = ['GET', 'POST', 'PUT', 'DELETE'].map((method) => {
      const interceptor = scope.intercept(/.*/, method);
      interceptor.reply(reply(method));
      return interceptor;
    });
    // The client API's field lists, read before every synchronization (the SDK retries it forever).
    const clientApi = nock(`https://mt-client-api-v1.${this.options.region}.${this.domain}`).persist();
    const fieldLists = clientApi.intercept('/hashing-ignored-field-lists', 'GET');
    fieldLists.reply(function (this: nock.ReplyFnContext): nock.ReplyFnResult {
      fake.httpRequests.push({ method: 'GET', path: '/hashing-ignored-field-lists' });
      if (this.req.headers['auth-token'] !== fake.token) return [401, { id: 1, error: 'UnauthorizedError', message: 'Authorization token invalid' }];
      const lists = { specification: [], position: [], order: [] };
      return [200, { g1: lists, g2: lists }];
    });
    this.interceptors.push(fieldLists);
  }

  private answerHttp(method: string, uri: string, body: nock.Body, headers: Record<string, string | string[]>): nock.ReplyFnResult {
    const url = new URL(uri, 'https://fake');
    const path = url.pathname;
    this.httpRequests.push({ method, path });
    if (headers['auth-token'] !== this.token) return [401, { id: 1, error: 'UnauthorizedError', message: 'Authorization token invalid' }];
    const fault = this.httpFaults.find((candidate) => candidate.method === method && candidate.path.test(path) && candidate.times > 0);
    if (fault) {
      fault.times -= 1;
      return [fault.status, fault.body];
    }
    if (method === 'GET' && path === '/users/current/servers/mt-client-api') {
      return [200, { hostname: 'mt-client-api-v1', domain: this.domain }];
    }
    if (path === '/users/current/accounts') {
      if (method === 'GET') return this.listAccounts(url, headers);
      if (method === 'POST') return this.createAccount(body as Record<string, unknown>, String(headers['transaction-id'] ?? ''));
    }
    const match = /^\/users\/current\/accounts\/([^/]+)(?:\/(deploy|undeploy|redeploy))?$/.exec(path);
    const account = match ? this.accounts.get(match[1]!) : undefined;
    if (!match || !account) return [404, { id: 3, error: 'NotFoundError', message: `Account ${match?.[1] ?? path} not found` }];
    const action = match[2];
    if (method === 'GET' && !action) return [200, this.pollAccount(account)];
    if (method === 'DELETE' && !action) {
      this.accounts.delete(account._id);
      this.disconnectAccount(account._id);
      return [204, ''];
    }
    if (method === 'PUT' && !action) return this.updateAccount(account, body as Record<string, unknown>);
    if (method === 'POST' && action === 'deploy') {
      if (account.state !== 'DEPLOYED') this.startDeploying(account);
      return [204, ''];
    }
    if (method === 'POST' && action === 'redeploy') {
      this.disconnectAccount(account._id);
      this.startDeploying(account);
      return [204, ''];
    }
    if (method === 'POST' && action === 'undeploy') {
      account.state = 'UNDEPLOYED';
      account.connectionStatus = 'DISCONNECTED';
      this.disconnectAccount(account._id);
      return [204, ''];
    }
    return [404, { id: 3, error: 'NotFoundError', message: `No route ${method} ${path}` }];
  }

  private listAccounts(url: URL, headers: Record<string, string | string[]>): nock.ReplyFnResult {
    const query = url.searchParams.get('query') ?? '';
    const offset = Number(url.searchParams.get('offset') ?? 0);
    const limit = Number(url.searchParams.get('limit') ?? 1000);
    const matching = [...this.accounts.values()].filter((account) =>
      [account._id, account.name, account.server, account.login].some((field) => field.includes(query)),
    );
    const items = matching.slice(offset, offset + limit).map((account) => this.dto(account));
    return [200, headers['api-version'] === '2' ? { count: matching.length, items } : items];
  }

  /** Credentials are checked against the broker, as MetaApi does before it adds an account. */
  private credentialsRefusal(server: unknown, login: unknown, password: unknown): nock.ReplyFnResult | undefined {
    if (typeof server !== 'string' || !this.servers.has(server)) {
      const suggestions = [...this.servers].join(', ');
      return [
        400,
        {
          id: 3,
          error: 'ValidationError',
          message: `.dat file for server ${String(server)} not found, please check the server name or use a provisioning profile instead. Suggested server names: ${suggestions}.`,
          details: { code: 'E_SRV_NOT_FOUND', serversByBrokers: { 'Fake Broker Ltd': [...this.servers] } },
        },
      ];
    }
    if (this.brokerPasswords.get(FakeMetaApi.brokerAccountId(server, String(login))) !== password) {
      return [
        400,
        {
          id: 3,
          error: 'ValidationError',
          message:
            'We failed to authenticate to your broker using credentials provided. Please check that your MetaTrader login, password and server name are correct.',
          details: 'E_AUTH',
        },
      ];
    }
    return undefined;
  }

  private createAccount(body: Record<string, unknown>, transactionId: string): nock.ReplyFnResult {
    const refused = this.credentialsRefusal(body.server, body.login, body.password);
    if (refused) return refused;
    // Broker settings detection takes a while: the same transaction is answered 202 first.
    const waited = this.pendingValidations.get(transactionId) ?? 0;
    if (waited < this.options.validationPolls) {
      this.pendingValidations.set(transactionId, waited + 1);
      return [202, { message: 'Automatic broker settings detection is in progress, please retry in 0.05 seconds' }, { 'retry-after': '0.05' }];
    }
    const account: FakeMetaApiAccount = {
      _id: randomUUID(),
      name: String(body.name),
      login: String(body.login),
      password: String(body.password),
      server: String(body.server),
      platform: String(body.platform ?? 'mt5'),
      type: String(body.type ?? 'cloud-g2'),
      magic: Number(body.magic ?? 0),
      region: typeof body.region === 'string' ? body.region : this.options.region,
      reliability: String(body.reliability ?? 'regular'),
      metadata: body.metadata as Record<string, unknown> | undefined,
      createdAt: new Date().toISOString(),
      state: 'CREATED',
      connectionStatus: 'DISCONNECTED',
      deployPollsLeft: 0,
      connectPollsLeft: 0,
    };
    this.accounts.set(account._id, account);
    this.startDeploying(account);
    return [201, { id: account._id, state: account.state }];
  }

  private updateAccount(account: FakeMetaApiAccount, body: Record<string, unknown>): nock.ReplyFnResult {
    const server = typeof body.server === 'string' ? body.server : account.server;
    const password = typeof body.password === 'string' ? body.password : account.password;
    const refused = this.credentialsRefusal(server, account.login, password);
    if (refused) return refused;
    account.server = server;
    account.password = password;
    if (typeof body.name === 'string') account.name = body.name;
    return [204, ''];
  }

  private startDeploying(account: FakeMetaApiAccount): void {
    account.state = 'DEPLOYING';
    account.connectionStatus = 'DISCONNECTED';
    account.deployPollsLeft = this.options.deployPolls;
    account.connectPollsLeft = this.options.connectPolls;
  }

  /** Each read of a changing account moves it one step on, as time passes at MetaApi. */
  private pollAccount(account: FakeMetaApiAccount): Record<string, unknown> {
    if (account.state === 'DEPLOYING') {
      if (account.deployPollsLeft > 0) account.deployPollsLeft -= 1;
      else account.state = 'DEPLOYED';
    } else if (account.state === 'DEPLOYED' && account.connectionStatus !== 'CONNECTED') {
      if (account.connectPollsLeft > 0) account.connectPollsLeft -= 1;
      else account.connectionStatus = this.canLogIn(account) ? 'CONNECTED' : 'DISCONNECTED_FROM_BROKER';
    }
    return this.dto(account);
  }

  private canLogIn(account: FakeMetaApiAccount): boolean {
    return this.brokerPasswords.get(FakeMetaApi.brokerAccountId(account.server, account.login)) === account.password;
  }

  private dto(account: FakeMetaApiAccount): Record<string, unknown> {
    return {
      _id: account._id,
      name: account.name,
      login: account.login,
      server: account.server,
      platform: account.platform,
      type: account.type,
      magic: account.magic,
      region: account.region,
      reliability: account.reliability,
      state: account.state,
      connectionStatus: account.connectionStatus,
      createdAt: account.createdAt,
      ...(account.metadata ? { metadata: account.metadata } : {}),
      accountReplicas: [],
      primaryReplica: true,
      userId: 'fake-user',
      version: account.platform === 'mt4' ? 4 : 5,
    };
  }

  // ---- websocket API ---------------------------------------------------------------------

  private onSocket(socket: createSocketServer.Socket): void {
    if (!this.reachable) {
      socket.disconnect(true);
      return;
    }
    const state: SocketState = { socket, statusTimers: [], streams: new Map() };
    this.sockets.add(state);
    socket.on('disconnect', () => {
      state.statusTimers.forEach(clearInterval);
      this.sockets.delete(state);
    });
    socket.on('request', (data: Record<string, unknown>) => {
      void this.onRequest(state, data).catch((error: unknown) => {
        socket.emit('processingError', { id: 1, error: 'InternalError', message: String(error), requestId: data.requestId });
      });
    });
  }

  private async onRequest(state: SocketState, data: Record<string, unknown>): Promise<void> {
    const { socket } = state;
    const accountId = String(data.accountId);
    const type = String(data.type);
    this.requests.push({
      type,
      accountId,
      instanceIndex: typeof data.instanceIndex === 'number' ? data.instanceIndex : undefined,
      application: typeof data.application === 'string' ? data.application : undefined,
      trade: data.trade as Record<string, unknown> | undefined,
      at: Date.now(),
    });
    const respond = (payload: Record<string, unknown> = {}) =>
      socket.emit('response', { type: 'response', accountId, requestId: data.requestId, timestamps: {}, ...payload });
    const fail = (error: string, message: string, extra: Record<string, unknown> = {}) =>
      socket.emit('processingError', { id: 1, error, message, requestId: data.requestId, ...extra });

    if (type === 'subscribe') return this.subscribe(state, data);
    if (type === 'synchronize') return this.synchronize(state, data);
    if (type === 'unsubscribe') {
      state.streams.delete(accountId);
      state.statusTimers = state.statusTimers.filter((timer) => {
        if ((timer as unknown as { accountId?: string }).accountId !== accountId) return true;
        clearInterval(timer);
        return false;
      });
      return void respond();
    }
    if (type === 'waitSynchronized' || type === 'refreshMarketDataSubscriptions') return void respond();

    const account = this.accounts.get(accountId);
    if (!account) return void fail('NotFoundError', `Account ${accountId} not found`);
    const fault = this.takeFault(type, accountId);
    const latency = this.latencyMs + (this.accountLatencyMs.get(accountId) ?? 0);
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    if (fault) {
      switch (fault.kind) {
        case 'silent':
          return;
        case 'executeSilently':
          try {
            if (type === 'trade') this.trade(this.marketAccountOf(accountId), data.trade as Record<string, unknown>);
          } catch (error) {
            if (!(error instanceof LostAnswer)) throw error;
          }
          return;
        case 'tradeCode':
          return void respond({
            response: { numericCode: fault.numericCode ?? 10006, stringCode: fault.stringCode, message: fault.message ?? fault.stringCode },
          });
        case 'error':
          return void fail(
            fault.error,
            fault.message ?? fault.error,
            fault.retryAfterMs === undefined
              ? {}
              : {
                  metadata: {
                    periodInMinutes: 1,
                    requestsPerPeriodAllowed: 10,
                    recommendedRetryTime: new Date(Date.now() + fault.retryAfterMs).toISOString(),
                    type: 'LIMIT_REQUEST_RATE_PER_USER',
                  },
                },
          );
      }
    }
    const brokerAccount = this.marketAccountOf(accountId);
    switch (type) {
      case 'getAccountInformation':
        return void respond({ accountInformation: this.wireAccountInformation(account) });
      case 'getPositions':
        return void respond({ positions: this.market.getPositions(brokerAccount).map((position) => this.wirePosition(position)) });
      case 'getPosition': {
        const position = this.market.getPositions(brokerAccount).find((candidate) => candidate.id === String(data.positionId));
        return position ? void respond({ position: this.wirePosition(position) }) : void fail('NotFoundError', `Position ${String(data.positionId)} not found`);
      }
      case 'getOrders':
        return void respond({ orders: this.wireOrders(brokerAccount) });
      case 'getOrder': {
        const order = this.market.getPendingOrders(brokerAccount).find((candidate) => candidate.id === String(data.orderId));
        return order
          ? void respond({ order: wireOrder(order, 'ORDER_STATE_PLACED', this.bidAsk(order.symbol, order.side)) })
          : void fail('NotFoundError', `Order ${String(data.orderId)} not found`);
      }
      case 'getDealsByTimeRange':
        return void respond({ deals: this.page(this.deals(brokerAccount, data), data), synchronizing: false });
      case 'getHistoryOrdersByTimeRange':
        return void respond({ historyOrders: this.page(this.historyOrders(brokerAccount, data), data), synchronizing: false });
      case 'getSymbolSpecification': {
        const spec = this.market.getSymbolSpec(String(data.symbol));
        return spec ? void respond({ specification: wireSpecification(spec) }) : void fail('NotFoundError', `Symbol ${String(data.symbol)} not found`);
      }
      case 'getSymbolPrice': {
        const quote = this.market.getQuote(String(data.symbol));
        const spec = this.market.getSymbolSpec(String(data.symbol));
        return quote ? void respond({ price: wirePrice(quote, spec?.tickValue) }) : void fail('NotFoundError', `Symbol ${String(data.symbol)} not found`);
      }
      case 'trade': {
        let response: Record<string, unknown>;
        try {
          response = this.trade(brokerAccount, data.trade as Record<string, unknown>);
        } catch (error) {
          if (error instanceof LostAnswer) return;
          throw error;
        }
        return void respond({ response });
      }
      default:
        return void fail('ValidationError', `Unsupported request type ${type}`);
    }
  }

  private subscribe(state: SocketState, data: Record<string, unknown>): void {
    const { socket } = state;
    const accountId = String(data.accountId);
    if (data.instanceIndex !== 1 && this.takeStreamFault('subscriptionLimit', accountId)) {
      socket.emit('processingError', {
        id: 1,
        error: 'TooManyRequestsError',
        message: 'You have used all your account subscriptions quota. For more information see https://metaapi.cloud/docs/client/rateLimiting/',
        requestId: data.requestId,
        metadata: {
          maxAccountsPerUser: 50,
          accountsCount: 50,
          recommendedRetryTime: new Date(Date.now() + 1_000).toISOString(),
          type: 'LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_USER',
        },
      });
      return;
    }
    socket.emit('response', { type: 'response', accountId, requestId: data.requestId });
    const account = this.accounts.get(accountId);
    // Instance 1 is a second terminal of high-reliability accounts; this fake runs one.
    if (data.instanceIndex === 1 || !account || account.state !== 'DEPLOYED') return;
    if (!this.canLogIn(account)) {
      account.connectionStatus = 'DISCONNECTED_FROM_BROKER';
      return;
    }
    account.connectionStatus = 'CONNECTED';
    const host = 'ps-mpa-0';
    setTimeout(() => {
      socket.emit('synchronization', { type: 'authenticated', accountId, instanceIndex: 0, replicas: 1, host, sessionId: data.sessionId });
    }, 10);
    const emitStatus = (): void => {
      if (this.silentStatus.has('*') || this.silentStatus.has(accountId)) return;
      socket.emit('synchronization', {
        type: 'status',
        accountId,
        instanceIndex: 0,
        host,
        connected: true,
        authenticated: true,
        healthStatus: { rpcApiHealthy: true },
        replicas: 1,
        connectionId: accountId,
      });
    };
    // The terminal's status right after it authenticated (the SDK trusts a terminal state only
    // while its broker connection is known to be up), then every few seconds.
    setTimeout(emitStatus, 20);
    const status = setInterval(emitStatus, 5_000);
    status.unref();
    (status as unknown as { accountId: string }).accountId = accountId;
    state.statusTimers.push(status);
  }

  /**
   * A streaming connection asks for the terminal's state: the packets in MetaApi's order, each
   * with the next sequence number, then `update` packets for every change (`pushUpdate`).
   */
  private synchronize(state: SocketState, data: Record<string, unknown>): void {
    const { socket } = state;
    const accountId = String(data.accountId);
    const synchronizationId = String(data.requestId);
    socket.emit('response', { type: 'response', accountId, requestId: data.requestId });
    const account = this.accounts.get(accountId);
    if (!account || data.instanceIndex === 1) return;
    if (this.takeStreamFault('stalledSynchronization', accountId)) return;
    const host = typeof data.host === 'string' ? data.host : 'ps-mpa-0';
    const brokerAccount = this.marketAccountOf(accountId);
    const session: StreamSession = {
      accountId,
      host,
      synchronizationId,
      sequence: 0,
      sessionStart: Date.now(),
      positionIds: new Set(),
      orderIds: new Set(),
      dealsFrom: typeof data.startingDealTime === 'string' ? Date.parse(data.startingDealTime) : Date.now(),
      dealIds: new Set(),
      synchronized: false,
      updates: 0,
    };
    state.streams.set(accountId, session);
    const emit = (packet: Record<string, unknown>) => this.emitSequenced(state, session, packet);
    // The packets go out on the next turn, after the response, as MetaApi's do.
    setTimeout(() => {
      if (state.streams.get(accountId) !== session) return;
      emit({
        type: 'synchronizationStarted',
        synchronizationId,
        specificationsHashIndex: undefined,
        positionsHashIndex: undefined,
        ordersHashIndex: undefined,
      });
      emit({ type: 'accountInformation', accountInformation: this.wireAccountInformation(account) });
      const symbols = [...new Set([...this.market.getPositions(brokerAccount), ...this.market.getPendingOrders(brokerAccount)].map((item) => item.symbol))];
      const specifications = symbols.flatMap((symbol) => {
        const spec = this.market.getSymbolSpec(symbol);
        return spec ? [wireSpecification(spec)] : [];
      });
      emit({ type: 'specifications', specifications, removedSymbols: [] });
      if (this.synchronizationGapMs > 0) {
        setTimeout(() => {
          if (state.streams.get(accountId) === session) this.finishSynchronization(state, session, brokerAccount);
        }, this.synchronizationGapMs);
        return;
      }
      this.finishSynchronization(state, session, brokerAccount);
    }, 5);
  }

  private finishSynchronization(state: SocketState, session: StreamSession, brokerAccount: string): void {
    {
      const { synchronizationId } = session;
      const emit = (packet: Record<string, unknown>) => this.emitSequenced(state, session, packet);
      const positions = this.market.getPositions(brokerAccount).map((position) => this.wirePosition(position));
      const orders = this.wireOrders(brokerAccount);
      session.positionIds = new Set(positions.map((position) => String(position.id)));
      session.orderIds = new Set(orders.map((order) => String(order.id)));
      emit({ type: 'positions', synchronizationId, positions });
      emit({ type: 'orders', synchronizationId, orders });
      emit({ type: 'historyOrders', synchronizationId, historyOrders: [] });
      emit({ type: 'orderSynchronizationFinished', synchronizationId });
      emit({ type: 'deals', synchronizationId, deals: this.newDeals(session, brokerAccount) });
      emit({ type: 'dealSynchronizationFinished', synchronizationId });
      session.synchronized = true;
    }
  }

  private emitSequenced(state: SocketState, session: StreamSession, packet: Record<string, unknown>, options: { stale?: boolean; skip?: boolean } = {}): void {
    if (options.skip) session.sequence += 1;
    const sequenceNumber = session.sequence;
    session.sequence += 1;
    state.socket.emit('synchronization', {
      ...packet,
      accountId: session.accountId,
      instanceIndex: 0,
      host: session.host,
      sequenceNumber,
      sequenceTimestamp: options.stale ? session.sessionStart - 1_000 : Math.max(Date.now(), session.sessionStart),
    });
  }

  /** Pushes an account's changes to every synchronized stream of it, as one `update` packet. */
  private pushUpdate(brokerAccountId: string): void {
    const account = [...this.accounts.values()].find((candidate) => FakeMetaApi.brokerAccountId(candidate.server, candidate.login) === brokerAccountId);
    if (!account) return;
    for (const state of this.sockets) {
      const session = state.streams.get(account._id);
      if (!session?.synchronized) continue;
      const positions = this.market.getPositions(brokerAccountId).map((position) => this.wirePosition(position));
      const orders = this.wireOrders(brokerAccountId);
      const positionIds = new Set(positions.map((position) => String(position.id)));
      const orderIds = new Set(orders.map((order) => String(order.id)));
      const removedPositionIds = [...session.positionIds].filter((id) => !positionIds.has(id));
      const completedOrderIds = [...session.orderIds].filter((id) => !orderIds.has(id));
      session.positionIds = positionIds;
      session.orderIds = orderIds;
      session.updates += 1;
      const skip = this.takeStreamFault('sequenceGap', account._id);
      const stale = this.takeStreamFault('staleTimestamp', account._id);
      this.emitSequenced(
        state,
        session,
        {
          type: 'update',
          accountInformation: this.wireAccountInformation(account),
          updatedPositions: positions,
          removedPositionIds,
          updatedOrders: orders,
          completedOrderIds,
          historyOrders: [],
          deals: this.newDeals(session, brokerAccountId),
          timestamps: { eventGenerated: new Date().toISOString(), serverProcessingStarted: new Date().toISOString() },
        },
        { skip, stale },
      );
    }
  }

  /** The account's trade deals since the session's starting deal time that this session has not sent yet. */
  private newDeals(session: StreamSession, brokerAccount: string): Record<string, unknown>[] {
    const deals = this.market
      .getDeals(brokerAccount, new Date(session.dealsFrom).toISOString(), new Date(Date.now() + 1).toISOString())
      .filter((deal) => !session.dealIds.has(deal.id));
    for (const deal of deals) session.dealIds.add(deal.id);
    return deals.map(wireDeal);
  }

  private takeStreamFault(fault: StreamFault, accountId: string): boolean {
    const entry = this.streamFaults.find(
      (candidate) => candidate.fault === fault && candidate.times > 0 && (!candidate.accountId || candidate.accountId === accountId),
    );
    if (!entry) return false;
    entry.times -= 1;
    return true;
  }

  private wireAccountInformation(account: FakeMetaApiAccount): Record<string, unknown> {
    const information = this.market.getAccountInformation(this.marketAccountOf(account._id));
    return {
      platform: account.platform,
      broker: 'Fake Broker Ltd',
      server: account.server,
      name: account.name,
      login: Number(account.login),
      credit: 0,
      tradeAllowed: true,
      investorMode: false,
      marginMode: this.market.isNetting(this.marketAccountOf(account._id)) ? 'ACCOUNT_MARGIN_MODE_RETAIL_NETTING' : 'ACCOUNT_MARGIN_MODE_RETAIL_HEDGING',
      type: 'ACCOUNT_TRADE_MODE_DEMO',
      currencyDigits: 2,
      marginLevel: information.margin > 0 ? (information.equity / information.margin) * 100 : undefined,
      ...information,
    };
  }

  private wireOrders(brokerAccount: string) {
    return this.market.getPendingOrders(brokerAccount).map((order) => wireOrder(order, 'ORDER_STATE_PLACED', this.bidAsk(order.symbol, order.side)));
  }

  /** Tells every socket the account's terminal went away (undeployed, redeployed, removed). */
  private disconnectAccount(accountId: string): void {
    for (const { socket, streams } of this.sockets) {
      streams.delete(accountId);
      socket.emit('synchronization', { type: 'disconnected', accountId, instanceIndex: 0, host: 'ps-mpa-0' });
    }
  }

  private takeFault(type: string, accountId: string): RequestFault | undefined {
    const entry = this.faults.find(
      (candidate) => candidate.type === type && candidate.times > 0 && (!candidate.accountId || candidate.accountId === accountId),
    );
    if (!entry) return undefined;
    entry.times -= 1;
    return entry.fault;
  }

  private bidAsk(symbol: string, side: Side): number {
    const quote = this.market.getQuote(symbol);
    return quote ? (side === 'buy' ? quote.ask : quote.bid) : 0;
  }

  private wirePosition(position: Parameters<typeof wirePosition>[0]) {
    const quote = this.market.getQuote(position.symbol);
    const current = quote ? (position.side === 'buy' ? quote.bid : quote.ask) : position.openPrice;
    return wirePosition(position, current, this.market.getSymbolSpec(position.symbol)?.tickValue);
  }

  private range(data: Record<string, unknown>): { from: string; to: string } {
    return { from: new Date(String(data.startTime)).toISOString(), to: new Date(String(data.endTime)).toISOString() };
  }

  private page<T>(items: T[], data: Record<string, unknown>): T[] {
    const offset = Number(data.offset ?? 0);
    const limit = Number(data.limit ?? 1000);
    return items.slice(offset, offset + limit);
  }

  private deals(brokerAccount: string, data: Record<string, unknown>): Record<string, unknown>[] {
    const { from, to } = this.range(data);
    const deposit = this.deposits.get(brokerAccount);
    const deposits = deposit && deposit.time >= from && deposit.time < to ? [wireBalanceDeal(deposit.id, deposit.amount, deposit.time)] : [];
    return [...deposits, ...this.market.getDeals(brokerAccount, from, to).map(wireDeal)];
  }

  /**
   * History orders: the market orders deals were executed by, pending orders that filled
   * (under their own type), and cancelled pending orders.
   */
  private historyOrders(brokerAccount: string, data: Record<string, unknown>): Record<string, unknown>[] {
    const { from, to } = this.range(data);
    const fromDeals = this.market.getDeals(brokerAccount, from, to).map((deal: Deal) => {
      const placed = deal.entry === 'in' && deal.orderId ? this.placedOrders.get(deal.orderId) : undefined;
      return placed ? wireOrder(placed, 'ORDER_STATE_FILLED', deal.price, deal.time) : wireDealOrder(deal);
    });
    const cancelled = (this.cancelledOrders.get(brokerAccount) ?? [])
      .filter(({ at }) => at >= from && at < to)
      .map(({ order, at }) => wireOrder(order, 'ORDER_STATE_CANCELED', order.price, at));
    return [...fromDeals, ...cancelled].sort((a, b) => String(a.time).localeCompare(String(b.time)));
  }

  /** Executes a trade request against the market and answers it as MetaApi does. */
  private trade(brokerAccount: string, trade: Record<string, unknown>): Record<string, unknown> {
    const done = (numericCode: number, stringCode: string, ids: { orderId?: string; positionId?: string } = {}) => ({
      numericCode,
      stringCode,
      message: stringCode === 'TRADE_RETCODE_PLACED' ? 'Order placed' : 'Request completed',
      ...ids,
    });
    const clientId = typeof trade.clientId === 'string' ? trade.clientId : undefined;
    const comment = typeof trade.comment === 'string' ? trade.comment : undefined;
    if ((clientId?.length ?? 0) + (comment?.length ?? 0) > 26) {
      return { numericCode: 10013, stringCode: 'TRADE_RETCODE_INVALID', message: 'comment and clientId together exceed 26 characters' };
    }
    const stops = {
      stopLoss: typeof trade.stopLoss === 'number' ? trade.stopLoss : undefined,
      takeProfit: typeof trade.takeProfit === 'number' ? trade.takeProfit : undefined,
    };
    // The simulated broker's own faults apply to what arrives through MetaApi as well.
    const fault = this.market.takeTradeFault(brokerAccount);
    if (fault?.kind === 'reject') {
      const code = tradeResultCodes[fault.code];
      return { ...code, message: `Simulated rejection ${code.stringCode}` };
    }
    try {
      const result = this.execute(brokerAccount, String(trade.actionType), trade, { clientId, comment, stops }, done);
      if (fault?.kind === 'timeoutAfterExecute') throw new LostAnswer();
      return result;
    } catch (error) {
      if (error instanceof LostAnswer) throw error;
      if (isBrokerError(error)) {
        const code = tradeResultCodes[error.code];
        return { ...code, message: error.message };
      }
      throw error;
    }
  }

  private execute(
    brokerAccount: string,
    actionType: string,
    trade: Record<string, unknown>,
    labels: { clientId?: string; comment?: string; stops: { stopLoss?: number; takeProfit?: number } },
    done: (numericCode: number, stringCode: string, ids?: { orderId?: string; positionId?: string }) => Record<string, unknown>,
  ): Record<string, unknown> {
    const { clientId, comment, stops } = labels;
    const symbol = String(trade.symbol ?? '');
    const volume = Number(trade.volume);
    const market = /^ORDER_TYPE_(BUY|SELL)$/.exec(actionType);
    if (market) {
      const side = market[1]!.toLowerCase() as Side;
      const result = this.market.placeOrder(brokerAccount, {
        clientId: clientId ?? '',
        symbol,
        side,
        type: 'market',
        volume,
        ...stops,
        ...(comment ? { comment } : {}),
      });
      return done(10009, 'TRADE_RETCODE_DONE', { orderId: result.positionId, positionId: result.positionId });
    }
    const pending = /^ORDER_TYPE_(BUY|SELL)_(LIMIT|STOP)$/.exec(actionType);
    if (pending) {
      const side = pending[1]!.toLowerCase() as Side;
      const type = pending[2]!.toLowerCase() as 'limit' | 'stop';
      const result = this.market.placeOrder(brokerAccount, {
        clientId: clientId ?? '',
        symbol,
        side,
        type,
        volume,
        price: Number(trade.openPrice),
        ...stops,
        ...(comment ? { comment } : {}),
      });
      const placed = this.market.getPendingOrders(brokerAccount).find((order) => order.id === result.orderId);
      if (placed) this.placedOrders.set(placed.id, placed);
      return done(10008, 'TRADE_RETCODE_PLACED', { orderId: result.orderId });
    }
    switch (actionType) {
      case 'POSITION_MODIFY':
        // MetaApi sets both levels: one the request omits is removed.
        this.market.modifyPosition(brokerAccount, String(trade.positionId), { stopLoss: stops.stopLoss ?? null, takeProfit: stops.takeProfit ?? null });
        return done(10009, 'TRADE_RETCODE_DONE', { positionId: String(trade.positionId) });
      case 'POSITION_PARTIAL':
      case 'POSITION_CLOSE_ID': {
        const positionId = String(trade.positionId);
        const exists = this.market.getPositions(brokerAccount).some((position) => position.id === positionId);
        if (!exists) return { ...tradeResultCodes.POSITION_NOT_FOUND, message: `Position ${positionId} not found` };
        this.market.closePosition(brokerAccount, positionId, {
          ...(actionType === 'POSITION_PARTIAL' ? { volume } : {}),
          ...(clientId ? { clientId } : {}),
        });
        const closing = this.market.getDeals(brokerAccount, new Date(0).toISOString(), new Date(Date.now() + 60_000).toISOString()).at(-1);
        return done(10009, 'TRADE_RETCODE_DONE', { orderId: closing?.orderId, positionId });
      }
      case 'ORDER_MODIFY':
        this.market.modifyOrder(brokerAccount, String(trade.orderId), {
          price: Number(trade.openPrice),
          stopLoss: stops.stopLoss ?? null,
          takeProfit: stops.takeProfit ?? null,
        });
        return done(10009, 'TRADE_RETCODE_DONE', { orderId: String(trade.orderId) });
      case 'ORDER_CANCEL': {
        const orderId = String(trade.orderId);
        const order = this.market.getPendingOrders(brokerAccount).find((candidate) => candidate.id === orderId);
        this.market.cancelOrder(brokerAccount, orderId);
        if (order) {
          const list = this.cancelledOrders.get(brokerAccount) ?? [];
          list.push({ order, at: new Date().toISOString() });
          this.cancelledOrders.set(brokerAccount, list);
        }
        return done(10009, 'TRADE_RETCODE_DONE', { orderId });
      }
      default:
        return { numericCode: 10013, stringCode: 'TRADE_RETCODE_INVALID', message: `Unsupported action ${actionType}` };
    }
  }
}

/** The trade executed but its answer is lost. */
class LostAnswer extends Error {}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimulatedMarket } from '../../../local/simulated-broker/simulated-market';
import { OandaAccount, type Reply } from './oanda-account';
import { type Refusal, refusalOf, type TradeRoute } from './oanda-reasons';
import { defaultInstruments, instrumentWire, isInstrumentName, priceText, rfc3339, type Wire } from './oanda-wire';
import { V20Conformance, V20ConformanceError } from './v20-conformance';

/**
 * A fake OANDA v20 REST server for tests: `node:http` on 127.0.0.1, the REST paths of
 * OANDA's v20 API below `/v3`, the transaction stream served by the same server. It follows
 * OANDA's published v20 OpenAPI document (github.com/oanda/v20-openapi, vendored in part as
 * `v20-schemas.json`): every body it answers is checked against that document
 * (`V20Conformance`) and a body that does not conform is answered 500 with the schema errors,
 * and makes `stop()` throw, so a fake that drifts from the document fails the tests.
 *
 * Behind every account is one `SimulatedMarket` (`market`), with instruments named as OANDA
 * names them (`EUR_USD`, `GBP_USD`, `USD_JPY`, `XAU_USD`; volumes are units). Tests move
 * prices, trade in the trader's terminal and inject faults through it; the fake turns what
 * happens there into OANDA transactions (see `OandaAccount`).
 *
 * Routes (paths below `/v3`; the document's status codes):
 * - GET /accounts, /accounts/{id}, /accounts/{id}/summary, /accounts/{id}/instruments,
 *   /accounts/{id}/changes, /accounts/{id}/pricing
 * - GET /accounts/{id}/trades, /openTrades, /trades/{spec}; PUT /trades/{spec}/close, /trades/{spec}/orders
 * - GET /accounts/{id}/positions, /openPositions, /positions/{instrument}
 * - POST /accounts/{id}/orders; GET /orders, /pendingOrders, /orders/{spec}; PUT /orders/{spec}, /orders/{spec}/cancel
 * - GET /accounts/{id}/transactions, /transactions/{id}, /transactions/idrange, /transactions/sinceid,
 *   /transactions/stream
 * A trade or order specifier is its id or `@` followed by its client id.
 *
 * Not done: pricing stream, candles, position closeout, client extension changes, trailing
 * stop losses (rejected with TRAILING_STOP_LOSS_ORDERS_NOT_SUPPORTED), guaranteed stop losses
 * (GSLO mode DISABLED), MARKET_IF_TOUCHED orders, GTD / GFD expiry, financing (always 0),
 * `Accept-Datetime-Format: UNIX` (times are always RFC 3339).
 */

export interface FakeOandaOptions {
  /** The clock of the market and of every transaction. */
  now?: () => Date;
  /** How often the transaction stream sends a HEARTBEAT (OANDA: every 5 s). */
  transactionHeartbeatMs?: number;
}

export interface AddAccountOptions {
  token: string;
  accountId?: string;
  /** Hedging enabled (default true): opposite trades of an instrument stand side by side. A `fifo` account never hedges, whatever this says. */
  hedging?: boolean;
  /** US (FIFO) rules: no hedging, and a trade may only be reduced while no older trade of its instrument is open. */
  fifo?: boolean;
  balance?: number;
  currency?: string;
  leverage?: number;
}

export interface FakeOandaFaults {
  /** The next n requests are answered 429 with `Retry-After`. */
  rateLimitNext?: number;
  /** The next n trade requests execute, then their connection is destroyed before an answer. */
  dropNextTradeAnswer?: number;
  /** The next n requests are answered 503. */
  unavailableNext?: number;
}

interface Route {
  method: string;
  /** The document's path (below `/v3`), e.g. `/accounts/{accountID}/trades/{tradeSpecifier}`. */
  template: string;
  pattern: RegExp;
  /** For trade requests: the kind of trade, which decides how a refusal is answered. */
  trade?: (body: Wire) => TradeRoute;
  handle: (request: RouteRequest) => Reply | 'stream';
}

interface RouteRequest {
  account: OandaAccount | undefined;
  /** The accounts the request's token reaches. */
  tokenAccounts: OandaAccount[];
  params: Record<string, string>;
  query: URLSearchParams;
  body: Wire;
  requestID: string;
  res: ServerResponse;
}

const DEFAULT_USER = 1_234_567;
const HEARTBEAT_MS = 5_000;
const RETRY_AFTER_SECONDS = 1;

const error = (status: number, errorMessage: string, errorCode?: string): Reply => ({
  status,
  body: errorCode ? { errorCode, errorMessage } : { errorMessage },
});
const isObject = (value: unknown): value is Wire => typeof value === 'object' && value !== null && !Array.isArray(value);
const csv = (value: string | null): string[] | undefined => (value ? value.split(',').filter((item) => item !== '') : undefined);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The `TransactionFilter` groups of the document, besides the plain transaction types. */
const TRANSACTION_FILTER_GROUPS: Record<string, (type: string) => boolean> = {
  ORDER: (type) => type.includes('ORDER'),
  FUNDING: (type) => type.startsWith('TRANSFER_FUNDS'),
  ADMIN: (type) => ['CREATE', 'CLOSE', 'REOPEN', 'CLIENT_CONFIGURE', 'CLIENT_CONFIGURE_REJECT'].includes(type),
};

export class FakeOanda {
  /** Checks every answer against OANDA's document; `validated` counts the answers that conformed. */
  readonly conformance = new V20Conformance();
  private readonly accounts = new Map<string, OandaAccount>();
  private readonly accountsByMarketId = new Map<string, OandaAccount>();
  private readonly tokens = new Map<string, { user: number; accounts: Set<string> }>();
  private readonly revoked = new Set<string>();
  private readonly requests: { method: string; path: string }[] = [];
  private readonly streams = new Map<string, Set<(transactions: Wire[]) => void>>();
  private readonly drift: string[] = [];
  private readonly faults = { rateLimitNext: 0, dropNextTradeAnswer: 0, unavailableNext: 0 };
  private readonly routes: Route[];
  private readonly stopWatching: () => void;
  private nextRequestId = 1;
  private nextUser = DEFAULT_USER;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly market: SimulatedMarket,
    private readonly now: () => Date,
    private readonly heartbeatMs: number,
  ) {
    this.routes = this.buildRoutes();
    this.stopWatching = market.watchAccounts((marketAccountId) => this.accountsByMarketId.get(marketAccountId)?.sync());
  }

  /** Starts a fake on 127.0.0.1 on a free port, with its own market holding OANDA's instruments. */
  static async start(options: FakeOandaOptions = {}): Promise<FakeOanda> {
    const now = options.now ?? (() => new Date());
    const market = new SimulatedMarket({ now });
    for (const instrument of defaultInstruments) {
      market.defineSymbol({ ...instrument, contractSize: 1, volumeMin: 1, volumeStep: 1, volumeMax: 100_000_000 });
    }
    let fake: FakeOanda | undefined;
    const server = createServer((req, res) => {
      if (!fake) {
        res.writeHead(503).end();
        return;
      }
      fake.serve(req, res).catch((cause: unknown) => {
        res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errorMessage: `fake OANDA failed: ${String(cause)}` }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    fake = new FakeOanda(server, `http://127.0.0.1:${port}`, market, now, options.transactionHeartbeatMs ?? HEARTBEAT_MS);
    return fake;
  }

  /**
   * Opens an account for `token` (a token may hold several) and returns its v20 id, by
   * default `101-004-<user>-<nnn>` with one user per token. The market account holds the
   * balance (10,000 unless given) at `leverage` (50: OANDA's 2% margin rate).
   */
  addAccount(options: AddAccountOptions): string {
    const fifo = options.fifo ?? false;
    let holder = this.tokens.get(options.token);
    if (!holder) {
      holder = { user: this.nextUser++, accounts: new Set() };
      this.tokens.set(options.token, holder);
    }
    const user = holder.user;
    const id = options.accountId ?? `101-004-${user}-${String(holder.accounts.size + 1).padStart(3, '0')}`;
    if (!/^\d{3}-\d{3}-\d+-\d{3}$/.test(id)) throw new Error(`Not a v20 account id: ${id}`);
    if (this.accounts.has(id)) throw new Error(`Account ${id} exists`);
    const account = new OandaAccount({
      market: this.market,
      marketAccountId: id,
      id,
      hedging: fifo ? false : (options.hedging ?? true),
      fifo,
      currency: options.currency ?? 'USD',
      leverage: options.leverage ?? 50,
      balance: options.balance ?? 10_000,
      now: this.now,
      onTransactions: (transactions) => {
        for (const listener of this.streams.get(id) ?? []) listener(transactions);
      },
    });
    this.accounts.set(id, account);
    this.accountsByMarketId.set(account.marketAccountId, account);
    holder.accounts.add(id);
    return id;
  }

  /** The account's id inside `market` (the v20 id itself). */
  marketAccountId(v20AccountId: string): string {
    const account = this.accounts.get(v20AccountId);
    if (!account) throw new Error(`Unknown account ${v20AccountId}`);
    return account.marketAccountId;
  }

  /** Later requests with the token are answered 401. */
  revokeToken(token: string): void {
    this.revoked.add(token);
  }

  /** Fields given replace the current counts. */
  setFaults(change: FakeOandaFaults): void {
    for (const key of ['rateLimitNext', 'dropNextTradeAnswer', 'unavailableNext'] as const) {
      const value = change[key];
      if (value !== undefined) this.faults[key] = value;
    }
  }

  /** How many requests reached the fake, or those whose path (`/v3/accounts/.../openTrades`) matches. */
  requestCount(pathPattern?: RegExp): number {
    return pathPattern ? this.requests.filter((request) => pathPattern.test(request.path)).length : this.requests.length;
  }

  /** Ends the streams and the server; throws when any answer did not conform to the document. */
  async stop(): Promise<void> {
    this.stopWatching();
    for (const listeners of this.streams.values()) listeners.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    if (this.drift.length > 0) throw new V20ConformanceError(this.drift);
  }

  // ---- serving -------------------------------------------------------------------------

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname });
    const requestID = String(10_000_000_000 + this.nextRequestId++);
    res.setHeader('RequestID', requestID);
    const raw = await readBody(req);
    const found = this.match(method, url.pathname);
    if (!found) {
      const known = this.routes.some((route) => route.pattern.test(url.pathname.replace(/^\/v3/, '')));
      return this.sendOutsideTheDocument(res, known ? error(405, 'The HTTP method is not allowed for this endpoint') : error(404, 'Unable to service request'));
    }
    const { route, params } = found;
    const send = (reply: Reply, headers: Record<string, string> = {}) => this.send(res, route, reply, headers);
    if (this.faults.rateLimitNext > 0) {
      this.faults.rateLimitNext -= 1;
      return send(error(429, 'Requests are being rate limited; retry later'), { 'Retry-After': String(RETRY_AFTER_SECONDS) });
    }
    if (this.faults.unavailableNext > 0) {
      this.faults.unavailableNext -= 1;
      return send(error(503, 'Service unavailable'));
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const holder = token && !this.revoked.has(token) ? this.tokens.get(token) : undefined;
    if (!holder) return send(error(401, 'Insufficient authorization to perform request.'));
    let account: OandaAccount | undefined;
    if (params.accountID !== undefined) {
      const refused = this.accountRefusal(route, params.accountID, holder.accounts);
      if (refused) return send(refused);
      account = this.accounts.get(params.accountID);
    }
    if (account) {
      const latency = this.market.getFaults(account.marketAccountId).latencyMs;
      if (latency > 0) await sleep(latency);
      account.sync();
    }
    let body: Wire = {};
    if (raw.length > 0) {
      try {
        const parsed: unknown = JSON.parse(raw);
        body = isObject(parsed) ? parsed : {};
      } catch {
        return send(error(400, 'Invalid JSON in the request body'));
      }
    }
    // `null` cancels a trade's dependent order (`PUT .../trades/{spec}/orders`), which Swagger 2.0 cannot say.
    const nullable = route.template.endsWith('/trades/{tradeSpecifier}/orders');
    const checked = nullable ? Object.fromEntries(Object.entries(body).filter(([, value]) => value !== null)) : body;
    const problems = this.conformance.requestProblems(method, route.template, checked);
    if (problems.length > 0) return send(error(400, `Invalid value specified for the request body: ${problems.join('; ')}`));
    const tokenAccounts = [...holder.accounts].flatMap((id) => {
      const owned = this.accounts.get(id);
      return owned ? [owned] : [];
    });
    const request: RouteRequest = { account, tokenAccounts, params, query: url.searchParams, body, requestID, res };
    if (!route.trade || !account) {
      const reply = route.handle(request);
      if (reply !== 'stream') send(reply);
      return;
    }
    const fault = this.market.takeTradeFault(account.marketAccountId);
    if (fault?.kind === 'reject') {
      const tradeRoute = route.trade(body);
      const refusal: Refusal = refusalOf(fault.code, tradeRoute);
      if (refusal.kind === 'drop') return void res.socket?.destroy();
      if (refusal.kind === 'http') {
        return send(error(refusal.status, `Simulated ${fault.code}`), refusal.status === 429 ? { 'Retry-After': String(RETRY_AFTER_SECONDS) } : {});
      }
      return send(account.refuse(tradeRoute, refusal, { body, specifier: params.tradeSpecifier ?? params.orderSpecifier }, requestID));
    }
    const reply = route.handle(request);
    const drop = fault?.kind === 'timeoutAfterExecute' || this.faults.dropNextTradeAnswer > 0;
    if (fault?.kind !== 'timeoutAfterExecute' && this.faults.dropNextTradeAnswer > 0) this.faults.dropNextTradeAnswer -= 1;
    if (drop && reply !== 'stream') {
      this.check(route, reply);
      res.socket?.destroy();
      return;
    }
    if (reply !== 'stream') send(reply);
  }

  private match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    if (!path.startsWith('/v3/')) return undefined;
    const below = path.slice(3);
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const matched = route.pattern.exec(below);
      if (matched) return { route, params: Object.fromEntries(Object.entries(matched.groups ?? {}).map(([key, value]) => [key, decodeURIComponent(value)])) };
    }
    return undefined;
  }

  /**
   * An account id the token may not reach. A malformed id is answered 400 ("Invalid value
   * specified for 'accountID'", as OANDA words it); one of someone else (or of nobody) with
   * the first of 403, 404, 400 the route's document lists (404 where it lists none: the stream).
   */
  private accountRefusal(route: Route, accountId: string, own: Set<string>): Reply | undefined {
    if (own.has(accountId) && this.accounts.has(accountId)) return undefined;
    const listed = this.conformance.statusesOf(route.method, route.template);
    const wellFormed = /^\d{3}-\d{3}-\d+-\d{3}$/.test(accountId);
    const order = wellFormed ? [403, 404, 400] : [400, 404, 403];
    const status = order.find((candidate) => listed.includes(String(candidate))) ?? 404;
    if (status === 400) return error(400, "Invalid value specified for 'accountID'");
    if (status === 403) return error(403, 'The provided request was forbidden.');
    return error(404, 'The Account specified does not exist');
  }

  /** The body as JSON carries it, checked against the route's answer in the document; the problems are kept. */
  private check(route: Route, reply: Reply): Wire | undefined {
    const body = JSON.parse(JSON.stringify(reply.body)) as Wire;
    try {
      this.conformance.checkResponse(route.method, route.template, reply.status, body);
      return body;
    } catch (cause) {
      if (!(cause instanceof V20ConformanceError)) throw cause;
      this.drift.push(...cause.problems);
      console.error(cause.message);
      return undefined;
    }
  }

  private send(res: ServerResponse, route: Route, reply: Reply, headers: Record<string, string> = {}): void {
    const body = this.check(route, reply);
    if (!body) {
      res
        .writeHead(500, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ errorMessage: `fake OANDA drifted from the v20 document: ${this.drift.at(-1) ?? ''}` }));
      return;
    }
    res.writeHead(reply.status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
  }

  /** Answers to paths the document does not have: OANDA's error body, checked as such. */
  private sendOutsideTheDocument(res: ServerResponse, reply: Reply): void {
    const problems = this.conformance.errorBodyProblems(reply.body);
    if (problems.length > 0) this.drift.push(...problems);
    else this.conformance.validated += 1;
    res.writeHead(reply.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(reply.body));
  }

  // ---- routes --------------------------------------------------------------------------

  private buildRoutes(): Route[] {
    const route = (method: string, template: string, handle: Route['handle'], trade?: Route['trade']): Route => ({
      method,
      template,
      pattern: new RegExp(`^${template.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`),
      handle,
      ...(trade ? { trade } : {}),
    });
    const need = (request: RouteRequest): OandaAccount => {
      if (!request.account) throw new Error('route without an account');
      return request.account;
    };
    const last = (account: OandaAccount) => ({ lastTransactionID: account.lastTransactionID });
    const listQuery = (query: URLSearchParams) => ({
      state: query.get('state') ?? undefined,
      ids: csv(query.get('ids')),
      instrument: query.get('instrument') ?? undefined,
      count: query.has('count') ? Number(query.get('count')) : undefined,
      beforeID: query.get('beforeID') ?? undefined,
    });
    return [
      route('GET', '/accounts', (request) => ({ status: 200, body: { accounts: request.tokenAccounts.map((account) => account.properties()) } })),
      route('GET', '/accounts/{accountID}', (request) => {
        const account = need(request);
        return { status: 200, body: { account: account.full(), ...last(account) } };
      }),
      route('GET', '/accounts/{accountID}/summary', (request) => {
        const account = need(request);
        return { status: 200, body: { account: account.summary(), ...last(account) } };
      }),
      route('GET', '/accounts/{accountID}/instruments', (request) => this.instruments(need(request), request.query)),
      route('GET', '/accounts/{accountID}/changes', (request) => {
        const account = need(request);
        const since = Number(request.query.get('sinceTransactionID') ?? '0');
        if (!Number.isInteger(since) || since > Number(account.lastTransactionID)) {
          return error(416, "Invalid value specified for 'sinceTransactionID'");
        }
        return { status: 200, body: account.changes(since) };
      }),
      route('GET', '/accounts/{accountID}/pricing', (request) => this.pricing(request.query)),
      route('GET', '/accounts/{accountID}/trades', (request) => {
        const account = need(request);
        return { status: 200, body: { trades: account.listTrades(listQuery(request.query)).map((trade) => account.tradeWire(trade)), ...last(account) } };
      }),
      route('GET', '/accounts/{accountID}/openTrades', (request) => {
        const account = need(request);
        return { status: 200, body: { trades: account.openTrades().map((trade) => account.tradeWire(trade)), ...last(account) } };
      }),
      route('GET', '/accounts/{accountID}/trades/{tradeSpecifier}', (request) => {
        const account = need(request);
        const trade = account.findTrade(request.params.tradeSpecifier ?? '');
        if (!trade) return error(404, 'The Trade ID specified does not exist', 'NO_SUCH_TRADE');
        return { status: 200, body: { trade: account.tradeWire(trade), ...last(account) } };
      }),
      route(
        'PUT',
        '/accounts/{accountID}/trades/{tradeSpecifier}/close',
        (request) => need(request).closeTrade(request.params.tradeSpecifier ?? '', request.body.units, request.requestID),
        () => 'closeTrade',
      ),
      route(
        'PUT',
        '/accounts/{accountID}/trades/{tradeSpecifier}/orders',
        (request) => need(request).setTradeOrders(request.params.tradeSpecifier ?? '', request.body, request.requestID),
        () => 'tradeOrders',
      ),
      route('GET', '/accounts/{accountID}/positions', (request) => {
        const account = need(request);
        return { status: 200, body: { positions: account.positions(true).map((instrument) => account.positionWire(instrument)), ...last(account) } };
      }),
      route('GET', '/accounts/{accountID}/openPositions', (request) => {
        const account = need(request);
        return { status: 200, body: { positions: account.positions().map((instrument) => account.positionWire(instrument)), ...last(account) } };
      }),
      route('GET', '/accounts/{accountID}/positions/{instrument}', (request) => {
        const account = need(request);
        const instrument = request.params.instrument ?? '';
        if (!isInstrumentName(instrument) || !this.market.hasSymbol(instrument)) return error(404, 'The Position specified does not exist');
        return { status: 200, body: { position: account.positionWire(instrument), ...last(account) } };
      }),
      route(
        'POST',
        '/accounts/{accountID}/orders',
        (request) => need(request).createOrder(isObject(request.body.order) ? request.body.order : {}, request.requestID),
        (body) => (isObject(body.order) && body.order.type === 'MARKET' ? 'marketOrder' : 'pendingOrder'),
      ),
      route('GET', '/accounts/{accountID}/orders', (request) => {
        const account = need(request);
        return { status: 200, body: { orders: account.listOrders(listQuery(request.query)).map((order) => account.orderWire(order)), ...last(account) } };
      }),
      route('GET', '/accounts/{accountID}/pendingOrders', (request) => {
        const account = need(request);
        return { status: 200, body: { orders: account.pendingOrders().map((order) => account.orderWire(order)), ...last(account) } };
      }),
      route('GET', '/accounts/{accountID}/orders/{orderSpecifier}', (request) => {
        const account = need(request);
        const order = account.findOrder(request.params.orderSpecifier ?? '');
        if (!order) return error(404, 'The Order ID specified does not exist', 'NO_SUCH_ORDER');
        return { status: 200, body: { order: account.orderWire(order), ...last(account) } };
      }),
      route(
        'PUT',
        '/accounts/{accountID}/orders/{orderSpecifier}',
        (request) => need(request).replaceOrder(request.params.orderSpecifier ?? '', isObject(request.body.order) ? request.body.order : {}, request.requestID),
        (body) => (isObject(body.order) && body.order.type === 'MARKET' ? 'marketOrder' : 'pendingOrder'),
      ),
      route(
        'PUT',
        '/accounts/{accountID}/orders/{orderSpecifier}/cancel',
        (request) => need(request).cancelOrder(request.params.orderSpecifier ?? '', request.requestID),
        () => 'cancelOrder',
      ),
      route('GET', '/accounts/{accountID}/transactions', (request) => this.transactionPages(need(request), request.query)),
      route('GET', '/accounts/{accountID}/transactions/idrange', (request) => this.transactionRange(need(request), request.query)),
      route('GET', '/accounts/{accountID}/transactions/sinceid', (request) => {
        const account = need(request);
        const id = request.query.get('id');
        if (id === null || !/^\d+$/.test(id)) return error(400, "Invalid value specified for 'id'");
        if (Number(id) > Number(account.lastTransactionID)) return error(416, "Invalid value specified for 'id'");
        const transactions = account.transactions.filter((transaction) => Number(transaction.id) > Number(id)).slice(0, 1000);
        return { status: 200, body: { transactions, ...last(account) } };
      }),
      route('GET', '/accounts/{accountID}/transactions/stream', (request) => this.streamTransactions(need(request), request.res)),
      route('GET', '/accounts/{accountID}/transactions/{transactionID}', (request) => {
        const account = need(request);
        const transaction = account.transactions.find((candidate) => candidate.id === request.params.transactionID);
        if (!transaction) return error(404, 'The Transaction ID specified does not exist', 'NO_SUCH_TRANSACTION');
        return { status: 200, body: { transaction, ...last(account) } };
      }),
    ];
  }

  /** `GET .../instruments[?instruments=A,B]`: the market's OANDA-named instruments; an unknown name is a 400. */
  private instruments(account: OandaAccount, query: URLSearchParams): Reply {
    const names = csv(query.get('instruments')) ?? this.market.listSymbols().filter(isInstrumentName);
    const specs = names.map((name) => (isInstrumentName(name) ? this.market.getSymbolSpec(name) : undefined));
    if (specs.some((spec) => spec === undefined)) return error(400, "Invalid value specified for 'instruments'");
    return {
      status: 200,
      body: { instruments: specs.flatMap((spec) => (spec ? [instrumentWire(spec, 1 / account.leverage)] : [])), lastTransactionID: account.lastTransactionID },
    };
  }

  /**
   * `GET .../pricing?instruments=A,B[&since=]`: `ClientPrice`s, the market's quote with
   * 10,000,000 units of liquidity on each side; an unknown instrument is a 400, as OANDA answers it.
   */
  private pricing(query: URLSearchParams): Reply {
    const names = csv(query.get('instruments'));
    if (!names || names.length === 0) return error(400, "Invalid value specified for 'instruments'");
    const quotes = names.map((name) => (isInstrumentName(name) ? this.market.getQuote(name) : undefined));
    if (quotes.some((quote) => quote === undefined)) return error(400, "Invalid value specified for 'instruments'");
    const since = query.get('since');
    const prices = quotes.flatMap((quote) => {
      if (!quote || (since && Date.parse(quote.time) <= Date.parse(since))) return [];
      const digits = this.market.getSymbolSpec(quote.symbol)?.digits ?? 5;
      return [
        {
          type: 'PRICE',
          instrument: quote.symbol,
          time: rfc3339(quote.time),
          tradeable: true,
          bids: [{ price: priceText(quote.bid, digits), liquidity: 10_000_000 }],
          asks: [{ price: priceText(quote.ask, digits), liquidity: 10_000_000 }],
          closeoutBid: priceText(quote.bid, digits),
          closeoutAsk: priceText(quote.ask, digits),
        },
      ];
    });
    return { status: 200, body: { prices, time: rfc3339(this.now()) } };
  }

  /** Transactions of a `type` filter (plain types and the `TransactionFilter` groups ORDER, FUNDING, ADMIN); undefined on an unknown filter. */
  private typeFilter(query: URLSearchParams): ((transaction: Wire) => boolean) | undefined {
    const filters = csv(query.get('type'));
    if (!filters) return () => true;
    const known = (filter: string) => filter in TRANSACTION_FILTER_GROUPS || /^[A-Z_]+$/.test(filter);
    if (!filters.every(known)) return undefined;
    return (transaction) => {
      const type = String(transaction.type);
      return filters.some((filter) => TRANSACTION_FILTER_GROUPS[filter]?.(type) ?? filter === type);
    };
  }

  /**
   * `GET .../transactions?from&to&pageSize&type`: not the transactions but the URLs of
   * `idrange` pages holding them (`pages`), `pageSize` (100, at most 1000) each, and `count`.
   */
  private transactionPages(account: OandaAccount, query: URLSearchParams): Reply {
    const from = query.get('from') ?? account.createdTime;
    const to = query.get('to') ?? rfc3339(this.now());
    const pageSize = query.has('pageSize') ? Number(query.get('pageSize')) : 100;
    if (Number.isNaN(Date.parse(from)) || Number.isNaN(Date.parse(to))) return error(400, "Invalid value specified for 'from' or 'to'");
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) return error(400, "Invalid value specified for 'pageSize'");
    const filter = this.typeFilter(query);
    if (!filter) return error(400, "Invalid value specified for 'type'");
    const start = Date.parse(from);
    const end = Date.parse(to);
    const matching = account.transactions.filter((transaction) => {
      const time = Date.parse(String(transaction.time));
      return time >= start && time <= end && filter(transaction);
    });
    const pages: string[] = [];
    for (let index = 0; index < matching.length; index += pageSize) {
      const page = matching.slice(index, index + pageSize);
      const url = new URL(`/v3/accounts/${account.id}/transactions/idrange`, this.url);
      url.searchParams.set('from', String(page[0]?.id));
      url.searchParams.set('to', String(page.at(-1)?.id));
      const type = query.get('type');
      if (type) url.searchParams.set('type', type);
      pages.push(url.toString());
    }
    const type = csv(query.get('type'));
    return {
      status: 200,
      body: {
        from: rfc3339(new Date(start)),
        to: rfc3339(new Date(end)),
        pageSize,
        ...(type ? { type } : {}),
        count: matching.length,
        pages,
        lastTransactionID: account.lastTransactionID,
      },
    };
  }

  /** `GET .../transactions/idrange?from&to[&type]`: the transactions with from <= id <= to, oldest first. */
  private transactionRange(account: OandaAccount, query: URLSearchParams): Reply {
    const from = query.get('from');
    const to = query.get('to');
    if (from === null || to === null || !/^\d+$/.test(from) || !/^\d+$/.test(to) || Number(from) > Number(to)) {
      return error(400, "Invalid value specified for 'from' or 'to'");
    }
    const filter = this.typeFilter(query);
    if (!filter) return error(400, "Invalid value specified for 'type'");
    const transactions = account.transactions
      .filter((transaction) => Number(transaction.id) >= Number(from) && Number(transaction.id) <= Number(to) && filter(transaction))
      .slice(0, 1000);
    return { status: 200, body: { transactions, lastTransactionID: account.lastTransactionID } };
  }

  /**
   * `GET .../transactions/stream`: chunked `application/octet-stream`, one JSON object a line:
   * every transaction as it happens, and a HEARTBEAT (`TransactionHeartbeat`) every 5 s.
   */
  private streamTransactions(account: OandaAccount, res: ServerResponse): 'stream' {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const write = (lines: Wire[]) => {
      const checked = lines.flatMap((line) => {
        try {
          this.conformance.checkTransactionStreamLine(JSON.parse(JSON.stringify(line)));
          return [line];
        } catch (cause) {
          if (!(cause instanceof V20ConformanceError)) throw cause;
          this.drift.push(...cause.problems);
          console.error(cause.message);
          return [];
        }
      });
      if (checked.length > 0) res.write(`${checked.map((line) => JSON.stringify(line)).join('\n')}\n`);
    };
    const listeners = this.streams.get(account.id) ?? new Set();
    this.streams.set(account.id, listeners);
    listeners.add(write);
    const heartbeat = setInterval(
      () => write([{ type: 'HEARTBEAT', lastTransactionID: account.lastTransactionID, time: rfc3339(this.now()) }]),
      this.heartbeatMs,
    );
    heartbeat.unref();
    res.on('close', () => {
      clearInterval(heartbeat);
      listeners.delete(write);
    });
    return 'stream';
  }
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

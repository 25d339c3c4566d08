import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type WebSocket, WebSocketServer } from 'ws';
import { SimulatedMarket } from '../../../local/simulated-broker/simulated-market';
import { type BrokerErrorCode, isBrokerError } from '../../../shared/domain/broker-errors';
import type { Side } from '../../../shared/domain/trading';
import type { TradeRequest } from '../../../shared/ports/broker';
import { absoluteFromRelative, CtraderAccount, isRelativePrecise, type OrderIntent } from './ctrader-account';
import { CtraderConformance, CtraderConformanceError } from './ctrader-conformance';
import { CtraderCatalog, compact, lotsOf, MONEY_DIGITS, points, type SymbolEntry, type Wire } from './ctrader-wire';

/**
 * A fake cTrader Open API for tests: one `node:http` server on 127.0.0.1 serving cTrader's
 * OAuth endpoints (`GET /apps/token`, the consent page `GET /my/settings/openapi/grantingaccess/`)
 * and, on the same port, a `ws` WebSocket server speaking the Open API as cTrader's JSON port
 * (5036) does: `{ clientMsgId?, payloadType, payload }` text frames, payloads as Spotware's
 * message definitions (github.com/spotware/openapi-proto-messages, vendored in `proto/`) name
 * them, enums as their numbers, int64 as JSON numbers. Every message in and out is checked
 * against those definitions (`CtraderConformance`): a client message that does not conform is
 * answered INVALID_REQUEST (ProtoOAErrorRes, or ProtoErrorRes for the common payload types)
 * and recorded; a message of the fake's own that would not conform is not sent (an
 * UNKNOWN_ERROR goes instead) and makes `stop()` throw, as does any failure of the fake itself.
 *
 * Behind the accounts is one `SimulatedMarket` (`market`) with cTrader's symbol names (EURUSD,
 * GBPUSD, USDJPY, XAUUSD) and volumes in lots; the wire's volumes are cents of units, converted
 * with the symbol's `lotSize`. Tests move prices, trade in the trader's terminal and inject
 * faults through it; what happens there reaches every socket the account is authorized on as
 * `ProtoOAExecutionEvent`s (see `CtraderAccount`), and price changes reach spot subscribers.
 *
 * From help.ctrader.com/open-api: the flow (ProtoOAApplicationAuthReq, then
 * ProtoOAAccountAuthReq per account; nothing else before the application is authorized),
 * responses and execution events caused by a request echo its clientMsgId, heartbeats
 * (ProtoHeartbeatEvent, 51) every 10 s, access tokens valid 2,628,000 s, authorization codes
 * single-use and valid one minute, refresh tokens without expiry but spent once used. Decided
 * here where the docs are silent:
 * - the token endpoint answers HTTP 200 also when it refuses, with `{ errorCode, description }`
 *   (ACCESS_DENIED for a wrong client, code, redirect URI or token; INVALID_REQUEST for missing
 *   parameters or an unknown grant type); it takes GET (and POST) with the parameters in the query;
 * - refreshing spends the refresh token and ends the old access token: the sessions it
 *   authorized get ProtoOAAccountsTokenInvalidatedEvent (the definitions list "token was
 *   refreshed" among its reasons), as do those of an expired (`expireAccessToken`) or revoked
 *   (`revokeGrant`) one; their accounts must be authorized again;
 * - ProtoOAAccountAuthReq: a token unknown, expired, refreshed or revoked is
 *   CH_ACCESS_TOKEN_INVALID; an account that does not exist CH_CTID_TRADER_ACCOUNT_NOT_FOUND;
 *   one the token does not grant ACCOUNT_NOT_AUTHORIZED; one already authorized on the socket
 *   ALREADY_LOGGED_IN. Any other request for an account not authorized on the socket is
 *   ACCOUNT_NOT_AUTHORIZED; one whose token the clock expired since is OA_AUTH_TOKEN_EXPIRED
 *   (and its sessions hear ProtoOAAccountsTokenInvalidatedEvent, as they also do within a second
 *   of the expiry);
 * - the fake does not answer heartbeats (it sends its own every 10 s); a socket silent for
 *   `heartbeatTimeoutMs` (real time, not the injected clock) is closed without a word;
 * - request errors (the shape of a request, an unsupported feature, rate limit) are
 *   ProtoOAErrorRes; what the market refuses on an order, close, amend or cancel is
 *   ProtoOAOrderErrorEvent with the ProtoOAErrorCode of the market's reason;
 * - absolute stopLoss / takeProfit on a MARKET order is INVALID_REQUEST (the definitions: "Not
 *   supported for the MARKET orders"); relative ones must be whole ticks of the symbol
 *   (multiples of 10^(5 - digits)), else TRADING_BAD_STOPS; they are reckoned from the price
 *   the order fills at (ask for a buy, bid for a sell) or a pending order's price;
 * - ProtoOAAmendPositionSLTPReq and ProtoOAAmendOrderReq set both levels: one left out is removed;
 * - ProtoOANewOrderReq with `positionId` on the other side closes that much of the position; on
 *   the same side it is an ordinary order on a NETTED account and refused on a HEDGED one;
 * - empty repeated fields are left out of answers (protobuf's JSON does so), spot events after
 *   the first carry only the side(s) that changed, deal lists run oldest first;
 * - execution events go to every socket the account is authorized on; only the requesting
 *   socket's carry the clientMsgId;
 * - on `stop()` open sockets get ProtoOAClientDisconnectEvent first.
 * Not done: MARKET_RANGE and STOP_LIMIT orders, GOOD_TILL_DATE / MARKET_ON_OPEN, expiration,
 * guaranteed and trailing stop losses, changing a pending order's volume (INVALID_REQUEST);
 * trend bars, tick data, depth, margin calls, cash flow and the other requests the definitions
 * have but the list above does not (UNSUPPORTED_MESSAGE); view-only (`accounts`) scope;
 * separate demo and live hosts (one server serves both).
 */

export interface FakeCtraderOptions {
  /** The clock of the market, the tokens and every timestamp. */
  now?: () => Date;
  clientId?: string;
  clientSecret?: string;
  /** Lifetime of an access token (cTrader: 2,628,000 s). */
  accessTokenTtlSeconds?: number;
  /** A socket silent this long is closed (real time; default 30,000). */
  heartbeatTimeoutMs?: number;
}

export interface FakeCtraderFaults {
  /** The next n requests are answered ProtoOAErrorRes REQUEST_FREQUENCY_EXCEEDED. */
  rateLimitNext?: number;
  /** The next order (ProtoOANewOrderReq or ProtoOAClosePositionReq) is refused with ProtoOAOrderErrorEvent. */
  rejectNextOrder?: { errorCode: string; description?: string };
  /** The next n trade requests execute, then the socket is destroyed before the answer. */
  dropNextTradeAnswer?: number;
}

export interface AddCtraderAccountOptions {
  /** Default true; false: a NETTED account (one position per symbol). */
  hedging?: boolean;
  balance?: number;
  currency?: string;
  live?: boolean;
}

interface Session {
  socket: WebSocket;
  appAuthorized: boolean;
  /** Accounts authorized on this socket, with the access token that authorized each. */
  accounts: Map<number, string>;
  /** Spot subscriptions per account: symbol id -> what was last sent. */
  spots: Map<number, Map<number, { bid?: number; ask?: number; timestamp: boolean }>>;
  lastHeard: number;
  queue: Promise<void>;
  heartbeat: ReturnType<typeof setInterval>;
}

interface Grant {
  accounts: number[];
  revoked: boolean;
}

interface AccessToken {
  grant: Grant;
  expiresAt: number;
  state: 'valid' | 'expired' | 'refreshed' | 'revoked';
}

interface RefreshToken {
  grant: Grant;
  state: 'valid' | 'spent' | 'revoked';
}

interface AuthorizationCode {
  redirectUri: string;
  accounts: number[];
  expiresAt: number;
  used: boolean;
}

interface Request {
  session: Session;
  name: string;
  payload: Wire;
  clientMsgId: string | undefined;
}

/** A refusal of the request itself: ProtoOAErrorRes. */
class RequestRefused extends Error {
  constructor(
    readonly errorCode: string,
    description: string,
  ) {
    super(description);
  }
}

/** A refusal of an order request: ProtoOAOrderErrorEvent. */
class OrderRefused extends Error {
  constructor(
    readonly errorCode: string,
    description: string,
    readonly ids: { orderId?: number; positionId?: number } = {},
  ) {
    super(description);
  }
}

/** What a trade request does, once it passed the checks. */
interface TradePlan {
  /** An order request (new order, close): `rejectNextOrder` applies. */
  order: boolean;
  intent?: OrderIntent;
  ids?: { orderId?: number; positionId?: number };
  execute: () => void;
  /** The answer when the market changed nothing (an amend to the same levels). */
  unchanged?: () => Wire | undefined;
}

const DEFAULT_CLIENT_ID = '1234_fakeCtraderClientIdForTests';
const DEFAULT_CLIENT_SECRET = 'fakeCtraderClientSecretForTests';
const ACCESS_TOKEN_TTL_SECONDS = 2_628_000;
const HEARTBEAT_TIMEOUT_MS = 30_000;
/** cTrader sends a heartbeat every 10 s. */
const HEARTBEAT_MS = 10_000;
const CODE_TTL_MS = 60_000;
const SPOT_POLL_MS = 20;
const VERSION = '91';
const FIRST_ACCOUNT_ID = 30_100_001;
const FIRST_TRADER_LOGIN = 5_200_001;
/** The definitions' upper bound of timestamps in history requests (19 Jan 2038). */
const MAX_TIMESTAMP = 2_147_483_646_000;
const CONSENT_PATH = /^\/my\/settings\/openapi\/grantingaccess\/?$/;

const TRADE_REQUESTS = new Set([
  'ProtoOANewOrderReq',
  'ProtoOAClosePositionReq',
  'ProtoOAAmendPositionSLTPReq',
  'ProtoOAAmendOrderReq',
  'ProtoOACancelOrderReq',
]);

/** The market's refusals as cTrader's error codes. */
const ERROR_CODES: Record<BrokerErrorCode, string> = {
  REQUOTE: 'NO_QUOTES',
  PRICE_CHANGED: 'NO_QUOTES',
  OFF_QUOTES: 'NO_QUOTES',
  TOO_MANY_REQUESTS: 'REQUEST_FREQUENCY_EXCEEDED',
  BROKER_BUSY: 'CH_SERVER_NOT_REACHABLE',
  TIMEOUT: 'TIMEOUT_ERROR',
  CONNECTION: 'CANT_ROUTE_REQUEST',
  DUPLICATE_CLIENT_ID: 'INVALID_REQUEST',
  MARKET_CLOSED: 'MARKET_CLOSED',
  NO_MONEY: 'NOT_ENOUGH_MONEY',
  TRADING_DISABLED: 'TRADING_DISABLED',
  REJECTED: 'INVALID_REQUEST',
  INVALID_STOPS: 'TRADING_BAD_STOPS',
  INVALID_VOLUME: 'TRADING_BAD_VOLUME',
  INVALID_PRICE: 'TRADING_BAD_PRICES',
  INVALID_FILL: 'INVALID_REQUEST',
  FIFO_VIOLATION: 'INVALID_REQUEST',
  UNKNOWN_SYMBOL: 'SYMBOL_NOT_FOUND',
  POSITION_NOT_FOUND: 'POSITION_NOT_FOUND',
  ORDER_NOT_FOUND: 'ORDER_NOT_FOUND',
  AUTH_FAILED: 'CH_CTID_TRADER_ACCOUNT_NOT_FOUND',
  NOT_CONFIGURED: 'UNKNOWN_ERROR',
  UNKNOWN: 'UNKNOWN_ERROR',
};

const isObject = (value: unknown): value is Wire => typeof value === 'object' && value !== null && !Array.isArray(value);
const token = (): string => randomBytes(24).toString('base64url');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const nonEmpty = <T extends Wire>(fields: T): T =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && !(Array.isArray(value) && value.length === 0))) as T;

export class FakeCtrader {
  readonly market: SimulatedMarket;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Checks every message in and out; `validated` counts those that conformed. */
  readonly conformance = new CtraderConformance();
  private readonly catalog: CtraderCatalog;
  private readonly now: () => Date;
  private readonly accessTokenTtlSeconds: number;
  private readonly heartbeatTimeoutMs: number;
  private readonly accounts = new Map<number, CtraderAccount>();
  private readonly accountsByMarketId = new Map<string, CtraderAccount>();
  private readonly sessions = new Set<Session>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly refreshTokens = new Map<string, RefreshToken>();
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly messages: { payloadType: number; name: string }[] = [];
  private readonly drift: string[] = [];
  private readonly faults = { rateLimitNext: 0, rejectNextOrder: undefined as { errorCode: string; description?: string } | undefined, dropNextTradeAnswer: 0 };
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly stopWatching: () => void;
  private nextAccountId = FIRST_ACCOUNT_ID;
  private nextTraderLogin = FIRST_TRADER_LOGIN;

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly url: string,
    readonly wsUrl: string,
    options: FakeCtraderOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.market = new SimulatedMarket({ now: this.now });
    this.catalog = new CtraderCatalog(this.market);
    this.clientId = options.clientId ?? DEFAULT_CLIENT_ID;
    this.clientSecret = options.clientSecret ?? DEFAULT_CLIENT_SECRET;
    this.accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? ACCESS_TOKEN_TTL_SECONDS;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS;
    this.stopWatching = this.market.watchAccounts((marketAccountId) => {
      const account = this.accountsByMarketId.get(marketAccountId);
      if (account) this.guard(() => this.push(account, account.sync()));
    });
    wss.on('connection', (socket) => this.open(socket));
    const silence = setInterval(() => this.guard(() => this.closeSilent()), Math.max(10, Math.min(1000, Math.floor(this.heartbeatTimeoutMs / 4))));
    const spots = setInterval(() => this.guard(() => this.sendSpots()), SPOT_POLL_MS);
    for (const timer of [silence, spots]) {
      timer.unref();
      this.timers.push(timer);
    }
  }

  /** Starts a fake on 127.0.0.1 on a free port, with its own market holding cTrader's symbols. */
  static async start(options: FakeCtraderOptions = {}): Promise<FakeCtrader> {
    let fake: FakeCtrader | undefined;
    const server = createServer((req, res) => {
      if (!fake) {
        res.writeHead(503).end();
        return;
      }
      fake.serveHttp(req, res).catch((cause: unknown) => {
        fake?.drift.push(`the fake failed on ${req.method} ${req.url}: ${String(cause)}`);
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ errorCode: 'SERVER_ERROR', description: String(cause) }));
      });
    });
    const wss = new WebSocketServer({ server });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    fake = new FakeCtrader(server, wss, `http://127.0.0.1:${port}`, `ws://127.0.0.1:${port}`, options);
    return fake;
  }

  // ---- accounts and tokens ---------------------------------------------------------------

  /** Opens a trading account (HEDGED unless `hedging: false`) with 10,000 USD at 1:100 unless told otherwise. */
  addAccount(options: AddCtraderAccountOptions = {}): { ctidTraderAccountId: number; traderLogin: number; marketAccountId: string } {
    const ctidTraderAccountId = this.nextAccountId++;
    const traderLogin = this.nextTraderLogin++;
    const account = new CtraderAccount({
      market: this.market,
      catalog: this.catalog,
      enumValue: (enumName, valueName) => this.conformance.enumValue(enumName, valueName),
      now: this.now,
      ctidTraderAccountId,
      traderLogin,
      marketAccountId: `ctrader-${ctidTraderAccountId}`,
      hedging: options.hedging ?? true,
      balance: options.balance ?? 10_000,
      currency: options.currency ?? 'USD',
      leverage: 100,
      live: options.live ?? false,
    });
    this.accounts.set(ctidTraderAccountId, account);
    this.accountsByMarketId.set(account.marketAccountId, account);
    return { ctidTraderAccountId, traderLogin, marketAccountId: account.marketAccountId };
  }

  /**
   * What cTrader's consent page does when the user allows access: checks the authorization URL
   * the app built (`https://id.ctrader.com/my/settings/openapi/grantingaccess/?client_id=&redirect_uri=&scope=trading&product=web&state=`,
   * or the same path on `url`) and returns the redirect `${redirect_uri}?code=...&state=...`
   * granting the accounts. The code is single-use and valid 60 s. Throws on a URL cTrader would refuse.
   */
  consent(authorizationUrl: string, ctidTraderAccountIds: number[]): string {
    const url = new URL(authorizationUrl);
    if (!(url.origin === 'https://id.ctrader.com' || url.origin === this.url) || !CONSENT_PATH.test(url.pathname)) {
      throw new Error(`Not cTrader's consent page: ${url.origin}${url.pathname}`);
    }
    const query = url.searchParams;
    if (query.get('client_id') !== this.clientId) throw new Error('client_id is not the application of this fake');
    const redirectUri = query.get('redirect_uri');
    if (!redirectUri || !/^https?:\/\//.test(redirectUri) || !URL.canParse(redirectUri)) throw new Error('redirect_uri must be an absolute http(s) URL');
    if (query.get('scope') !== 'trading') throw new Error('scope must be trading');
    const product = query.get('product');
    if (product !== null && product !== 'web') throw new Error('product must be web');
    if (ctidTraderAccountIds.length === 0) throw new Error('The user granted no account');
    for (const id of ctidTraderAccountIds) if (!this.accounts.has(id)) throw new Error(`No trading account ${id}`);
    const code = token();
    this.codes.set(code, { redirectUri, accounts: [...ctidTraderAccountIds], expiresAt: this.now().getTime() + CODE_TTL_MS, used: false });
    const redirect = new URL(redirectUri);
    redirect.searchParams.set('code', code);
    const state = query.get('state');
    if (state !== null) redirect.searchParams.set('state', state);
    return redirect.toString();
  }

  /** Tokens granting the accounts, without the OAuth dance. */
  issueTokens(ctidTraderAccountIds: number[]): { accessToken: string; refreshToken: string; expiresIn: number } {
    for (const id of ctidTraderAccountIds) if (!this.accounts.has(id)) throw new Error(`No trading account ${id}`);
    return this.issue({ accounts: [...ctidTraderAccountIds], revoked: false });
  }

  /** The tokens that work now for an account (what an app that was granted it holds): tests expire or revoke them. */
  tokensOf(ctidTraderAccountId: number): { accessTokens: string[]; refreshTokens: string[] } {
    const grants = (entry: { grant: Grant; state: string }) => entry.state === 'valid' && entry.grant.accounts.includes(ctidTraderAccountId);
    return {
      accessTokens: [...this.accessTokens].filter(([, entry]) => grants(entry)).map(([token]) => token),
      refreshTokens: [...this.refreshTokens].filter(([, entry]) => grants(entry)).map(([token]) => token),
    };
  }

  /** The access token stops working, as after its expiry; the refresh token still works. */
  expireAccessToken(accessToken: string): void {
    const entry = this.accessTokens.get(accessToken);
    if (!entry) throw new Error('Unknown access token');
    if (entry.state === 'valid') this.invalidateAccess(accessToken, entry, 'expired', 'Access Token is expired');
  }

  /** The user revoked the app: the grant's tokens stop working; sessions get ProtoOAAccountsTokenInvalidatedEvent. */
  revokeGrant(refreshToken: string): void {
    const entry = this.refreshTokens.get(refreshToken);
    if (!entry) throw new Error('Unknown refresh token');
    const grant = entry.grant;
    grant.revoked = true;
    for (const refresh of this.refreshTokens.values()) if (refresh.grant === grant) refresh.state = 'revoked';
    for (const [accessToken, access] of this.accessTokens) {
      if (access.grant === grant && access.state === 'valid') this.invalidateAccess(accessToken, access, 'revoked', 'Access Token is revoked');
    }
  }

  /** Fields given replace the current ones. */
  setFaults(faults: FakeCtraderFaults): void {
    if (faults.rateLimitNext !== undefined) this.faults.rateLimitNext = faults.rateLimitNext;
    if (faults.rejectNextOrder !== undefined) this.faults.rejectNextOrder = faults.rejectNextOrder;
    if (faults.dropNextTradeAnswer !== undefined) this.faults.dropNextTradeAnswer = faults.dropNextTradeAnswer;
  }

  /** Destroys every open WebSocket, as a network failure would. */
  dropConnections(): void {
    for (const session of this.sessions) session.socket.terminate();
  }

  /** Every client message so far, in order (heartbeats and refused ones included). */
  received(): { payloadType: number; name: string }[] {
    return this.messages.map((message) => ({ ...message }));
  }

  /** Closes everything; throws when the fake ever produced a message that did not conform, or failed. */
  async stop(): Promise<void> {
    this.stopWatching();
    for (const timer of this.timers) clearInterval(timer);
    const closing = [...this.sessions].map((session) => {
      clearInterval(session.heartbeat);
      this.send(session, 'ProtoOAClientDisconnectEvent', { reason: 'The fake cTrader is stopping' });
      const closed = new Promise<void>((resolve) => session.socket.once('close', () => resolve()));
      session.socket.close(1000, 'stopping');
      return closed;
    });
    await Promise.race([Promise.all(closing), sleep(200)]);
    for (const session of this.sessions) session.socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    if (this.drift.length > 0) throw new CtraderConformanceError(this.drift);
  }

  private issue(grant: Grant): { accessToken: string; refreshToken: string; expiresIn: number } {
    const accessToken = token();
    const refreshToken = token();
    this.accessTokens.set(accessToken, { grant, expiresAt: this.now().getTime() + this.accessTokenTtlSeconds * 1000, state: 'valid' });
    this.refreshTokens.set(refreshToken, { grant, state: 'valid' });
    return { accessToken, refreshToken, expiresIn: this.accessTokenTtlSeconds };
  }

  private validAccess(accessToken: string): AccessToken | undefined {
    const entry = this.accessTokens.get(accessToken);
    if (entry?.state !== 'valid' || entry.grant.revoked) return undefined;
    if (this.now().getTime() >= entry.expiresAt) {
      this.invalidateAccess(accessToken, entry, 'expired', 'Access Token is expired');
      return undefined;
    }
    return entry;
  }

  /** Spends a refresh token for a new pair; the old access token ends. */
  private refresh(refreshToken: string): { accessToken: string; refreshToken: string; expiresIn: number } | undefined {
    const entry = this.refreshTokens.get(refreshToken);
    if (entry?.state !== 'valid' || entry.grant.revoked) return undefined;
    entry.state = 'spent';
    for (const [accessToken, access] of this.accessTokens) {
      if (access.grant === entry.grant && access.state === 'valid') this.invalidateAccess(accessToken, access, 'refreshed', 'Access Token is refreshed');
    }
    return this.issue(entry.grant);
  }

  /** Ends an access token; the sessions it authorized lose those accounts and hear why. */
  private invalidateAccess(accessToken: string, entry: AccessToken, state: AccessToken['state'], reason: string): void {
    entry.state = state;
    for (const session of this.sessions) {
      const ids = [...session.accounts].filter(([, used]) => used === accessToken).map(([id]) => id);
      if (ids.length === 0) continue;
      for (const id of ids) {
        session.accounts.delete(id);
        session.spots.delete(id);
      }
      this.send(session, 'ProtoOAAccountsTokenInvalidatedEvent', { ctidTraderAccountIds: ids, reason });
    }
  }

  // ---- HTTP: OAuth -----------------------------------------------------------------------

  private async serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const json = (status: number, body: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/apps/token' && (req.method === 'GET' || req.method === 'POST')) {
      const params = new URLSearchParams(url.searchParams);
      if (req.method === 'POST') {
        const body = await readBody(req);
        for (const [key, value] of new URLSearchParams(body)) if (!params.has(key)) params.set(key, value);
      }
      json(200, this.tokenEndpoint(params));
      return;
    }
    if (CONSENT_PATH.test(url.pathname) && req.method === 'GET') {
      const listed = url.searchParams.get('ctidTraderAccountIds');
      const ids = listed ? listed.split(',').map(Number) : [...this.accounts.keys()];
      try {
        const location = this.consent(url.toString(), ids);
        res.writeHead(302, { Location: location }).end();
      } catch (cause) {
        res.writeHead(400, { 'Content-Type': 'text/plain' }).end(cause instanceof Error ? cause.message : String(cause));
      }
      return;
    }
    json(404, { errorCode: 'NOT_FOUND', description: `No ${req.method} ${url.pathname}` });
  }

  /** `GET /apps/token`: authorization_code or refresh_token grants, as cTrader answers them. */
  private tokenEndpoint(params: URLSearchParams): Wire {
    const refuse = (errorCode: string, description: string) => ({ errorCode, description });
    const grantType = params.get('grant_type');
    if (!grantType) return refuse('INVALID_REQUEST', 'grant_type is missing');
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token') return refuse('INVALID_REQUEST', `Unsupported grant_type ${grantType}`);
    if (params.get('client_id') !== this.clientId || params.get('client_secret') !== this.clientSecret) {
      return refuse('ACCESS_DENIED', 'Invalid client credentials');
    }
    let issued: { accessToken: string; refreshToken: string; expiresIn: number } | undefined;
    if (grantType === 'authorization_code') {
      const code = params.get('code');
      const redirectUri = params.get('redirect_uri');
      if (!code || !redirectUri) return refuse('INVALID_REQUEST', 'code and redirect_uri are required');
      const entry = this.codes.get(code);
      if (!entry || entry.used || this.now().getTime() >= entry.expiresAt) return refuse('ACCESS_DENIED', 'The authorization code is invalid, used or expired');
      if (entry.redirectUri !== redirectUri) return refuse('ACCESS_DENIED', 'redirect_uri is not the one the code was issued for');
      entry.used = true;
      issued = this.issue({ accounts: entry.accounts, revoked: false });
    } else {
      const refreshToken = params.get('refresh_token');
      if (!refreshToken) return refuse('INVALID_REQUEST', 'refresh_token is required');
      issued = this.refresh(refreshToken);
      if (!issued) return refuse('ACCESS_DENIED', 'The refresh token is invalid, spent or revoked');
    }
    return {
      accessToken: issued.accessToken,
      tokenType: 'bearer',
      expiresIn: issued.expiresIn,
      refreshToken: issued.refreshToken,
      errorCode: null,
      description: null,
    };
  }

  // ---- WebSocket: sessions ----------------------------------------------------------------

  private open(socket: WebSocket): void {
    const session: Session = {
      socket,
      appAuthorized: false,
      accounts: new Map(),
      spots: new Map(),
      lastHeard: performance.now(),
      queue: Promise.resolve(),
      heartbeat: setInterval(() => this.send(session, 'ProtoHeartbeatEvent', {}), HEARTBEAT_MS),
    };
    session.heartbeat.unref();
    this.sessions.add(session);
    socket.on('message', (data, isBinary) => {
      session.lastHeard = performance.now();
      const text = isBinary ? '' : String(data);
      session.queue = session.queue.then(() => this.guardAsync(() => this.receive(session, text)));
    });
    socket.on('close', () => {
      clearInterval(session.heartbeat);
      this.sessions.delete(session);
    });
    socket.on('error', () => socket.terminate());
  }

  /** Closes the sockets silent too long; ends the sessions of access tokens the clock expired. */
  private closeSilent(): void {
    const now = performance.now();
    for (const session of this.sessions) {
      if (now - session.lastHeard > this.heartbeatTimeoutMs) session.socket.terminate();
    }
    const used = new Set([...this.sessions].flatMap((session) => [...session.accounts.values()]));
    for (const accessToken of used) this.validAccess(accessToken);
  }

  /** Sends one message, checked against the definitions first; one that does not conform is replaced by UNKNOWN_ERROR and recorded. */
  private send(session: Session, name: string, payload: Wire, clientMsgId?: string): void {
    if (session.socket.readyState !== session.socket.OPEN) return;
    const message = JSON.parse(JSON.stringify(compact({ clientMsgId, payloadType: this.conformance.payloadTypeOf(name), payload }))) as Wire;
    const { problems } = this.conformance.verdict(message);
    if (problems.length > 0) {
      this.drift.push(...problems);
      console.error(new CtraderConformanceError(problems).message);
      const fallback = compact({
        clientMsgId,
        payloadType: this.conformance.payloadTypeOf('ProtoOAErrorRes'),
        payload: { errorCode: 'UNKNOWN_ERROR', description: `The fake cTrader drifted from the definitions: ${problems[0] ?? ''}` },
      });
      session.socket.send(JSON.stringify(fallback));
      return;
    }
    this.conformance.validated += 1;
    session.socket.send(JSON.stringify(message));
  }

  private async receive(session: Session, text: string): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.messages.push({ payloadType: 0, name: 'unparsable' });
      this.send(session, 'ProtoErrorRes', { errorCode: 'INVALID_REQUEST', description: 'The message is not JSON' });
      return;
    }
    const verdict = this.conformance.verdict(parsed);
    const envelope = isObject(parsed) ? parsed : {};
    const clientMsgId = str(envelope.clientMsgId);
    const payloadType = verdict.payloadType ?? num(envelope.payloadType) ?? 0;
    const name = verdict.name ?? 'unknown';
    this.messages.push({ payloadType, name });
    if (verdict.problems.length > 0) {
      const common = !name.startsWith('ProtoOA');
      this.send(
        session,
        common ? 'ProtoErrorRes' : 'ProtoOAErrorRes',
        { errorCode: 'INVALID_REQUEST', description: `The message does not conform to the Open API definitions: ${verdict.problems.join('; ')}` },
        clientMsgId,
      );
      return;
    }
    if (name === 'ProtoHeartbeatEvent') return;
    const payload = isObject(envelope.payload) ? envelope.payload : {};
    const request: Request = { session, name, payload, clientMsgId };
    try {
      await this.handle(request);
    } catch (cause) {
      if (cause instanceof RequestRefused) {
        this.error(request, cause.errorCode, cause.message);
        return;
      }
      throw cause;
    }
  }

  private error(request: Request, errorCode: string, description: string): void {
    this.send(
      request.session,
      'ProtoOAErrorRes',
      compact({ ctidTraderAccountId: num(request.payload.ctidTraderAccountId), errorCode, description }),
      request.clientMsgId,
    );
  }

  private answer(request: Request, name: string, payload: Wire): void {
    this.send(request.session, name, payload, request.clientMsgId);
  }

  private async handle(request: Request): Promise<void> {
    const { session, name, payload } = request;
    if (this.faults.rateLimitNext > 0) {
      this.faults.rateLimitNext -= 1;
      throw new RequestRefused('REQUEST_FREQUENCY_EXCEEDED', 'Request frequency is reached');
    }
    if (name === 'ProtoOAApplicationAuthReq') {
      if (session.appAuthorized) throw new RequestRefused('CH_CLIENT_ALREADY_AUTHENTICATED', 'The application is already authorized on this connection');
      if (payload.clientId !== this.clientId || payload.clientSecret !== this.clientSecret) {
        throw new RequestRefused('CH_CLIENT_AUTH_FAILURE', 'Open API client is not activated or wrong client credentials');
      }
      session.appAuthorized = true;
      this.answer(request, 'ProtoOAApplicationAuthRes', {});
      return;
    }
    if (!session.appAuthorized) throw new RequestRefused('CH_CLIENT_NOT_AUTHENTICATED', 'The application is not authorized on this connection');
    switch (name) {
      case 'ProtoOAVersionReq':
        return this.answer(request, 'ProtoOAVersionRes', { version: VERSION });
      case 'ProtoOAAccountAuthReq':
        return this.authorizeAccount(request);
      case 'ProtoOAGetAccountListByAccessTokenReq':
        return this.accountList(request);
      case 'ProtoOARefreshTokenReq': {
        const issued = this.refresh(String(payload.refreshToken));
        if (!issued) throw new RequestRefused('CH_ACCESS_TOKEN_INVALID', 'The refresh token is invalid, spent or revoked');
        return this.answer(request, 'ProtoOARefreshTokenRes', {
          accessToken: issued.accessToken,
          tokenType: 'bearer',
          expiresIn: issued.expiresIn,
          refreshToken: issued.refreshToken,
        });
      }
    }
    const ctidTraderAccountId = num(payload.ctidTraderAccountId);
    if (ctidTraderAccountId === undefined) {
      throw new RequestRefused('UNSUPPORTED_MESSAGE', `${name} is not a request the fake cTrader serves`);
    }
    const used = session.accounts.get(ctidTraderAccountId);
    if (used !== undefined && !this.validAccess(used)) {
      // Its token ran out on the clock: the session heard ProtoOAAccountsTokenInvalidatedEvent just now.
      throw new RequestRefused('OA_AUTH_TOKEN_EXPIRED', `The access token of trading account ${ctidTraderAccountId} is expired`);
    }
    const account = this.accounts.get(ctidTraderAccountId);
    if (!account || !session.accounts.has(ctidTraderAccountId)) {
      throw new RequestRefused('ACCOUNT_NOT_AUTHORIZED', `Trading account ${ctidTraderAccountId} is not authorized on this connection`);
    }
    const latency = this.market.getFaults(account.marketAccountId).latencyMs;
    if (latency > 0) await sleep(latency);
    this.push(account, account.sync());
    if (TRADE_REQUESTS.has(name)) return this.trade(request, account);
    this.accountRequest(request, account);
  }

  private authorizeAccount(request: Request): void {
    const ctidTraderAccountId = Number(request.payload.ctidTraderAccountId);
    const accessToken = String(request.payload.accessToken);
    const access = this.validAccess(accessToken);
    if (!access) throw new RequestRefused('CH_ACCESS_TOKEN_INVALID', 'Access token is invalid');
    if (!this.accounts.has(ctidTraderAccountId))
      throw new RequestRefused('CH_CTID_TRADER_ACCOUNT_NOT_FOUND', `Trading account ${ctidTraderAccountId} is not found`);
    if (!access.grant.accounts.includes(ctidTraderAccountId)) {
      throw new RequestRefused('ACCOUNT_NOT_AUTHORIZED', `The access token does not grant trading account ${ctidTraderAccountId}`);
    }
    if (request.session.accounts.has(ctidTraderAccountId))
      throw new RequestRefused('ALREADY_LOGGED_IN', `Trading account ${ctidTraderAccountId} is already authorized`);
    request.session.accounts.set(ctidTraderAccountId, accessToken);
    this.answer(request, 'ProtoOAAccountAuthRes', { ctidTraderAccountId });
  }

  private accountList(request: Request): void {
    const accessToken = String(request.payload.accessToken);
    const access = this.validAccess(accessToken);
    if (!access) throw new RequestRefused('CH_ACCESS_TOKEN_INVALID', 'Access token is invalid');
    const accounts = access.grant.accounts.flatMap((id) => {
      const account = this.accounts.get(id);
      return account ? [account.ctidTraderAccount()] : [];
    });
    this.answer(
      request,
      'ProtoOAGetAccountListByAccessTokenRes',
      nonEmpty({ accessToken, permissionScope: this.conformance.enumValue('ProtoOAClientPermissionScope', 'SCOPE_TRADE'), ctidTraderAccount: accounts }),
    );
  }

  /** Requests that read the account or subscribe to prices. */
  private accountRequest(request: Request, account: CtraderAccount): void {
    const { payload, session } = request;
    const ctidTraderAccountId = account.ctidTraderAccountId;
    switch (request.name) {
      case 'ProtoOAAccountLogoutReq':
        session.accounts.delete(ctidTraderAccountId);
        session.spots.delete(ctidTraderAccountId);
        this.answer(request, 'ProtoOAAccountLogoutRes', { ctidTraderAccountId });
        this.send(session, 'ProtoOAAccountDisconnectEvent', { ctidTraderAccountId });
        return;
      case 'ProtoOATraderReq':
        this.answer(request, 'ProtoOATraderRes', { ctidTraderAccountId, trader: account.trader() });
        return;
      case 'ProtoOAAssetListReq':
        this.answer(request, 'ProtoOAAssetListRes', nonEmpty({ ctidTraderAccountId, asset: this.catalog.assets() }));
        return;
      case 'ProtoOASymbolsListReq':
        this.answer(
          request,
          'ProtoOASymbolsListRes',
          nonEmpty({ ctidTraderAccountId, symbol: this.catalog.symbols().map((symbol) => this.catalog.lightSymbol(symbol)) }),
        );
        return;
      case 'ProtoOASymbolByIdReq': {
        const ids = (payload.symbolId as number[] | undefined) ?? [];
        const symbols = ids.map((id) => {
          const symbol = this.catalog.symbolById(id);
          if (!symbol) throw new RequestRefused('SYMBOL_NOT_FOUND', `Symbol ${id} is not found`);
          return this.catalog.fullSymbol(symbol, (enumName, valueName) => this.conformance.enumValue(enumName, valueName));
        });
        this.answer(request, 'ProtoOASymbolByIdRes', nonEmpty({ ctidTraderAccountId, symbol: symbols }));
        return;
      }
      case 'ProtoOAReconcileReq': {
        const { position, order } = account.reconcile(payload.returnProtectionOrders === true);
        this.answer(request, 'ProtoOAReconcileRes', nonEmpty({ ctidTraderAccountId, position, order }));
        return;
      }
      case 'ProtoOADealListReq': {
        const [from, to] = this.boundaries(payload);
        const maxRows = num(payload.maxRows);
        const { deal, hasMore } = account.dealList(from, to, maxRows);
        this.answer(request, 'ProtoOADealListRes', nonEmpty({ ctidTraderAccountId, deal, hasMore }));
        return;
      }
      case 'ProtoOAOrderListReq': {
        const [from, to] = this.boundaries(payload);
        this.answer(request, 'ProtoOAOrderListRes', nonEmpty({ ctidTraderAccountId, order: account.orderList(from, to), hasMore: false }));
        return;
      }
      case 'ProtoOAGetPositionUnrealizedPnLReq':
        this.answer(
          request,
          'ProtoOAGetPositionUnrealizedPnLRes',
          nonEmpty({ ctidTraderAccountId, positionUnrealizedPnL: account.unrealizedPnL(), moneyDigits: MONEY_DIGITS }),
        );
        return;
      case 'ProtoOASubscribeSpotsReq':
        this.subscribeSpots(request, account);
        return;
      case 'ProtoOAUnsubscribeSpotsReq': {
        const subscribed = session.spots.get(ctidTraderAccountId);
        for (const id of (payload.symbolId as number[] | undefined) ?? []) subscribed?.delete(id);
        this.answer(request, 'ProtoOAUnsubscribeSpotsRes', { ctidTraderAccountId });
        return;
      }
      default:
        throw new RequestRefused('UNSUPPORTED_MESSAGE', `${request.name} is not a request the fake cTrader serves`);
    }
  }

  /** fromTimestamp / toTimestamp of a history request: 0 and now when left out; INCORRECT_BOUNDARIES when out of order or range. */
  private boundaries(payload: Wire): [number, number] {
    const from = num(payload.fromTimestamp) ?? 0;
    const to = num(payload.toTimestamp) ?? this.now().getTime();
    if (from < 0 || to > MAX_TIMESTAMP || from > to) throw new RequestRefused('INCORRECT_BOUNDARIES', `Invalid period from ${from} to ${to}`);
    return [from, to];
  }

  private subscribeSpots(request: Request, account: CtraderAccount): void {
    const ids = (request.payload.symbolId as number[] | undefined) ?? [];
    const symbols = ids.map((id) => {
      const symbol = this.catalog.symbolById(id);
      if (!symbol) throw new RequestRefused('SYMBOL_NOT_FOUND', `Symbol ${id} is not found`);
      return symbol;
    });
    const subscribed = request.session.spots.get(account.ctidTraderAccountId) ?? new Map();
    for (const symbol of symbols) {
      if (subscribed.has(symbol.symbolId)) throw new RequestRefused('ALREADY_SUBSCRIBED', `Already subscribed to spots of symbol ${symbol.symbolId}`);
    }
    request.session.spots.set(account.ctidTraderAccountId, subscribed);
    this.answer(request, 'ProtoOASubscribeSpotsRes', { ctidTraderAccountId: account.ctidTraderAccountId });
    for (const symbol of symbols) subscribed.set(symbol.symbolId, { timestamp: request.payload.subscribeToSpotTimestamp === true });
    this.sendSpots();
  }

  /** Spot events of prices that moved since the last one each subscription got (the first carries both sides). */
  private sendSpots(): void {
    for (const session of this.sessions) {
      for (const [ctidTraderAccountId, subscribed] of session.spots) {
        for (const [symbolId, last] of subscribed) {
          const symbol = this.catalog.symbolById(symbolId);
          const quote = symbol ? this.market.getQuote(symbol.name) : undefined;
          if (!quote) continue;
          const bid = points(quote.bid);
          const ask = points(quote.ask);
          if (bid === last.bid && ask === last.ask) continue;
          this.send(
            session,
            'ProtoOASpotEvent',
            compact({
              ctidTraderAccountId,
              symbolId,
              bid: bid === last.bid ? undefined : bid,
              ask: ask === last.ask ? undefined : ask,
              timestamp: last.timestamp ? Date.parse(quote.time) : undefined,
            }),
          );
          last.bid = bid;
          last.ask = ask;
        }
      }
    }
  }

  // ---- trading ---------------------------------------------------------------------------

  private trade(request: Request, account: CtraderAccount): void {
    let plan: TradePlan;
    try {
      plan = this.plan(request, account);
    } catch (cause) {
      if (cause instanceof OrderRefused) {
        this.orderError(request, account, cause);
        return;
      }
      throw cause;
    }
    if (plan.order && this.faults.rejectNextOrder) {
      const { errorCode, description } = this.faults.rejectNextOrder;
      this.faults.rejectNextOrder = undefined;
      this.orderError(request, account, new OrderRefused(errorCode, description ?? `Simulated ${errorCode}`, plan.ids));
      return;
    }
    const fault = this.market.takeTradeFault(account.marketAccountId);
    if (fault?.kind === 'reject') {
      if (fault.code === 'CONNECTION') return void request.session.socket.terminate();
      if (fault.code === 'TOO_MANY_REQUESTS') throw new RequestRefused('REQUEST_FREQUENCY_EXCEEDED', 'Request frequency is reached');
      this.orderError(request, account, new OrderRefused(ERROR_CODES[fault.code], `Simulated ${fault.code}`, plan.ids));
      return;
    }
    try {
      plan.execute();
    } catch (cause) {
      if (cause instanceof OrderRefused) {
        this.orderError(request, account, cause);
        return;
      }
      if (isBrokerError(cause)) {
        this.orderError(request, account, new OrderRefused(ERROR_CODES[cause.code], cause.message, plan.ids));
        return;
      }
      throw cause;
    }
    const events = account.sync(plan.intent);
    if (events.length === 0) {
      const unchanged = plan.unchanged?.();
      if (unchanged) events.push(unchanged);
    }
    const drop = fault?.kind === 'timeoutAfterExecute' || this.faults.dropNextTradeAnswer > 0;
    if (fault?.kind !== 'timeoutAfterExecute' && this.faults.dropNextTradeAnswer > 0) this.faults.dropNextTradeAnswer -= 1;
    this.push(account, events, { session: request.session, clientMsgId: request.clientMsgId, drop });
  }

  private orderError(request: Request, account: CtraderAccount, refusal: OrderRefused): void {
    this.answer(
      request,
      'ProtoOAOrderErrorEvent',
      compact({
        ctidTraderAccountId: account.ctidTraderAccountId,
        errorCode: refusal.errorCode,
        orderId: refusal.ids.orderId,
        positionId: refusal.ids.positionId,
        description: refusal.message,
      }),
    );
  }

  /** The checks of a trade request, in cTrader's terms, and what it does to the market. */
  private plan(request: Request, account: CtraderAccount): TradePlan {
    const { payload } = request;
    const marketAccountId = account.marketAccountId;
    const unsupported = (what: string) => new RequestRefused('INVALID_REQUEST', `${what} is not supported by the fake cTrader`);
    if (payload.guaranteedStopLoss === true) throw unsupported('A guaranteed stop loss');
    if (payload.trailingStopLoss === true) throw unsupported('A trailing stop loss');
    switch (request.name) {
      case 'ProtoOANewOrderReq':
        return this.newOrderPlan(request, account);
      case 'ProtoOAClosePositionReq': {
        const positionId = Number(payload.positionId);
        const position = account.openPosition(positionId);
        if (!position) throw new OrderRefused('POSITION_NOT_FOUND', `Position ${positionId} is not found`, { positionId });
        const symbol = this.symbolOf(position.symbol);
        const volume = lotsOf(Number(payload.volume), symbol);
        return {
          order: true,
          ids: { positionId },
          intent: { orderType: 'MARKET', side: position.side === 'buy' ? 'sell' : 'buy', symbol: position.symbol, volume, closingPositionId: positionId },
          execute: () => {
            this.market.closePosition(marketAccountId, String(positionId), { volume });
          },
        };
      }
      case 'ProtoOAAmendPositionSLTPReq': {
        const positionId = Number(payload.positionId);
        const position = account.openPosition(positionId);
        if (!position) throw new OrderRefused('POSITION_NOT_FOUND', `Position ${positionId} is not found`, { positionId });
        return {
          order: false,
          ids: { positionId },
          execute: () =>
            this.market.modifyPosition(marketAccountId, String(positionId), {
              stopLoss: num(payload.stopLoss) ?? null,
              takeProfit: num(payload.takeProfit) ?? null,
            }),
          unchanged: () => account.positionAmended(positionId),
        };
      }
      case 'ProtoOAAmendOrderReq': {
        const orderId = Number(payload.orderId);
        const order = account.pendingOrder(orderId);
        if (!order) throw new OrderRefused('ORDER_NOT_FOUND', `Order ${orderId} is not found`, { orderId });
        if (payload.expirationTimestamp !== undefined) throw unsupported('An expiration');
        if (payload.slippageInPoints !== undefined) throw unsupported('Slippage');
        const symbol = this.symbolOf(order.symbol);
        if (payload.volume !== undefined && lotsOf(Number(payload.volume), symbol) !== order.volume) throw unsupported("Changing a pending order's volume");
        if (order.type === 'LIMIT' && payload.stopPrice !== undefined) throw new RequestRefused('INVALID_REQUEST', 'stopPrice is for STOP orders');
        if (order.type === 'STOP' && payload.limitPrice !== undefined) throw new RequestRefused('INVALID_REQUEST', 'limitPrice is for LIMIT orders');
        const price = num(order.type === 'LIMIT' ? payload.limitPrice : payload.stopPrice) ?? order.price ?? 0;
        const stops = this.stops(payload, order.side, price, symbol);
        return {
          order: false,
          ids: { orderId },
          execute: () =>
            this.market.modifyOrder(marketAccountId, String(orderId), { price, stopLoss: stops.stopLoss ?? null, takeProfit: stops.takeProfit ?? null }),
          unchanged: () => account.orderReplaced(orderId),
        };
      }
      case 'ProtoOACancelOrderReq': {
        const orderId = Number(payload.orderId);
        if (!account.pendingOrder(orderId)) throw new OrderRefused('ORDER_NOT_FOUND', `Order ${orderId} is not found`, { orderId });
        return { order: false, ids: { orderId }, execute: () => this.market.cancelOrder(marketAccountId, String(orderId)) };
      }
      default:
        throw new Error(`not a trade request: ${request.name}`);
    }
  }

  private newOrderPlan(request: Request, account: CtraderAccount): TradePlan {
    const { payload } = request;
    const marketAccountId = account.marketAccountId;
    const unsupported = (what: string) => new RequestRefused('INVALID_REQUEST', `${what} is not supported by the fake cTrader`);
    const orderTypes = ['MARKET', 'LIMIT', 'STOP'] as const;
    const orderType = orderTypes.find((type) => this.conformance.enumValue('ProtoOAOrderType', type) === payload.orderType);
    if (!orderType) throw unsupported('This order type');
    const timeInForce = num(payload.timeInForce);
    if (
      timeInForce === this.conformance.enumValue('ProtoOATimeInForce', 'GOOD_TILL_DATE') ||
      timeInForce === this.conformance.enumValue('ProtoOATimeInForce', 'MARKET_ON_OPEN')
    ) {
      throw unsupported('This time in force');
    }
    if (payload.expirationTimestamp !== undefined) throw unsupported('An expiration');
    if (payload.baseSlippagePrice !== undefined || payload.slippageInPoints !== undefined)
      throw new RequestRefused('INVALID_REQUEST', 'Slippage is for MARKET_RANGE and STOP_LIMIT orders');
    for (const [field, max] of [
      ['comment', 512],
      ['label', 100],
      ['clientOrderId', 50],
    ] as const) {
      if ((str(payload[field])?.length ?? 0) > max) throw new RequestRefused('INVALID_REQUEST', `${field} is longer than ${max}`);
    }
    const symbol = this.catalog.symbolById(Number(payload.symbolId));
    if (!symbol) throw new OrderRefused('SYMBOL_NOT_FOUND', `Symbol ${String(payload.symbolId)} is not found`);
    const side: Side = payload.tradeSide === this.conformance.enumValue('ProtoOATradeSide', 'BUY') ? 'buy' : 'sell';
    const volume = lotsOf(Number(payload.volume), symbol);
    const label = str(payload.label);
    const comment = str(payload.comment);
    const clientOrderId = str(payload.clientOrderId);
    const relativeStopLoss = num(payload.relativeStopLoss);
    const relativeTakeProfit = num(payload.relativeTakeProfit);
    const common = { side, symbol: symbol.name, volume, label, comment, clientOrderId, relativeStopLoss, relativeTakeProfit };
    const positionId = num(payload.positionId);
    if (positionId !== undefined) {
      const position = account.openPosition(positionId);
      if (!position) throw new OrderRefused('POSITION_NOT_FOUND', `Position ${positionId} is not found`, { positionId });
      if (position.symbol !== symbol.name) throw new RequestRefused('INVALID_REQUEST', `Position ${positionId} is not of symbol ${symbol.symbolId}`);
      if (position.side !== side) {
        if (orderType !== 'MARKET') throw unsupported('A pending order closing a position');
        return {
          order: true,
          ids: { positionId },
          intent: { orderType, ...common, closingPositionId: positionId },
          execute: () => {
            this.market.closePosition(marketAccountId, String(positionId), { volume, ...(clientOrderId ? { clientId: clientOrderId } : {}) });
          },
        };
      }
      if (account.hedging) throw unsupported('Adding to a position of a HEDGED account by positionId');
    }
    const base = { symbol: symbol.name, side, volume, ...(clientOrderId ? { clientId: clientOrderId } : {}), ...(comment ? { comment } : {}) };
    if (orderType === 'MARKET') {
      if (payload.limitPrice !== undefined || payload.stopPrice !== undefined)
        throw new RequestRefused('INVALID_REQUEST', 'A MARKET order takes no limitPrice or stopPrice');
      if (payload.stopLoss !== undefined || payload.takeProfit !== undefined) {
        throw new RequestRefused('INVALID_REQUEST', 'SL/TP in absolute values are allowed only for order types: [LIMIT, STOP, STOP_LIMIT]');
      }
      const quote = this.market.getQuote(symbol.name);
      const entry = side === 'buy' ? (quote?.ask ?? 0) : (quote?.bid ?? 0);
      const stops = this.stops(payload, side, entry, symbol);
      return {
        order: true,
        intent: { orderType, ...common },
        execute: () => {
          this.market.placeOrder(marketAccountId, { ...base, type: 'market', ...stops } as TradeRequest);
        },
      };
    }
    const priceField = orderType === 'LIMIT' ? 'limitPrice' : 'stopPrice';
    const otherField = orderType === 'LIMIT' ? 'stopPrice' : 'limitPrice';
    const price = num(payload[priceField]);
    if (price === undefined) throw new RequestRefused('INVALID_REQUEST', `A ${orderType} order needs ${priceField}`);
    if (payload[otherField] !== undefined) throw new RequestRefused('INVALID_REQUEST', `A ${orderType} order takes no ${otherField}`);
    const stops = this.stops(payload, side, price, symbol);
    return {
      order: true,
      intent: { orderType, ...common },
      execute: () => {
        this.market.placeOrder(marketAccountId, { ...base, type: orderType === 'LIMIT' ? 'limit' : 'stop', price, ...stops } as TradeRequest);
      },
    };
  }

  /** Absolute stops of a request: as given, or from relative distances off `entry` (whole ticks only). */
  private stops(payload: Wire, side: Side, entry: number, symbol: SymbolEntry): { stopLoss?: number; takeProfit?: number } {
    const stops: { stopLoss?: number; takeProfit?: number } = {};
    for (const kind of ['stopLoss', 'takeProfit'] as const) {
      const relativeField = kind === 'stopLoss' ? 'relativeStopLoss' : 'relativeTakeProfit';
      const absolute = num(payload[kind]);
      const relative = num(payload[relativeField]);
      if (absolute !== undefined && relative !== undefined) throw new RequestRefused('INVALID_REQUEST', `${kind} and ${relativeField} exclude each other`);
      if (relative !== undefined) {
        if (relative <= 0) throw new OrderRefused('TRADING_BAD_STOPS', `${relativeField} must be positive`);
        if (!isRelativePrecise(relative, symbol.digits)) {
          throw new OrderRefused(
            'TRADING_BAD_STOPS',
            `${relativeField} ${relative} is not a whole number of ticks of ${symbol.name} (${symbol.digits} digits)`,
          );
        }
        stops[kind] = absoluteFromRelative(side, entry, relative, kind, symbol.digits);
      } else if (absolute !== undefined) {
        stops[kind] = absolute;
      }
    }
    return stops;
  }

  private symbolOf(name: string): SymbolEntry {
    const symbol = this.catalog.symbolByName(name);
    if (!symbol) throw new Error(`The market has no symbol ${name}`);
    return symbol;
  }

  /**
   * Sends an account's execution events to every socket it is authorized on. The requesting
   * socket's carry the request's clientMsgId; with `drop` that socket gets none and is destroyed.
   */
  private push(account: CtraderAccount, events: Wire[], origin?: { session: Session; clientMsgId: string | undefined; drop: boolean }): void {
    for (const session of this.sessions) {
      if (!session.accounts.has(account.ctidTraderAccountId)) continue;
      const own = origin?.session === session;
      if (own && origin.drop) continue;
      for (const event of events) this.send(session, 'ProtoOAExecutionEvent', event, own ? origin.clientMsgId : undefined);
    }
    if (origin?.drop) origin.session.socket.terminate();
  }

  /** Runs a piece of the fake; a failure is the fake's own bug: recorded (stop() throws) and logged. */
  private guard(run: () => void): void {
    try {
      run();
    } catch (cause) {
      this.drift.push(`the fake cTrader failed: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`);
      console.error(cause);
    }
  }

  private async guardAsync(run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (cause) {
      this.drift.push(`the fake cTrader failed: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`);
      console.error(cause);
    }
  }
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

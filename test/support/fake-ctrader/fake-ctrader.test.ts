import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CtraderConformance, CtraderConformanceError } from './ctrader-conformance';
import { FakeCtrader } from './fake-ctrader';
import { parseProtoSource } from './proto-schema';

/** The fake cTrader Open API through a raw `ws` client, as Spotware's definitions and docs say it answers. */

type Message = { clientMsgId?: string; payloadType: number; payload: any };

const PT = {
  ERROR_RES: 50,
  HEARTBEAT: 51,
  APP_AUTH_REQ: 2100,
  APP_AUTH_RES: 2101,
  ACCOUNT_AUTH_REQ: 2102,
  ACCOUNT_AUTH_RES: 2103,
  VERSION_REQ: 2104,
  VERSION_RES: 2105,
  NEW_ORDER_REQ: 2106,
  CANCEL_ORDER_REQ: 2108,
  AMEND_ORDER_REQ: 2109,
  AMEND_SLTP_REQ: 2110,
  CLOSE_POSITION_REQ: 2111,
  ASSET_LIST_REQ: 2112,
  ASSET_LIST_RES: 2113,
  SYMBOLS_LIST_REQ: 2114,
  SYMBOLS_LIST_RES: 2115,
  SYMBOL_BY_ID_REQ: 2116,
  SYMBOL_BY_ID_RES: 2117,
  TRADER_REQ: 2121,
  TRADER_RES: 2122,
  RECONCILE_REQ: 2124,
  RECONCILE_RES: 2125,
  EXECUTION_EVENT: 2126,
  SUBSCRIBE_SPOTS_REQ: 2127,
  SUBSCRIBE_SPOTS_RES: 2128,
  SPOT_EVENT: 2131,
  ORDER_ERROR_EVENT: 2132,
  DEAL_LIST_REQ: 2133,
  DEAL_LIST_RES: 2134,
  OA_ERROR_RES: 2142,
  TOKEN_INVALIDATED_EVENT: 2147,
  ACCOUNTS_BY_TOKEN_REQ: 2149,
  ACCOUNTS_BY_TOKEN_RES: 2150,
  ACCOUNT_LOGOUT_REQ: 2162,
  ACCOUNT_LOGOUT_RES: 2163,
  ACCOUNT_DISCONNECT_EVENT: 2164,
  REFRESH_TOKEN_REQ: 2173,
  REFRESH_TOKEN_RES: 2174,
  ORDER_LIST_REQ: 2175,
  ORDER_LIST_RES: 2176,
  UNREALIZED_PNL_REQ: 2187,
  UNREALIZED_PNL_RES: 2188,
} as const;
const EXEC = { ACCEPTED: 2, FILLED: 3, REPLACED: 4, CANCELLED: 5, PARTIAL_FILL: 11 } as const;
const BUY = 1;
const SELL = 2;
const MARKET = 1;
const LIMIT = 2;
const STOP = 3;
const T0 = new Date('2026-03-02T10:00:00.000Z');
const LOT = 10_000_000; // 1 lot of EURUSD in cents of units
const EURUSD = 1;
const USDJPY = 4;

/** A raw Open API client: JSON text frames, requests matched by clientMsgId. */
class Client {
  readonly messages: Message[] = [];
  readonly closed: Promise<void>;
  private readonly listeners = new Set<() => void>();
  private counter = 0;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as Message);
      for (const listener of this.listeners) listener();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async connect(url: string): Promise<Client> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new Client(socket);
  }

  raw(text: string): void {
    this.socket.send(text);
  }

  send(payloadType: number, payload: Record<string, unknown>, clientMsgId?: string): string {
    const id = clientMsgId ?? `cm-${++this.counter}`;
    this.socket.send(JSON.stringify({ clientMsgId: id, payloadType, payload }));
    return id;
  }

  /** The first message (from `from` on) that satisfies `predicate`. */
  waitFor(predicate: (message: Message) => boolean, timeoutMs = 2000, from = 0): Promise<Message> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.messages.slice(from).find(predicate);
        if (!found) return false;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`no such message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(from).map((message) => message.payloadType))}`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  /** Sends a request and resolves with every message echoing its clientMsgId up to the one `settles` accepts (the first by default). */
  async call(payloadType: number, payload: Record<string, unknown>, settles: (message: Message) => boolean = () => true): Promise<Message[]> {
    const from = this.messages.length;
    const id = this.send(payloadType, payload);
    await this.waitFor((message) => message.clientMsgId === id && settles(message), 2000, from);
    return this.messages.slice(from).filter((message) => message.clientMsgId === id);
  }

  async one(payloadType: number, payload: Record<string, unknown>): Promise<Message> {
    const [answer] = await this.call(payloadType, payload);
    return answer!;
  }

  /** Messages without a clientMsgId (pushed) of a payload type, from `from` on. */
  pushed(payloadType: number, from = 0): Message[] {
    return this.messages.slice(from).filter((message) => message.clientMsgId === undefined && message.payloadType === payloadType);
  }

  close(): void {
    this.socket.terminate();
  }
}

const isExecution = (type: number) => (message: Message) => message.payloadType === PT.EXECUTION_EVENT && message.payload.executionType === type;
const settledOrder = (message: Message) =>
  message.payloadType === PT.ORDER_ERROR_EVENT ||
  message.payloadType === PT.OA_ERROR_RES ||
  (message.payloadType === PT.EXECUTION_EVENT && message.payload.executionType !== EXEC.ACCEPTED && message.payload.executionType !== EXEC.PARTIAL_FILL) ||
  (message.payloadType === PT.EXECUTION_EVENT && message.payload.executionType === EXEC.ACCEPTED && message.payload.order.orderType !== MARKET);

describe('FakeCtrader', () => {
  let fake: FakeCtrader;
  let clock: Date;
  let accountId: number;
  let tokens: { accessToken: string; refreshToken: string; expiresIn: number };
  const clients: Client[] = [];

  const connect = async (): Promise<Client> => {
    const client = await Client.connect(fake.wsUrl);
    clients.push(client);
    return client;
  };
  /** A client with the application authorized and the accounts authorized with `accessToken`. */
  const session = async (ids: number[] = [accountId], accessToken = tokens.accessToken): Promise<Client> => {
    const client = await connect();
    expect((await client.one(PT.APP_AUTH_REQ, { clientId: fake.clientId, clientSecret: fake.clientSecret })).payloadType).toBe(PT.APP_AUTH_RES);
    for (const id of ids) expect((await client.one(PT.ACCOUNT_AUTH_REQ, { ctidTraderAccountId: id, accessToken })).payloadType).toBe(PT.ACCOUNT_AUTH_RES);
    return client;
  };
  const order = (client: Client, fields: Record<string, unknown>, id = accountId) =>
    client.call(PT.NEW_ORDER_REQ, { ctidTraderAccountId: id, symbolId: EURUSD, orderType: MARKET, tradeSide: BUY, volume: LOT / 10, ...fields }, settledOrder);
  const tick = (ms: number) => {
    clock = new Date(clock.getTime() + ms);
  };
  const marketId = () => `ctrader-${accountId}`;
  const tokenRequest = async (params: Record<string, string>) => {
    const response = await fetch(`${fake.url}/apps/token?${new URLSearchParams(params)}`);
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeEach(async () => {
    clock = T0;
    fake = await FakeCtrader.start({ now: () => clock });
    accountId = fake.addAccount({ balance: 10_000 }).ctidTraderAccountId;
    tokens = fake.issueTokens([accountId]);
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    // `stop` throws when the fake ever sent a message that does not conform to the definitions.
    await fake.stop();
  });

  describe('the definitions', () => {
    it('parses proto2 with nested messages and enums, defaults and options, resolving names from the inside out', () => {
      const schema = parseProtoSource(`
        syntax = "proto2";
        /* a block comment */ enum Side { BUY = 1; SELL = 2; }
        message Outer {
          enum Side { LONG = 1; SHORT = 2; } // shadows the top-level Side
          message Inner { required Side side = 1 [default = SHORT]; optional .Side plain = 2 [deprecated = true]; }
          repeated Inner inner = 1;
          optional string name = 2 [default = "a // b"];
          optional double ratio = 3 [default = -1.5];
        }`);
      const inner = schema.messages.get('Outer.Inner')!;
      expect(inner.fields.map((field) => [field.name, field.label, field.type, field.defaultValue])).toEqual([
        ['side', 'required', { kind: 'enum', name: 'Outer.Side' }, { kind: 'identifier', value: 'SHORT' }],
        ['plain', 'optional', { kind: 'enum', name: 'Side' }, undefined],
      ]);
      const outer = schema.messages.get('Outer')!;
      expect(outer.fields.map((field) => [field.name, field.label, field.type.kind, field.defaultValue?.value])).toEqual([
        ['inner', 'repeated', 'message', undefined],
        ['name', 'optional', 'scalar', 'a // b'],
        ['ratio', 'optional', 'scalar', -1.5],
      ]);
      expect(() => parseProtoSource('syntax = "proto2"; message A { optional Missing m = 1; }')).toThrow(/Missing/);
    });

    it("reads Spotware's vendored files: every payload type has its message, enums are numbers", () => {
      const conformance = new CtraderConformance();
      expect(conformance.messageNameOf(2106)).toBe('ProtoOANewOrderReq');
      expect(conformance.messageNameOf(51)).toBe('ProtoHeartbeatEvent');
      expect(conformance.payloadTypeOf('ProtoOAExecutionEvent')).toBe(2126);
      expect(conformance.enumValue('ProtoOAExecutionType', 'ORDER_PARTIAL_FILL')).toBe(11);
      expect(
        conformance.verdict({
          payloadType: 2106,
          payload: { ctidTraderAccountId: 1, symbolId: 1, orderType: 'MARKET', tradeSide: 1, volume: 1.5, extra: true },
        }).problems,
      ).toEqual([
        expect.stringContaining('orderType: "MARKET" is not a numeric value of ProtoOAOrderType'),
        expect.stringContaining('volume: 1.5 is not a int64'),
        expect.stringContaining('unknown field extra'),
      ]);
      expect(conformance.verdict({ payloadType: 2142, payload: {} }).problems).toEqual([expect.stringContaining('required field errorCode is missing')]);
      expect(conformance.verdict({ payloadType: 5, payload: {} }).problems).toEqual([expect.stringContaining('payloadType 5')]);
    });

    it('does not send a message of its own that does not conform: UNKNOWN_ERROR goes instead and stop() throws', async () => {
      const client = await session();
      const [open] = [...(fake as any).sessions];
      (fake as any).send(open, 'ProtoOATraderRes', { ctidTraderAccountId: accountId, trader: { balance: '10.00' } });
      const answer = await client.waitFor((message) => message.payloadType === PT.OA_ERROR_RES);
      expect(answer.payload).toMatchObject({ errorCode: 'UNKNOWN_ERROR', description: expect.stringContaining('drifted') });
      await expect(fake.stop()).rejects.toThrow(CtraderConformanceError);
      fake = await FakeCtrader.start({ now: () => clock });
    });

    it('refuses a hand-made message that does not conform: INVALID_REQUEST, recorded', async () => {
      const client = await connect();
      const answer = await client.one(PT.APP_AUTH_REQ, { clientId: fake.clientId, clientSecret: 42 });
      expect(answer.payloadType).toBe(PT.OA_ERROR_RES);
      expect(answer.payload).toMatchObject({ errorCode: 'INVALID_REQUEST', description: expect.stringContaining('clientSecret: 42 is not a string') });
      client.raw(JSON.stringify({ clientMsgId: 'x1', payloadType: 9999, payload: {} }));
      const unknown = await client.waitFor((message) => message.clientMsgId === 'x1');
      expect(unknown).toMatchObject({ payloadType: PT.ERROR_RES, payload: { errorCode: 'INVALID_REQUEST' } });
      client.raw('not json');
      await client.waitFor((message) => message.payloadType === PT.ERROR_RES && message.clientMsgId === undefined);
      expect(fake.received()).toEqual([
        { payloadType: PT.APP_AUTH_REQ, name: 'ProtoOAApplicationAuthReq' },
        { payloadType: 9999, name: 'unknown' },
        { payloadType: 0, name: 'unparsable' },
      ]);
    });
  });

  describe('authorization', () => {
    it('authorizes the application, then accounts its token grants; refuses as cTrader does', async () => {
      const client = await connect();
      expect((await client.one(PT.VERSION_REQ, {})).payload).toMatchObject({ errorCode: 'CH_CLIENT_NOT_AUTHENTICATED' });
      expect((await client.one(PT.APP_AUTH_REQ, { clientId: fake.clientId, clientSecret: 'wrong' })).payload).toMatchObject({
        errorCode: 'CH_CLIENT_AUTH_FAILURE',
      });
      expect((await client.one(PT.APP_AUTH_REQ, { clientId: fake.clientId, clientSecret: fake.clientSecret })).payloadType).toBe(PT.APP_AUTH_RES);
      expect((await client.one(PT.APP_AUTH_REQ, { clientId: fake.clientId, clientSecret: fake.clientSecret })).payload).toMatchObject({
        errorCode: 'CH_CLIENT_ALREADY_AUTHENTICATED',
      });
      expect((await client.one(PT.VERSION_REQ, {})).payload.version).toEqual(expect.any(String));
      expect((await client.one(PT.ACCOUNT_AUTH_REQ, { ctidTraderAccountId: accountId, accessToken: 'wrong' })).payload).toMatchObject({
        errorCode: 'CH_ACCESS_TOKEN_INVALID',
      });
      const other = fake.addAccount().ctidTraderAccountId;
      expect((await client.one(PT.ACCOUNT_AUTH_REQ, { ctidTraderAccountId: other, accessToken: tokens.accessToken })).payload).toMatchObject({
        errorCode: 'ACCOUNT_NOT_AUTHORIZED',
      });
      expect((await client.one(PT.TRADER_REQ, { ctidTraderAccountId: accountId })).payload).toMatchObject({
        ctidTraderAccountId: accountId,
        errorCode: 'ACCOUNT_NOT_AUTHORIZED',
      });
      const authorized = await client.one(PT.ACCOUNT_AUTH_REQ, { ctidTraderAccountId: accountId, accessToken: tokens.accessToken });
      expect(authorized).toMatchObject({ payloadType: PT.ACCOUNT_AUTH_RES, payload: { ctidTraderAccountId: accountId } });
      expect((await client.one(PT.ACCOUNT_AUTH_REQ, { ctidTraderAccountId: accountId, accessToken: tokens.accessToken })).payload).toMatchObject({
        errorCode: 'ALREADY_LOGGED_IN',
      });
      expect((await client.one(PT.TRADER_REQ, { ctidTraderAccountId: other })).payload.errorCode).toBe('ACCOUNT_NOT_AUTHORIZED');
      // Logging out answers, then the account's session ends.
      const logout = await client.call(PT.ACCOUNT_LOGOUT_REQ, { ctidTraderAccountId: accountId });
      expect(logout[0]!.payloadType).toBe(PT.ACCOUNT_LOGOUT_RES);
      await client.waitFor((message) => message.payloadType === PT.ACCOUNT_DISCONNECT_EVENT);
      expect((await client.one(PT.TRADER_REQ, { ctidTraderAccountId: accountId })).payload.errorCode).toBe('ACCOUNT_NOT_AUTHORIZED');
      expect(
        fake
          .received()
          .slice(0, 3)
          .map((message) => message.name),
      ).toEqual(['ProtoOAVersionReq', 'ProtoOAApplicationAuthReq', 'ProtoOAApplicationAuthReq']);
    });

    it('lists the accounts an access token grants', async () => {
      const live = fake.addAccount({ live: true, hedging: false });
      const both = fake.issueTokens([accountId, live.ctidTraderAccountId]);
      const client = await session([]);
      const answer = await client.one(PT.ACCOUNTS_BY_TOKEN_REQ, { accessToken: both.accessToken });
      expect(answer.payloadType).toBe(PT.ACCOUNTS_BY_TOKEN_RES);
      expect(answer.payload).toMatchObject({
        accessToken: both.accessToken,
        permissionScope: 1,
        ctidTraderAccount: [
          { ctidTraderAccountId: accountId, isLive: false, traderLogin: expect.any(Number) },
          { ctidTraderAccountId: live.ctidTraderAccountId, isLive: true, traderLogin: live.traderLogin },
        ],
      });
      expect((await client.one(PT.ACCOUNTS_BY_TOKEN_REQ, { accessToken: 'nope' })).payload.errorCode).toBe('CH_ACCESS_TOKEN_INVALID');
    });

    it('runs the OAuth dance: consent -> code -> tokens; the code is single-use and lives 60 s', async () => {
      const redirectUri = 'https://copier.example/ctrader/callback';
      const authorizationUrl = `https://id.ctrader.com/my/settings/openapi/grantingaccess/?${new URLSearchParams({
        client_id: fake.clientId,
        redirect_uri: redirectUri,
        scope: 'trading',
        product: 'web',
        state: 'st-1',
      })}`;
      expect(() => fake.consent(authorizationUrl.replace('scope=trading', 'scope=accounts'), [accountId])).toThrow(/scope/);
      expect(() => fake.consent(authorizationUrl.replace(fake.clientId, 'someone'), [accountId])).toThrow(/client_id/);
      const redirect = new URL(fake.consent(authorizationUrl, [accountId]));
      expect(`${redirect.origin}${redirect.pathname}`).toBe(redirectUri);
      expect(redirect.searchParams.get('state')).toBe('st-1');
      const code = redirect.searchParams.get('code')!;
      const exchange = { grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: fake.clientId, client_secret: fake.clientSecret };
      expect((await tokenRequest({ ...exchange, client_secret: 'wrong' })).body).toEqual({ errorCode: 'ACCESS_DENIED', description: expect.any(String) });
      expect((await tokenRequest({ ...exchange, redirect_uri: 'https://elsewhere.example/' })).body.errorCode).toBe('ACCESS_DENIED');
      const granted = await tokenRequest(exchange);
      expect(granted).toEqual({
        status: 200,
        body: {
          accessToken: expect.any(String),
          tokenType: 'bearer',
          expiresIn: 2_628_000,
          refreshToken: expect.any(String),
          errorCode: null,
          description: null,
        },
      });
      expect((await tokenRequest(exchange)).body.errorCode).toBe('ACCESS_DENIED');
      await session([accountId], granted.body.accessToken);
      // A code not exchanged within a minute is dead; the page is also served over HTTP (302 to the redirect).
      const page = await fetch(`${fake.url}/my/settings/openapi/grantingaccess/?${new URL(authorizationUrl).searchParams}`, { redirect: 'manual' });
      expect(page.status).toBe(302);
      const late = new URL(page.headers.get('location')!).searchParams.get('code')!;
      tick(61_000);
      expect((await tokenRequest({ ...exchange, code: late })).body.errorCode).toBe('ACCESS_DENIED');
    });

    it('refreshes an expired access token over the socket and over HTTP; the spent refresh token dies', async () => {
      const client = await session();
      fake.expireAccessToken(tokens.accessToken);
      const invalidated = await client.waitFor((message) => message.payloadType === PT.TOKEN_INVALIDATED_EVENT);
      expect(invalidated.payload).toEqual({ ctidTraderAccountIds: [accountId], reason: expect.any(String) });
      expect((await client.one(PT.ACCOUNT_AUTH_REQ, { ctidTraderAccountId: accountId, accessToken: tokens.accessToken })).payload.errorCode).toBe(
        'CH_ACCESS_TOKEN_INVALID',
      );
      const refreshed = await client.one(PT.REFRESH_TOKEN_REQ, { refreshToken: tokens.refreshToken });
      expect(refreshed).toMatchObject({
        payloadType: PT.REFRESH_TOKEN_RES,
        payload: { accessToken: expect.any(String), tokenType: 'bearer', expiresIn: 2_628_000, refreshToken: expect.any(String) },
      });
      expect((await client.one(PT.REFRESH_TOKEN_REQ, { refreshToken: tokens.refreshToken })).payload.errorCode).toBe('CH_ACCESS_TOKEN_INVALID');
      expect((await client.one(PT.ACCOUNT_AUTH_REQ, { ctidTraderAccountId: accountId, accessToken: refreshed.payload.accessToken })).payloadType).toBe(
        PT.ACCOUNT_AUTH_RES,
      );
      const refresh = {
        grant_type: 'refresh_token',
        refresh_token: refreshed.payload.refreshToken,
        client_id: fake.clientId,
        client_secret: fake.clientSecret,
      };
      const overHttp = await tokenRequest(refresh);
      expect(overHttp.body).toMatchObject({ tokenType: 'bearer', errorCode: null, description: null });
      // Refreshing ends the access token the session used: the account must be authorized again.
      await client.waitFor((message) => message.payloadType === PT.TOKEN_INVALIDATED_EVENT, 2000, client.messages.indexOf(invalidated) + 1);
      expect((await tokenRequest(refresh)).body.errorCode).toBe('ACCESS_DENIED');
      // The clock also expires tokens: a session on one hears it at its next request.
      await client.one(PT.ACCOUNT_AUTH_REQ, { ctidTraderAccountId: accountId, accessToken: overHttp.body.accessToken });
      const before = client.messages.length;
      tick(2_628_000 * 1000);
      expect((await client.one(PT.TRADER_REQ, { ctidTraderAccountId: accountId })).payload.errorCode).toBe('OA_AUTH_TOKEN_EXPIRED');
      expect(client.messages.slice(before).some((message) => message.payloadType === PT.TOKEN_INVALIDATED_EVENT)).toBe(true);
      expect((await client.one(PT.ACCOUNT_AUTH_REQ, { ctidTraderAccountId: accountId, accessToken: overHttp.body.accessToken })).payload.errorCode).toBe(
        'CH_ACCESS_TOKEN_INVALID',
      );
    });

    it('revoking the grant pushes ProtoOAAccountsTokenInvalidatedEvent; its refresh token fails', async () => {
      const client = await session();
      fake.revokeGrant(tokens.refreshToken);
      const event = await client.waitFor((message) => message.payloadType === PT.TOKEN_INVALIDATED_EVENT);
      expect(event.payload.ctidTraderAccountIds).toEqual([accountId]);
      expect((await client.one(PT.TRADER_REQ, { ctidTraderAccountId: accountId })).payload.errorCode).toBe('ACCOUNT_NOT_AUTHORIZED');
      expect((await client.one(PT.REFRESH_TOKEN_REQ, { refreshToken: tokens.refreshToken })).payload.errorCode).toBe('CH_ACCESS_TOKEN_INVALID');
      const overHttp = await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: tokens.refreshToken,
        client_id: fake.clientId,
        client_secret: fake.clientSecret,
      });
      expect(overHttp.body.errorCode).toBe('ACCESS_DENIED');
    });

    it('closes a socket silent past heartbeatTimeoutMs; heartbeats keep one open', async () => {
      await fake.stop();
      fake = await FakeCtrader.start({ now: () => clock, heartbeatTimeoutMs: 150 });
      const silent = await connect();
      const talking = await connect();
      const beat = setInterval(() => talking.raw(JSON.stringify({ payloadType: PT.HEARTBEAT, payload: {} })), 40);
      try {
        await silent.closed;
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(talking.socket.readyState).toBe(WebSocket.OPEN);
      } finally {
        clearInterval(beat);
      }
      expect(fake.received().every((message) => message.name === 'ProtoHeartbeatEvent')).toBe(true);
    });
  });

  describe('account data', () => {
    it('describes the trader, assets and symbols in cTrader units', async () => {
      const client = await session();
      const trader = (await client.one(PT.TRADER_REQ, { ctidTraderAccountId: accountId })).payload.trader;
      const assets = (await client.one(PT.ASSET_LIST_REQ, { ctidTraderAccountId: accountId })).payload.asset;
      expect(trader).toMatchObject({ ctidTraderAccountId: accountId, balance: 1_000_000, moneyDigits: 2, accountType: 0, leverageInCents: 10_000 });
      expect(assets.find((asset: any) => asset.assetId === trader.depositAssetId).name).toBe('USD');
      const list = (await client.one(PT.SYMBOLS_LIST_REQ, { ctidTraderAccountId: accountId })).payload.symbol;
      expect(list.map((symbol: any) => [symbol.symbolId, symbol.symbolName])).toEqual([
        [1, 'EURUSD'],
        [2, 'GBPUSD'],
        [4, 'USDJPY'],
        [41, 'XAUUSD'],
      ]);
      const full = (await client.one(PT.SYMBOL_BY_ID_REQ, { ctidTraderAccountId: accountId, symbolId: [EURUSD, USDJPY, 41] })).payload.symbol;
      expect(full[0]).toMatchObject({
        symbolId: 1,
        digits: 5,
        pipPosition: 4,
        lotSize: 10_000_000,
        minVolume: 100_000,
        stepVolume: 100_000,
        maxVolume: 1_000_000_000,
      });
      expect(full[1]).toMatchObject({ symbolId: 4, digits: 3, pipPosition: 2, tradingMode: 0 });
      expect(full[2]).toMatchObject({ symbolId: 41, digits: 2, lotSize: 10_000, minVolume: 100 });
      expect((await client.one(PT.SYMBOL_BY_ID_REQ, { ctidTraderAccountId: accountId, symbolId: [999] })).payload.errorCode).toBe('SYMBOL_NOT_FOUND');
      const netted = fake.addAccount({ hedging: false, currency: 'EUR', balance: 500.5 });
      const nettedClient = await session([netted.ctidTraderAccountId], fake.issueTokens([netted.ctidTraderAccountId]).accessToken);
      const nettedTrader = (await nettedClient.one(PT.TRADER_REQ, { ctidTraderAccountId: netted.ctidTraderAccountId })).payload.trader;
      expect(nettedTrader).toMatchObject({ accountType: 1, balance: 50_050, depositAssetId: 1 });
    });

    it('streams spots in 1/100000 of a unit: the current price first, then the sides that move', async () => {
      const client = await session();
      const answers = await client.call(PT.SUBSCRIBE_SPOTS_REQ, { ctidTraderAccountId: accountId, symbolId: [EURUSD], subscribeToSpotTimestamp: true });
      expect(answers[0]!.payloadType).toBe(PT.SUBSCRIBE_SPOTS_RES);
      const first = await client.waitFor((message) => message.payloadType === PT.SPOT_EVENT);
      expect(first.payload).toEqual({ ctidTraderAccountId: accountId, symbolId: EURUSD, bid: 108_500, ask: 108_510, timestamp: T0.getTime() });
      const from = client.messages.length;
      fake.market.defineSymbol({ symbol: 'EURUSD', bid: 1.08502, ask: 1.0851 });
      const moved = await client.waitFor((message) => message.payloadType === PT.SPOT_EVENT, 2000, from);
      expect(moved.payload).toMatchObject({ symbolId: EURUSD, bid: 108_502 });
      expect(moved.payload.ask).toBeUndefined();
      expect((await client.one(PT.SUBSCRIBE_SPOTS_REQ, { ctidTraderAccountId: accountId, symbolId: [EURUSD] })).payload.errorCode).toBe('ALREADY_SUBSCRIBED');
    });
  });

  describe('trading', () => {
    it('fills a market order with relative stops: ORDER_ACCEPTED then ORDER_FILLED, both echoing the clientMsgId', async () => {
      const client = await session();
      const answers = await order(client, {
        relativeStopLoss: 500,
        relativeTakeProfit: 1000,
        clientOrderId: 'copy-1',
        label: 'copy-1',
        comment: 'from master',
      });
      expect(answers.map((message) => [message.payloadType, message.payload.executionType])).toEqual([
        [PT.EXECUTION_EVENT, EXEC.ACCEPTED],
        [PT.EXECUTION_EVENT, EXEC.FILLED],
      ]);
      const [accepted, filled] = answers.map((message) => message.payload);
      expect(accepted.order).toMatchObject({ orderType: MARKET, orderStatus: 1, clientOrderId: 'copy-1', relativeStopLoss: 500, relativeTakeProfit: 1000 });
      expect(accepted.position).toMatchObject({ positionStatus: 3, tradeData: { volume: 0 } });
      expect(filled).toMatchObject({
        ctidTraderAccountId: accountId,
        order: { orderStatus: 2, executedVolume: LOT / 10, executionPrice: 1.0851, tradeData: { label: 'copy-1', comment: 'from master', volume: LOT / 10 } },
        position: {
          positionStatus: 1,
          price: 1.0851,
          stopLoss: 1.0801,
          takeProfit: 1.0951,
          tradeData: { symbolId: EURUSD, volume: LOT / 10, tradeSide: BUY, label: 'copy-1', comment: 'from master' },
          moneyDigits: 2,
        },
        deal: { orderId: accepted.order.orderId, volume: LOT / 10, filledVolume: LOT / 10, executionPrice: 1.0851, tradeSide: BUY, dealStatus: 2 },
      });
      expect(filled.position.positionId).toBe(accepted.position.positionId);
      expect(fake.market.getPositions(marketId())).toMatchObject([
        { id: String(filled.position.positionId), volume: 0.1, stopLoss: 1.0801, takeProfit: 1.0951 },
      ]);
      // Absolute stops are for pending orders; relative ones must be whole ticks (USDJPY has 3 digits).
      expect((await order(client, { stopLoss: 1.08 }))[0]!.payload).toMatchObject({ errorCode: 'INVALID_REQUEST' });
      const imprecise = await order(client, { symbolId: USDJPY, relativeStopLoss: 150 });
      expect(imprecise[0]).toMatchObject({ payloadType: PT.ORDER_ERROR_EVENT, payload: { errorCode: 'TRADING_BAD_STOPS' } });
    });

    it('refuses what the market refuses with ProtoOAOrderErrorEvent and its error code', async () => {
      const client = await session();
      expect((await order(client, { volume: 150_000 }))[0]!.payload).toMatchObject({ errorCode: 'TRADING_BAD_VOLUME', ctidTraderAccountId: accountId });
      expect((await order(client, { volume: 100 * LOT }))[0]!.payload.errorCode).toBe('NOT_ENOUGH_MONEY');
      const closeMissing = await client.call(PT.CLOSE_POSITION_REQ, { ctidTraderAccountId: accountId, positionId: 42, volume: LOT }, settledOrder);
      expect(closeMissing[0]!.payload).toMatchObject({ errorCode: 'POSITION_NOT_FOUND', positionId: 42 });
      fake.market.setFaults(marketId(), { rejectNext: 1, code: 'MARKET_CLOSED' });
      expect((await order(client, {}))[0]!.payload.errorCode).toBe('MARKET_CLOSED');
    });

    it('closes part of a position: a closing deal with its closePositionDetail, the rest stays open', async () => {
      const client = await session();
      const opened = (await order(client, { volume: LOT / 5 })).at(-1)!.payload;
      const positionId = opened.position.positionId;
      fake.market.defineSymbol({ symbol: 'EURUSD', bid: 1.0861, ask: 1.0862 });
      const answers = await client.call(PT.CLOSE_POSITION_REQ, { ctidTraderAccountId: accountId, positionId, volume: LOT / 10 }, settledOrder);
      expect(answers.map((message) => message.payload.executionType)).toEqual([EXEC.ACCEPTED, EXEC.FILLED]);
      const filled = answers[1]!.payload;
      expect(filled.order).toMatchObject({ closingOrder: true, positionId, orderType: MARKET, tradeData: { tradeSide: SELL } });
      expect(filled.position).toMatchObject({ positionId, positionStatus: 1, tradeData: { volume: LOT / 10 } });
      expect(filled.deal).toMatchObject({
        positionId,
        filledVolume: LOT / 10,
        executionPrice: 1.0861,
        tradeSide: SELL,
        closePositionDetail: { entryPrice: 1.0851, grossProfit: 1000, swap: 0, commission: 0, balance: 1_001_000, closedVolume: LOT / 10, moneyDigits: 2 },
      });
      expect(
        (await client.call(PT.CLOSE_POSITION_REQ, { ctidTraderAccountId: accountId, positionId, volume: LOT / 5 }, settledOrder))[0]!.payload.errorCode,
      ).toBe('TRADING_BAD_VOLUME');
      // A new order on the other side naming the position closes it too.
      const rest = await order(client, { tradeSide: SELL, volume: LOT / 10, positionId, clientOrderId: 'close-1' });
      expect(rest.at(-1)!.payload).toMatchObject({
        order: { closingOrder: true, positionId, clientOrderId: 'close-1' },
        position: { positionStatus: 2, tradeData: { volume: 0, closeTimestamp: T0.getTime() } },
      });
      expect(fake.market.getPositions(marketId())).toHaveLength(0);
    });

    it('amends a position stop loss and take profit: ORDER_REPLACED; both removed: ORDER_CANCELLED', async () => {
      const client = await session();
      const positionId = (await order(client, {})).at(-1)!.payload.position.positionId;
      const amend = (levels: Record<string, number>) =>
        client.call(PT.AMEND_SLTP_REQ, { ctidTraderAccountId: accountId, positionId, ...levels }, (message) => message.payloadType !== PT.SPOT_EVENT);
      const replaced = (await amend({ stopLoss: 1.08, takeProfit: 1.09 }))[0]!;
      expect(replaced.payload).toMatchObject({
        executionType: EXEC.REPLACED,
        position: { positionId, stopLoss: 1.08, takeProfit: 1.09 },
        order: { orderType: 4, orderStatus: 1, positionId, stopLoss: 1.08, takeProfit: 1.09 },
      });
      // The same levels again still answer; a level left out is removed.
      expect((await amend({ stopLoss: 1.08, takeProfit: 1.09 }))[0]!.payload.executionType).toBe(EXEC.REPLACED);
      const onlyTakeProfit = (await amend({ takeProfit: 1.095 }))[0]!.payload;
      expect(onlyTakeProfit.position.stopLoss).toBeUndefined();
      expect(onlyTakeProfit.position.takeProfit).toBe(1.095);
      expect((await amend({}))[0]!.payload).toMatchObject({ executionType: EXEC.CANCELLED, order: { orderStatus: 5 } });
      expect((await amend({ stopLoss: 1.2 }))[0]!.payload.errorCode).toBe('TRADING_BAD_STOPS');
    });

    it('places, amends and cancels a pending order; the price fills another', async () => {
      const client = await session();
      const placed = await order(client, { orderType: LIMIT, limitPrice: 1.08, stopLoss: 1.07, takeProfit: 1.1, clientOrderId: 'p-1', label: 'p-1' });
      expect(placed).toHaveLength(1);
      const accepted = placed[0]!.payload;
      expect(accepted).toMatchObject({
        executionType: EXEC.ACCEPTED,
        order: { orderType: LIMIT, orderStatus: 1, limitPrice: 1.08, stopLoss: 1.07, takeProfit: 1.1, clientOrderId: 'p-1', timeInForce: 2 },
      });
      const orderId = accepted.order.orderId;
      const amended = await client.call(PT.AMEND_ORDER_REQ, { ctidTraderAccountId: accountId, orderId, limitPrice: 1.079, stopLoss: 1.069 });
      expect(amended[0]!.payload).toMatchObject({ executionType: EXEC.REPLACED, order: { orderId, limitPrice: 1.079, stopLoss: 1.069 } });
      expect(amended[0]!.payload.order.takeProfit).toBeUndefined();
      const reconciled = (await client.one(PT.RECONCILE_REQ, { ctidTraderAccountId: accountId })).payload;
      expect(reconciled.order).toMatchObject([{ orderId, limitPrice: 1.079 }]);
      expect(reconciled.position).toBeUndefined();
      const cancelled = await client.call(PT.CANCEL_ORDER_REQ, { ctidTraderAccountId: accountId, orderId });
      expect(cancelled[0]!.payload).toMatchObject({ executionType: EXEC.CANCELLED, order: { orderId, orderStatus: 5 } });
      expect((await client.call(PT.CANCEL_ORDER_REQ, { ctidTraderAccountId: accountId, orderId }))[0]!.payload.errorCode).toBe('ORDER_NOT_FOUND');
      // A stop order the price reaches fills, pushed without a clientMsgId; its stop loss is hit later.
      const stop = (await order(client, { orderType: STOP, stopPrice: 1.086, relativeStopLoss: 300, label: 's-1' }))[0]!.payload.order;
      expect(stop).toMatchObject({ stopPrice: 1.086, stopLoss: 1.083 });
      const from = client.messages.length;
      fake.market.defineSymbol({ symbol: 'EURUSD', bid: 1.0861, ask: 1.0862 });
      const fill = await client.waitFor(isExecution(EXEC.FILLED), 2000, from);
      expect(fill.clientMsgId).toBeUndefined();
      expect(fill.payload).toMatchObject({
        order: { orderId: stop.orderId, orderStatus: 2, executionPrice: 1.0862 },
        position: { positionStatus: 1, stopLoss: 1.083, tradeData: { label: 's-1' } },
      });
      const hitFrom = client.messages.length;
      fake.market.defineSymbol({ symbol: 'EURUSD', bid: 1.0825, ask: 1.0826 });
      const hit = await client.waitFor(isExecution(EXEC.FILLED), 2000, hitFrom);
      expect(hit.payload).toMatchObject({
        order: { orderType: 4, orderStatus: 2, closingOrder: true },
        position: { positionStatus: 2 },
        deal: { executionPrice: 1.0825, closePositionDetail: { entryPrice: 1.0862, grossProfit: -3700 } },
      });
    });

    it('reconciles positions and pending orders; lists deals and orders by time', async () => {
      const client = await session();
      await order(client, { clientOrderId: 'a' });
      tick(1000);
      const second = (await order(client, { tradeSide: SELL, volume: LOT / 5 })).at(-1)!.payload;
      tick(1000);
      await order(client, { orderType: LIMIT, limitPrice: 1.07 });
      tick(1000);
      await client.call(PT.CLOSE_POSITION_REQ, { ctidTraderAccountId: accountId, positionId: second.position.positionId, volume: LOT / 5 }, settledOrder);
      const reconciled = (await client.one(PT.RECONCILE_REQ, { ctidTraderAccountId: accountId })).payload;
      expect(reconciled.position).toHaveLength(1);
      expect(reconciled.position[0]).toMatchObject({ positionStatus: 1, tradeData: { tradeSide: BUY }, usedMargin: expect.any(Number) });
      expect(reconciled.order).toMatchObject([{ orderType: LIMIT, limitPrice: 1.07 }]);
      const all = (await client.one(PT.DEAL_LIST_REQ, { ctidTraderAccountId: accountId, fromTimestamp: 0, toTimestamp: clock.getTime() })).payload;
      expect(all.hasMore).toBe(false);
      expect(all.deal.map((deal: any) => [deal.tradeSide, deal.filledVolume, deal.closePositionDetail !== undefined])).toEqual([
        [BUY, LOT / 10, false],
        [SELL, LOT / 5, false],
        [BUY, LOT / 5, true],
      ]);
      const page = (
        await client.one(PT.DEAL_LIST_REQ, { ctidTraderAccountId: accountId, fromTimestamp: T0.getTime() + 500, toTimestamp: clock.getTime(), maxRows: 1 })
      ).payload;
      expect(page).toMatchObject({ hasMore: true, deal: [{ dealId: all.deal[1].dealId }] });
      const orders = (await client.one(PT.ORDER_LIST_REQ, { ctidTraderAccountId: accountId, fromTimestamp: 0, toTimestamp: clock.getTime() })).payload;
      expect(orders.order.map((each: any) => [each.orderType, each.orderStatus, each.closingOrder])).toEqual([
        [MARKET, 2, false],
        [MARKET, 2, false],
        [LIMIT, 1, false],
        [MARKET, 2, true],
      ]);
      expect(orders.order.find((each: any) => each.clientOrderId === 'a')).toBeDefined();
      expect((await client.one(PT.DEAL_LIST_REQ, { ctidTraderAccountId: accountId, fromTimestamp: 5, toTimestamp: 1 })).payload.errorCode).toBe(
        'INCORRECT_BOUNDARIES',
      );
      const pnl = (await client.one(PT.UNREALIZED_PNL_REQ, { ctidTraderAccountId: accountId })).payload;
      expect(pnl).toMatchObject({ moneyDigits: 2, positionUnrealizedPnL: [{ positionId: reconciled.position[0].positionId, grossUnrealizedPnL: -100 }] });
    });

    it("pushes the trader's terminal trades to every socket of the account, without a clientMsgId", async () => {
      const client = await session();
      const observer = await session();
      const from = client.messages.length;
      const opened = fake.market.traderTrade(marketId(), { symbol: 'EURUSD', side: 'sell', volume: 0.3, stopLoss: 1.09 });
      const accepted = await client.waitFor(isExecution(EXEC.ACCEPTED), 2000, from);
      const filled = await client.waitFor(isExecution(EXEC.FILLED), 2000, from);
      expect(accepted.clientMsgId).toBeUndefined();
      expect(filled.payload).toMatchObject({
        position: { positionId: Number(opened.positionId), positionStatus: 1, stopLoss: 1.09, tradeData: { tradeSide: SELL, volume: (3 * LOT) / 10 } },
        deal: { tradeSide: SELL, executionPrice: 1.085 },
      });
      await observer.waitFor(isExecution(EXEC.FILLED));
      const modifiedFrom = client.messages.length;
      fake.market.traderModify(marketId(), opened.positionId!, { takeProfit: 1.08 });
      const replaced = await client.waitFor(isExecution(EXEC.REPLACED), 2000, modifiedFrom);
      expect(replaced.payload.position).toMatchObject({ stopLoss: 1.09, takeProfit: 1.08 });
      const closedFrom = client.messages.length;
      fake.market.traderClose(marketId(), opened.positionId!, 0.1);
      const closed = await client.waitFor(isExecution(EXEC.FILLED), 2000, closedFrom);
      expect(closed.payload).toMatchObject({ order: { closingOrder: true }, position: { tradeData: { volume: (2 * LOT) / 10 } }, deal: { tradeSide: BUY } });
      expect(client.pushed(PT.EXECUTION_EVENT).length).toBe(observer.pushed(PT.EXECUTION_EVENT).length);
    });

    it('adds to the one position of a NETTED account and reduces it from the other side', async () => {
      const netted = fake.addAccount({ hedging: false });
      const id = netted.ctidTraderAccountId;
      const client = await session([id], fake.issueTokens([id]).accessToken);
      const first = (await order(client, {}, id)).at(-1)!.payload;
      fake.market.defineSymbol({ symbol: 'EURUSD', bid: 1.0852, ask: 1.0853 });
      const added = await order(client, { volume: LOT / 10 }, id);
      expect(added[0]!.payload.position).toMatchObject({ positionId: first.position.positionId, positionStatus: 1, tradeData: { volume: LOT / 10 } });
      expect(added.at(-1)!.payload.position).toMatchObject({ positionId: first.position.positionId, price: 1.0852, tradeData: { volume: LOT / 5 } });
      const reduced = (await order(client, { tradeSide: SELL, volume: LOT / 10 }, id)).at(-1)!.payload;
      expect(reduced).toMatchObject({
        executionType: EXEC.FILLED,
        position: { positionId: first.position.positionId, tradeData: { volume: LOT / 10, tradeSide: BUY } },
        deal: { tradeSide: SELL, closePositionDetail: { entryPrice: 1.0852 } },
      });
      // More than the position on the other side reverses it: one order, two deals.
      const reversed = await order(client, { tradeSide: SELL, volume: (3 * LOT) / 10 }, id);
      expect(reversed.map((message) => message.payload.executionType)).toEqual([EXEC.ACCEPTED, EXEC.PARTIAL_FILL, EXEC.FILLED]);
      expect(reversed.at(-1)!.payload).toMatchObject({
        order: { orderStatus: 2, executedVolume: (3 * LOT) / 10 },
        position: { positionId: first.position.positionId, tradeData: { volume: LOT / 5, tradeSide: SELL } },
      });
      expect(fake.market.getPositions(netted.marketAccountId)).toHaveLength(1);
      // A pending order the price reaches closes the position it meets, and is FILLED (not cancelled).
      const limit = (await order(client, { orderType: LIMIT, tradeSide: BUY, limitPrice: 1.0845, volume: LOT / 5 }, id))[0]!.payload.order;
      const from = client.messages.length;
      fake.market.defineSymbol({ symbol: 'EURUSD', bid: 1.0843, ask: 1.0844 });
      const filled = await client.waitFor(isExecution(EXEC.FILLED), 2000, from);
      expect(filled.payload).toMatchObject({ order: { orderId: limit.orderId, orderStatus: 2 }, position: { positionStatus: 2 }, deal: { tradeSide: BUY } });
      expect(client.messages.slice(from).some(isExecution(EXEC.CANCELLED))).toBe(false);
    });
  });

  describe('faults', () => {
    it('rate limits the next requests with REQUEST_FREQUENCY_EXCEEDED', async () => {
      const client = await session();
      fake.setFaults({ rateLimitNext: 2 });
      expect((await client.one(PT.TRADER_REQ, { ctidTraderAccountId: accountId })).payload).toMatchObject({
        errorCode: 'REQUEST_FREQUENCY_EXCEEDED',
        ctidTraderAccountId: accountId,
      });
      expect((await order(client, {}))[0]!.payload.errorCode).toBe('REQUEST_FREQUENCY_EXCEEDED');
      expect((await client.one(PT.TRADER_REQ, { ctidTraderAccountId: accountId })).payloadType).toBe(PT.TRADER_RES);
      expect(fake.market.getPositions(marketId())).toHaveLength(0);
    });

    it('rejects the next order with the ProtoOAOrderErrorEvent asked for, executing nothing', async () => {
      const client = await session();
      fake.setFaults({ rejectNextOrder: { errorCode: 'MARKET_CLOSED', description: 'Market is closed' } });
      const answers = await order(client, {});
      expect(answers).toEqual([
        {
          clientMsgId: expect.any(String),
          payloadType: PT.ORDER_ERROR_EVENT,
          payload: { ctidTraderAccountId: accountId, errorCode: 'MARKET_CLOSED', description: 'Market is closed' },
        },
      ]);
      expect(fake.market.getPositions(marketId())).toHaveLength(0);
      expect((await order(client, {})).at(-1)!.payload.executionType).toBe(EXEC.FILLED);
    });

    it('dropNextTradeAnswer: the order executes, the socket dies before the answer; other sockets still hear it', async () => {
      const client = await session();
      const observer = await session();
      fake.setFaults({ dropNextTradeAnswer: 1 });
      client.send(PT.NEW_ORDER_REQ, { ctidTraderAccountId: accountId, symbolId: EURUSD, orderType: MARKET, tradeSide: BUY, volume: LOT / 10 }, 'lost');
      await client.closed;
      expect(client.messages.some((message) => message.clientMsgId === 'lost')).toBe(false);
      expect(fake.market.getPositions(marketId())).toHaveLength(1);
      expect((await observer.waitFor(isExecution(EXEC.FILLED))).clientMsgId).toBeUndefined();
      const again = await session();
      expect((await again.one(PT.RECONCILE_REQ, { ctidTraderAccountId: accountId })).payload.position).toHaveLength(1);
    });

    it('partially fills under the market fault: ORDER_PARTIAL_FILL then ORDER_CANCELLED for the rest', async () => {
      const client = await session();
      fake.market.setFaults(marketId(), { partialFillNext: 1 });
      const answers = await order(client, { volume: LOT / 5 });
      expect(answers.map((message) => message.payload.executionType)).toEqual([EXEC.ACCEPTED, EXEC.PARTIAL_FILL, EXEC.CANCELLED]);
      expect(answers[1]!.payload.deal).toMatchObject({ volume: LOT / 5, filledVolume: LOT / 10, dealStatus: 3 });
      expect(answers[2]!.payload.order).toMatchObject({ orderStatus: 5, executedVolume: LOT / 10 });
    });

    it('dropConnections destroys every socket', async () => {
      const client = await session();
      fake.dropConnections();
      await client.closed;
      expect(client.socket.readyState).toBe(WebSocket.CLOSED);
    });
  });
});

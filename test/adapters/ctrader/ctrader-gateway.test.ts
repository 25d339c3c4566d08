import { afterEach, describe, expect, it } from 'vitest';
import { CtraderGateway, type CtraderTokens } from '../../../shared/adapters/ctrader/ctrader-gateway';
import { FakeCtrader } from '../../support/fake-ctrader/fake-ctrader';

/** The gateway against the fake cTrader, with its tokens kept in memory as the runtime keeps them encrypted. */
const subject = async (options: { accessTokenTtlSeconds?: number; refreshBeforeMs?: number } = {}) => {
  const fake = await FakeCtrader.start({ accessTokenTtlSeconds: options.accessTokenTtlSeconds });
  const account = fake.addAccount();
  const issued = fake.issueTokens([account.ctidTraderAccountId]);
  let tokens: CtraderTokens = {
    accessToken: issued.accessToken,
    refreshToken: issued.refreshToken,
    expiresAt: new Date(Date.now() + issued.expiresIn * 1000).toISOString(),
  };
  const written: CtraderTokens[] = [];
  const gateway = new CtraderGateway({
    hosts: { live: fake.wsUrl, demo: fake.wsUrl },
    app: async () => ({ clientId: fake.clientId, clientSecret: fake.clientSecret }),
    tokens: {
      read: async () => tokens,
      write: async (_ref, next) => {
        tokens = next;
        written.push(next);
      },
    },
    timeoutMs: 3_000,
    ...(options.refreshBeforeMs !== undefined ? { refreshBeforeMs: options.refreshBeforeMs } : {}),
  });
  const ref = { tenantId: 't', accountId: 'a', platform: 'ctrader', login: String(account.ctidTraderAccountId), server: 'demo' };
  return { fake, gateway, ref, account, issued, written, tokens: () => tokens };
};

describe('the cTrader gateway', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('refreshes an access token about to expire before it uses it, and keeps the new tokens first', async () => {
    // A token that lasts a minute, refreshed when less than 59.5 s are left: at its first use after half a second.
    const { fake, gateway, ref, issued, written, tokens } = await subject({ accessTokenTtlSeconds: 60, refreshBeforeMs: 59_500 });
    cleanups.push(async () => {
      gateway.close();
      await fake.stop();
    });
    await new Promise((resolve) => setTimeout(resolve, 600));
    const port = await gateway.connect(ref);
    expect((await port.getAccountInformation()).balance).toBeGreaterThan(0);
    // The old token was still good: only a refresh made ahead of time explains a new one now.
    expect(written).toHaveLength(1);
    expect(tokens().accessToken).not.toBe(issued.accessToken);
    expect(tokens().refreshToken).not.toBe(issued.refreshToken);
    expect(Date.parse(tokens().expiresAt!)).toBeGreaterThan(Date.now() + 50_000);
    // Used again at once: the fresh token is not refreshed again.
    await port.getPositions();
    expect(written).toHaveLength(1);
  });

  it('refreshes a token cTrader refused as expired once, and fails AUTH_FAILED, terminal, once the grant is revoked', async () => {
    const { fake, gateway, ref, account, issued } = await subject();
    cleanups.push(async () => {
      gateway.close();
      await fake.stop();
    });
    const port = await gateway.connect(ref);
    await port.getPositions();
    fake.expireAccessToken(issued.accessToken);
    await expect(port.getPositions()).resolves.toEqual([]);
    for (const token of fake.tokensOf(account.ctidTraderAccountId).refreshTokens) fake.revokeGrant(token);
    await expect(port.getPositions()).rejects.toMatchObject({ code: 'AUTH_FAILED', errorClass: 'terminal' });
  });

  it("two processes refreshing at once: the one refused because the other spent the refresh token takes the other's tokens", async () => {
    const fake = await FakeCtrader.start();
    const account = fake.addAccount();
    const issued = fake.issueTokens([account.ctidTraderAccountId]);
    // One store (DynamoDB), slow to write (KMS, then DynamoDB): the second refresh asks before the first one's tokens land.
    let stored: CtraderTokens = { accessToken: issued.accessToken, refreshToken: issued.refreshToken };
    const store = {
      read: async () => stored,
      write: async (_ref: unknown, next: CtraderTokens) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        stored = next;
      },
    };
    const process = () =>
      new CtraderGateway({
        hosts: { live: fake.wsUrl, demo: fake.wsUrl },
        app: async () => ({ clientId: fake.clientId, clientSecret: fake.clientSecret }),
        tokens: store,
        timeoutMs: 3_000,
      });
    const [sync, copy] = [process(), process()];
    cleanups.push(async () => {
      sync.close();
      copy.close();
      await fake.stop();
    });
    const ref = { tenantId: 't', accountId: 'a', platform: 'ctrader', login: String(account.ctidTraderAccountId), server: 'demo' };
    fake.expireAccessToken(issued.accessToken);
    const answers = await Promise.allSettled([(await sync.connect(ref)).getPositions(), (await copy.connect(ref)).getPositions()]);
    expect(answers.map((answer) => answer.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(fake.tokensOf(account.ctidTraderAccountId).accessTokens).toEqual([stored.accessToken]);
  });

  it('uses the tokens a refresh gave when the store cannot keep them, and keeps them at the next use', async () => {
    const fake = await FakeCtrader.start();
    const account = fake.addAccount();
    const issued = fake.issueTokens([account.ctidTraderAccountId]);
    let stored: CtraderTokens = { accessToken: issued.accessToken, refreshToken: issued.refreshToken };
    let refusing = true;
    const gateway = new CtraderGateway({
      hosts: { live: fake.wsUrl, demo: fake.wsUrl },
      app: async () => ({ clientId: fake.clientId, clientSecret: fake.clientSecret }),
      tokens: {
        read: async () => stored,
        write: async (_ref, next) => {
          if (refusing) throw new Error('ProvisionedThroughputExceededException');
          stored = next;
        },
      },
      timeoutMs: 3_000,
    });
    cleanups.push(async () => {
      gateway.close();
      await fake.stop();
    });
    const ref = { tenantId: 't', accountId: 'a', platform: 'ctrader', login: String(account.ctidTraderAccountId), server: 'demo' };
    const port = await gateway.connect(ref);
    fake.expireAccessToken(issued.accessToken);
    await expect(port.getPositions()).resolves.toEqual([]);
    expect(stored.accessToken).toBe(issued.accessToken);
    refusing = false;
    // The socket's authorization stands; a new port of the same process asks for the token again and keeps it then.
    fake.dropConnections();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect((await gateway.connect(ref)).getPositions()).resolves.toEqual([]);
    expect(fake.tokensOf(account.ctidTraderAccountId).accessTokens).toEqual([stored.accessToken]);
  });

  it('reads prices of the socket as it is now: after a drop, the spots are subscribed again, never served stale', async () => {
    const { fake, gateway, ref } = await subject();
    cleanups.push(async () => {
      gateway.close();
      await fake.stop();
    });
    const port = await gateway.connect(ref);
    const first = await port.getQuote('EURUSD');
    expect(first).toMatchObject({ bid: fake.market.getQuote('EURUSD')!.bid, ask: fake.market.getQuote('EURUSD')!.ask });
    fake.dropConnections();
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The price moves while no socket listens.
    for (let step = 0; step < 20 && fake.market.getQuote('EURUSD')!.bid === first!.bid; step += 1) fake.market.randomWalkStep();
    const moved = fake.market.getQuote('EURUSD')!;
    expect(moved.bid).not.toBe(first!.bid);
    expect(await port.getQuote('EURUSD')).toMatchObject({ bid: moved.bid, ask: moved.ask });
  });

  it("says a NETTED account nets, and an order on its position's side grows that position under its id", async () => {
    const fake = await FakeCtrader.start();
    const account = fake.addAccount({ hedging: false });
    const issued = fake.issueTokens([account.ctidTraderAccountId]);
    const gateway = new CtraderGateway({
      hosts: { live: fake.wsUrl, demo: fake.wsUrl },
      app: async () => ({ clientId: fake.clientId, clientSecret: fake.clientSecret }),
      tokens: { read: async () => ({ accessToken: issued.accessToken, refreshToken: issued.refreshToken }), write: async () => undefined },
      timeoutMs: 3_000,
    });
    cleanups.push(async () => {
      gateway.close();
      await fake.stop();
    });
    const port = await gateway.connect({ tenantId: 't', accountId: 'n', platform: 'ctrader', login: String(account.ctidTraderAccountId), server: 'demo' });
    expect(await port.getCapabilities()).toEqual({ hedging: false, netting: true, fifo: false, units: 'lots', closeClientId: false });
    const first = await port.placeOrder({ clientId: 'mc-net-1', symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.1 });
    const added = await port.placeOrder({ clientId: 'mc-net-2', symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.05 });
    expect(added.positionId).toBe(first.positionId);
    expect((await port.getPositions()).map((position) => [position.id, position.volume])).toEqual([[first.positionId, 0.15]]);
  });

  it('classifies what cTrader refuses: a request rate exceeded is retried later, a rejected order is final, and nothing executed', async () => {
    const { fake, gateway, ref, account } = await subject();
    cleanups.push(async () => {
      gateway.close();
      await fake.stop();
    });
    const port = await gateway.connect(ref);
    await port.getPositions();
    fake.setFaults({ rateLimitNext: 1 });
    await expect(port.getPositions()).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS', errorClass: 'retry' });
    fake.setFaults({ rejectNextOrder: { errorCode: 'NOT_ENOUGH_MONEY' } });
    await expect(port.placeOrder({ clientId: 'mc-refused', symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.1 })).rejects.toMatchObject({
      code: 'NO_MONEY',
      errorClass: 'terminal',
    });
    expect(fake.market.getPositions(account.marketAccountId)).toEqual([]);
  });

  it('provisions an account its tokens reach in its environment, and says why not otherwise', async () => {
    const { fake, gateway, ref, issued } = await subject();
    cleanups.push(async () => {
      gateway.close();
      await fake.stop();
    });
    const credential = JSON.stringify({ accessToken: issued.accessToken, refreshToken: issued.refreshToken });
    expect(await gateway.provision(ref, credential)).toEqual({ status: 'connected', brokerAccountId: ref.login });
    expect(await gateway.provision({ ...ref, login: '42' }, credential)).toMatchObject({ status: 'error', statusDetail: expect.stringContaining('42') });
    expect(await gateway.provision({ ...ref, server: 'live' }, credential)).toMatchObject({ status: 'error', statusDetail: expect.stringContaining('demo') });
    expect(await gateway.provision(ref, '{}')).toMatchObject({ status: 'error', statusDetail: expect.stringContaining('authorized') });
    expect(JSON.stringify(await gateway.provision(ref, JSON.stringify({ accessToken: 'wrong', refreshToken: 'x' })))).not.toContain('wrong');
  });
});

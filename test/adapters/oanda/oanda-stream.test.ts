import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OandaGateway } from '../../../shared/adapters/oanda/oanda-gateway';
import type { AccountStream, BrokerAccountRef } from '../../../shared/ports/broker';
import { FakeOanda } from '../../support/fake-oanda/fake-oanda';
import { eventually } from '../../support/local-api';

describe("an OANDA account's transaction stream (watch)", () => {
  let fake: FakeOanda;
  const streams: AccountStream[] = [];
  let sequence = 0;

  const watched = async () => {
    const token = `stream-token-${(sequence += 1)}-${'ab'.repeat(24)}`;
    const login = fake.addAccount({ token, hedging: true, balance: 10_000, currency: 'USD', leverage: 50 });
    const hosts = { rest: fake.url, stream: fake.url };
    const gateway = new OandaGateway({
      hosts: { practice: hosts, live: hosts },
      tokenFor: async () => token,
      timeoutMs: 2_000,
      stream: { heartbeatTimeoutMs: 1_000, reopenDelayMs: 100, maxReopenDelayMs: 200 },
    });
    const ref: BrokerAccountRef = { tenantId: 'tenant-s', accountId: `acc-s${sequence}`, platform: 'oanda', login, server: 'practice' };
    let changes = 0;
    const stream = gateway.watch(ref, () => {
      changes += 1;
    });
    streams.push(stream);
    return { token, login, gateway, ref, stream, changes: () => changes, port: await gateway.connect(ref), marketId: fake.marketAccountId(login) };
  };

  beforeAll(async () => {
    fake = await FakeOanda.start({ transactionHeartbeatMs: 200 });
  });

  afterAll(async () => {
    await Promise.all(streams.map((stream) => stream.close()));
    await fake?.stop();
  });

  it('synchronizes, then shows every trade as it happens, through the port or by hand, with its deals', async () => {
    const { stream, port, changes, marketId } = await watched();
    expect(await stream.synchronized(3_000)).toBe(true);
    expect(stream.view()).toMatchObject({ positions: [], orders: [], account: { balance: 10_000, currency: 'USD', leverage: 50 } });
    const before = changes();

    const placed = await port.placeOrder({ clientId: 'st-1', symbol: 'EUR_USD', side: 'buy', type: 'market', volume: 1000 });
    const seen = await eventually(async () => stream.view()?.positions.find((position) => position.id === placed.positionId));
    expect(seen).toMatchObject({ symbol: 'EUR_USD', side: 'buy', volume: 1000, clientId: 'st-1' });
    expect(changes()).toBeGreaterThan(before);

    // A trade the trader makes by hand reaches the stream as well.
    const byHand = fake.market.traderTrade(marketId, { symbol: 'GBP_USD', side: 'sell', volume: 500 });
    await eventually(async () => stream.view()?.positions.find((position) => position.id === byHand.positionId));

    await port.closePosition(placed.positionId!, {});
    await eventually(async () => (stream.view()?.positions.some((position) => position.id === placed.positionId) ? undefined : true));
    const deals = stream.takeDeals?.() ?? [];
    expect(deals.filter((deal) => deal.positionId === placed.positionId).map((deal) => deal.entry)).toEqual(['in', 'out']);
    expect(stream.takeDeals?.()).toEqual([]);
  });

  it('shows nothing once closed', async () => {
    const { stream } = await watched();
    expect(await stream.synchronized(3_000)).toBe(true);
    await stream.close();
    expect(stream.view()).toBeUndefined();
    expect(await stream.synchronized(10)).toBe(false);
  });

  it('never synchronizes with a token OANDA refuses (the account is read over RPC, which says why)', async () => {
    const token = `revoked-${'cd'.repeat(24)}`;
    const login = fake.addAccount({ token, hedging: true });
    fake.revokeToken(token);
    const hosts = { rest: fake.url, stream: fake.url };
    const gateway = new OandaGateway({
      hosts: { practice: hosts, live: hosts },
      tokenFor: async () => token,
      stream: { reopenDelayMs: 50, maxReopenDelayMs: 100 },
    });
    const refused = gateway.watch({ tenantId: 'tenant-s', accountId: 'acc-revoked', platform: 'oanda', login, server: 'practice' }, () => undefined);
    streams.push(refused);
    expect(await refused.synchronized(500)).toBe(false);
    expect(refused.view()).toBeUndefined();
  });

  it('shows nothing while its stream is down or silent, and reopens by itself', async () => {
    /** The stream connections' bodies, which the test can cut (an error) or mute (nothing passes). */
    const connections: { cut: () => void; mute: () => void }[] = [];
    const tapped: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).endsWith('/transactions/stream') || !response.body) return response;
      let muted = false;
      let cut: (reason: Error) => void = () => undefined;
      const body = response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          start: (controller) => {
            cut = (reason) => controller.error(reason);
          },
          transform: (chunk, controller) => {
            if (!muted) controller.enqueue(chunk);
          },
        }),
      );
      connections.push({ cut: () => cut(new Error('connection reset')), mute: () => void (muted = true) });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const token = `tapped-${'ef'.repeat(24)}`;
    const login = fake.addAccount({ token, hedging: true });
    const hosts = { rest: fake.url, stream: fake.url };
    const gateway = new OandaGateway({
      hosts: { practice: hosts, live: hosts },
      tokenFor: async () => token,
      fetch: tapped,
      stream: { heartbeatTimeoutMs: 800, reopenDelayMs: 100, maxReopenDelayMs: 200 },
    });
    const stream = gateway.watch({ tenantId: 'tenant-s', accountId: 'acc-tapped', platform: 'oanda', login, server: 'practice' }, () => undefined);
    streams.push(stream);
    expect(await stream.synchronized(3_000)).toBe(true);

    connections.at(-1)!.cut();
    await eventually(async () => (stream.view() === undefined ? true : undefined), 2_000, 10);
    expect(await stream.synchronized(3_000)).toBe(true);
    expect(connections).toHaveLength(2);

    connections.at(-1)!.mute();
    await eventually(async () => (stream.view() === undefined ? true : undefined), 3_000, 20);
    expect(await stream.synchronized(3_000)).toBe(true);
    expect(connections).toHaveLength(3);
  });
});

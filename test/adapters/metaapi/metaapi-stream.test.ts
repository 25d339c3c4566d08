import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MetaApiCloud } from '../../../shared/adapters/metaapi/metaapi-cloud';
import { metaApiGateways } from '../../../shared/adapters/metaapi/metaapi-gateway';
import type { AccountStream, BrokerAccountRef } from '../../../shared/ports/broker';
import { fakeCloudOptions } from '../../support/fake-metaapi/cloud-options';
import { FakeMetaApi } from '../../support/fake-metaapi/fake-metaapi';
import { eventually } from '../../support/local-api';

/** Waits until the assertion holds. */
const until = (check: () => void, timeoutMs = 5_000) =>
  eventually(async () => {
    check();
    return true;
  }, timeoutMs);

const SERVER = 'FakeBroker-Demo';

describe('a MetaApi streaming connection as an account stream (real SDK, fake MetaApi)', () => {
  let fake: FakeMetaApi;
  const clouds: MetaApiCloud[] = [];
  const streams: AccountStream[] = [];
  let sequence = 0;

  const account = async () => {
    const login = String(7000 + (sequence += 1));
    fake.addBrokerAccount({ server: SERVER, login, password: `pw-${login}` });
    const cloud = new MetaApiCloud(fakeCloudOptions(fake));
    clouds.push(cloud);
    const gateway = metaApiGateways(cloud).mt5;
    const base: BrokerAccountRef = { tenantId: 'tenant-a', accountId: `acc_stream${sequence}`, platform: 'mt5', login, server: SERVER };
    const { brokerAccountId } = await gateway.provision(base, `pw-${login}`);
    return { cloud, gateway, ref: { ...base, brokerAccountId }, metaApiId: brokerAccountId!, marketId: FakeMetaApi.brokerAccountId(SERVER, login) };
  };

  const watch = (gateway: ReturnType<typeof metaApiGateways>['mt5'], ref: BrokerAccountRef) => {
    const changes: number[] = [];
    const stream = gateway.watch(ref, () => changes.push(Date.now()));
    streams.push(stream);
    return { stream, changes };
  };

  beforeAll(async () => {
    fake = await FakeMetaApi.start({ validationPolls: 0, deployPolls: 0, connectPolls: 0 });
  });

  afterEach(async () => {
    await Promise.all(streams.splice(0).map((stream) => stream.close()));
    await Promise.all(clouds.splice(0).map((cloud) => cloud.close()));
  });

  afterAll(async () => {
    await fake?.stop();
  });

  it('synchronizes in the packet order MetaApi uses, then pushes every trade without one RPC read', async () => {
    const { gateway, ref, metaApiId, marketId } = await account();
    const opened = fake.market.placeOrder(marketId, { clientId: 'st1', symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.3 });
    const { stream, changes } = watch(gateway, ref);
    expect(stream.view()).toBeUndefined();
    expect(await stream.synchronized(5_000)).toBe(true);
    expect(stream.view()?.positions.map((position) => [position.id, position.volume])).toEqual([[opened.positionId, 0.3]]);
    expect(fake.httpRequests.some((request) => request.path === '/hashing-ignored-field-lists')).toBe(true);

    const since = Date.now();
    const before = changes.length;
    const second = fake.market.placeOrder(marketId, { clientId: 'st2', symbol: 'GBPUSD', side: 'sell', type: 'market', volume: 0.1 });
    await until(() =>
      expect(
        stream
          .view()
          ?.positions.map((position) => position.id)
          .sort(),
      ).toEqual([opened.positionId, second.positionId].sort()),
    );
    expect(changes.length).toBeGreaterThan(before);
    fake.market.modifyPosition(marketId, second.positionId!, { stopLoss: 1.5, takeProfit: null });
    await until(() => expect(stream.view()?.positions.find((position) => position.id === second.positionId)?.stopLoss).toBe(1.5));
    fake.market.closePosition(marketId, opened.positionId!, { volume: 0.1 });
    await until(() => expect(stream.view()?.positions.find((position) => position.id === opened.positionId)?.volume).toBeCloseTo(0.2, 10));
    fake.market.closePosition(marketId, opened.positionId!, {});
    await until(() => expect(stream.view()?.positions.map((position) => position.id)).toEqual([second.positionId]));
    // The deals came with the updates: the opening of the second position and both closes of the first.
    const taken: string[] = [];
    await until(() => {
      taken.push(...(stream.takeDeals?.() ?? []).map((deal) => `${deal.entry}:${deal.positionId}:${deal.volume}`));
      expect(taken).toEqual([`in:${second.positionId}:0.1`, `out:${opened.positionId}:0.1`, `out:${opened.positionId}:0.2`]);
    });
    expect(stream.takeDeals?.()).toEqual([]);
    expect(fake.rpcReads(metaApiId, since)).toEqual([]);
  });

  it('shows no view while a synchronization MetaApi accepted has not delivered its positions yet (never an empty book)', async () => {
    const { gateway, ref, metaApiId, marketId } = await account();
    const opened = fake.market.placeOrder(marketId, { clientId: 'gap1', symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.1 });
    fake.synchronizationGapMs = 1_000;
    try {
      const { stream } = watch(gateway, ref);
      await until(() => expect(fake.requests.some((request) => request.type === 'synchronize' && request.accountId === metaApiId)).toBe(true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(stream.view()).toBeUndefined();
      expect(await stream.synchronized(5_000)).toBe(true);
      expect(stream.view()?.positions.map((position) => position.id)).toEqual([opened.positionId]);
    } finally {
      fake.synchronizationGapMs = 0;
    }
  });

  it('shows no view while the terminal is disconnected, and synchronizes again after the SDK resubscribes', async () => {
    const { gateway, ref, marketId } = await account();
    const { stream } = watch(gateway, ref);
    expect(await stream.synchronized(5_000)).toBe(true);
    fake.dropConnections();
    await until(() => expect(stream.view()).toBeUndefined());
    const opened = fake.market.placeOrder(marketId, { clientId: 'st3', symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.2 });
    expect(await stream.synchronized(10_000)).toBe(true);
    await until(() => expect(stream.view()?.positions.map((position) => position.id)).toEqual([opened.positionId]), 10_000);
  });

  it('never trusts a stream MetaApi refused to subscribe (429 LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_USER): no view, so the account is read over RPC', async () => {
    const { gateway, ref, metaApiId } = await account();
    fake.failStream('subscriptionLimit', { times: 1 });
    const { stream } = watch(gateway, ref);
    expect(await stream.synchronized(1_500)).toBe(false);
    expect(stream.view()).toBeUndefined();
    expect(fake.requests.filter((request) => request.type === 'subscribe' && request.accountId === metaApiId).length).toBeGreaterThan(0);
    expect(fake.requests.some((request) => request.type === 'synchronize' && request.accountId === metaApiId)).toBe(false);
  });

  for (const fault of ['staleTimestamp', 'sequenceGap'] as const) {
    it(`holds back what follows a ${fault}, then subscribes and synchronizes again within seconds: nothing is lost for good`, async () => {
      const { gateway, ref, marketId, metaApiId } = await account();
      const { stream } = watch(gateway, ref);
      expect(await stream.synchronized(5_000)).toBe(true);
      fake.failStream(fault, { accountId: metaApiId });
      const first = fake.market.placeOrder(marketId, { clientId: `${fault}1`, symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.1 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(stream.view()?.positions ?? []).toEqual([]);
      const second = fake.market.placeOrder(marketId, { clientId: `${fault}2`, symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.2 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Nothing after the packet that broke the sequence shows until the stream synchronized again.
      expect(stream.view()?.positions ?? []).toEqual([]);
      await until(
        () =>
          expect(
            stream
              .view()
              ?.positions.map((position) => position.id)
              .sort(),
          ).toEqual([first.positionId, second.positionId].sort()),
        15_000,
      );
      expect(fake.requests.filter((request) => request.type === 'synchronize' && request.accountId === metaApiId).length).toBeGreaterThan(1);
    });
  }

  it('closes: the subscription is released and no update reaches a closed stream', async () => {
    const { gateway, ref, metaApiId, marketId } = await account();
    const { stream, changes } = watch(gateway, ref);
    expect(await stream.synchronized(5_000)).toBe(true);
    await stream.close();
    expect(stream.view()).toBeUndefined();
    await until(() => expect(fake.requests.some((request) => request.type === 'unsubscribe' && request.accountId === metaApiId)).toBe(true));
    const count = changes.length;
    fake.market.placeOrder(marketId, { clientId: 'st4', symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(changes.length).toBe(count);
    expect(fake.streamingSessions(metaApiId)).toEqual([]);
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MetaApiCloud, type MetaApiTimeouts } from '../../../shared/adapters/metaapi/metaapi-cloud';
import { metaApiGateways } from '../../../shared/adapters/metaapi/metaapi-gateway';
import { BrokerError } from '../../../shared/domain/broker-errors';
import type { BrokerAccountRef, BrokerPort } from '../../../shared/ports/broker';
import { fakeCloudOptions, testTimeouts } from '../../support/fake-metaapi/cloud-options';
import { FakeMetaApi } from '../../support/fake-metaapi/fake-metaapi';
import { eventually } from '../../support/local-api';

const SERVER = 'FakeBroker-Demo';

const rejection = async (promise: Promise<unknown>): Promise<BrokerError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BrokerError) return error;
    throw error;
  }
  throw new Error('expected a BrokerError');
};

const timed = async <T>(work: Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = Date.now();
  const value = await work;
  return { value, ms: Date.now() - started };
};

describe('MetaApi connections and the port through them', () => {
  let fake: FakeMetaApi;
  const clouds: MetaApiCloud[] = [];
  let sequence = 0;

  /** A provisioned account with its own client (so one test's connection does not leak into another). */
  const account = async (timeouts: Partial<MetaApiTimeouts> = {}, extra: { historyPageSize?: number } = {}) => {
    const login = String(2000 + (sequence += 1));
    fake.addBrokerAccount({ server: SERVER, login, password: `pw-${login}` });
    const cloud = new MetaApiCloud({ ...fakeCloudOptions(fake, timeouts), ...extra });
    clouds.push(cloud);
    const gateway = metaApiGateways(cloud).mt5;
    const base: BrokerAccountRef = { tenantId: 'tenant-a', accountId: `acc_port${sequence}`, platform: 'mt5', login, server: SERVER };
    const { brokerAccountId } = await gateway.provision(base, `pw-${login}`);
    const ref = { ...base, brokerAccountId };
    return { cloud, gateway, ref, login, metaApiId: brokerAccountId!, marketId: FakeMetaApi.brokerAccountId(SERVER, login) };
  };

  /** One account most tests share (its connection opens once): short budgets, small history pages. */
  let shared: Awaited<ReturnType<typeof account>> & { port: BrokerPort };

  beforeAll(async () => {
    fake = await FakeMetaApi.start({ validationPolls: 0, deployPolls: 0, connectPolls: 0 });
    const opened = await account({ requestMs: 700, tradeMs: 700 }, { historyPageSize: 2 });
    clouds.pop();
    shared = { ...opened, port: await opened.gateway.connect(opened.ref) };
  });

  afterEach(async () => {
    fake.latencyMs = 0;
    fake.setReachable(true);
    await Promise.all(clouds.splice(0).map((cloud) => cloud.close()));
  });

  afterAll(async () => {
    await shared?.cloud.close();
    await fake?.stop();
  });

  it('keeps the connection open across connects: the second one subscribes nothing and answers at once', async () => {
    const { gateway, ref, metaApiId } = shared;
    const subscribes = fake.requests.filter((request) => request.type === 'subscribe' && request.accountId === metaApiId).length;
    const { ms } = await timed(gateway.connect(ref).then((port) => port.getAccountInformation()));
    expect(ms).toBeLessThan(500);
    expect(fake.requests.filter((request) => request.type === 'subscribe' && request.accountId === metaApiId)).toHaveLength(subscribes);
  });

  it("reads an account's capabilities once per connection (every close asks), from its margin mode", async () => {
    const { port, metaApiId } = shared;
    const since = Date.now();
    expect(await port.getCapabilities()).toEqual({ hedging: true, netting: false, fifo: false, units: 'lots', closeClientId: true });
    await port.getCapabilities();
    await port.getCapabilities();
    expect(fake.rpcReads(metaApiId, since).filter((request) => request.type === 'getAccountInformation').length).toBeLessThanOrEqual(1);
  });

  it('sends the client id whole and cuts a comment to fit 26 characters; refuses a longer client id without sending it', async () => {
    const { port, metaApiId } = shared;
    const clientId = 'mc0123456789abcdef0123';
    await port.placeOrder({ clientId, symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.01, comment: 'copied by mt-copier' });
    expect(fake.tradeRequests(metaApiId).at(-1)).toMatchObject({ actionType: 'ORDER_TYPE_BUY', clientId, comment: 'copi', volume: 0.01, symbol: 'EURUSD' });

    const sent = fake.tradeRequests(metaApiId).length;
    const error = await rejection(port.placeOrder({ clientId: 'x'.repeat(27), symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.01 }));
    expect(error).toMatchObject({ code: 'REJECTED', errorClass: 'terminal' });
    expect(fake.tradeRequests(metaApiId)).toHaveLength(sent);
  });

  it('sends the current level of a stop it keeps, because MetaApi removes a level a modification omits', async () => {
    const { port, metaApiId } = shared;
    const { positionId } = await port.placeOrder({ clientId: 'mckeep', symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.01, takeProfit: 1.2 });
    await port.modifyPosition(positionId!, { stopLoss: 1.0 });
    expect(fake.tradeRequests(metaApiId).at(-1)).toEqual({ actionType: 'POSITION_MODIFY', positionId, stopLoss: 1.0, takeProfit: 1.2 });
    await port.modifyPosition(positionId!, { takeProfit: null });
    expect(fake.tradeRequests(metaApiId).at(-1)).toEqual({ actionType: 'POSITION_MODIFY', positionId, stopLoss: 1.0 });
    expect((await port.getPositions()).find((position) => position.id === positionId)).toMatchObject({ stopLoss: 1.0 });
    expect((await port.getPositions()).find((position) => position.id === positionId)?.takeProfit).toBeUndefined();
  });

  it("turns a 429 into TOO_MANY_REQUESTS (retry) with MetaApi's recommended retry time, for reads and trades", async () => {
    const { port, metaApiId } = shared;
    fake.failNext('getPositions', { kind: 'error', error: 'TooManyRequestsError', message: 'slow down', retryAfterMs: 30_000 }, { accountId: metaApiId });
    const read = await rejection(port.getPositions());
    expect(read).toMatchObject({ code: 'TOO_MANY_REQUESTS', errorClass: 'retry' });
    expect(read.retryAfterMs).toBeGreaterThan(25_000);
    expect(read.retryAfterMs).toBeLessThanOrEqual(30_000);

    fake.failNext('trade', { kind: 'error', error: 'TooManyRequestsError', retryAfterMs: 12_000 }, { accountId: metaApiId });
    const trade = await rejection(port.placeOrder({ clientId: 'mc429', symbol: 'EURUSD', side: 'sell', type: 'market', volume: 0.01 }));
    expect(trade).toMatchObject({ code: 'TOO_MANY_REQUESTS', errorClass: 'retry' });
    expect(trade.retryAfterMs).toBeGreaterThan(8_000);
    expect((await port.findByClientId('mc429')).positions).toEqual([]);
  });

  it('lets the SDK wait out a 429 that asks for less than a second, and the read succeeds', async () => {
    const { port, metaApiId } = shared;
    fake.failNext('getAccountInformation', { kind: 'error', error: 'TooManyRequestsError', retryAfterMs: 300 }, { accountId: metaApiId });
    expect((await port.getAccountInformation()).balance).toBe(10_000);
  });

  it.each([
    [{ kind: 'error', error: 'TimeoutError' } as const, 'TIMEOUT', 'reconcile'],
    [{ kind: 'error', error: 'NotAuthenticatedError' } as const, 'CONNECTION', 'reconcile'],
    [{ kind: 'error', error: 'ValidationError', message: 'volume must be positive' } as const, 'REJECTED', 'terminal'],
    [{ kind: 'tradeCode', stringCode: 'TRADE_RETCODE_MARKET_CLOSED', numericCode: 10018 } as const, 'MARKET_CLOSED', 'defer'],
    [{ kind: 'tradeCode', stringCode: 'ERR_NOT_ENOUGH_MONEY', numericCode: 134 } as const, 'NO_MONEY', 'terminal'],
  ])('classifies a trade answered with %j as %s (%s)', async (fault, code, errorClass) => {
    const { port, metaApiId } = shared;
    fake.failNext('trade', fault, { accountId: metaApiId });
    const error = await rejection(port.placeOrder({ clientId: 'mcfault', symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.01 }));
    expect(error).toMatchObject({ code, errorClass });
  });

  it('fails a read of a slow broker with TIMEOUT within its budget', async () => {
    const { port } = shared;
    fake.latencyMs = 3_000;
    const started = Date.now();
    const error = await rejection(port.getPositions());
    expect(error).toMatchObject({ code: 'TIMEOUT', errorClass: 'reconcile' });
    expect(Date.now() - started).toBeLessThan(700 + 400);
  });

  it('fails a trade whose answer never comes with TIMEOUT within the trade budget, and the lookup shows it executed', async () => {
    const { port, metaApiId } = shared;
    fake.failNext('trade', { kind: 'executeSilently' }, { accountId: metaApiId });
    const { value: error, ms } = await timed(rejection(port.placeOrder({ clientId: 'mcsilent', symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.01 })));
    expect(error).toMatchObject({ code: 'TIMEOUT', errorClass: 'reconcile' });
    expect(ms).toBeLessThan(700 + 400);
    expect((await port.findByClientId('mcsilent')).positions).toHaveLength(1);
  });

  it('fails reads within their budget while MetaApi is unreachable, and serves them again through the next connect once it is back', async () => {
    const { gateway, ref } = await account({ requestMs: 800 });
    const port = await gateway.connect(ref);
    fake.setReachable(false);
    const { value: error, ms } = await timed(rejection(port.getPositions()));
    expect(['CONNECTION', 'TIMEOUT']).toContain(error.code);
    expect(error.errorClass).toBe('reconcile');
    expect(ms).toBeLessThan(800 + 400);

    fake.setReachable(true);
    const positions = await eventually(async () => (await gateway.connect(ref)).getPositions(), 15_000, 200);
    expect(positions).toEqual([]);
  });

  it('fails connect with CONNECTION and the reason when the terminal cannot log in to the broker', async () => {
    const { cloud, ref, login } = await account({ connectMs: 1_500 });
    fake.changeBrokerPassword(SERVER, login, 'changed-at-the-broker');
    const fresh = new MetaApiCloud(cloud.options);
    clouds.push(fresh);
    const { value: error, ms } = await timed(rejection(metaApiGateways(fresh).mt5.connect(ref)));
    expect(error).toMatchObject({ code: 'CONNECTION', errorClass: 'reconcile' });
    expect(error.message).toContain('DISCONNECTED_FROM_BROKER');
    expect(ms).toBeLessThan(1_500 + 1_500);
  });

  it('fails connect with NOT_CONFIGURED (terminal) for an account MetaApi does not have', async () => {
    const { gateway, ref } = shared;
    const error = await rejection(gateway.connect({ ...ref, accountId: 'acc_unknown', brokerAccountId: undefined }));
    expect(error).toMatchObject({ code: 'NOT_CONFIGURED', errorClass: 'terminal' });
    const gone = await rejection(gateway.connect({ ...ref, accountId: 'acc_gone', brokerAccountId: 'no-such-metaapi-id' }));
    expect(gone.code).toBe('NOT_CONFIGURED');
  });

  it('deploys an undeployed account again and reports CONNECTION until it is up', async () => {
    const { gateway, ref, metaApiId } = await account();
    fake.accounts.get(metaApiId)!.state = 'UNDEPLOYED';
    const error = await rejection(gateway.connect(ref));
    expect(error).toMatchObject({ code: 'CONNECTION' });
    expect(error.message).toContain('deploying');
    expect(fake.httpRequests).toContainEqual({ method: 'POST', path: `/users/current/accounts/${metaApiId}/deploy` });
    const port = await eventually(async () => gateway.connect(ref), 5_000, 100);
    expect((await port.getAccountInformation()).currency).toBe('USD');
  });

  it('finds a pending order placed with a client id after it was cancelled, through the history orders', async () => {
    const { port } = shared;
    const quote = (await port.getQuote('EURUSD'))!;
    const { orderId } = await port.placeOrder({
      clientId: 'mccancelled',
      symbol: 'EURUSD',
      side: 'sell',
      type: 'limit',
      volume: 0.01,
      price: Number((quote.bid + 0.01).toFixed(5)),
    });
    await port.cancelOrder(orderId!);
    expect(await port.getPendingOrders()).toEqual([]);
    expect((await port.findByClientId('mccancelled')).orders).toEqual([expect.objectContaining({ id: orderId, side: 'sell', type: 'limit' })]);
  });

  it('reads deals page by page', async () => {
    const { port, metaApiId } = shared;
    const from = new Date().toISOString();
    const queries = () => fake.requests.filter((request) => request.type === 'getDealsByTimeRange' && request.accountId === metaApiId).length;
    for (const clientId of ['mcpage1', 'mcpage2', 'mcpage3']) {
      await port.placeOrder({ clientId, symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.01 });
    }
    const before = queries();
    const deals = await port.getDeals(from, new Date(Date.now() + 60_000).toISOString());
    expect(deals.map((deal) => deal.clientId)).toEqual(['mcpage1', 'mcpage2', 'mcpage3']);
    expect(queries() - before).toBe(2);
  });

  it('closes every connection and the SDK, after which a connect fails as a lost connection', async () => {
    const { cloud, gateway, ref } = await account(testTimeouts);
    await gateway.connect(ref);
    await cloud.close();
    const error = await rejection(gateway.connect(ref));
    expect(error.code).toBe('CONNECTION');
  });
});

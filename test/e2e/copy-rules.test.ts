import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

interface BrokerTruth {
  balance: number;
  equity: number;
  positions: { id: string; symbol: string; side: 'buy' | 'sell'; volume: number; stopLoss?: number; takeProfit?: number }[];
  orders: { id: string }[];
}

/** The acceptance list for the copy engine, run against the local runtime over HTTP. */
describe('copy rules against the local runtime', () => {
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;
  let accountCount = 0;

  beforeAll(async () => {
    // A deferred copy (market closed) comes back after 2 s here, not the deployed minute.
    system = await startTestSystem({ settings: { COPY_DEFER_SECONDS: '2' } });
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-rules'));
  });
  afterAll(async () => system?.stop());

  const account = async () => {
    accountCount += 1;
    const { body } = await api.post('/v1/accounts', {
      name: `acc-${accountCount}`,
      platform: 'simulated',
      login: `${accountCount}`,
      password: 'pw',
      server: 'Sim',
    });
    return body.id as string;
  };
  const pair = async (mapping: Record<string, unknown>) => {
    const master = await account();
    const slave = await account();
    const created = await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, ...mapping });
    expect(created.status).toBe(201);
    await system.syncNow(); // baseline of the new master
    return { master, slave, mappingId: created.body.id as string };
  };
  const truth = async (accountId: string) => (await api.get<BrokerTruth>(`/local/simulator/accounts/${accountId}`)).body;
  const trade = async (accountId: string, body: Record<string, unknown>) => (await api.post(`/local/simulator/accounts/${accountId}/trades`, body)).body;
  const slavePositions = (slave: string, count: number) =>
    eventually(async () => {
      const { positions } = await truth(slave);
      return positions.length === count ? positions : undefined;
    });
  /** The mapping's copy records once there are `count` of them and, unless told otherwise, none is still pending. */
  const copies = (mappingId: string, count: number, settled = true) =>
    eventually(async () => {
      const { items } = (await api.get(`/v1/copy-mappings/${mappingId}/copies`)).body;
      if (settled && items.some((item: { status: string }) => item.status === 'pending')) return undefined;
      return items.length >= count ? items : undefined;
    });

  it('mirrors a partial close of 0.40 from a master 1.00 at multiplier 0.5, leaving the slave at 0.30', async () => {
    const { master, slave } = await pair({ sizing: { mode: 'multiplier', multiplier: 0.5 } });
    const { positionId } = await trade(master, { symbol: 'EURUSD', side: 'buy', volume: 1 });
    expect((await slavePositions(slave, 1))[0]!.volume).toBe(0.5);
    await api.post(`/local/simulator/accounts/${master}/positions/${positionId}/close`, { volume: 0.4 });
    await eventually(async () => ((await truth(slave)).positions[0]?.volume === 0.3 ? true : undefined));
  });

  it('turns a master buy into a slave sell with stop loss and take profit swapped when reversed', async () => {
    const { master, slave } = await pair({ sizing: { mode: 'multiplier', multiplier: 1 }, reverse: true });
    await trade(master, { symbol: 'EURUSD', side: 'buy', volume: 0.1, stopLoss: 1.0, takeProfit: 1.5 });
    const [copied] = await slavePositions(slave, 1);
    expect(copied).toMatchObject({ side: 'sell', volume: 0.1, stopLoss: 1.5, takeProfit: 1.0 });
  });

  it('rounds 0.10 x 0.333 down to 0.03', async () => {
    const { master, slave } = await pair({ sizing: { mode: 'multiplier', multiplier: 0.333 } });
    await trade(master, { symbol: 'GBPUSD', side: 'sell', volume: 0.1 });
    expect((await slavePositions(slave, 1))[0]!.volume).toBe(0.03);
  });

  it('records SYMBOL_FILTERED for an excluded symbol and places no order', async () => {
    const { master, slave, mappingId } = await pair({ sizing: { mode: 'multiplier', multiplier: 1 }, symbols: { exclude: ['XAUUSD'] } });
    await trade(master, { symbol: 'XAUUSD', side: 'buy', volume: 0.1 });
    const [record] = await copies(mappingId, 1);
    expect(record).toMatchObject({ action: 'open', status: 'skipped', reason: 'SYMBOL_FILTERED', symbol: 'XAUUSD' });
    expect((await truth(slave)).positions).toHaveLength(0);
  });

  it('renames symbols for the slave broker', async () => {
    await system.market.defineSymbol({ symbol: 'EURUSD.m', bid: 1.1, ask: 1.1001 });
    const { master, slave, mappingId } = await pair({ sizing: { mode: 'multiplier', multiplier: 1 }, symbols: { map: { EURUSD: 'EURUSD.m' } } });
    await trade(master, { symbol: 'EURUSD', side: 'buy', volume: 0.2 });
    expect((await slavePositions(slave, 1))[0]).toMatchObject({ symbol: 'EURUSD.m', volume: 0.2 });
    expect((await copies(mappingId, 1))[0]).toMatchObject({ symbol: 'EURUSD', slaveSymbol: 'EURUSD.m', status: 'placed' });
  });

  it('fills an ftmo-2step preset into loss limits and breaches at its daily line, closing nothing with closeOnly', async () => {
    const { master, slave, mappingId } = await pair({ sizing: { mode: 'multiplier', multiplier: 1 } });
    const put = await api.put(`/v1/accounts/${slave}/protection`, { preset: 'ftmo-2step', initialCapital: 10_000, onBreach: 'closeOnly' });
    expect(put.status, put.text).toBe(200);
    expect(put.body).toMatchObject({
      preset: 'ftmo-2step',
      onBreach: 'closeOnly',
      lossLimits: [
        { period: 'day', basis: 'balance', percent: 5, percentOf: 'initial', dayStartsAt: '00:00', timeZone: 'Europe/Prague' },
        { period: 'total', basis: 'balance', percent: 10, percentOf: 'initial' },
      ],
    });
    expect((await api.put(`/v1/accounts/${slave}/protection`, { preset: 'ftmo-2step', lossLimits: [] })).status).toBe(400);
    await trade(master, { symbol: 'XAUUSD', side: 'buy', volume: 0.1 });
    await slavePositions(slave, 1);
    await system.syncNow(true); // the day's reference: the balance at its first mark (10,000)
    // Gold falls 100 USD: 0.1 lot (10 oz) loses 1,000 USD, past the line at 10,000 - 500.
    const gold = system.market.getQuote('XAUUSD')!;
    await api.put('/local/simulator/symbols/XAUUSD', { bid: gold.bid - 100, ask: gold.ask - 100 });
    await system.syncNow(true);
    const protection = await eventually(async () => {
      const { body } = await api.get(`/v1/accounts/${slave}/protection`);
      return body.state === 'breached' ? body : undefined;
    });
    expect(protection.reason).toMatch(/^LOSS_LIMIT_DAY: equity [\d.]+ at or below 9500$/);
    // closeOnly: the copied position stays; a new open is refused.
    expect((await truth(slave)).positions).toHaveLength(1);
    await trade(master, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    const skipped = await eventually(async () => {
      const { items } = (await api.get(`/v1/copy-mappings/${mappingId}/copies`)).body;
      return items.find((item: { reason?: string }) => item.reason === 'PROTECTION_BREACHED');
    });
    expect(skipped).toMatchObject({ action: 'open', symbol: 'EURUSD' });
    await api.put('/local/simulator/symbols/XAUUSD', { bid: gold.bid, ask: gold.ask });
  });

  it('stops new opens after a daily-loss breach, flattens the slave with closeAll, and resumes after reset', async () => {
    const { master, slave, mappingId } = await pair({ sizing: { mode: 'multiplier', multiplier: 1 } });
    const put = await api.put(`/v1/accounts/${slave}/protection`, { maxDailyLossPercent: 5, onBreach: 'closeAll' });
    expect(put.status).toBe(200);
    const { positionId } = await trade(master, { symbol: 'XAUUSD', side: 'buy', volume: 0.1 });
    await slavePositions(slave, 1);
    await system.syncNow(true); // marks the slave's equity at the start of its day
    // Gold falls 100 USD: 0.1 lot (10 oz) loses 1,000 USD, 10% of a 10,000 USD account.
    const gold = system.market.getQuote('XAUUSD')!;
    await api.put('/local/simulator/symbols/XAUUSD', { bid: gold.bid - 100, ask: gold.ask - 100 });
    await system.syncNow(true);
    const protection = await eventually(async () => {
      const { body } = await api.get(`/v1/accounts/${slave}/protection`);
      return body.state === 'breached' ? body : undefined;
    });
    expect(protection.reason).toMatch(/MAX_DAILY_LOSS/);
    await slavePositions(slave, 0); // closeAll flattened the copied position; the master keeps its own
    expect((await truth(master)).positions.map((position) => position.id)).toEqual([positionId]);

    await trade(master, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    const skipped = await eventually(async () => {
      const { items } = (await api.get(`/v1/copy-mappings/${mappingId}/copies`)).body;
      return items.find((item: { reason?: string }) => item.reason === 'PROTECTION_BREACHED');
    });
    expect(skipped).toMatchObject({ action: 'open', status: 'skipped' });
    expect((await truth(slave)).positions).toHaveLength(0);

    expect((await api.post(`/v1/accounts/${slave}/protection/reset`, {})).status).toBeLessThan(300);
    await trade(master, { symbol: 'GBPUSD', side: 'sell', volume: 0.1 });
    expect((await slavePositions(slave, 1))[0]).toMatchObject({ symbol: 'GBPUSD', side: 'sell', volume: 0.1 });
  });

  it('never ends with two slave positions for one master position under injected faults', async () => {
    for (const fault of [
      { rejectNext: 1, code: 'REQUOTE' },
      { timeoutAfterExecuteNext: 1 },
      // Deferred: the signal waits on the queue (2 s here), then lands once.
      { rejectNext: 1, code: 'MARKET_CLOSED' },
    ]) {
      const { master, slave, mappingId } = await pair({ sizing: { mode: 'multiplier', multiplier: 1 } });
      await api.post(`/local/simulator/accounts/${slave}/faults`, fault);
      await trade(master, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
      if (fault.code === 'MARKET_CLOSED') {
        const [record] = await copies(mappingId, 1, false);
        expect(record).toMatchObject({ status: 'pending' });
        expect((await truth(slave)).positions).toHaveLength(0);
      }
      await slavePositions(slave, 1);
      for (let pass = 0; pass < 3; pass += 1) await system.syncNow();
      await system.drain();
      expect((await truth(slave)).positions).toHaveLength(1);
      expect(await copies(mappingId, 1)).toMatchObject([{ action: 'open', status: 'placed' }]);
    }
    const { master, slave, mappingId } = await pair({ sizing: { mode: 'multiplier', multiplier: 1 } });
    await api.post(`/local/simulator/accounts/${slave}/faults`, { rejectNext: 1, code: 'NO_MONEY' });
    await trade(master, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    const failed = await eventually(async () => {
      const { items } = (await api.get(`/v1/copy-mappings/${mappingId}/copies`)).body;
      return items.find((item: { status: string }) => item.status !== 'pending');
    });
    expect(failed).toMatchObject({ status: 'failed', reason: 'BROKER_NO_MONEY' });
    expect((await truth(slave)).positions).toHaveLength(0);
  });
});

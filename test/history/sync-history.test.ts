import { describe, expect, it } from 'vitest';
import { SimulatedBrokerGateway } from '../../local/simulated-broker/simulated-broker-gateway';
import { SimulatedMarket } from '../../local/simulated-broker/simulated-market';
import { pairClosedTrades } from '../../shared/domain/closed-trades';
import type { BrokerAccountRef, BrokerGateway, BrokerPort } from '../../shared/ports/broker';
import { silentLog } from '../../shared/ports/log';
import { BrokerDirectory } from '../../shared/use-cases/broker-directory';
import { BROKER_DEAL_LIMIT, HISTORY_SETTLE_MS, historyDue, syncHistory, DEFAULT_HISTORY_SETTINGS } from '../../shared/use-cases/sync-history';
import { anAccount } from '../support/fixtures';
import { MemoryCopyStore, MemoryTradeHistoryStore, memoryStores } from '../support/memory-stores';
import { noMetrics } from '../../shared/ports/metrics';
import { syncAccount } from '../../shared/use-cases/sync-accounts';

const DAY = 24 * 3_600_000;
const START = Date.parse('2026-09-01T00:00:00.000Z');

/** A market whose clock the test moves: an account that traded over `days` days, a position a day, each closed in two parts. */
const tradedMarket = (days: number) => {
  let clock = START;
  const market = new SimulatedMarket({ now: () => new Date(clock) });
  market.openAccount('acc-h', { balance: 10_000 });
  for (let day = 0; day < days; day += 1) {
    clock = START + day * DAY;
    const { positionId } = market.traderTrade('acc-h', { symbol: 'EURUSD', side: day % 2 === 0 ? 'buy' : 'sell', volume: 0.3 });
    clock += 3_600_000;
    market.traderClose('acc-h', positionId ?? '', 0.1);
    clock += 3_600_000;
    market.traderClose('acc-h', positionId ?? '');
  }
  clock = START + days * DAY;
  return { market, setClock: (ms: number) => (clock = ms), now: () => new Date(clock) };
};

/** A gateway whose ports count their history reads, and fail the `failAt`-th one. */
const countingGateway = (market: SimulatedMarket, reads: { from: string; to: string }[], failAt?: number): BrokerGateway => {
  const simulated = new SimulatedBrokerGateway(market, { sleep: async () => undefined });
  return Object.assign(Object.create(simulated) as SimulatedBrokerGateway, {
    connect: async (ref: BrokerAccountRef): Promise<BrokerPort> => {
      const port = await simulated.connect(ref);
      return Object.assign(Object.create(port) as BrokerPort, {
        getDeals: async (from: string, to: string) => {
          reads.push({ from, to });
          if (reads.length === failAt) throw new Error('the process died here');
          return port.getDeals(from, to);
        },
      });
    },
  });
};

describe('history sync', () => {
  const account = anAccount({ id: 'acc-h', tenantId: 't-h', platform: 'simulated' });

  it('backfills the window a week at a time, stores every closed trade once, and reads nothing again on the next sync', async () => {
    const { market, now, setClock } = tradedMarket(20);
    const reads: { from: string; to: string }[] = [];
    const tradeHistory = new MemoryTradeHistoryStore();
    const deps = {
      tradeHistory,
      copies: new MemoryCopyStore(),
      brokers: new BrokerDirectory({ simulated: countingGateway(market, reads) }),
      now,
      log: silentLog,
    };
    const result = await syncHistory(deps, account, { backfillDays: 30, balance: 10_000 });
    expect(reads.length).toBe(5);
    expect(reads.every((read) => Date.parse(read.to) - Date.parse(read.from) <= 7 * DAY)).toBe(true);
    const expected = pairClosedTrades(market.getDeals('acc-h', new Date(0).toISOString(), now().toISOString())).trades;
    expect(expected).toHaveLength(40);
    expect(result).toMatchObject({ trades: 40 });
    const stored = await tradeHistory.listTrades('t-h', 'acc-h', { from: new Date(START - DAY).toISOString(), to: now().toISOString() });
    expect(stored.map((trade) => trade.id).sort()).toEqual(expected.map((trade) => trade.id).sort());
    expect(stored.find((trade) => trade.id === expected[0]?.id)).toMatchObject(expected[0] ?? {});
    // The cursor stops short of the last minute (a deal is booked a moment after its time).
    expect((await tradeHistory.getCursor('t-h', 'acc-h'))?.syncedTo).toBe(new Date(now().getTime() - HISTORY_SETTLE_MS).toISOString());

    setClock(now().getTime() + 10 * 60_000);
    reads.length = 0;
    await syncHistory(deps, account, { backfillDays: 30 });
    expect(reads).toEqual([{ from: new Date(START + 20 * DAY - HISTORY_SETTLE_MS).toISOString(), to: now().toISOString() }]);
  });

  it('resumes after a sync that died mid-way at the last window it finished: no gap, no trade twice', async () => {
    const { market, now } = tradedMarket(20);
    const reads: { from: string; to: string }[] = [];
    const tradeHistory = new MemoryTradeHistoryStore();
    const dying = {
      tradeHistory,
      copies: new MemoryCopyStore(),
      brokers: new BrokerDirectory({ simulated: countingGateway(market, reads, 3) }),
      now,
      log: silentLog,
    };
    await expect(syncHistory(dying, account, { backfillDays: 30 })).rejects.toThrow('the process died here');
    const cursor = await tradeHistory.getCursor('t-h', 'acc-h');
    expect(cursor?.syncedTo).toBe(reads[1]?.to);
    const resumedReads: { from: string; to: string }[] = [];
    const resumed = { ...dying, brokers: new BrokerDirectory({ simulated: countingGateway(market, resumedReads) }) };
    await syncHistory(resumed, account, { backfillDays: 30 });
    expect(resumedReads[0]?.from).toBe(cursor?.syncedTo);
    const stored = await tradeHistory.listTrades('t-h', 'acc-h', { from: new Date(START - DAY).toISOString(), to: now().toISOString() });
    expect(stored).toHaveLength(40);
    expect(new Set(stored.map((trade) => trade.id)).size).toBe(40);
  });

  it('halves a window that returns as many deals as the broker gives at most, and says so for an hour that still does', async () => {
    const { market, now } = tradedMarket(1);
    const sizes: number[] = [];
    const simulated = new SimulatedBrokerGateway(market, { sleep: async () => undefined });
    const flooding = Object.assign(Object.create(simulated) as SimulatedBrokerGateway, {
      connect: async (ref: BrokerAccountRef): Promise<BrokerPort> => {
        const port = await simulated.connect(ref);
        return Object.assign(Object.create(port) as BrokerPort, {
          getDeals: async (from: string, to: string) => {
            sizes.push(Date.parse(to) - Date.parse(from));
            const real = await port.getDeals(from, to);
            // Over an hour: the broker's limit of deals; an hour or less: the limit too (a flood of deals).
            return [...real, ...Array.from({ length: BROKER_DEAL_LIMIT }, (_, index) => ({ ...real[0]!, id: `flood-${from}-${index}`, entry: 'in' as const }))];
          },
        });
      },
    });
    const tradeHistory = new MemoryTradeHistoryStore();
    await syncHistory({ tradeHistory, copies: new MemoryCopyStore(), brokers: new BrokerDirectory({ simulated: flooding }), now, log: silentLog }, account, {
      backfillDays: 2,
    });
    expect(sizes[1]).toBeLessThan(sizes[0]!);
    expect(Math.min(...sizes)).toBe(3_600_000);
    expect((await tradeHistory.getCursor('t-h', 'acc-h'))?.truncatedBefore).toEqual(expect.any(String));
  });

  it('is due on a first read, when the balance moved (a master less often), and at the longest interval', () => {
    const now = new Date('2026-12-01T12:00:00.000Z');
    const cursor = { tenantId: 't', accountId: 'a', syncedTo: '2026-12-01T11:58:00.000Z', syncedAt: '2026-12-01T11:58:30.000Z', balance: 1000 };
    const settings = DEFAULT_HISTORY_SETTINGS;
    expect(historyDue(undefined, { balance: 1000 }, false, settings, now)).toBe(true);
    expect(historyDue(cursor, { balance: 1000 }, false, settings, now)).toBe(false);
    expect(historyDue(cursor, { balance: 1010 }, false, settings, now)).toBe(true);
    expect(historyDue(cursor, { balance: 1010 }, true, settings, now)).toBe(false);
    expect(historyDue({ ...cursor, syncedAt: '2026-12-01T11:49:00.000Z' }, { balance: 1010 }, true, settings, now)).toBe(true);
    expect(historyDue({ ...cursor, syncedAt: '2026-12-01T10:59:00.000Z' }, { balance: 1000 }, false, settings, now)).toBe(true);
  });

  it('keeps an equity point and reads the cursor at most as often as due, over passes of one process', async () => {
    let clock = Date.parse('2026-12-01T10:00:00.000Z');
    const now = () => new Date(clock);
    const stores = memoryStores(now);
    const market = new SimulatedMarket({ now });
    market.openAccount('acc-e', { balance: 5_000 });
    const slave = anAccount({ id: 'acc-e', tenantId: 't-e', platform: 'simulated' });
    await stores.accounts.create(slave);
    const calls = { cursorReads: 0, points: 0 };
    const tradeHistory = stores.tradeHistory;
    const counted = Object.assign(Object.create(tradeHistory) as MemoryTradeHistoryStore, {
      getCursor: (tenantId: string, accountId: string) => {
        calls.cursorReads += 1;
        return tradeHistory.getCursor(tenantId, accountId);
      },
      putEquityPoint: (...args: Parameters<MemoryTradeHistoryStore['putEquityPoint']>) => {
        calls.points += 1;
        return tradeHistory.putEquityPoint(...args);
      },
    });
    const deps = {
      ...stores,
      brokers: new BrokerDirectory({ simulated: new SimulatedBrokerGateway(market, { sleep: async () => undefined }) }),
      now,
      log: silentLog,
      metrics: noMetrics,
      bookRefreshMs: 60_000,
      tradeHistory: counted,
      historyState: new Map(),
    };
    // The account item in hand is the one listed before the passes (as a watch holds it for 30 s).
    const listed = (await stores.accounts.get('t-e', 'acc-e'))!;
    for (let pass = 0; pass < 12; pass += 1) {
      await syncAccount(deps, listed, [], { history: true });
      clock += 5_000;
    }
    // A minute of passes every 5 s: one point (the funds did not move), the cursor read once, the first history read at once.
    expect(calls.points).toBe(1);
    expect(calls.cursorReads).toBe(2);
    expect((await tradeHistory.listEquity('t-e', 'acc-e', { from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z' }, 'hour')).length).toBe(1);
    // The account item records the point, for the next process.
    expect((await stores.accounts.get('t-e', 'acc-e'))?.equityPointAt).toBe('2026-12-01T10:00:00.000Z');
  });

  it('tries a history read that failed again after the shortest interval, not on every pass', async () => {
    let clock = Date.parse('2026-12-01T10:00:00.000Z');
    const now = () => new Date(clock);
    const stores = memoryStores(now);
    const market = new SimulatedMarket({ now });
    market.openAccount('acc-f', { balance: 5_000 });
    const slave = anAccount({ id: 'acc-f', tenantId: 't-f', platform: 'simulated' });
    await stores.accounts.create(slave);
    const reads: { from: string; to: string }[] = [];
    const simulated = new SimulatedBrokerGateway(market, { sleep: async () => undefined });
    const failingHistory = Object.assign(Object.create(simulated) as SimulatedBrokerGateway, {
      connect: async (ref: BrokerAccountRef): Promise<BrokerPort> => {
        const port = await simulated.connect(ref);
        return Object.assign(Object.create(port) as BrokerPort, {
          getDeals: async (from: string, to: string) => {
            reads.push({ from, to });
            throw new Error('history unavailable');
          },
        });
      },
    });
    const deps = {
      ...stores,
      brokers: new BrokerDirectory({ simulated: failingHistory }),
      now,
      log: silentLog,
      metrics: noMetrics,
      bookRefreshMs: 60_000,
      historyState: new Map(),
    };
    const listed = (await stores.accounts.get('t-f', 'acc-f'))!;
    // Two minutes of passes every 5 s: the sync itself goes on; the history is tried at 0 s, 60 s and 120 s.
    for (let pass = 0; pass <= 24; pass += 1) {
      await syncAccount(deps, listed, [], { history: true });
      clock += 5_000;
    }
    expect(reads).toHaveLength(3);
    expect((await stores.accounts.get('t-f', 'acc-f'))?.status).toBe('connected');
  });
});

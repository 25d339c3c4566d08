import { describe, expect, it } from 'vitest';
import { SimulatedBrokerGateway } from '../../local/simulated-broker/simulated-broker-gateway';
import { SimulatedMarket } from '../../local/simulated-broker/simulated-market';
import { silentLog } from '../../shared/ports/log';
import { noMetrics } from '../../shared/ports/metrics';
import { BrokerDirectory } from '../../shared/use-cases/broker-directory';
import { LAST_SYNC_HEARTBEAT_MS, accountStateChange, syncAccount, type WrittenAccountState } from '../../shared/use-cases/sync-accounts';
import { anAccount } from '../support/fixtures';
import { memoryStores } from '../support/memory-stores';

const written: WrittenAccountState = { status: 'connected', balance: 10_000, equity: 10_000, currency: 'USD', lastSyncAt: '2026-12-02T10:00:00.000Z' };
const at = (seconds: number) => new Date(Date.parse('2026-12-02T10:00:00.000Z') + seconds * 1000);

describe('account funds are written on change, not on a clock', () => {
  it('writes a change of status, balance or currency at once', () => {
    expect(accountStateChange(written, { ...written, status: 'disconnected' }, at(5))).toBe('status');
    expect(accountStateChange(written, { ...written, statusDetail: 'TIMEOUT' }, at(5))).toBe('status');
    expect(accountStateChange(written, { ...written, balance: 10_000.01 }, at(5))).toBe('balance');
    expect(accountStateChange(written, { ...written, currency: 'EUR' }, at(5))).toBe('balance');
  });

  it('writes equity at once when it moved 0.1 % of the balance, a smaller move a minute after the last write', () => {
    expect(accountStateChange(written, { ...written, equity: 10_009.99 }, at(5))).toBeUndefined();
    expect(accountStateChange(written, { ...written, equity: 9_990.01 }, at(5))).toBeUndefined();
    expect(accountStateChange(written, { ...written, equity: 10_010 }, at(5))).toBe('equity');
    expect(accountStateChange(written, { ...written, equity: 9_990 }, at(5))).toBe('equity');
    expect(accountStateChange(written, { ...written, equity: 10_000.01 }, at(59))).toBeUndefined();
    expect(accountStateChange(written, { ...written, equity: 10_000.01 }, at(60))).toBe('equity drift');
    expect(accountStateChange(written, { ...written, equity: 10_000.009 }, at(60))).toBeUndefined();
    // A tiny account: a cent is the least that counts.
    const small = { ...written, balance: 10, equity: 10 };
    expect(accountStateChange(small, { ...small, equity: 10.009 }, at(5))).toBeUndefined();
    expect(accountStateChange(small, { ...small, equity: 10.01 }, at(5))).toBe('equity');
  });

  it('renews an unchanged account only every few minutes, to tell the sync is alive', () => {
    expect(accountStateChange(written, written, at(LAST_SYNC_HEARTBEAT_MS / 1000 - 1))).toBeUndefined();
    expect(accountStateChange(written, written, at(LAST_SYNC_HEARTBEAT_MS / 1000))).toBe('heartbeat');
  });

  it("shows a master's new balance after the sync that saw the close, and writes nothing for passes that saw no change", async () => {
    let clock = at(0);
    const now = () => clock;
    const stores = memoryStores(now);
    const market = new SimulatedMarket({ now });
    const master = anAccount({ id: 'master-1', platform: 'simulated' });
    market.openAccount(master.id);
    await stores.accounts.create(master);
    let updates = 0;
    const accounts = Object.create(stores.accounts) as typeof stores.accounts;
    accounts.update = async (...args: Parameters<typeof stores.accounts.update>) => {
      updates += 1;
      return stores.accounts.update(...args);
    };
    const deps = {
      ...stores,
      accounts,
      queue: { send: async () => {} },
      brokers: new BrokerDirectory({ simulated: new SimulatedBrokerGateway(market) }),
      now,
      log: silentLog,
      metrics: noMetrics,
      bookRefreshMs: 60_000,
      accountState: new Map(),
    };
    const pass = async (seconds: number) => {
      clock = at(seconds);
      // The sync works from the account item it listed, which can be older than its own last write.
      await syncAccount(deps, master, []);
    };
    await pass(0);
    expect(updates).toBe(1);
    for (let seconds = 5; seconds <= 600; seconds += 5) await pass(seconds);
    expect(updates).toBe(1);

    const { positionId } = market.traderTrade(master.id, { symbol: 'EURUSD', side: 'buy', volume: 1 });
    const quote = market.getQuote('EURUSD')!;
    market.defineSymbol({ symbol: 'EURUSD', bid: quote.bid + 0.002, ask: quote.ask + 0.002 });
    market.closePosition(master.id, positionId!, {});
    const balance = market.getAccountInformation(master.id).balance;
    expect(balance).toBeGreaterThan(10_000);
    await pass(605);
    expect((await stores.accounts.get(master.tenantId, master.id))?.balance).toBe(balance);
    expect(updates).toBe(2);
    await pass(610);
    expect(updates).toBe(2);
  });
});

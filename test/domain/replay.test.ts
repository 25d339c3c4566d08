import { describe, expect, it } from 'vitest';
import { replay, type ReplayInput } from '../../shared/domain/replay';
import type { HistoryTrade } from '../../shared/domain/trading';
import { aMapping, eurusdSpec } from '../support/fixtures';

const trade = (overrides: Partial<HistoryTrade> & Pick<HistoryTrade, 'id' | 'positionId'>): HistoryTrade => ({
  symbol: 'EURUSD',
  side: 'buy',
  volume: 0.1,
  openPrice: 1.1,
  closePrice: 1.101,
  profit: 10,
  openedAt: '2026-11-02T10:00:00.000Z',
  closedAt: '2026-11-02T11:00:00.000Z',
  ...overrides,
});

const input = (overrides: Partial<ReplayInput> = {}): ReplayInput => ({
  trades: [],
  mapping: aMapping({ sizing: { mode: 'multiplier', multiplier: 2 }, activeSince: '1970-01-01T00:00:00.000Z' }),
  slaveStartingBalance: 10_000,
  specOf: (symbol) => (symbol === 'EURUSD' ? eurusdSpec() : undefined),
  ...overrides,
});

describe('what-if replay', () => {
  it('sizes each master trade as live copying would, and earns its profit per lot on the slave volume', () => {
    const result = replay(
      input({
        trades: [
          trade({ id: 't1', positionId: 'p1', volume: 0.15, profit: 15, commission: -1.5 }),
          trade({ id: 't2', positionId: 'p2', profit: -20, closedAt: '2026-11-02T12:00:00.000Z' }),
        ],
      }),
    );
    expect(result.trades.map((t) => [t.masterTradeId, t.slaveVolume, t.profit])).toEqual([
      ['t1', 0.3, 27],
      ['t2', 0.2, -40],
    ]);
    expect(result.summary).toEqual({ copied: 2, skipped: {}, profit: -13, maxDrawdownPercent: 0.4, endingBalance: 9987 });
  });

  it('closes a partly closed position in the same shares as live copying, and reverses the profit of a reversed copy', () => {
    const parts = [
      trade({ id: 'a', positionId: 'p', volume: 0.4, profit: 40, closedAt: '2026-11-02T11:00:00.000Z' }),
      trade({ id: 'b', positionId: 'p', volume: 0.6, profit: 60, closedAt: '2026-11-02T12:00:00.000Z' }),
    ];
    const result = replay(
      input({ trades: parts, mapping: aMapping({ sizing: { mode: 'multiplier', multiplier: 0.5 }, reverse: true, activeSince: '1970-01-01T00:00:00.000Z' }) }),
    );
    // The master held 1.0 and the slave 0.5: 0.4 of 1.0 closes 0.2 of 0.5, then the rest.
    expect(result.trades.map((t) => [t.slaveVolume, t.profit])).toEqual([
      [0.2, -20],
      [0.3, -30],
    ]);
  });

  it('replays into an OANDA slave in units: notional sizing, EUR_USD, and the profit in the slave contract, not 100,000 times it', () => {
    const units = { ...eurusdSpec(), symbol: 'EUR_USD', contractSize: 1, volumeMin: 1, volumeStep: 1, volumeMax: 100_000_000 };
    const result = replay(
      input({
        trades: [trade({ id: 'u1', positionId: 'p1', volume: 0.1, profit: 10 })],
        mapping: aMapping({ sizing: { mode: 'notional' }, activeSince: '1970-01-01T00:00:00.000Z' }),
        slavePlatform: 'oanda',
        specOf: (symbol) => (symbol === 'EUR_USD' ? units : undefined),
        masterContractSizeOf: (symbol) => (symbol === 'EURUSD' ? 100_000 : undefined),
      }),
    );
    expect(result.trades.map((t) => [t.slaveVolume, t.profit])).toEqual([[10_000, 10]]);
  });

  it('skips what the rules skip, with their reason, and touches nothing for it', () => {
    const result = replay(
      input({
        trades: [trade({ id: 'x', positionId: 'x', symbol: 'XAUUSD' }), trade({ id: 'e', positionId: 'e', side: 'sell' })],
        mapping: aMapping({ sizing: { mode: 'multiplier', multiplier: 1 }, allowedSides: 'buy', activeSince: '1970-01-01T00:00:00.000Z' }),
      }),
    );
    expect(result.summary.skipped).toEqual({ SYMBOL_NOT_AT_BROKER: 1, SIDE_FILTERED: 1 });
    expect(result.summary.endingBalance).toBe(10_000);
  });

  it("holds the slave's protection: open positions counted, and opens refused after a loss limit is reached", () => {
    const trades = [
      trade({ id: '1', positionId: '1', openedAt: '2026-11-02T10:00:00.000Z', closedAt: '2026-11-02T10:30:00.000Z', profit: -300 }),
      trade({ id: '2', positionId: '2', openedAt: '2026-11-02T11:00:00.000Z', closedAt: '2026-11-02T11:30:00.000Z', profit: 10 }),
    ];
    const result = replay(
      input({
        trades,
        mapping: aMapping({ sizing: { mode: 'multiplier', multiplier: 1 }, activeSince: '1970-01-01T00:00:00.000Z' }),
        protection: { onBreach: 'stopCopying', maxDailyLossPercent: 2 },
      }),
    );
    expect(result.trades.map((t) => t.skipped ?? t.profit)).toEqual([-300, 'PROTECTION_BREACHED']);
  });

  it('replays a year of an active master (20,000 trades), sizing each open by the master balance of its time', () => {
    const trades = Array.from({ length: 20_000 }, (_, index) => {
      const opened = Date.parse('2025-12-01T00:00:00.000Z') + index * 26 * 60_000;
      return trade({
        id: `t${index}`,
        positionId: `p${index}`,
        openedAt: new Date(opened).toISOString(),
        closedAt: new Date(opened + 20 * 60_000).toISOString(),
        profit: index % 2 ? 12 : -10,
      });
    });
    const result = replay(
      input({ trades, masterBalanceNow: 50_000, mapping: aMapping({ sizing: { mode: 'balanceRatio' }, activeSince: '1970-01-01T00:00:00.000Z' }) }),
    );
    expect(result.summary.copied).toBe(20_000);
    // The master made 10 x 2 a pair: 20,000 before the last 20,000 trades' 20,000, so 30,000 at
    // the first open; the slave's 10,000 is a third of it: 0.1 lot becomes 0.03.
    expect(result.trades[0]?.slaveVolume).toBe(0.03);
    expect(result.trades.at(-1)?.slaveVolume).toBeGreaterThanOrEqual(0.02);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maxDrawdownPercent, tradeStats, type TradeResultFields } from '../../shared/domain/trade-stats';

const trade = (symbol: string, profit: number, commission?: number, swap?: number): TradeResultFields => ({
  symbol,
  profit,
  ...(commission !== undefined ? { commission } : {}),
  ...(swap !== undefined ? { swap } : {}),
});
const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 0, minute)).toISOString();

describe('trade statistics', () => {
  it('has nothing to divide without trades or points: counts 0, ratios null', () => {
    expect(tradeStats([], [])).toEqual({
      trades: 0,
      wins: 0,
      losses: 0,
      winRate: null,
      profit: 0,
      grossProfit: 0,
      grossLoss: 0,
      profitFactor: null,
      averageWin: null,
      averageLoss: null,
      maxDrawdownPercent: null,
      bySymbol: [],
    });
  });

  it('nets commission and swap out of each trade, and sums exactly (0.1 + 0.2 is 0.3)', () => {
    const stats = tradeStats([trade('EURUSD', 0.1), trade('EURUSD', 0.2), trade('GBPUSD', 10, -0.7, -0.3)], []);
    expect(stats.profit).toBe(9.3);
    expect(stats.grossProfit).toBe(9.3);
    expect(stats.bySymbol).toEqual([
      { symbol: 'EURUSD', trades: 2, profit: 0.3 },
      { symbol: 'GBPUSD', trades: 1, profit: 9 },
    ]);
  });

  it('with only losses: no wins, a win rate of 0, no profit factor to divide by... but a loss average', () => {
    const stats = tradeStats([trade('EURUSD', -10), trade('EURUSD', -30, -2)], []);
    expect(stats).toMatchObject({ wins: 0, losses: 2, winRate: 0, profit: -42, grossProfit: 0, grossLoss: -42, averageWin: null, averageLoss: -21 });
    expect(stats.profitFactor).toBe(0);
  });

  it('with no loss: the profit factor is null (not Infinity, which JSON cannot carry)', () => {
    const stats = tradeStats([trade('EURUSD', 5), trade('USDJPY', 15)], []);
    expect(stats).toMatchObject({ wins: 2, losses: 0, winRate: 1, profitFactor: null, averageWin: 10, averageLoss: null, grossLoss: 0 });
  });

  it('counts a trade that nets exactly zero as neither a win nor a loss', () => {
    const stats = tradeStats([trade('EURUSD', 1, -1), trade('EURUSD', 30), trade('EURUSD', -10)], []);
    expect(stats).toMatchObject({ trades: 3, wins: 1, losses: 1, winRate: 1 / 3, profitFactor: 3, profit: 20 });
  });

  it('reads the drawdown from the running peak of equity, in time order', () => {
    const points = [
      { at: at(3), balance: 1000, equity: 900 },
      { at: at(0), balance: 1000, equity: 1000 },
      { at: at(1), balance: 1000, equity: 1200 },
      { at: at(2), balance: 1000, equity: 1080 },
      { at: at(4), balance: 1000, equity: 1300 },
      { at: at(5), balance: 1000, equity: 1250 },
    ];
    // 1200 -> 900: a quarter of the peak.
    expect(maxDrawdownPercent(points)).toBe(25);
    expect(maxDrawdownPercent([{ at: at(0), balance: 1, equity: 1 }])).toBe(0);
  });

  it('keeps profit = the sum of its trades, wins + losses <= trades, and profit = gross profit + gross loss, for any trades', () => {
    const cents = fc.integer({ min: -1_000_000, max: 1_000_000 }).map((value) => value / 100);
    fc.assert(
      fc.property(fc.array(fc.record({ symbol: fc.constantFrom('EURUSD', 'GBPUSD', 'XAUUSD'), profit: cents, commission: cents, swap: cents })), (trades) => {
        const stats = tradeStats(trades, []);
        const totalCents = trades.reduce(
          (sum, entry) => sum + Math.round(entry.profit * 100) + Math.round(entry.commission * 100) + Math.round(entry.swap * 100),
          0,
        );
        expect(Math.round(stats.profit * 100)).toBe(totalCents);
        expect(stats.wins + stats.losses).toBeLessThanOrEqual(stats.trades);
        expect(Math.round((stats.grossProfit + stats.grossLoss) * 100)).toBe(totalCents);
        expect(stats.bySymbol.reduce((sum, entry) => sum + entry.trades, 0)).toBe(trades.length);
      }),
    );
  });
});

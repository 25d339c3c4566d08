import { describe, expect, it } from 'vitest';
import { platforms } from '../../shared/domain/account';
import { demoClosedTrades } from '../../shared/domain/demo-trades';
import { manualClientId } from '../../shared/domain/manual-trades';
import { platformCatalog } from '../../shared/domain/platform-catalog';
import { fixedWindow } from '../../shared/domain/rate-limit';

describe('fixedWindow', () => {
  it('puts an instant in the minute it falls in and says how long until the next', () => {
    const window = fixedWindow(new Date('2024-03-04T10:00:10.250Z'), 60_000);
    expect(new Date(window.start).toISOString()).toBe('2024-03-04T10:00:00.000Z');
    expect(new Date(window.end).toISOString()).toBe('2024-03-04T10:01:00.000Z');
    expect(window.retryAfterSeconds).toBe(50);
  });

  it('never says to retry after less than a second', () => {
    expect(fixedWindow(new Date('2024-03-04T10:00:59.999Z'), 60_000).retryAfterSeconds).toBe(1);
    expect(fixedWindow(new Date('2024-03-04T10:01:00.000Z'), 60_000).retryAfterSeconds).toBe(60);
  });

  it('gives every instance the same window for the same instant', () => {
    const at = new Date('2024-03-04T10:00:30.000Z');
    expect(fixedWindow(at, 60_000)).toEqual(fixedWindow(new Date(at.getTime()), 60_000));
  });
});

describe('manualClientId', () => {
  it('is api and 20 hex digits: 23 characters, within the 26 MetaApi allows', () => {
    const id = manualClientId('0123456789abcdef0123456789');
    expect(id).toBe('api0123456789abcdef0123');
    expect(id.length).toBeLessThanOrEqual(26);
    expect(() => manualClientId('xyz')).toThrow();
  });
});

describe('platformCatalog', () => {
  it('describes every platform an account can have, once', () => {
    expect(platformCatalog.map((platform) => platform.id)).toEqual([...platforms]);
  });
});

describe('demoClosedTrades', () => {
  it('makes plausible trades: opened before closed, in the last week, profit matching side and prices', () => {
    let n = 0;
    const now = new Date('2024-03-04T12:00:00.000Z');
    const trades = demoClosedTrades({ now, random: Math.random, newId: () => `demo_${(n += 1)}`, count: 50 });
    expect(trades).toHaveLength(50);
    expect(new Set(trades.map((trade) => trade.id)).size).toBe(50);
    for (const trade of trades) {
      expect(Date.parse(trade.openedAt)).toBeLessThan(Date.parse(trade.closedAt));
      expect(Date.parse(trade.closedAt)).toBeLessThan(now.getTime());
      expect(now.getTime() - Date.parse(trade.openedAt)).toBeLessThan(8 * 24 * 3_600_000);
      expect(trade.volume).toBeGreaterThan(0);
      const direction = (trade.closePrice - trade.openPrice) * (trade.side === 'buy' ? 1 : -1);
      if (Math.abs(trade.profit) >= 0.01) expect(Math.sign(trade.profit)).toBe(Math.sign(direction));
    }
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { SimulatedMarket, seededRandom } from '../../../local/simulated-broker/simulated-market';

const now = () => new Date('2024-05-01T10:00:00.000Z');

afterEach(() => {
  vi.useRealTimers();
});

describe('SimulatedMarket random walk', () => {
  it('walks the same prices from the same seed', () => {
    const first = new SimulatedMarket({ now, random: seededRandom(7) });
    const second = new SimulatedMarket({ now, random: seededRandom(7) });
    for (let i = 0; i < 50; i += 1) {
      first.randomWalkStep();
      second.randomWalkStep();
    }
    expect(first.exportState().symbols).toEqual(second.exportState().symbols);
    expect(first.getQuote('EURUSD')).not.toEqual(new SimulatedMarket({ now }).getQuote('EURUSD'));
  });

  it('moves in small whole-tick steps and keeps the spread', () => {
    const market = new SimulatedMarket({ now, random: seededRandom(42) });
    for (let i = 0; i < 200; i += 1) {
      const before = market.getQuote('EURUSD')!;
      const gold = market.getQuote('XAUUSD')!;
      market.randomWalkStep();
      const after = market.getQuote('EURUSD')!;
      expect(Math.abs(after.bid - before.bid)).toBeLessThanOrEqual(before.bid * 1e-4 + 1e-5);
      expect(after.ask - after.bid).toBeCloseTo(0.0001, 8);
      expect(after.bid).toBe(Number(after.bid.toFixed(5)));
      expect(market.getQuote('XAUUSD')!.ask - market.getQuote('XAUUSD')!.bid).toBeCloseTo(gold.ask - gold.bid, 6);
    }
  });

  it('fills a pending order when the seeded walk reaches its price', () => {
    const market = new SimulatedMarket({ now, random: seededRandom(1) });
    market.openAccount('acc-1');
    const { orderId } = market.placeOrder('acc-1', {
      clientId: 'c-walk',
      symbol: 'EURUSD',
      side: 'buy',
      type: 'limit',
      volume: 0.1,
      price: 1.0846,
    });
    let steps = 0;
    while (market.getPendingOrders('acc-1').length > 0 && steps < 10_000) {
      market.randomWalkStep();
      steps += 1;
    }
    expect(steps).toBeGreaterThan(0);
    expect(steps).toBeLessThan(10_000);
    const [position] = market.getPositions('acc-1');
    expect(position).toMatchObject({ id: orderId, clientId: 'c-walk' });
    expect(position!.openPrice).toBeLessThanOrEqual(1.0846);
  });

  it('takes a step on every interval until stopped', () => {
    vi.useFakeTimers();
    const market = new SimulatedMarket({ now, random: seededRandom(3) });
    const start = market.getQuote('USDJPY');
    market.startRandomWalk(100);
    vi.advanceTimersByTime(1_000);
    const moved = market.getQuote('USDJPY');
    expect(moved).not.toEqual(start);
    market.stopRandomWalk();
    vi.advanceTimersByTime(1_000);
    expect(market.getQuote('USDJPY')).toEqual(moved);
  });
});

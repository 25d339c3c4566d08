import type { ClosedTrade, Side } from './trading';
import { required } from './required';

interface DemoSymbol {
  symbol: string;
  price: number;
  digits: number;
  contractSize: number;
  /** Profit is in the quote currency; USD/JPY's is converted at the close price. */
  quoteIsUsd: boolean;
}

const demoSymbols: readonly DemoSymbol[] = [
  { symbol: 'EURUSD', price: 1.085, digits: 5, contractSize: 100_000, quoteIsUsd: true },
  { symbol: 'GBPUSD', price: 1.265, digits: 5, contractSize: 100_000, quoteIsUsd: true },
  { symbol: 'USDJPY', price: 151.2, digits: 3, contractSize: 100_000, quoteIsUsd: false },
  { symbol: 'XAUUSD', price: 2320, digits: 2, contractSize: 100, quoteIsUsd: true },
];

const HOUR = 3_600_000;

export interface DemoTradeOptions {
  now: Date;
  /** Uniform in [0, 1). */
  random: () => number;
  /** A fresh unique id per call. */
  newId: () => string;
  count?: number;
}

/** Demo trades close within this many hours before now, one per equal slot. */
const SPAN_HOURS = 7 * 24;

/**
 * A handful of plausible closed trades of the last week: real symbols near real prices,
 * profit consistent with side, volume and prices (in USD), each opened before it closed.
 */
export const demoClosedTrades = ({ now, random, newId, count = 5 }: DemoTradeOptions): ClosedTrade[] => {
  const slotHours = SPAN_HOURS / count;
  return Array.from({ length: count }, (_unused, index) => {
    const spec = required(demoSymbols[Math.floor(random() * demoSymbols.length)], 'a demo symbol');
    const side: Side = random() < 0.5 ? 'buy' : 'sell';
    const volume = spec.symbol === 'XAUUSD' ? 0.1 : Number((0.1 * (1 + Math.floor(random() * 5))).toFixed(2));
    const openPrice = Number((spec.price * (1 + (random() - 0.5) * 0.004)).toFixed(spec.digits));
    const closePrice = Number((openPrice * (1 + (random() - 0.5) * 0.004)).toFixed(spec.digits));
    const quoteProfit = (closePrice - openPrice) * (side === 'buy' ? 1 : -1) * volume * spec.contractSize;
    const profit = Number((spec.quoteIsUsd ? quoteProfit : quoteProfit / closePrice).toFixed(2));
    const closedAt = new Date(now.getTime() - (index + 0.05 + random() * 0.9) * slotHours * HOUR);
    const openedAt = new Date(closedAt.getTime() - (0.2 + random() * 6) * HOUR);
    const id = newId();
    return {
      id,
      positionId: id,
      symbol: spec.symbol,
      side,
      volume,
      openPrice,
      closePrice,
      profit,
      openedAt: openedAt.toISOString(),
      closedAt: closedAt.toISOString(),
    };
  });
};

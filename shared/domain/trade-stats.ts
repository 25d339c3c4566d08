import { add, compare, div, type Exact, exact, sub, toNumber, ZERO } from './exact';

/** What stats read of a closed trade: its profit, commission and swap (account currency, as the broker books them). */
export interface TradeResultFields {
  symbol: string;
  profit: number;
  commission?: number;
  swap?: number;
}

/** A balance and equity reading of an account at a moment. */
export interface EquityPoint {
  at: string;
  balance: number;
  equity: number;
}

export interface TradeStats {
  trades: number;
  wins: number;
  losses: number;
  /** wins / trades; null without trades. */
  winRate: number | null;
  /** Net of commission and swap. */
  profit: number;
  grossProfit: number;
  /** Zero or negative: the sum of the losing trades. */
  grossLoss: number;
  /** grossProfit / -grossLoss; null when nothing was lost (no ratio to give). */
  profitFactor: number | null;
  /** null without a win (or a loss). */
  averageWin: number | null;
  averageLoss: number | null;
  /** The deepest fall of equity from its highest point before it, in percent of that point; 0 without a fall, null without points. */
  maxDrawdownPercent: number | null;
  bySymbol: { symbol: string; trades: number; profit: number }[];
}

/** A trade's result net of commission and swap, exactly. */
export const netResult = (trade: TradeResultFields): Exact => add(add(exact(trade.profit), exact(trade.commission ?? 0)), exact(trade.swap ?? 0));

const ratio = (numerator: Exact, denominator: number | Exact): number | null => (compare(denominator, 0) === 0 ? null : toNumber(div(numerator, denominator)));

/**
 * Statistics of closed trades and an equity curve. Sums are exact (decimal amounts as the
 * broker gave them, no float drift): `profit` is the sum of the trades' net results to the
 * cent and beyond. A trade that ends at exactly zero is neither a win nor a loss. The
 * drawdown is read from the equity points in time order.
 */
export const tradeStats = (trades: readonly TradeResultFields[], equity: readonly EquityPoint[]): TradeStats => {
  let profit = ZERO;
  let grossProfit = ZERO;
  let grossLoss = ZERO;
  let wins = 0;
  let losses = 0;
  const symbols = new Map<string, { trades: number; profit: Exact }>();
  for (const trade of trades) {
    const net = netResult(trade);
    profit = add(profit, net);
    if (compare(net, 0) > 0) {
      wins += 1;
      grossProfit = add(grossProfit, net);
    } else if (compare(net, 0) < 0) {
      losses += 1;
      grossLoss = add(grossLoss, net);
    }
    const symbol = symbols.get(trade.symbol) ?? { trades: 0, profit: ZERO };
    symbols.set(trade.symbol, { trades: symbol.trades + 1, profit: add(symbol.profit, net) });
  }
  return {
    trades: trades.length,
    wins,
    losses,
    winRate: trades.length === 0 ? null : wins / trades.length,
    profit: toNumber(profit),
    grossProfit: toNumber(grossProfit),
    grossLoss: toNumber(grossLoss),
    profitFactor: ratio(grossProfit, sub(ZERO, grossLoss)),
    averageWin: ratio(grossProfit, wins),
    averageLoss: ratio(grossLoss, losses),
    maxDrawdownPercent: maxDrawdownPercent(equity),
    bySymbol: [...symbols]
      .map(([symbol, entry]) => ({ symbol, trades: entry.trades, profit: toNumber(entry.profit) }))
      .sort((a, b) => b.trades - a.trades || a.symbol.localeCompare(b.symbol)),
  };
};

/** The deepest fall of equity below its running peak, in percent of the peak; null without points. */
export const maxDrawdownPercent = (points: readonly EquityPoint[]): number | null => {
  if (points.length === 0) return null;
  const ordered = [...points].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  let peak: Exact | undefined;
  let deepest = ZERO;
  for (const point of ordered) {
    const equity = exact(point.equity);
    if (!peak || compare(equity, peak) > 0) peak = equity;
    if (compare(peak, 0) <= 0) continue;
    const fall = div(sub(peak, equity), peak);
    if (compare(fall, deepest) > 0) deepest = fall;
  }
  return Number((toNumber(deepest) * 100).toFixed(6));
};

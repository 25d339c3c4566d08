import type { ClosedTrade, Deal, Side } from './trading';

export interface PairedDeals {
  /** One closed trade per out deal whose opening deals are among the deals given, in close order. */
  trades: ClosedTrade[];
  /** Out deals whose position has no in deal among the deals given (it opened before the history read). */
  unmatched: Deal[];
}

const EPSILON = 1e-9;

/** Prices of a volume-weighted average, without binary noise (1.1 stays 1.1). */
const averagePrice = (cost: number, volume: number): number => Number((cost / volume).toFixed(8));

const chronological = (a: Deal, b: Deal): number => Date.parse(a.time) - Date.parse(b.time);

/**
 * Pairs the in and out deals of an account's history into closed trades. Each out deal is
 * one closed trade (a partial close is a trade of its own volume): its open price is the
 * volume-weighted average of the position's in deals before it, its open time the first of
 * them, its side the position's side (the in deals' side; an out deal trades the opposite
 * way), its profit the out deal's realised profit. Deals are matched by `positionId` only, so
 * the order of the input and deals of other positions in between do not matter.
 */
export const pairClosedTrades = (deals: readonly Deal[]): PairedDeals => {
  const byPosition = new Map<string, Deal[]>();
  for (const deal of deals) byPosition.set(deal.positionId, [...(byPosition.get(deal.positionId) ?? []), deal]);
  const trades: ClosedTrade[] = [];
  const unmatched: Deal[] = [];
  for (const [positionId, history] of byPosition) {
    let side: Side | undefined;
    let openedAt: string | undefined;
    let openVolume = 0;
    let openCost = 0;
    for (const deal of [...history].sort(chronological)) {
      if (deal.entry === 'in') {
        side ??= deal.side;
        openedAt ??= deal.time;
        openVolume += deal.volume;
        openCost += deal.volume * deal.price;
        continue;
      }
      if (side === undefined || openedAt === undefined || openVolume <= EPSILON) {
        unmatched.push(deal);
        continue;
      }
      const openPrice = averagePrice(openCost, openVolume);
      trades.push({
        id: deal.id,
        positionId,
        symbol: deal.symbol,
        side,
        volume: deal.volume,
        openPrice,
        closePrice: deal.price,
        profit: deal.profit,
        openedAt,
        closedAt: deal.time,
      });
      // What stays open keeps its average price.
      openVolume = Math.max(0, openVolume - deal.volume);
      openCost = openVolume * openPrice;
    }
  }
  return { trades: trades.sort((a, b) => Date.parse(a.closedAt) - Date.parse(b.closedAt)), unmatched };
};

/** The order closed trades are listed in: newest close first, ties by id, so pages are stable. */
export const newestClosedFirst = (a: Pick<ClosedTrade, 'closedAt' | 'id'>, b: Pick<ClosedTrade, 'closedAt' | 'id'>): number =>
  Date.parse(b.closedAt) - Date.parse(a.closedAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

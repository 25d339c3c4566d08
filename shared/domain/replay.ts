import type { CopyMapping } from './copy-mapping';
import { planOpen, planPartialClose, resolveSlaveSymbol } from './copy-planning';
import { div, mul, toNumber } from './exact';
import type { OpenEvent } from './master-events';
import type { ProtectionRules, ProtectionStatus } from './protection';
import { checkOpen, markEquity } from './protection-rules';
import type { HistoryTrade, SymbolSpec } from './trading';
import { compareLots, subtractLots } from './volume';

/** One master closed trade as the replay copied it (or why it did not). */
export interface ReplayTrade {
  masterTradeId: string;
  /** The master position the trade closed (all or part of). */
  masterPositionId: string;
  symbol: string;
  side: 'buy' | 'sell';
  masterVolume: number;
  slaveVolume?: number;
  openedAt: string;
  closedAt: string;
  profit?: number;
  skipped?: string;
}

export interface ReplaySummary {
  copied: number;
  skipped: Record<string, number>;
  profit: number;
  maxDrawdownPercent: number;
  endingBalance: number;
}

export interface ReplayInput {
  /** The master's closed trades in the window, in any order; a position closed in parts is several. */
  trades: readonly HistoryTrade[];
  mapping: CopyMapping;
  protection?: ProtectionRules;
  slaveStartingBalance: number;
  /** The slave's spec of a symbol (after renaming); undefined: not offered. */
  specOf: (slaveSymbol: string) => SymbolSpec | undefined;
  /** The master's balance now: its balance at any earlier moment is this less what it made since. */
  masterBalanceNow?: number;
  /** The slave's platform: names symbols as it does (`EUR_USD` on OANDA) unless the mapping renames them. */
  slavePlatform?: string;
  /** The master's contract size of a master symbol, for notional sizing. */
  masterContractSizeOf?: (masterSymbol: string) => number | undefined;
}

/** A master position as its closed trades tell it: opened once, closed in one or more parts. */
interface ReplayedPosition {
  id: string;
  symbol: string;
  side: 'buy' | 'sell';
  volume: number;
  openPrice: number;
  openedAt: string;
  closes: HistoryTrade[];
}

const net = (trade: HistoryTrade): number => trade.profit + (trade.commission ?? 0) + (trade.swap ?? 0);
const cents = (value: number): number => Math.round(value * 100) / 100;

/**
 * Runs a master's closed trades through a mapping and a slave's protection with the same code
 * as live copying (`planOpen`, `planPartialClose`, `checkOpen`, `markEquity`), on the slave's own
 * symbol specs, and touches no broker. The slave fills at the master's prices (no spread or
 * slippage), and earns the master's net profit per lot on the volume it holds, reversed when the
 * copy is; its balance moves at each close, and the loss rules are marked there.
 */
export const replay = (input: ReplayInput): { trades: ReplayTrade[]; summary: ReplaySummary } => {
  const { mapping } = input;
  const positions = new Map<string, ReplayedPosition>();
  for (const trade of [...input.trades].sort((a, b) => a.closedAt.localeCompare(b.closedAt))) {
    const known = positions.get(trade.positionId);
    if (known) {
      known.volume = Number((known.volume + trade.volume).toFixed(8));
      known.closes.push(trade);
      if (trade.openedAt < known.openedAt) known.openedAt = trade.openedAt;
    } else {
      positions.set(trade.positionId, { ...trade, id: trade.positionId, closes: [trade] });
    }
  }
  type Step = { at: string; order: number; position: ReplayedPosition; close?: HistoryTrade };
  const steps: Step[] = [];
  for (const position of positions.values()) {
    steps.push({ at: position.openedAt, order: 0, position });
    for (const close of position.closes) steps.push({ at: close.closedAt, order: 1, position, close });
  }
  steps.sort((a, b) => a.at.localeCompare(b.at) || a.order - b.order);
  // What the master made after an instant, from suffix sums over its trades by close time (a
  // year of an active master is tens of thousands of trades: no pass over all of them per open).
  const byClose = [...input.trades].sort((a, b) => a.closedAt.localeCompare(b.closedAt));
  const after = new Array<number>(byClose.length + 1).fill(0);
  byClose.reduceRight((sum, trade, index) => {
    after[index] = sum + net(trade);
    return after[index];
  }, 0);
  const laterProfit = (at: string): number => {
    let low = 0;
    let high = byClose.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((byClose[middle]?.closedAt ?? '') > at) high = middle;
      else low = middle + 1;
    }
    return after[low] ?? 0;
  };

  let balance = input.slaveStartingBalance;
  let peak = balance;
  let maxDrawdown = 0;
  let status: ProtectionStatus = { state: 'ok' };
  const open = new Map<string, { slaveSymbol: string; slaveVolume: number; masterVolume: number; reversed: boolean; spec: SymbolSpec }>();
  const skippedPositions = new Map<string, string>();
  const results: ReplayTrade[] = [];
  const skipped: Record<string, number> = {};
  let copied = 0;

  for (const step of steps) {
    const { position } = step;
    if (!step.close) {
      const symbol = resolveSlaveSymbol(position.symbol, mapping.symbols, input.slavePlatform);
      if (symbol.kind === 'skip') {
        skippedPositions.set(position.id, symbol.reason);
        continue;
      }
      const spec = input.specOf(symbol.slaveSymbol);
      const masterBalance = input.masterBalanceNow === undefined ? undefined : input.masterBalanceNow - laterProfit(position.openedAt);
      const event: OpenEvent = {
        id: `positionOpened:${position.id}:0`,
        kind: 'positionOpened',
        tenantId: mapping.tenantId,
        masterAccountId: mapping.masterAccountId,
        detectedAt: position.openedAt,
        masterBalance,
        masterEquity: masterBalance,
        position: {
          id: position.id,
          symbol: position.symbol,
          side: position.side,
          volume: position.volume,
          openPrice: position.openPrice,
          openedAt: position.openedAt,
          rev: 0,
          detectedAt: position.openedAt,
        },
      };
      const plan = planOpen(event, {
        mapping,
        slaveSymbol: symbol.slaveSymbol,
        spec,
        masterContractSize: input.masterContractSizeOf?.(position.symbol),
        slaveBalance: balance,
        slaveEquity: balance,
        // The slave fills at the master's price: no deviation, no expiry.
        slaveQuote: { bid: position.openPrice, ask: position.openPrice },
        firstAttemptAt: new Date(position.openedAt),
      });
      if (plan.kind === 'skip') {
        skippedPositions.set(position.id, plan.reason);
        continue;
      }
      let volume = plan.trade.volume;
      if (input.protection && spec) {
        // Marked before every open, as live copying marks the slave's equity then.
        status = markEquity(input.protection, status, balance, new Date(position.openedAt), balance).status;
        const exposure = [...open.values()];
        const verdict = checkOpen(input.protection, status, {
          symbol: symbol.slaveSymbol,
          volume,
          at: new Date(position.openedAt),
          spec,
          openPositions: exposure.length,
          openVolume: exposure.reduce((sum, held) => sum + held.slaveVolume, 0),
        });
        if (verdict.kind === 'skip') {
          skippedPositions.set(position.id, verdict.reason);
          continue;
        }
        volume = verdict.volume;
      }
      if (!spec) continue;
      open.set(position.id, {
        slaveSymbol: symbol.slaveSymbol,
        slaveVolume: volume,
        masterVolume: position.volume,
        reversed: plan.trade.side !== position.side,
        spec,
      });
      continue;
    }
    const close = step.close;
    const base = {
      masterTradeId: close.id,
      masterPositionId: close.positionId,
      symbol: close.symbol,
      side: close.side,
      masterVolume: close.volume,
      openedAt: close.openedAt,
      closedAt: close.closedAt,
    };
    const reason = skippedPositions.get(position.id);
    const held = open.get(position.id);
    if (reason || !held) {
      const why = reason ?? 'NOT_COPIED';
      results.push({ ...base, skipped: why });
      skipped[why] = (skipped[why] ?? 0) + 1;
      continue;
    }
    // The master closes this part of what it holds: the slave its share, as live copying would.
    const masterAfter = subtractLots(held.masterVolume, close.volume);
    const share =
      compareLots(masterAfter, 0) <= 0
        ? { kind: 'close' as const, volume: held.slaveVolume, full: true }
        : planPartialClose(held, held.masterVolume, masterAfter, held.spec);
    const closing = share.kind === 'close' ? share.volume : 0;
    // Profit per unit of the base, on the slave's volume in its own contract: lots and units alike.
    const masterContract = input.masterContractSizeOf?.(close.symbol) ?? held.spec.contractSize;
    const perLot = toNumber(div(mul(div(net(close), close.volume), held.spec.contractSize), masterContract));
    const profit = cents(toNumber(mul(perLot, closing)) * (held.reversed ? -1 : 1));
    balance = cents(balance + profit);
    peak = Math.max(peak, balance);
    maxDrawdown = Math.max(maxDrawdown, peak > 0 ? ((peak - balance) / peak) * 100 : 0);
    if (input.protection) status = markEquity(input.protection, status, balance, new Date(close.closedAt), balance).status;
    const left = subtractLots(held.slaveVolume, closing);
    if (share.kind === 'close' && (share.full || compareLots(left, 0) <= 0)) open.delete(position.id);
    else open.set(position.id, { ...held, slaveVolume: left, masterVolume: masterAfter });
    results.push({ ...base, slaveVolume: closing, profit });
    copied += 1;
  }
  return {
    trades: results,
    summary: {
      copied,
      skipped,
      profit: cents(balance - input.slaveStartingBalance),
      maxDrawdownPercent: Math.round(maxDrawdown * 100) / 100,
      endingBalance: balance,
    },
  };
};

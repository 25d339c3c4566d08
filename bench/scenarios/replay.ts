import type { HistoryTrade } from '../../shared/domain/trading';
import { runReplay } from '../../shared/use-cases/run-replay';
import { simulatedAccount } from '../fixtures';
import type { Progress } from '../progress';
import type { BenchStack } from '../stack';

export interface ReplayBenchResult {
  /** The master's closed trades in the year replayed. */
  trades: number;
  /** From the request to the answer: the trades read from DynamoDB Local, the specs, the replay. */
  replayMs: number;
  copied: number;
  skipped: number;
}

const DAY_MS = 86_400_000;

/**
 * A year of an active master (`trades` closed trades, stored as the sync stores them) replayed
 * through a mapping with the use case the API calls: what `POST /v1/replays` costs locally.
 */
export const runReplayBench = async (stack: BenchStack, options: { trades: number }, progress: Progress): Promise<ReplayBenchResult> => {
  const bench = await stack.startSystem({ name: 'replay', manualSync: true });
  try {
    const { runtime } = bench;
    const tenantId = 'bench-replay';
    const master = await simulatedAccount(runtime, tenantId, 'replay-master');
    const to = Date.now();
    // A year of trades in a window of at most 366 days, a day of margin on each side.
    const from = to - 364 * DAY_MS;
    const symbols = ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'];
    const trades: HistoryTrade[] = Array.from({ length: options.trades }, (_, index) => {
      const opened = from + Math.floor(((index + 0.5) * (to - from)) / options.trades);
      return {
        id: `d${index}`,
        positionId: `p${index}`,
        symbol: symbols[index % symbols.length] ?? 'EURUSD',
        side: index % 3 === 0 ? 'sell' : 'buy',
        volume: [0.1, 0.2, 0.35, 1][index % 4] ?? 0.1,
        openPrice: 1.1,
        closePrice: 1.101,
        profit: index % 2 ? 14 : -11,
        commission: -0.7,
        openedAt: new Date(opened).toISOString(),
        closedAt: new Date(opened + 40 * 60_000).toISOString(),
      };
    });
    for (let start = 0; start < trades.length; start += 500) {
      await runtime.tradeHistory.putTrades(tenantId, master, trades.slice(start, start + 500));
      progress.count('closed trades stored', Math.min(start + 500, trades.length), trades.length);
    }
    const began = performance.now();
    const result = await runReplay(runtime, tenantId, {
      masterAccountId: master,
      from: new Date(from - DAY_MS).toISOString(),
      to: new Date(to + DAY_MS).toISOString(),
      mapping: { sizing: { mode: 'balanceRatio' }, maxStopLossPips: 100, symbolOverrides: { XAUUSD: { multiplier: 0.5 } } },
      protection: { onBreach: 'stopCopying', maxOpenPositions: 5 },
      slaveStartingBalance: 10_000,
    });
    const replayMs = performance.now() - began;
    return {
      trades: trades.length,
      replayMs,
      copied: result.summary.copied,
      skipped: Object.values(result.summary.skipped).reduce((sum, count) => sum + count, 0),
    };
  } finally {
    await bench.stop();
  }
};

import type { CopyRecord } from '../../shared/domain/copy-record';
import { inParallel, seededAccount, simulatedAccount, sleep, storedMapping } from '../fixtures';
import { clock, TRADE_METHODS, type BrokerCall } from '../meters';
import type { Progress } from '../progress';
import type { BenchStack } from '../stack';
import { summarize, type Summary } from '../stats';

export interface FanOutOptions {
  /** Slave counts to reach one after another (slaves are added, never removed). */
  sizes: number[];
  consumers: number;
  brokerLatencyMs: number;
  /** No larger size is started after this moment (epoch ms): the bench keeps its time budget. */
  deadline: number;
  /** No larger size is tried when a round at this size took longer than this. */
  escalateBelowMs: number;
  /** Also time a pass over every account of the fleet (slaves included) at the largest size. */
  slavePass: boolean;
  /** Open/close pairs at the first size (the one the target is about); one pair at the others. */
  repeatsAtFirstSize: number;
}

export interface FanOutRound {
  slaves: number;
  kind: 'open' | 'close';
  copies: number;
  statuses: Record<string, number>;
  /** Per slave: detection (the master read returned) -> the slave's broker answered its order. */
  perSlave: Summary;
  /** Detection -> the last slave's order answered. */
  completeMs: number;
  copiesPerSecond: number;
  /** The sync's time to hand all signals to SQS (SendMessageBatch, 10 per request, one after another). */
  enqueueMs: number;
  /** Per slave, detection -> the order sent to the broker (the injected latency of the order itself left out). */
  perSlaveSent: Summary;
  /** Per-slave latencies, for the picture. */
  latencies: number[];
  /**
   * CPU the round took, in ms: DynamoDB Local's JVM, and this Node process (sync, consumers,
   * the SQS emulator, the simulated broker). Their sum over the machine's CPUs bounds how fast
   * the round can be here, whatever the engine does.
   */
  cpuMs: { dynamoDbLocal: number; node: number };
}

export interface FanOutResult {
  consumers: number;
  rounds: FanOutRound[];
  largest: number;
  stoppedBecause?: string;
  seedSeconds: number;
  fleetPass?: { accounts: number; mappings: number; wallSeconds: number; secondsPerAccount: number; reconcileQueries: number; reconcileSeconds: number };
}

const ROUND_TIMEOUT_MS = 120_000;

/**
 * 1 master -> N slaves: one open on the master, then its close, each fanned out to every
 * slave; N grows through `sizes` while the machine keeps up and the time budget lasts.
 */
export const runFanOut = async (stack: BenchStack, options: FanOutOptions, progress: Progress): Promise<FanOutResult> => {
  const bench = await stack.startSystem({ name: 'fan-out', manualSync: true, consumers: options.consumers });
  const { runtime, market, system } = bench;
  try {
    const tenantId = 'bench-fan-out';
    const master = await simulatedAccount(runtime, tenantId, 'master');
    market.setFaults(master, { latencyMs: options.brokerLatencyMs });
    const slaves: string[] = [];
    const rounds: FanOutRound[] = [];
    let stoppedBecause: string | undefined;
    let seedSeconds = 0;

    const round = async (kind: 'open' | 'close', positionId: () => string): Promise<FanOutRound> => {
      const size = slaves.length;
      const records: CopyRecord[] = [];
      let settle: () => void = () => {};
      const all = new Promise<void>((resolve) => (settle = resolve));
      let ticket = '';
      const unsubscribe = bench.onCopy((record) => {
        if (record.masterAccountId !== master || record.masterPositionId !== ticket || record.action !== kind) return;
        records.push(record);
        progress.count(`${size} slaves, ${kind}: copies done`, records.length, size);
        if (records.length >= size) settle();
      });
      const brokerMark = bench.broker.calls.length;
      const awsMark = clock();
      const jvmBefore = stack.dynamoDbCpuMs();
      const nodeBefore = process.cpuUsage();
      ticket = positionId();
      const fillAt = clock();
      await system.syncNow(false);
      await Promise.race([all, sleep(ROUND_TIMEOUT_MS)]);
      unsubscribe();
      const nodeCpu = process.cpuUsage(nodeBefore);
      const cpuMs = { dynamoDbLocal: stack.dynamoDbCpuMs() - jvmBefore, node: (nodeCpu.user + nodeCpu.system) / 1000 };
      await system.drain(10_000);

      const calls = bench.broker.calls.slice(brokerMark);
      const seenAt = Math.min(
        ...calls.filter((call) => call.accountId === master && call.method === 'getPositions' && call.end > fillAt).map((call) => call.end),
      );
      const firstTrade = new Map<string, BrokerCall>();
      for (const call of calls) {
        if (call.accountId === master || !TRADE_METHODS.has(call.method) || call.start < seenAt || call.failed) continue;
        if (!firstTrade.has(call.accountId)) firstTrade.set(call.accountId, call);
      }
      const latencies = [...firstTrade.values()].map((call) => call.end - seenAt);
      const sent = [...firstTrade.values()].map((call) => call.start - seenAt);
      const enqueue = bench.aws.between(awsMark).filter((call) => call.command === 'SendMessageBatch');
      const statuses: Record<string, number> = {};
      for (const record of records) statuses[record.status] = (statuses[record.status] ?? 0) + 1;
      const completeMs = latencies.length ? Math.max(...latencies) : Number.NaN;
      const result: FanOutRound = {
        slaves: size,
        kind,
        copies: records.length,
        statuses,
        perSlave: summarize(latencies),
        completeMs,
        copiesPerSecond: latencies.length / (completeMs / 1000),
        enqueueMs: enqueue.length ? Math.max(...enqueue.map((call) => call.end)) - Math.min(...enqueue.map((call) => call.start)) : 0,
        perSlaveSent: summarize(sent),
        latencies,
        cpuMs,
      };
      progress.note(
        `${size} slaves, ${kind}: ${records.length}/${size} copied; last order ${(completeMs / 1000).toFixed(2)} s after detection (p50 ${(result.perSlave.p50 / 1000).toFixed(2)} s, p99 ${(result.perSlave.p99 / 1000).toFixed(2)} s)`,
      );
      return result;
    };

    for (const size of options.sizes) {
      if (size <= slaves.length) continue;
      if (clock() > options.deadline) {
        stoppedBecause = `time budget spent before ${size} slaves`;
        break;
      }
      const seedStarted = clock();
      const names = Array.from({ length: size - slaves.length }, (_, index) => `slave-${slaves.length + index}`);
      const created = await inParallel(
        names,
        16,
        (name) => seededAccount(runtime, market, tenantId, name),
        (done) => progress.count(`slaves connected (up to ${size})`, slaves.length + done, size),
      );
      await inParallel(created, 16, (slave) => storedMapping(runtime, tenantId, master, slave));
      for (const slave of created) market.setFaults(slave, { latencyMs: options.brokerLatencyMs });
      const first = slaves.length === 0;
      slaves.push(...created);
      seedSeconds += (clock() - seedStarted) / 1000;
      // The master becomes a master with its first mapping: its first sync records the baseline.
      if (first) await system.syncNow(false);

      let slowest = 0;
      let incomplete = false;
      for (let pair = 0; pair < (first ? options.repeatsAtFirstSize : 1); pair += 1) {
        let position = '';
        const opened = await round('open', () => (position = market.traderTrade(master, { symbol: 'EURUSD', side: 'buy', volume: 0.1 }).positionId!));
        rounds.push(opened);
        const closed = await round('close', () => {
          market.traderClose(master, position);
          return position;
        });
        rounds.push(closed);
        slowest = Math.max(slowest, opened.completeMs, closed.completeMs);
        incomplete ||= opened.copies < size || closed.copies < size;
      }
      if (incomplete) {
        stoppedBecause = `not every slave was copied at ${size} slaves`;
        break;
      }
      if (slowest > options.escalateBelowMs) {
        stoppedBecause = `a round at ${size} slaves took ${(slowest / 1000).toFixed(1)} s`;
        break;
      }
    }

    let fleetPass: FanOutResult['fleetPass'];
    if (options.slavePass && clock() < options.deadline) {
      progress.note(`timing one pass over all ${slaves.length + 1} accounts (slaves and the master's reconcile included)`);
      const started = clock();
      await system.syncNow(true);
      const wallSeconds = (clock() - started) / 1000;
      const reconcile = bench.aws.between(started).filter((call) => call.command === 'Query' && call.target === 'LINK');
      fleetPass = {
        accounts: slaves.length + 1,
        mappings: slaves.length,
        wallSeconds,
        secondsPerAccount: wallSeconds / (slaves.length + 1),
        reconcileQueries: reconcile.length,
        reconcileSeconds: reconcile.length ? (Math.max(...reconcile.map((call) => call.end)) - Math.min(...reconcile.map((call) => call.start))) / 1000 : 0,
      };
    }
    return {
      consumers: options.consumers,
      rounds,
      largest: rounds.length ? Math.max(...rounds.map((entry) => entry.slaves)) : 0,
      stoppedBecause,
      seedSeconds,
      fleetPass,
    };
  } finally {
    await bench.stop();
  }
};

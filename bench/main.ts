import { runReplayBench, type ReplayBenchResult } from './scenarios/replay';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HAND_OVER_MS, MEMBERSHIP_INTERVAL_MS, STOP_ALLOWANCE_MS } from '../functions/sync/sync-loop';
import { renderLatencySvg } from './latency-svg';
import { US_EAST_1_PRICES } from './prices';
import { Progress } from './progress';
import { buildCostReport, evaluateTargets, renderReport, type CostAssumptions } from './report';
import { runFanOut, type FanOutResult } from './scenarios/fan-out';
import { runOneToOne, type OneToOneResult } from './scenarios/one-to-one';
import type { MetaApiDetectionResult } from './scenarios/metaapi-detection';
import { runRecovery, type RecoveryResult } from './scenarios/recovery';
import { runSyncFootprint, type SyncFootprintResult } from './scenarios/sync-footprint';
import { runRequestCounts, type RequestCountsResult } from './scenarios/request-counts';
import { startBenchStack, type BenchStack } from './stack';

const USAGE = `npm run bench -- [options]

Copy latency, fan-out and requests per copy on the local stack (DynamoDB Local, fauxqs, the
local KMS, the simulated broker), and the AWS cost per account derived from the counts.
Prints a table; writes .bench/latest.json, .bench/bench-<time>.json and .bench/latency.svg.

  --broker-latency-ms <n>        latency injected on every broker port call (20)
  --poll-interval-ms <n>         master poll interval of the 1 -> 1 run (250; 5000 in AWS)
  --events <n>                   master events of the 1 -> 1 run (300)
  --lanes <n>                    master positions changing at once in the 1 -> 1 run (1: one event
                                 at a time, the next 0-poll ms after the previous copy landed)
  --burst <n>                    opens made at once for one slave's copy rate (50)
  --consumers <n>                copy-queue consumers of the 1 -> 1 run (4)
  --fanout <list>                slave counts to reach, in order (200,500,1000)
  --fanout-consumers <n>         copy-queue consumers of the fan-out run (32)
  --copies-per-slave-month <n>   cost model: copies a slave takes a month (500)
  --api-requests-per-account-month <n>  cost model: API requests per account a month (1000)
  --fleet-accounts <n>           cost model: accounts sharing the fixed cost (1000)
  --budget-s <n>                 wall-time budget; larger fan-outs are skipped past it (270)
  --seed <n>                     seed of the master's trading script (7)
  --recovery-rounds <n>          times the runtime is killed mid-burst and restarted (2; 0 skips)
  --metaapi-masters <n>          masters of each mode of the MetaApi detection phase (100; 0 skips)
  --replay-trades <n>            closed trades of the year the what-if replay phase replays (7300; 0 skips)
  --metaapi-s <n>                seconds streaming and polling are measured side by side (65: one reconcile read in it)
  --footprint-masters <list>     master streams of the sync footprint runs, each in a process of its own (1,100; 0 skips)
  --help`;

const parse = () => {
  const { values } = parseArgs({
    options: {
      'broker-latency-ms': { type: 'string', default: '20' },
      'poll-interval-ms': { type: 'string', default: '250' },
      events: { type: 'string', default: '300' },
      lanes: { type: 'string', default: '1' },
      burst: { type: 'string', default: '50' },
      consumers: { type: 'string', default: '4' },
      fanout: { type: 'string', default: '200,500,1000' },
      'fanout-consumers': { type: 'string', default: '32' },
      'copies-per-slave-month': { type: 'string', default: '500' },
      'api-requests-per-account-month': { type: 'string', default: '1000' },
      'fleet-accounts': { type: 'string', default: '1000' },
      'budget-s': { type: 'string', default: '270' },
      seed: { type: 'string', default: '7' },
      'recovery-rounds': { type: 'string', default: '2' },
      'metaapi-masters': { type: 'string', default: '100' },
      'metaapi-s': { type: 'string', default: '65' },
      'footprint-masters': { type: 'string', default: '1,100' },
      'replay-trades': { type: 'string', default: '7300' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const number = (name: keyof typeof values, min: number): number => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < min) throw new UsageError(`--${name} must be a number >= ${min}`);
    return value;
  };
  const sizes = String(values.fanout)
    .split(',')
    .map((entry) => Number(entry.trim()));
  if (sizes.some((size) => !Number.isInteger(size) || size < 1)) throw new UsageError('--fanout must be a list of slave counts, e.g. 200,500,1000');
  const footprintMasters = String(values['footprint-masters'])
    .split(',')
    .map((entry) => Number(entry.trim()))
    .filter((count) => count !== 0);
  if (footprintMasters.some((count) => !Number.isInteger(count) || count < 1))
    throw new UsageError('--footprint-masters must be a list of master counts, e.g. 1,100 (0 skips)');
  return {
    footprintMasters,
    help: Boolean(values.help),
    brokerLatencyMs: number('broker-latency-ms', 0),
    pollIntervalMs: number('poll-interval-ms', 100),
    events: number('events', 10),
    lanes: number('lanes', 1),
    burst: number('burst', 1),
    consumers: number('consumers', 1),
    sizes,
    fanOutConsumers: number('fanout-consumers', 1),
    copiesPerSlaveMonth: number('copies-per-slave-month', 0),
    apiRequestsPerAccountMonth: number('api-requests-per-account-month', 0),
    fleetAccounts: number('fleet-accounts', 1),
    budgetSeconds: number('budget-s', 60),
    seed: number('seed', 0),
    recoveryRounds: number('recovery-rounds', 0),
    metaApiMasters: number('metaapi-masters', 0),
    metaApiSeconds: number('metaapi-s', 5),
    replayTrades: number('replay-trades', 0),
  };
};

class UsageError extends Error {
  override readonly name = 'UsageError';
}

const OUTPUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '.bench');

const main = async (): Promise<number> => {
  let settings: ReturnType<typeof parse>;
  try {
    settings = parse();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    console.error(USAGE);
    return 2;
  }
  if (settings.help) {
    console.log(USAGE);
    return 0;
  }
  const started = Date.now();
  const loadBefore = loadavg()[0]!;
  const progress = new Progress(
    3 +
      (settings.metaApiMasters > 0 ? 1 : 0) +
      (settings.footprintMasters.length > 0 ? 1 : 0) +
      (settings.recoveryRounds > 0 ? 1 : 0) +
      (settings.replayTrades > 0 ? 1 : 0),
  );
  let phase = 3;
  let stack: BenchStack | undefined;
  let interrupted = false;
  const interrupt = (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    console.log(`\n${signal}: stopping the emulators...`);
    void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', () => interrupt('SIGINT'));
  process.on('SIGTERM', () => interrupt('SIGTERM'));

  // How late the one Node process (sync, consumers, SQS emulator) ran its callbacks, per
  // phase: the histogram holds the time between 10 ms timer ticks, so the lag is what exceeds 10 ms.
  const loopDelay: Record<string, { p50: number; p99: number; max: number }> = {};
  let delay = monitorEventLoopDelay({ resolution: 10 });
  const lag = (nanoseconds: number) => Math.max(0, nanoseconds / 1e6 - 10);
  const measureLoop = (phase?: string) => {
    if (phase) loopDelay[phase] = { p50: lag(delay.percentile(50)), p99: lag(delay.percentile(99)), max: lag(delay.max) };
    delay.disable();
    delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
  };
  console.log(
    `mt-copier bench: ${cpus().length} CPUs, load average ${loadBefore.toFixed(2)}, broker latency ${settings.brokerLatencyMs} ms injected on every port call`,
  );
  let oneToOne: OneToOneResult;
  let counts: RequestCountsResult;
  let fanOut: FanOutResult;
  let recovery: RecoveryResult | undefined;
  let metaApi: MetaApiDetectionResult | undefined;
  let footprint: SyncFootprintResult | undefined;
  let replay: ReplayBenchResult | undefined;
  stack = await startBenchStack({ chunkBytes: US_EAST_1_PRICES.sqs.chunkBytes });
  try {
    progress.note(`DynamoDB Local and fauxqs started (data under ${stack.dataDir})`);
    progress.phase(1, `1 master -> 1 slave, ${settings.events} master events`);
    measureLoop();
    oneToOne = await runOneToOne(
      stack,
      {
        events: settings.events,
        lanes: settings.lanes,
        pollIntervalMs: settings.pollIntervalMs,
        brokerLatencyMs: settings.brokerLatencyMs,
        consumers: settings.consumers,
        burst: settings.burst,
        seed: settings.seed,
        warmUpEvents: 12,
      },
      progress,
    );
    measureLoop('1 -> 1');
    progress.phase(2, 'requests per copied event and per idle poll, counted at the SDK clients');
    counts = await runRequestCounts(
      stack,
      { brokerLatencyMs: settings.brokerLatencyMs, copies: 10, fleetMasters: 20, fleetSlaves: 20, apiRequests: 10, masterPollIntervalMs: 5000 },
      progress,
    );
    measureLoop();
    progress.phase(3, `fan-out to ${settings.sizes.join(', then ')} slaves (${settings.fanOutConsumers} consumers)`);
    fanOut = await runFanOut(
      stack,
      {
        sizes: settings.sizes,
        consumers: settings.fanOutConsumers,
        brokerLatencyMs: settings.brokerLatencyMs,
        // Room left for the largest size's rounds and for stopping everything.
        deadline: started + settings.budgetSeconds * 1000 - 90_000,
        escalateBelowMs: 30_000,
        slavePass: true,
        repeatsAtFirstSize: 2,
      },
      progress,
    );
    measureLoop('fan-out');
    if (settings.metaApiMasters > 0) {
      progress.phase(
        (phase += 1),
        `detection on MetaApi (real SDK, fake MetaApi): ${settings.metaApiMasters} masters streaming and ${settings.metaApiMasters} polled every 5 s, side by side`,
      );
      // Imported only now: the fake MetaApi loads nock, which intercepts every HTTP request of the
      // process (DynamoDB Local and fauxqs included) from the moment it is loaded until the fake stops.
      const { runMetaApiDetection } = await import('./scenarios/metaapi-detection');
      metaApi = await runMetaApiDetection(
        stack,
        {
          masters: settings.metaApiMasters,
          tradesPerSecond: 5,
          seconds: settings.metaApiSeconds,
          pollIntervalMs: 5000,
          reconcileIntervalMs: 60_000,
        },
        progress,
      );
      measureLoop('MetaApi detection');
    }
    if (settings.footprintMasters.length > 0) {
      progress.phase(
        (phase += 1),
        `sync footprint: the sync code bundled as for Lambda, streaming ${settings.footprintMasters.join(', then ')} masters (separate processes)`,
      );
      footprint = await runSyncFootprint(stack, { masters: settings.footprintMasters, seconds: 15, tradesPerSecond: 5 }, progress);
    }
    if (settings.replayTrades > 0) {
      progress.phase((phase += 1), `what-if replay of a year of an active master (${settings.replayTrades} closed trades)`);
      replay = await runReplayBench(stack, { trades: settings.replayTrades }, progress);
    }
    if (settings.recoveryRounds > 0) {
      progress.phase((phase += 1), `recovery: the runtime killed mid-burst and restarted, ${settings.recoveryRounds} times (separate processes)`);
      recovery = await runRecovery(
        { slaves: 10, burst: 20, killAfterCopies: 5, brokerLatencyMs: settings.brokerLatencyMs, rounds: settings.recoveryRounds },
        progress,
      );
    }
  } finally {
    delay.disable();
    progress.note('stopping the systems and the emulators');
    await stack.stop();
  }

  const assumptions: CostAssumptions = {
    masterPollIntervalMs: 5000,
    slaveSyncIntervalMs: 60_000,
    shards: 4,
    memoryGb: 0.5,
    membershipIntervalMs: MEMBERSHIP_INTERVAL_MS,
    mastersPerShard: 100,
    idleShardInvocationSeconds: 1,
    // 10 in the stateless stack's operations, the dead-letter alarm in the stateful stack.
    alarms: 11,
    // The stack's sync timeout and functions/sync/sync-loop.ts.
    syncInvocationMs: 15 * 60_000,
    syncStopAllowanceMs: STOP_ALLOWANCE_MS,
    syncHandOverMs: HAND_OVER_MS,
    syncTakeOverMs: metaApi?.modes.find((mode) => mode.mode === 'streaming')?.synchronizeAllMs ?? 5_000,
    syncShortInvocationMs: 200,
    copiesPerSlaveMonth: settings.copiesPerSlaveMonth,
    apiRequestsPerAccountMonth: settings.apiRequestsPerAccountMonth,
    fleetAccounts: settings.fleetAccounts,
    // Cold starts of the three functions, ~100 a day, each reading the MetaApi token once.
    secretCallsPerMonth: 3000,
    // Lambda's SQS event source: assumed 5 long polls of 20 s, all month.
    sqsIdleReceivesPerMonth: 5 * 3 * 60 * 24 * 30,
  };
  const costs = buildCostReport(counts, assumptions, US_EAST_1_PRICES);
  const targets = evaluateTargets(oneToOne, fanOut, counts, costs, recovery, metaApi, footprint, replay);
  const loadAfter = loadavg()[0]!;
  const seconds = (Date.now() - started) / 1000;
  const header = [
    `mt-copier benchmark on the local stack: DynamoDB Local (in memory), fauxqs, the local KMS, the simulated broker, one Node process`,
    `${cpus().length} CPUs, load average ${loadBefore.toFixed(2)} at the start and ${loadAfter.toFixed(2)} at the end (other processes share the machine); ${seconds.toFixed(0)} s in all`,
    `broker latency ${settings.brokerLatencyMs} ms injected on every broker call (reads and orders, master and slaves); engine overhead leaves it out`,
    `Node event loop lag (the sync, the consumers and the SQS emulator share one process): ${Object.entries(loopDelay)
      .map(([phase, figures]) => `${phase} p50 ${figures.p50.toFixed(1)} ms, p99 ${figures.p99.toFixed(1)} ms, max ${figures.max.toFixed(0)} ms`)
      .join('; ')}`,
    `engine warnings ${stack.log.warnings}, errors ${stack.log.errors}${stack.log.samples.length ? `: ${stack.log.samples.slice(0, 3).join(' | ')}` : ''}`,
  ];
  console.log(renderReport({ header, oneToOne, fanOut, counts, costs, recovery, metaApi, footprint, targets, prices: US_EAST_1_PRICES }));

  mkdirSync(OUTPUT_DIR, { recursive: true });
  const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
  const figures = {
    startedAt: new Date(started).toISOString(),
    seconds,
    machine: { cpus: cpus().length, loadAverageBefore: loadBefore, loadAverageAfter: loadAfter, node: process.version, eventLoopDelayMs: loopDelay },
    settings,
    oneToOne,
    fanOut,
    counts,
    costs,
    recovery,
    metaApi,
    footprint,
    replay,
    targets,
    prices: US_EAST_1_PRICES,
    engineLog: { warnings: stack.log.warnings, errors: stack.log.errors, samples: stack.log.samples },
  };
  const json = JSON.stringify(figures, null, 2);
  writeFileSync(join(OUTPUT_DIR, `bench-${stamp}.json`), json);
  writeFileSync(join(OUTPUT_DIR, 'latest.json'), json);
  const defined = (values: (number | undefined)[]) => values.filter((value): value is number => value !== undefined);
  const fanOutColors = ['#1b7837', '#762a83', '#e08214', '#2166ac', '#b2182b', '#4d4d4d', '#01665e', '#c51b7d', '#8c510a', '#35978f'];
  const svg = renderLatencySvg({
    title: 'mt-copier copy latency on the local stack',
    subtitle: `${figures.startedAt} · broker latency ${settings.brokerLatencyMs} ms injected · master polled every ${settings.pollIntervalMs} ms · ${cpus().length} CPUs, load ${loadBefore.toFixed(1)}`,
    panels: [
      {
        title: `1 master -> 1 slave, ${oneToOne.samples.length} master events`,
        series: [
          { name: 'detection (fill -> seen)', color: '#2166ac', values: defined(oneToOne.samples.map((sample) => sample.detectionMs)) },
          { name: 'engine overhead (seen -> sent)', color: '#e08214', values: defined(oneToOne.samples.map((sample) => sample.engineMs)) },
          { name: 'end to end (fill -> slave fill)', color: '#b2182b', values: defined(oneToOne.samples.map((sample) => sample.endToEndMs)) },
        ],
      },
      {
        title: `Fan-out: detection -> each slave's order answered (${fanOut.consumers} consumers)`,
        series: fanOut.rounds.map((round, index) => {
          const repeat = fanOut.rounds.slice(0, index).filter((earlier) => earlier.slaves === round.slaves && earlier.kind === round.kind).length;
          return {
            name: `${round.slaves} slaves, ${round.kind}${repeat ? ` (#${repeat + 1})` : ''}`,
            color: fanOutColors[index % fanOutColors.length]!,
            values: round.latencies,
          };
        }),
      },
    ],
  });
  writeFileSync(join(OUTPUT_DIR, 'latency.svg'), svg);
  console.log(
    `\nwrote ${relative(process.cwd(), join(OUTPUT_DIR, 'latest.json'))}, ${relative(process.cwd(), join(OUTPUT_DIR, `bench-${stamp}.json`))} and ${relative(process.cwd(), join(OUTPUT_DIR, 'latency.svg'))}`,
  );
  return 0;
};

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('bench failed:', error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);

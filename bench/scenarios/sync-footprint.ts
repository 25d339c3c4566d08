import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { Progress } from '../progress';
import type { BenchStack } from '../stack';

const run = promisify(execFile);

/** One run of `bench/sync-footprint-child.ts`: its figures as it printed them. */
export interface FootprintRun {
  masters: number;
  trades: number;
  signals: number;
  /** The process once the sync's code was loaded and its runtime built (the fake MetaApi not yet loaded). */
  baselineMiB: number;
  beforeWatchMiB: number;
  peakMiB: number;
  /** Resident memory the watch added: streams, SDK state (and the fake's side of the sockets). */
  watchMiB: number;
  synchronizedMs: number;
  /** CPU used (user + system) per wall second while the streams synchronized, and while the masters traded. */
  cpuShareSynchronizing: number;
  cpuShareTrading: number;
}

export interface SyncFootprintResult {
  runs: FootprintRun[];
  /** What the runs say for sizing: the figures infra/sync-sizing.ts is built on. */
  derived: { processMiB: number; firstStreamMiB: number; perStreamMiB: number; synchronizeCpuMsPerStream: number };
}

/**
 * The sync function's footprint: `bench/sync-footprint-child.ts` bundled by esbuild as the
 * stack bundles the functions (ESM, minified), run in a Node process of its own for each
 * master count, streaming that many masters from the fake MetaApi while they trade. The
 * child reads and writes the bench's DynamoDB Local.
 */
export const runSyncFootprint = async (
  stack: BenchStack,
  options: { masters: number[]; seconds: number; tradesPerSecond: number },
  progress: Progress,
): Promise<SyncFootprintResult> => {
  const bundle = join(stack.dataDir, 'sync-footprint', 'child.mjs');
  await build({
    entryPoints: [join(import.meta.dirname, '..', 'sync-footprint-child.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'error',
  });
  const runs: FootprintRun[] = [];
  for (const masters of options.masters) {
    progress.note(`sync footprint: ${masters} master${masters === 1 ? '' : 's'} streaming, ${options.tradesPerSecond} trades/s for ${options.seconds} s`);
    const { stdout } = await run(process.execPath, [bundle], {
      env: {
        PATH: process.env.PATH,
        MASTERS: String(masters),
        SECONDS: String(options.seconds),
        TRADES_PER_SECOND: String(options.tradesPerSecond),
        DYNAMODB_ENDPOINT: stack.dynamoDbEndpoint,
        AWS_REGION: 'us-east-1',
      },
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const line = stdout.split('\n').find((candidate) => candidate.startsWith('FOOTPRINT '));
    if (!line) throw new Error(`the sync footprint run with ${masters} masters printed no figures:\n${stdout.slice(-2000)}`);
    runs.push(JSON.parse(line.slice('FOOTPRINT '.length)) as FootprintRun);
  }
  return { runs, derived: deriveFootprint(runs) };
};

/**
 * Sizing figures from the runs: the largest baseline; the first stream's cost from the
 * smallest run; the cost of each further stream from the smallest and the largest run (at
 * least 0); synchronization CPU per stream from the largest run.
 */
export const deriveFootprint = (runs: FootprintRun[]): SyncFootprintResult['derived'] => {
  if (runs.length === 0) throw new Error('no footprint runs');
  const sorted = [...runs].sort((a, b) => a.masters - b.masters);
  const smallest = sorted[0]!;
  const largest = sorted[sorted.length - 1]!;
  const perStreamMiB = largest.masters > smallest.masters ? Math.max(0, (largest.watchMiB - smallest.watchMiB) / (largest.masters - smallest.masters)) : 0;
  return {
    processMiB: Math.max(...runs.map((entry) => entry.baselineMiB)),
    firstStreamMiB: Math.max(0, smallest.watchMiB - perStreamMiB * (smallest.masters - 1)),
    perStreamMiB,
    synchronizeCpuMsPerStream: (largest.cpuShareSynchronizing * largest.synchronizedMs) / largest.masters,
  };
};

import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynamoDbLocal } from '../local/emulators/dynamodb-local';
import { startSqsLocal } from '../local/emulators/sqs-local';
import { startLocalSystem, type LocalSystem } from '../local/local-system';
import type { SimulatedMarket } from '../local/simulated-broker/simulated-market';
import type { CopyRecord } from '../shared/domain/copy-record';
import type { Log } from '../shared/ports/log';
import type { Runtime } from '../shared/runtime/runtime';
import { AwsMeter, BrokerMeter } from './meters';
import { parseConfig } from '../shared/config';

/** The settings a deployment runs with when the stacks set nothing. */
const DEFAULTS = parseConfig({ TABLE_NAME: 't', AUDIT_TABLE_NAME: 'a', COPY_QUEUE_URL: 'http://127.0.0.1/q', KMS_KEY_ID: 'k' });

/** Warnings and errors the engine logged during the run: counted, the first few kept. */
export class BenchLog implements Log {
  warnings = 0;
  errors = 0;
  readonly samples: string[] = [];
  debug(): void {}
  info(): void {}
  warn(message: string, attributes?: Record<string, unknown>): void {
    this.warnings += 1;
    this.keep('warn', message, attributes);
  }
  error(message: string, attributes?: Record<string, unknown>): void {
    this.errors += 1;
    this.keep('error', message, attributes);
  }
  private keep(level: string, message: string, attributes?: Record<string, unknown>): void {
    if (this.samples.length < 8) this.samples.push(`${level}: ${message} ${attributes ? JSON.stringify(attributes) : ''}`.trim());
  }
}

/** A clock the bench can move forward: the runtime's `now` is the system clock plus `ms`. */
export interface Skew {
  ms: number;
}

export interface BenchSystemOptions {
  name: string;
  manualSync?: boolean;
  consumers?: number;
  masterPollIntervalMs?: number;
  skew?: Skew;
}

/** A local system with meters on its AWS clients and broker ports, and a feed of finished copies. */
export interface BenchSystem {
  system: LocalSystem;
  runtime: Runtime;
  market: SimulatedMarket;
  aws: AwsMeter;
  broker: BrokerMeter;
  onCopy(listener: (record: CopyRecord) => void): () => void;
  stop(): Promise<void>;
}

export interface BenchStack {
  dataDir: string;
  /** DynamoDB Local's endpoint, for a phase that runs in a process of its own. */
  dynamoDbEndpoint: string;
  log: BenchLog;
  /** CPU time DynamoDB Local's JVM has used so far (user + system, ms; 0 where /proc is not there). */
  dynamoDbCpuMs(): number;
  startSystem(options: BenchSystemOptions): Promise<BenchSystem>;
  stop(): Promise<void>;
}

/**
 * DynamoDB Local (in memory) and fauxqs, started once and shared by the phases' systems,
 * each with its own tables, queue, local KMS and simulated market under a temporary folder.
 * `stop` stops every system still running, then the emulators, and removes the folder.
 */
export const startBenchStack = async (options: { chunkBytes: number }): Promise<BenchStack> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mt-copier-bench-'));
  const log = new BenchLog();
  const stops: (() => Promise<void>)[] = [async () => rmSync(dataDir, { recursive: true, force: true })];
  const running = new Set<BenchSystem>();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const system of running) await system.stop().catch(() => undefined);
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    const [dynamo, sqs] = await Promise.all([startDynamoDbLocal(), startSqsLocal()]);
    stops.push(dynamo.stop, () => sqs.stop());
    const startSystem = async (system: BenchSystemOptions): Promise<BenchSystem> => {
      const listeners = new Set<(record: CopyRecord) => void>();
      const folder = join(dataDir, system.name);
      mkdirSync(folder, { recursive: true });
      const skew = system.skew;
      const local = await startLocalSystem({
        port: 0,
        dataDir: folder,
        masterPollIntervalMs: system.masterPollIntervalMs ?? 1000,
        // Slaves are synced on purpose only: a timed slave pass would disturb the latency figures.
        slaveSyncIntervalMs: 24 * 3600 * 1000,
        dynamoDbEndpoint: dynamo.endpoint,
        sqsEndpoint: sqs.address,
        namePrefix: `bench-${system.name}`,
        log,
        manualSync: system.manualSync ?? false,
        consumers: system.consumers ?? 4,
        // The fan-out phase puts a thousand slaves on one master in one tenant: above the default limits.
        // The history is kept at the deployed cadence (the local runtime's own is every second and minute).
        settings: {
          MAX_ACCOUNTS_PER_TENANT: '10000',
          MAX_MAPPINGS_PER_TENANT: '10000',
          MAX_SLAVES_PER_MASTER: '10000',
          EQUITY_POINT_INTERVAL_MS: String(DEFAULTS.EQUITY_POINT_INTERVAL_MS),
          HISTORY_MIN_INTERVAL_MS: String(DEFAULTS.HISTORY_MIN_INTERVAL_MS),
          MASTER_HISTORY_INTERVAL_MS: String(DEFAULTS.MASTER_HISTORY_INTERVAL_MS),
        },
        ...(skew ? { now: () => new Date(Date.now() + skew.ms) } : {}),
        onCopyFinished: (record) => {
          for (const listener of listeners) listener(record);
        },
      });
      // The simulator saves its whole state to a file, synchronously, after every trade: at a
      // thousand accounts that blocks this one Node process for milliseconds per order, a cost
      // of the simulator (a real broker does not block the copier), not of the engine.
      // The bench's market lives in a temporary folder and is never reloaded, so it keeps its
      // state in memory only.
      (local.market as unknown as { persist: () => void }).persist = () => {};
      const aws = new AwsMeter();
      aws.attach(local.runtime, options.chunkBytes);
      const broker = new BrokerMeter();
      broker.attach(local.runtime);
      let down = false;
      const handle: BenchSystem = {
        system: local,
        runtime: local.runtime,
        market: local.market,
        aws,
        broker,
        onCopy: (listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
        stop: async () => {
          if (down) return;
          down = true;
          running.delete(handle);
          await local.stop();
        },
      };
      running.add(handle);
      return handle;
    };
    const dynamoDbCpuMs = (): number => {
      try {
        // Fields 14 and 15 of /proc/<pid>/stat: user and system time in clock ticks (100 a second).
        const fields = readFileSync(`/proc/${dynamo.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return (Number(fields[11]) + Number(fields[12])) * 10;
      } catch {
        return 0;
      }
    };
    return { dataDir, dynamoDbEndpoint: dynamo.endpoint, log, dynamoDbCpuMs, startSystem, stop };
  } catch (error) {
    await stop();
    throw error;
  }
};

import { BOOK_REFRESH_MS } from '../../functions/sync/sync-loop';
import { LOCAL_CREDENTIALS } from '../../local/local-system';
import { MetaApiCloud } from '../../shared/adapters/metaapi/metaapi-cloud';
import { metaApiGateways } from '../../shared/adapters/metaapi/metaapi-gateway';
import type { CopySignal } from '../../shared/ports/stores';
import { createRuntime } from '../../shared/runtime/runtime';
import { watchShard, type ShardWatchResult } from '../../shared/use-cases/watch-shard';
import { fakeCloudOptions } from '../../test/support/fake-metaapi/cloud-options';
import { FakeMetaApi } from '../../test/support/fake-metaapi/fake-metaapi';
import { newId } from '../../shared/use-cases/manage-accounts';
import { inParallel, sleep, storedMapping } from '../fixtures';
import type { Progress } from '../progress';
import type { BenchStack } from '../stack';
import { summarize, type Summary } from '../stats';

export interface MetaApiDetectionOptions {
  masters: number;
  /** Trades a second across all masters while a mode is measured. */
  tradesPerSecond: number;
  /** How long both modes are measured, side by side: at least one reconcile interval, so its RPC reads count. */
  seconds: number;
  /** As deployed: masters polled every 5 s, every master read over RPC every 60 s. */
  pollIntervalMs: number;
  reconcileIntervalMs: number;
}

export interface DetectionMode {
  mode: 'streaming' | 'polling';
  /** Master trade at the fake broker -> its copy signals handed to the queue. */
  detection: Summary;
  trades: number;
  /** Trades no signal was seen for by the end of the mode. */
  missed: number;
  /** Reads of masters' state over MetaApi RPC (positions, orders, funds, ...), per master per minute. */
  rpcPerMasterMinute: number;
  /** Start of the invocation -> every master's stream synchronized (streaming only). */
  synchronizeAllMs?: number;
  /** Resident memory the mode's watch added before the other started (MiB): streams and SDK state for streaming. */
  rssDeltaMiB: number;
  result: ShardWatchResult;
}

export interface MetaApiDetectionResult {
  options: MetaApiDetectionOptions;
  modes: DetectionMode[];
}

const SERVER = 'BenchBroker-Live';

/**
 * The sync function's detection on the real MetaApi SDK against the fake MetaApi (socket.io
 * on this machine), with the shard watch the Lambda runs, two deployments side by side, each
 * with its own `masters` masters (each mapped to a slave) and DynamoDB Local tables: one
 * streaming (as deployed), one polling every `pollIntervalMs` (streaming off). Both trade
 * at random for the same `seconds`. The copy queue is replaced by a recorder: this phase
 * measures detection, the others copying.
 */
export const runMetaApiDetection = async (stack: BenchStack, options: MetaApiDetectionOptions, progress: Progress): Promise<MetaApiDetectionResult> => {
  const fake = await FakeMetaApi.start({ validationPolls: 0, deployPolls: 0, connectPolls: 0 });
  try {
    const fleets = {
      streaming: await provisionFleet('streaming', 0),
      polling: await provisionFleet('polling', 1),
    };
    // The streaming watch first, alone, for its time to synchronize and its memory; then both.
    const streaming = await startMode('streaming', fleets.streaming);
    const polling = await startMode('polling', fleets.polling);
    progress.note(`both: ${options.masters} masters each, ${options.tradesPerSecond} trades/s each for ${options.seconds} s`);
    const modes = await Promise.all([streaming.measure(), polling.measure()]);
    return { options, modes };
  } finally {
    await fake.stop();
  }

  async function provisionFleet(mode: 'streaming' | 'polling', fleet: number) {
    const bench = await stack.startSystem({ name: `metaapi-${mode}`, manualSync: true, consumers: 0 });
    const tenantId = `bench-metaapi-${mode}`;
    const provisioning = new MetaApiCloud(fakeCloudOptions(fake));
    try {
      const gateway = metaApiGateways(provisioning).mt5;
      let provisioned = 0;
      const pairs = Array.from({ length: options.masters }, (_, index) => index);
      const masters = await inParallel(pairs, 16, async (index) => {
        const masterLogin = String(100_000 * (2 * fleet + 1) + index);
        const slaveLogin = String(100_000 * (2 * fleet + 2) + index);
        fake.addBrokerAccount({ server: SERVER, login: masterLogin, password: 'pw' });
        fake.addBrokerAccount({ server: SERVER, login: slaveLogin, password: 'pw' });
        const ids = { master: newId('acc'), slave: newId('acc') };
        const brokerIds = await Promise.all(
          [
            { id: ids.master, login: masterLogin },
            { id: ids.slave, login: slaveLogin },
          ].map(async ({ id, login }) => {
            const { brokerAccountId } = await gateway.provision({ tenantId, accountId: id, platform: 'mt5', login, server: SERVER }, 'pw');
            const now = new Date().toISOString();
            const encryptedPassword = await bench.runtime.cipher.encrypt('pw', { tenantId, accountId: id });
            await bench.runtime.accounts.create({
              id,
              tenantId,
              name: `bench ${login}`,
              platform: 'mt5',
              login,
              server: SERVER,
              status: 'connected',
              createdAt: now,
              updatedAt: now,
              encryptedPassword,
              brokerAccountId,
            });
            return brokerAccountId!;
          }),
        );
        // Announced already: the bench measures trades, not a mapping's start.
        const since = new Date(Date.now() - 60_000).toISOString();
        await storedMapping(bench.runtime, tenantId, ids.master, ids.slave, { activeSince: since, announcedSince: since, createdAt: since });
        progress.count(`${mode}: masters and slaves provisioned at the fake MetaApi`, (provisioned += 1), options.masters);
        return { accountId: ids.master, market: FakeMetaApi.brokerAccountId(SERVER, masterLogin), metaApiId: brokerIds[0]! };
      });
      return { bench, masters };
    } finally {
      await provisioning.close();
    }
  }

  async function startMode(mode: 'streaming' | 'polling', fleet: Awaited<ReturnType<typeof provisionFleet>>) {
    const { bench, masters } = fleet;
    const rssBefore = process.memoryUsage().rss;
    const cloud = new MetaApiCloud(fakeCloudOptions(fake, { connectMs: 30_000, requestMs: 5_000 }));
    const seen = new Map<string, number>();
    const queue = {
      send: async (signals: CopySignal[]) => {
        const at = Date.now();
        for (const signal of signals)
          if (signal.event.kind === 'positionOpened' || signal.event.kind === 'positionClosed') seen.set(signal.event.id, seen.get(signal.event.id) ?? at);
      },
    };
    const runtime = createRuntime(bench.runtime.config, { log: stack.log, credentials: LOCAL_CREDENTIALS, gateways: metaApiGateways(cloud) });
    const controller = new AbortController();
    const started = Date.now();
    const watching = watchShard(
      { ...runtime, queue, bookRefreshMs: BOOK_REFRESH_MS, bookCache: new Map() },
      {
        shard: 0,
        shards: 1,
        owner: `bench-${mode}`,
        endsAt: Date.now() + 10 * 60_000,
        pollIntervalMs: options.pollIntervalMs,
        slaveIntervalMs: 24 * 3600_000,
        reconcileIntervalMs: options.reconcileIntervalMs,
        streaming: mode === 'streaming',
        leaseMs: 30_000,
        handOverMs: 0,
        syncWaitMs: 30_000,
        concurrency: 16,
        signal: controller.signal,
      },
    );
    let stopping: Promise<ShardWatchResult | undefined> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        controller.abort();
        const result = await watching.catch(() => undefined);
        await cloud.close();
        await bench.stop();
        return result;
      })());
    let synchronizeAllMs: number | undefined;
    let rssDeltaMiB = 0;
    try {
      // Ready: the first pass read every master (and in streaming, every stream synchronized).
      const deadline = Date.now() + 120_000;
      const ids = new Set(masters.map((master) => master.metaApiId));
      for (;;) {
        const read = new Set(
          fake.requests
            .filter((request) => request.at >= started && request.type === 'getPositions' && ids.has(request.accountId))
            .map((request) => request.accountId),
        );
        const synchronized = new Set(
          fake
            .streamingSessions()
            .filter((session) => session.synchronized && ids.has(session.accountId))
            .map((session) => session.accountId),
        );
        if (mode === 'streaming' && synchronizeAllMs === undefined && synchronized.size >= ids.size) synchronizeAllMs = Date.now() - started;
        if (read.size >= ids.size && (mode === 'polling' || synchronizeAllMs !== undefined)) break;
        if (Date.now() > deadline) throw new Error(`${mode}: masters not ready after 120 s (${read.size} read, ${synchronized.size} streams synchronized)`);
        progress.count(`${mode}: masters ready`, mode === 'streaming' ? synchronized.size : read.size, ids.size);
        await sleep(100);
      }
      rssDeltaMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    } catch (error) {
      await stop();
      throw error;
    }

    const measure = async (): Promise<DetectionMode> => {
      try {
        // The settle time of a stream after the first (RPC) read, then the measured window.
        await sleep(1_500);
        const windowStart = Date.now();
        const trades: { eventId: string; at: number }[] = [];
        const open = new Map<string, string[]>();
        const total = Math.round(options.seconds * options.tradesPerSecond);
        for (let next = 0; Date.now() - windowStart < options.seconds * 1000; ) {
          const master = masters[Math.floor(Math.random() * masters.length)]!;
          const positions = open.get(master.market) ?? [];
          if (positions.length > 0 && Math.random() < 0.5) {
            const positionId = positions.shift()!;
            fake.market.traderClose(master.market, positionId);
            trades.push({ eventId: `positionClosed:${positionId}`, at: Date.now() });
          } else {
            const { positionId } = fake.market.traderTrade(master.market, { symbol: 'EURUSD', side: Math.random() < 0.5 ? 'buy' : 'sell', volume: 0.01 });
            positions.push(positionId!);
            trades.push({ eventId: `positionOpened:${positionId}:0`, at: Date.now() });
          }
          open.set(master.market, positions);
          next += 1000 / options.tradesPerSecond;
          const wait = windowStart + next - Date.now();
          if (wait > 0) await sleep(wait);
          if (mode === 'streaming') progress.count('trades of each', Math.min(trades.length, total), total);
        }
        const windowEnd = Date.now();
        // What the last trades left to detect: up to a poll interval and a pass.
        await sleep(mode === 'polling' ? options.pollIntervalMs + 3_000 : 1_000);
        const latencies = trades.flatMap((trade) => {
          const at = seen.get(trade.eventId);
          return at === undefined ? [] : [Math.max(0, at - trade.at)];
        });
        const reads = masters.reduce((sum, master) => sum + fake.rpcReads(master.metaApiId, windowStart).filter((request) => request.at < windowEnd).length, 0);
        const result = await stop();
        return {
          mode,
          detection: summarize(latencies),
          trades: trades.length,
          missed: trades.length - latencies.length,
          rpcPerMasterMinute: reads / masters.length / ((windowEnd - windowStart) / 60_000),
          ...(synchronizeAllMs !== undefined ? { synchronizeAllMs } : {}),
          rssDeltaMiB,
          result: result ?? { role: 'skipped', handedOver: false, passes: 0, streamSyncs: 0, rpcSyncs: 0, events: 0 },
        };
      } finally {
        await stop();
      }
    };
    return { measure };
  }
};

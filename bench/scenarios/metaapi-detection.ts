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
  /** How long the streaming mode is measured: at least one reconcile interval, so its RPC reads count. */
  streamingSeconds: number;
  /** How long the polling mode is measured (a few poll intervals). */
  pollingSeconds: number;
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
  /** Resident memory the mode added over the process before it (MiB). */
  rssDeltaMiB: number;
  heapUsedMiB: number;
  result: ShardWatchResult;
}

export interface MetaApiDetectionResult {
  options: MetaApiDetectionOptions;
  modes: DetectionMode[];
}

const SERVER = 'BenchBroker-Live';

/**
 * The sync function's detection on the real MetaApi SDK against the fake MetaApi (socket.io
 * on this machine), with the shard watch the Lambda runs: `masters` masters, each mapped to a
 * slave, trading at random. First with streaming (as deployed), then with polling every
 * `pollIntervalMs` (streaming off), the same masters and the same DynamoDB Local tables. The
 * copy queue is replaced by a recorder: this phase measures detection, the others copying.
 */
export const runMetaApiDetection = async (stack: BenchStack, options: MetaApiDetectionOptions, progress: Progress): Promise<MetaApiDetectionResult> => {
  const fake = await FakeMetaApi.start({ validationPolls: 0, deployPolls: 0, connectPolls: 0 });
  const bench = await stack.startSystem({ name: 'metaapi', manualSync: true, consumers: 0 });
  const modes: DetectionMode[] = [];
  const masters: { accountId: string; market: string; metaApiId: string }[] = [];
  try {
    const tenantId = 'bench-metaapi';
    const provisioning = new MetaApiCloud(fakeCloudOptions(fake));
    try {
      const gateway = metaApiGateways(provisioning).mt5;
      let provisioned = 0;
      const pairs = Array.from({ length: options.masters }, (_, index) => index);
      const results = await inParallel(pairs, 8, async (index) => {
        const masterLogin = String(100_000 + index);
        const slaveLogin = String(200_000 + index);
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
            await bench.runtime.accounts.create({ id, tenantId, name: `bench ${login}`, platform: 'mt5', login, server: SERVER, status: 'connected', createdAt: now, updatedAt: now, encryptedPassword, brokerAccountId });
            return brokerAccountId!;
          }),
        );
        // Announced already: the bench measures trades, not a mapping's start.
        const since = new Date(Date.now() - 60_000).toISOString();
        await storedMapping(bench.runtime, tenantId, ids.master, ids.slave, { activeSince: since, announcedSince: since, createdAt: since });
        progress.count('masters and slaves provisioned at the fake MetaApi', (provisioned += 1), options.masters);
        return { accountId: ids.master, market: FakeMetaApi.brokerAccountId(SERVER, masterLogin), metaApiId: brokerIds[0]! };
      });
      masters.push(...results);
    } finally {
      await provisioning.close();
    }

    for (const mode of ['streaming', 'polling'] as const) {
      const seconds = mode === 'streaming' ? options.streamingSeconds : options.pollingSeconds;
      progress.note(`${mode}: ${options.masters} masters, ${options.tradesPerSecond} trades/s for ${seconds} s`);
      modes.push(await measureMode(mode, seconds));
    }
    return { options, modes };
  } finally {
    await bench.stop();
    await fake.stop();
  }

  async function measureMode(mode: 'streaming' | 'polling', seconds: number): Promise<DetectionMode> {
    const rssBefore = process.memoryUsage().rss;
    const cloud = new MetaApiCloud(fakeCloudOptions(fake, { connectMs: 30_000, requestMs: 5_000 }));
    const seen = new Map<string, number>();
    const queue = {
      send: async (signals: CopySignal[]) => {
        const at = Date.now();
        for (const signal of signals) if (signal.event.kind === 'positionOpened' || signal.event.kind === 'positionClosed') seen.set(signal.event.id, seen.get(signal.event.id) ?? at);
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
    let synchronizeAllMs: number | undefined;
    try {
      // Ready: the first pass read every master (and in streaming, every stream synchronized).
      const deadline = Date.now() + 120_000;
      const ids = new Set(masters.map((master) => master.metaApiId));
      for (;;) {
        const read = new Set(fake.requests.filter((request) => request.at >= started && request.type === 'getPositions' && ids.has(request.accountId)).map((request) => request.accountId));
        const synchronized = new Set(fake.streamingSessions().filter((session) => session.synchronized && ids.has(session.accountId)).map((session) => session.accountId));
        if (mode === 'streaming' && synchronizeAllMs === undefined && synchronized.size >= ids.size) synchronizeAllMs = Date.now() - started;
        if ([...ids].every((id) => read.has(id)) && (mode === 'polling' || synchronizeAllMs !== undefined)) break;
        if (Date.now() > deadline) throw new Error(`${mode}: masters not ready after 120 s (${read.size} read, ${synchronized.size} streams synchronized)`);
        progress.count(`${mode}: masters ready`, mode === 'streaming' ? synchronized.size : read.size, ids.size);
        await sleep(100);
      }
      // The settle time of a stream after the first (RPC) read, then the measured window.
      await sleep(1_500);
      const windowStart = Date.now();
      const trades: { eventId: string; at: number }[] = [];
      const open = new Map<string, string[]>();
      let next = 0;
      while (Date.now() - windowStart < seconds * 1000) {
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
        progress.count(`${mode}: trades`, Math.min(trades.length, Math.round(seconds * options.tradesPerSecond)), Math.round(seconds * options.tradesPerSecond));
      }
      const windowEnd = Date.now();
      // What the last trades left to detect: up to a poll interval and a pass.
      await sleep(mode === 'polling' ? options.pollIntervalMs + 3_000 : 1_000);
      const latencies = trades.flatMap((trade) => {
        const at = seen.get(trade.eventId);
        return at === undefined ? [] : [Math.max(0, at - trade.at)];
      });
      const reads = masters.reduce((sum, master) => sum + fake.rpcReads(master.metaApiId, windowStart).filter((request) => request.at < windowEnd).length, 0);
      const memory = process.memoryUsage();
      controller.abort();
      const result = await watching;
      return {
        mode,
        detection: summarize(latencies),
        trades: trades.length,
        missed: trades.length - latencies.length,
        rpcPerMasterMinute: reads / masters.length / ((windowEnd - windowStart) / 60_000),
        ...(synchronizeAllMs !== undefined ? { synchronizeAllMs } : {}),
        rssDeltaMiB: (memory.rss - rssBefore) / 2 ** 20,
        heapUsedMiB: memory.heapUsed / 2 ** 20,
        result,
      };
    } finally {
      controller.abort();
      await watching.catch(() => undefined);
      await cloud.close();
    }
  }
};

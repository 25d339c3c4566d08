/**
 * Run by the bench in a process of its own (`node --import tsx bench/sync-footprint-child.ts`):
 * the sync function's shard watch streaming `MASTERS` masters from the fake MetaApi, with
 * resident memory and CPU sampled the whole time. Prints one JSON line (`FOOTPRINT {...}`).
 *
 * The figures a Lambda sizes by: `baselineMiB` (the process once the sync's code is loaded
 * and its runtime built, as a cold start leaves it) plus `watchMiB` (what the watch added:
 * the SDK, its streams and the masters' terminal states, and the fake's server side of the
 * same sockets, so a little more than the function itself would hold).
 */
import { performance } from 'node:perf_hooks';

const masters = Number(process.env.MASTERS ?? '1');
const tradesPerSecond = Number(process.env.TRADES_PER_SECOND ?? '5');
const seconds = Number(process.env.SECONDS ?? '20');
const mib = (bytes: number): number => bytes / 2 ** 20;

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

const { createRuntime } = await import('../shared/runtime/runtime');
const { parseConfig } = await import('../shared/config');
const { watchShard } = await import('../shared/use-cases/watch-shard');
const { BOOK_REFRESH_MS } = await import('../functions/sync/sync-loop');
const { MetaApiCloud } = await import('../shared/adapters/metaapi/metaapi-cloud');
const { metaApiGateways } = await import('../shared/adapters/metaapi/metaapi-gateway');
const { ensureTables } = await import('../shared/adapters/dynamodb/table-definitions');
const { silentLog } = await import('../shared/ports/log');
const { newId } = await import('../shared/use-cases/manage-accounts');
const { storedMapping, inParallel, sleep } = await import('./fixtures');

const suffix = `${process.pid}-${Date.now()}`;
const config = parseConfig({
  TABLE_NAME: `footprint-main-${suffix}`,
  AUDIT_TABLE_NAME: `footprint-audit-${suffix}`,
  COPY_QUEUE_URL: 'http://127.0.0.1:1/000000000000/unused.fifo',
  KMS_KEY_ID: 'unused',
  DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT,
});
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

// The fake MetaApi is loaded only now: what it costs is outside the baseline.
const baselineMiB = mib(process.memoryUsage().rss);
const { FakeMetaApi } = await import('../test/support/fake-metaapi/fake-metaapi');
const { fakeCloudOptions } = await import('../test/support/fake-metaapi/cloud-options');
const fake = await FakeMetaApi.start({ validationPolls: 0, deployPolls: 0, connectPolls: 0 });
const setup = createRuntime(config, { log: silentLog, credentials, gateways: {} });
await ensureTables(setup.clients.dynamo, { main: config.TABLE_NAME, audit: config.AUDIT_TABLE_NAME });
const tenantId = 'footprint';
const provisioning = new MetaApiCloud(fakeCloudOptions(fake));
const gateway = metaApiGateways(provisioning).mt5;
const fleet = await inParallel(
  Array.from({ length: masters }, (_, index) => index),
  16,
  async (index) => {
    const logins = { master: String(500_000 + index), slave: String(600_000 + index) };
    const ids = { master: newId('acc'), slave: newId('acc') };
    let masterMarket = '';
    for (const role of ['master', 'slave'] as const) {
      fake.addBrokerAccount({ server: 'Footprint-Live', login: logins[role], password: 'pw' });
      const { brokerAccountId } = await gateway.provision(
        { tenantId, accountId: ids[role], platform: 'mt5', login: logins[role], server: 'Footprint-Live' },
        'pw',
      );
      const now = new Date().toISOString();
      await setup.accounts.create({
        id: ids[role],
        tenantId,
        name: `${role} ${index}`,
        platform: 'mt5',
        login: logins[role],
        server: 'Footprint-Live',
        status: 'connected',
        createdAt: now,
        updatedAt: now,
        encryptedPassword: 'not-read-by-the-sync',
        brokerAccountId,
      });
      if (role === 'master') masterMarket = FakeMetaApi.brokerAccountId('Footprint-Live', logins.master);
    }
    const since = new Date(Date.now() - 60_000).toISOString();
    await storedMapping(setup, tenantId, ids.master, ids.slave, { activeSince: since, announcedSince: since, createdAt: since });
    return masterMarket;
  },
);
await provisioning.close();

// The watch as the sync function runs it (the copy queue replaced by a counter).
let signals = 0;
const cloud = new MetaApiCloud(fakeCloudOptions(fake, { connectMs: 30_000, requestMs: 5_000 }));
const runtime = createRuntime(config, { log: silentLog, credentials, gateways: metaApiGateways(cloud) });
const beforeWatchMiB = mib(process.memoryUsage().rss);
peakRss = process.memoryUsage().rss;
const controller = new AbortController();
const cpuAtStart = process.cpuUsage();
const startedAt = performance.now();
const watching = watchShard(
  {
    ...runtime,
    queue: {
      send: async (sent) => {
        signals += sent.length;
      },
    },
    bookRefreshMs: BOOK_REFRESH_MS,
    bookCache: new Map(),
  },
  {
    shard: 0,
    shards: 1,
    owner: 'footprint',
    endsAt: Date.now() + 10 * 60_000,
    pollIntervalMs: 5_000,
    slaveIntervalMs: 60_000,
    reconcileIntervalMs: 60_000,
    streaming: true,
    leaseMs: 30_000,
    handOverMs: 0,
    syncWaitMs: 30_000,
    concurrency: 16,
    signal: controller.signal,
  },
);
for (const deadline = Date.now() + 120_000; ; await sleep(100)) {
  const synchronized = fake.streamingSessions().filter((session) => session.synchronized).length;
  if (synchronized >= masters) break;
  if (Date.now() > deadline) throw new Error(`${synchronized} of ${masters} streams synchronized after 120 s`);
}
const synchronizedMs = performance.now() - startedAt;
const cpuAtTrading = process.cpuUsage();
const tradingStarted = performance.now();
const open = new Map<string, string[]>();
let trades = 0;
while (performance.now() - tradingStarted < seconds * 1000) {
  const market = fleet[Math.floor(Math.random() * fleet.length)] ?? '';
  const positions = open.get(market) ?? [];
  const positionId = positions.shift();
  if (positionId && Math.random() < 0.5) fake.market.traderClose(market, positionId);
  else {
    const opened = fake.market.traderTrade(market, { symbol: 'EURUSD', side: 'buy', volume: 0.01 }).positionId;
    if (opened) positions.push(opened);
    if (positionId) positions.unshift(positionId);
  }
  open.set(market, positions);
  trades += 1;
  await sleep(1000 / tradesPerSecond);
}
const tradingMs = performance.now() - tradingStarted;
const cpuTrading = process.cpuUsage(cpuAtTrading);
const cpuAll = process.cpuUsage(cpuAtStart);
controller.abort();
await watching.catch(() => undefined);
await cloud.close();
await fake.stop();
clearInterval(sampler);
const peakMiB = mib(peakRss);
process.stdout.write(
  `FOOTPRINT ${JSON.stringify({
    masters,
    trades,
    signals,
    baselineMiB,
    beforeWatchMiB,
    peakMiB,
    watchMiB: peakMiB - beforeWatchMiB,
    synchronizedMs,
    cpuShareSynchronizing: (cpuAll.user + cpuAll.system - cpuTrading.user - cpuTrading.system) / 1000 / synchronizedMs,
    cpuShareTrading: (cpuTrading.user + cpuTrading.system) / 1000 / tradingMs,
  })}\n`,
);
process.exit(0);

import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedBrokerGateway } from '../../local/simulated-broker/simulated-broker-gateway';
import { SimulatedMarket } from '../../local/simulated-broker/simulated-market';
import type { AccountStream, AccountView } from '../../shared/ports/broker';
import { silentLog } from '../../shared/ports/log';
import type { CopySignal } from '../../shared/ports/stores';
import { BrokerDirectory } from '../../shared/use-cases/broker-directory';
import { STREAM_SETTLE_MS, watchShard, type ShardWatchOptions, type ShardWatchResult } from '../../shared/use-cases/watch-shard';
import { aMapping, anAccount } from '../support/fixtures';
import { memoryStores } from '../support/memory-stores';

/** A stream the test drives: what it shows, and when it tells of a change. */
class ManualStream implements AccountStream {
  shown: AccountView | undefined;
  closed = false;
  constructor(private readonly onChange: () => void) {}
  view(): AccountView | undefined {
    return this.closed ? undefined : this.shown;
  }
  async synchronized(): Promise<boolean> {
    return this.view() !== undefined;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  push(view: AccountView | undefined): void {
    this.shown = view;
    this.onChange();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The rules that keep two sources of one master (its stream, RPC reads) from undoing each
 * other's diffs, on the in-memory stores and the simulated broker, with streams the test drives.
 */
describe('a shard watch with streams and RPC reads of the same master', () => {
  const running: { stop: () => Promise<ShardWatchResult> }[] = [];
  afterEach(async () => {
    for (const watch of running.splice(0)) await watch.stop();
  });

  const setup = async () => {
    const now = () => new Date();
    const stores = memoryStores(now);
    const market = new SimulatedMarket({ now });
    const master = anAccount({ id: 'master-w', platform: 'simulated' });
    const slave = anAccount({ id: 'slave-w', platform: 'simulated', login: '2' });
    market.openAccount(master.id);
    await stores.accounts.create(master);
    await stores.accounts.create(slave);
    const since = new Date(Date.now() - 60_000).toISOString();
    await stores.mappings.create(
      aMapping({ id: 'map-w', masterAccountId: master.id, slaveAccountId: slave.id, activeSince: since, announcedSince: since, createdAt: since }),
      {
        graphVersion: (await stores.mappings.graph(master.tenantId)).version,
      },
    );
    const streams: ManualStream[] = [];
    const gateway = Object.assign(new SimulatedBrokerGateway(market), {
      watch: (_ref: unknown, onChange: () => void) => {
        const stream = new ManualStream(onChange);
        streams.push(stream);
        return stream;
      },
    });
    const sent: CopySignal[] = [];
    const metrics: { name: string; value: number }[] = [];
    const warnings: { message: string; attributes?: Record<string, unknown> }[] = [];
    const deps = {
      ...stores,
      queue: { send: async (signals: CopySignal[]) => void sent.push(...signals) },
      brokers: new BrokerDirectory({ simulated: gateway }),
      now,
      log: { ...silentLog, warn: (message: string, attributes?: Record<string, unknown>) => void warnings.push({ message, attributes }) },
      metrics: { emit: (_dimensions: Record<string, string>, values: { name: string; value: number }[]) => void metrics.push(...values) },
      bookRefreshMs: 60_000,
      bookCache: new Map(),
    };
    const viewOf = (): AccountView => ({
      positions: market.getPositions(master.id),
      orders: market.getPendingOrders(master.id),
      account: market.getAccountInformation(master.id),
    });
    const start = (options: Partial<ShardWatchOptions> = {}) => {
      const controller = new AbortController();
      const done = watchShard(deps, {
        shard: 0,
        shards: 1,
        owner: 'test',
        endsAt: Date.now() + 30_000,
        pollIntervalMs: 100,
        slaveIntervalMs: 60_000,
        reconcileIntervalMs: 60_000,
        streaming: true,
        leaseMs: 5_000,
        handOverMs: 1_000,
        syncWaitMs: 1_000,
        signal: controller.signal,
        ...options,
      });
      const watch = {
        done,
        stop: async () => {
          controller.abort();
          return done;
        },
      };
      running.push(watch);
      return watch;
    };
    // Distinct event ids: a reconcile re-sends what no copy worker (none runs here) has copied yet, under the same ids.
    const kinds = () => [...new Set(sent.map((signal) => signal.event.id))];
    return { market, master, streams, sent, kinds, viewOf, start, stores, metrics, warnings };
  };

  it('does not close a copy when the stream shows a master a little behind what an RPC read already saw', async () => {
    const { market, master, streams, kinds, viewOf, start } = await setup();
    start();
    // No synchronized stream yet: the master is polled over RPC, and its first book is written.
    await sleep(300);
    const opened = market.traderTrade(master.id, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    await sleep(400);
    expect(kinds()).toEqual([`positionOpened:${opened.positionId}:0`]);
    // The stream synchronizes on a state from just before that trade, and catches up 300 ms later.
    const lagging = { ...viewOf(), positions: [] };
    streams[0]!.push(lagging);
    await sleep(300);
    streams[0]!.push(viewOf());
    await sleep(500);
    expect(kinds()).toEqual([`positionOpened:${opened.positionId}:0`]);
    // From then on the stream feeds the diff.
    market.traderClose(master.id, opened.positionId!);
    streams[0]!.push(viewOf());
    await sleep(300);
    expect(kinds()).toEqual([`positionOpened:${opened.positionId}:0`, `positionClosed:${opened.positionId}`]);
  });

  it('closes a position another writer booked and the stream never showed (closed before it synchronized) once the window has passed', async () => {
    const { market, master, streams, kinds, viewOf, start } = await setup();
    start();
    await sleep(300);
    const opened = market.traderTrade(master.id, { symbol: 'EURUSD', side: 'sell', volume: 0.2 });
    await sleep(400);
    expect(kinds()).toEqual([`positionOpened:${opened.positionId}:0`]);
    // Closed, then the stream synchronizes: it never shows the position.
    market.traderClose(master.id, opened.positionId!);
    streams[0]!.push(viewOf());
    await sleep(1_000);
    expect(kinds()).toEqual([`positionOpened:${opened.positionId}:0`]);
    await sleep(STREAM_SETTLE_MS);
    expect(kinds()).toEqual([`positionOpened:${opened.positionId}:0`, `positionClosed:${opened.positionId}`]);
  });

  it('closes a stream that missed a change (its view differs from RPC twice), copies the change over RPC and opens a new stream', async () => {
    const { market, master, streams, kinds, viewOf, start } = await setup();
    start({ reconcileIntervalMs: 500 });
    await sleep(200);
    streams[0]!.push(viewOf());
    await sleep(300);
    const before = kinds().length;
    // The trade happens; the stream never shows it.
    const opened = market.traderTrade(master.id, { symbol: 'GBPUSD', side: 'sell', volume: 0.2 });
    await sleep(600 + 1_000 + 900);
    expect(streams[0]!.closed).toBe(true);
    expect(kinds().slice(before)).toEqual([`positionOpened:${opened.positionId}:0`]);
    expect(streams.length).toBeGreaterThanOrEqual(2);
    expect(streams.at(-1)!.closed).toBe(false);
  });

  it('keeps a stream that agrees with RPC, and sends nothing twice when it shows the same state again', async () => {
    const { market, master, streams, kinds, viewOf, start } = await setup();
    const watch = start({ reconcileIntervalMs: 400 });
    await sleep(200);
    streams[0]!.push(viewOf());
    await sleep(300);
    const opened = market.traderTrade(master.id, { symbol: 'EURUSD', side: 'buy', volume: 0.3 });
    streams[0]!.push(viewOf());
    streams[0]!.push(viewOf());
    await sleep(1_500);
    expect(streams).toHaveLength(1);
    expect(kinds()).toEqual([`positionOpened:${opened.positionId}:0`]);
    const result = await watch.stop();
    expect(result.streamSyncs).toBeGreaterThan(2);
    expect(result.role).toBe('owner');
  });

  it('ends after one pass when the shard has no master (endWhenIdle), having read its slaves, and frees the lease at once', async () => {
    const { master, stores, start, market } = await setup();
    market.openAccount('slave-w');
    await stores.mappings.delete(master.tenantId, 'map-w');
    const result = await start({ endWhenIdle: true }).done;
    expect(result).toMatchObject({ role: 'owner', idle: true, passes: 1, handedOver: false });
    expect(await stores.shardLeases.get('0/1')).toBeUndefined();
    // Its pass read the slaves: the slave's state was recorded.
    expect((await stores.accounts.get(master.tenantId, 'slave-w'))?.status).toBe('connected');
  });

  it('keeps watching a shard that has a master, endWhenIdle or not', async () => {
    const { start } = await setup();
    const watch = start({ endWhenIdle: true });
    const early = await Promise.race([watch.done.then(() => 'ended'), sleep(600).then(() => 'watching')]);
    expect(early).toBe('watching');
    expect(await watch.stop()).toMatchObject({ role: 'owner', passes: expect.any(Number) });
    expect((await watch.done).idle).toBeUndefined();
  });

  it('closes the stream of a master that leaves the shard (its last mapping deleted), and opens one when it is a master again', async () => {
    const { master, streams, stores, start } = await setup();
    start();
    await sleep(250);
    expect(streams).toHaveLength(1);
    await stores.mappings.delete(master.tenantId, 'map-w');
    await sleep(300);
    expect(streams[0]!.closed).toBe(true);
    const since = new Date(Date.now() - 1_000).toISOString();
    await stores.mappings.create(
      aMapping({ id: 'map-w2', masterAccountId: master.id, slaveAccountId: 'slave-w', activeSince: since, announcedSince: since, createdAt: since }),
      {
        graphVersion: (await stores.mappings.graph(master.tenantId)).version,
      },
    );
    await sleep(300);
    expect(streams).toHaveLength(2);
    expect(streams[1]!.closed).toBe(false);
  });

  it('holds no more streams than it was sized for: the masters beyond are polled over RPC, with a warning and a metric', async () => {
    const { market, master, streams, sent, stores, start, metrics, warnings } = await setup();
    const second = anAccount({ id: 'master-x', platform: 'simulated', login: '3' });
    market.openAccount(second.id);
    await stores.accounts.create(second);
    const since = new Date(Date.now() - 60_000).toISOString();
    await stores.mappings.create(
      aMapping({ id: 'map-x', masterAccountId: second.id, slaveAccountId: 'slave-w', activeSince: since, announcedSince: since, createdAt: since }),
      { graphVersion: (await stores.mappings.graph(master.tenantId)).version },
    );
    start({ maxStreams: 1 });
    await sleep(300);
    // The first master by id has the one stream; the other is read over RPC every pass.
    expect(streams).toHaveLength(1);
    const { positionId } = market.traderTrade(second.id, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    await sleep(400);
    expect(sent.map((signal) => signal.event.id)).toContain(`positionOpened:${positionId}:0`);
    expect(streams).toHaveLength(1);
    expect(metrics.filter((metric) => metric.name === 'MastersNotStreamed').map((metric) => metric.value)).toContain(1);
    expect(warnings.filter((warning) => warning.message.startsWith('more masters in the shard than streams'))).toEqual([
      { message: expect.any(String), attributes: expect.objectContaining({ masters: 2, maxStreams: 1, polled: 1 }) },
    ]);
  });

  it('sends no MastersNotStreamed while every master has its stream', async () => {
    const { start, streams, metrics } = await setup();
    start({ maxStreams: 1 });
    await sleep(300);
    expect(streams).toHaveLength(1);
    expect(metrics.some((metric) => metric.name === 'SyncPassDuration')).toBe(true);
    expect(metrics.some((metric) => metric.name === 'MastersNotStreamed')).toBe(false);
  });

  it('lists its shard again only every membershipIntervalMs, not on every pass', async () => {
    const { master, streams, stores, start } = await setup();
    const listings = { count: 0 };
    const listSyncShard = stores.accounts.listSyncShard.bind(stores.accounts);
    stores.accounts.listSyncShard = async (shard, shards) => {
      listings.count += 1;
      return listSyncShard(shard, shards);
    };
    start({ membershipIntervalMs: 1_000 });
    await sleep(250);
    expect(streams).toHaveLength(1);
    await stores.mappings.delete(master.tenantId, 'map-w');
    await sleep(400);
    // Passes every 100 ms, but one listing so far: the master it no longer copies still has its stream.
    expect(listings.count).toBe(1);
    expect(streams[0]!.closed).toBe(false);
    await sleep(800);
    expect(listings.count).toBe(2);
    expect(streams[0]!.closed).toBe(true);
  });
});

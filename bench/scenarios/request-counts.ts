import { createMapping } from '../../shared/use-cases/manage-mappings';
import { CopyFeed, inParallel, simulatedAccount, storedMapping } from '../fixtures';
import { clock, type AwsCall, type BrokerCall } from '../meters';
import type { Progress } from '../progress';
import type { BenchStack, Skew } from '../stack';

export interface RequestCountsOptions {
  brokerLatencyMs: number;
  /** Opens (and then closes) copied one at a time and counted. */
  copies: number;
  /** Idle masters of each kind (flat; holding positions while prices move) and slaves in the polled fleet. */
  fleetMasters: number;
  fleetSlaves: number;
  apiRequests: number;
  masterPollIntervalMs: number;
}

/** Requests of one kind: `service command target`, e.g. `dynamodb GetItem BOOK`. */
export interface Tally {
  requests: number;
  billed: number;
  rru: number;
  wru: number;
  messages: number;
}

export type Tallies = Record<string, Tally>;

const signature = (call: AwsCall): string => `${call.service} ${call.command} ${call.target}`.trim();

export const tallyOf = (calls: readonly AwsCall[], divisor = 1): Tallies => {
  const tallies: Tallies = {};
  for (const call of calls) {
    const entry = (tallies[signature(call)] ??= { requests: 0, billed: 0, rru: 0, wru: 0, messages: 0 });
    entry.requests += 1 / divisor;
    entry.billed += call.billed / divisor;
    entry.rru += call.rru / divisor;
    entry.wru += call.wru / divisor;
    entry.messages += call.messages / divisor;
  }
  return tallies;
};

/** `a - b x times`, by kind; what is left of a kind that `b` had more of is dropped. */
const minus = (a: Tallies, b: Tallies, times: number): Tallies => {
  const out: Tallies = {};
  for (const [key, entry] of Object.entries(a)) {
    const base = b[key];
    const left: Tally = {
      requests: entry.requests - (base?.requests ?? 0) * times,
      billed: entry.billed - (base?.billed ?? 0) * times,
      rru: entry.rru - (base?.rru ?? 0) * times,
      wru: entry.wru - (base?.wru ?? 0) * times,
      messages: entry.messages - (base?.messages ?? 0) * times,
    };
    if (left.requests > 1e-9) out[key] = left;
  }
  return out;
};

const add = (into: Tallies, more: Tallies, weight = 1): Tallies => {
  for (const [key, entry] of Object.entries(more)) {
    const target = (into[key] ??= { requests: 0, billed: 0, rru: 0, wru: 0, messages: 0 });
    target.requests += entry.requests * weight;
    target.billed += entry.billed * weight;
    target.rru += entry.rru * weight;
    target.wru += entry.wru * weight;
    target.messages += entry.messages * weight;
  }
  return into;
};

/** Sums of a tally per service. */
export const totals = (tallies: Tallies, service: string): Tally =>
  Object.entries(tallies)
    .filter(([key]) => key.startsWith(`${service} `))
    .reduce<Tally>(
      (sum, [, entry]) => ({
        requests: sum.requests + entry.requests,
        billed: sum.billed + entry.billed,
        rru: sum.rru + entry.rru,
        wru: sum.wru + entry.wru,
        messages: sum.messages + entry.messages,
      }),
      { requests: 0, billed: 0, rru: 0, wru: 0, messages: 0 },
    );

/** What one copied master event cost, sync side and copy side. */
export interface PerCopy {
  tallies: Tallies;
  /** Broker calls on the slave by method (the master's reads are the poll's, not the copy's). */
  slaveBrokerCalls: Record<string, number>;
  /** The copy worker's time per signal: its first DynamoDB read to the end of its finishing transaction. */
  workerMs: number;
  samples: number;
}

export interface PollFigures {
  tallies: Tallies;
  /** Wall time of a pass divided by the accounts it polled (the sync reads 16 accounts at once). */
  lambdaSeconds: number;
  accounts: number;
  polls: number;
}

export interface RequestCountsResult {
  kmsRequestsPerAccountCreated: number;
  idlePass: Tallies;
  perOpen: PerCopy;
  perClose: PerCopy;
  masterFlat: PollFigures;
  masterHolding: PollFigures;
  slave: PollFigures;
  /** The reconcile of a master's mapping, on every slave-interval pass. */
  reconcilePerMapping: Tallies;
  /** The reconcile's query of the mapping whose copies were counted: links it read and links it returned (the open ones). */
  reconcileOfCopiedMapping: { linksRead: number; linksReturned: number; rru: number; copiedPositions: number };
  listing: {
    queriesPerPass: number;
    rruPerPass: number;
    accounts: number;
    mappings: number;
    accountItemBytes: number;
    mappingItemBytes: number;
  };
  api: { perRequest: Tallies; ms: number; requests: number };
  masterPollIntervalMs: number;
}

const SYMBOLS = ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'];

const workerMs = (calls: readonly AwsCall[]): number => {
  const start = calls.find(
    (call) => call.service === 'dynamodb' && (call.command === 'BatchGetItem' || call.command === 'GetItem') && call.target.includes('MAPPING'),
  );
  const end = [...calls].reverse().find((call) => call.command === 'TransactWriteItems' && call.target.startsWith('COPY'));
  return start && end ? end.end - start.start : 0;
};

const brokerByMethod = (calls: readonly BrokerCall[], accountId: string): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const call of calls) if (call.accountId === accountId) counts[call.method] = (counts[call.method] ?? 0) + 1;
  return counts;
};

/**
 * Counts requests with the sync driven by hand and the runtime's clock moved by the bench:
 * per copied open and close (what they add to an idle pass), per poll of idle masters and
 * slaves over one simulated minute (so the rewrite of unchanged books and funds, every 60 s by
 * BOOK_REFRESH_MS, shows up), the shard listing, the reconcile, and API requests.
 */
export const runRequestCounts = async (stack: BenchStack, options: RequestCountsOptions, progress: Progress): Promise<RequestCountsResult> => {
  const skew: Skew = { ms: 0 };
  const bench = await stack.startSystem({ name: 'counts', manualSync: true, skew });
  const { runtime, market, system, aws, broker } = bench;
  try {
    const tenantId = 'bench-counts';
    const createdMark = clock();
    const master = await simulatedAccount(runtime, tenantId, 'master');
    const slave = await simulatedAccount(runtime, tenantId, 'slave');
    const kmsRequestsPerAccountCreated = aws.between(createdMark).filter((call) => call.service === 'kms').length / 2;
    const mapping = await createMapping(runtime, tenantId, { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } });
    market.setFaults(master, { latencyMs: options.brokerLatencyMs });
    market.setFaults(slave, { latencyMs: options.brokerLatencyMs });
    await system.syncNow(true);

    const idleMark = clock();
    const idlePasses = 3;
    for (let pass = 0; pass < idlePasses; pass += 1) await system.syncNow(false);
    const idlePass = tallyOf(aws.between(idleMark), idlePasses);

    const feed = new CopyFeed(bench, master);
    const countCopies = async (label: string, act: (index: number) => string): Promise<PerCopy> => {
      const sum: Tallies = {};
      const slaveCalls: Record<string, number> = {};
      let busy = 0;
      let samples = 0;
      for (let index = 0; index < options.copies; index += 1) {
        const mark = clock();
        const brokerMark = broker.calls.length;
        const positionId = act(index);
        await system.syncNow(false);
        const record = await feed.next(positionId, 10_000);
        await system.drain(5_000);
        if (!record) continue;
        const window = aws.between(mark);
        add(sum, minus(tallyOf(window), idlePass, 1));
        for (const [method, count] of Object.entries(brokerByMethod(broker.calls.slice(brokerMark), slave)))
          slaveCalls[method] = (slaveCalls[method] ?? 0) + count;
        busy += workerMs(window);
        samples += 1;
        progress.count(label, index + 1, options.copies);
      }
      const perCopy: Tallies = {};
      add(perCopy, sum, 1 / Math.max(1, samples));
      for (const method of Object.keys(slaveCalls)) slaveCalls[method] = slaveCalls[method]! / Math.max(1, samples);
      return { tallies: perCopy, slaveBrokerCalls: slaveCalls, workerMs: busy / Math.max(1, samples), samples };
    };
    const opened: string[] = [];
    const perOpen = await countCopies('copied opens counted', (index) => {
      const positionId = market.traderTrade(master, { symbol: SYMBOLS[index % 2]!, side: 'buy', volume: 0.1 }).positionId!;
      opened.push(positionId);
      return positionId;
    });
    const perClose = await countCopies('copied closes counted', (index) => {
      market.traderClose(master, opened[index]!);
      return opened[index]!;
    });
    feed.close();

    // API requests, the way the frontend reads a dashboard.
    const token = await system.auth.issue(tenantId);
    const apiMark = clock();
    let apiMs = 0;
    let apiRequests = 0;
    for (let index = 0; index < options.apiRequests; index += 1) {
      for (const path of ['/v1/accounts', `/v1/copy-mappings/${mapping.id}/copies`]) {
        const started = clock();
        const response = await fetch(`${system.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
        await response.text();
        apiMs += clock() - started;
        apiRequests += 1;
      }
    }
    const apiPerRequest = tallyOf(aws.between(apiMark), apiRequests);

    // The polled fleet: flat masters, masters holding positions while prices move, slaves.
    const fleetTenant = 'bench-fleet';
    const count = options.fleetMasters * 2 + options.fleetSlaves;
    let created = 0;
    const names = Array.from({ length: count }, (_, index) => `fleet-${index}`);
    const ids = await inParallel(
      names,
      8,
      (name) => simulatedAccount(runtime, fleetTenant, name),
      (done) => {
        created = done;
        progress.count('fleet accounts created', created, count);
      },
    );
    const flat = ids.slice(0, options.fleetMasters);
    const holding = ids.slice(options.fleetMasters, options.fleetMasters * 2);
    const slaves = ids.slice(options.fleetMasters * 2);
    const mappings = [...flat, ...holding].map((id, index) => ({ master: id, slave: slaves[index % slaves.length]! }));
    await inParallel(mappings, 8, (pair) => storedMapping(runtime, fleetTenant, pair.master, pair.slave, { enabled: false }));
    for (const id of ids) market.setFaults(id, { latencyMs: options.brokerLatencyMs });
    holding.forEach((id, index) => {
      for (let position = 0; position <= index % 3; position += 1)
        market.traderTrade(id, { symbol: SYMBOLS[(index + position) % SYMBOLS.length]!, side: position % 2 ? 'sell' : 'buy', volume: 0.1 });
    });
    slaves.forEach((id, index) => {
      for (let position = 0; position <= index % 2; position += 1)
        market.traderTrade(id, { symbol: SYMBOLS[(index + position) % SYMBOLS.length]!, side: 'buy', volume: 0.2 });
    });
    await system.syncNow(true);

    // One simulated minute: a master pass every 5 s (the clock moves, prices move), the slaves
    // with the last one (they are synced every 60 s).
    const passes = Math.round(60_000 / options.masterPollIntervalMs);
    const classOf = new Map<string, 'flat' | 'holding' | 'slave'>();
    for (const id of flat) classOf.set(id, 'flat');
    for (const id of holding) classOf.set(id, 'holding');
    for (const id of slaves) classOf.set(id, 'slave');
    const perClass: Record<'flat' | 'holding' | 'slave' | 'listing' | 'reconcile' | 'other', AwsCall[]> = {
      flat: [],
      holding: [],
      slave: [],
      listing: [],
      reconcile: [],
      other: [],
    };
    const masterPassWalls: number[] = [];
    let slavePassWall = 0;
    for (let pass = 1; pass <= passes; pass += 1) {
      skew.ms += options.masterPollIntervalMs;
      market.randomWalkStep();
      const withSlaves = pass === passes;
      const started = clock();
      await system.syncNow(withSlaves);
      const wall = clock() - started;
      if (withSlaves) slavePassWall = wall;
      else masterPassWalls.push(wall);
      for (const call of aws.between(started)) {
        if (call.service === 'dynamodb' && call.command === 'Query' && call.target === 'SYNC') perClass.listing.push(call);
        else if (call.service === 'dynamodb' && call.command === 'Query' && call.target === 'LINK') perClass.reconcile.push(call);
        else {
          const kind = call.ids.map((id) => classOf.get(id)).find((found) => found !== undefined);
          const slot = kind === 'slave' && !withSlaves ? 'other' : (kind ?? 'other');
          perClass[slot].push(call);
        }
      }
      progress.count('fleet passes (one simulated minute)', pass, passes);
    }
    const masterCount = flat.length + holding.length + 1;
    const meanMasterWall = masterPassWalls.reduce((sum, wall) => sum + wall, 0) / Math.max(1, masterPassWalls.length);
    const masterSeconds = meanMasterWall / 1000 / masterCount;
    const slaveSeconds = Math.max(0, slavePassWall - meanMasterWall) / 1000 / (slaves.length + 1);
    const listingCalls = perClass.listing;
    const entityBytes = (entity: string) => {
      const items = listingCalls.reduce((sum, call) => sum + (call.entities[entity]?.items ?? 0), 0);
      const bytes = listingCalls.reduce((sum, call) => sum + (call.entities[entity]?.bytes ?? 0), 0);
      return { items: items / passes, bytes: items ? bytes / items : 0 };
    };
    const accountsListed = entityBytes('account');
    const mappingsListed = entityBytes('mapping');
    const copiedMappingQuery = perClass.reconcile.find((call) => call.ids[0] === mapping.id);
    return {
      kmsRequestsPerAccountCreated,
      reconcileOfCopiedMapping: {
        linksRead: copiedMappingQuery?.scanned ?? 0,
        linksReturned: copiedMappingQuery?.items ?? 0,
        rru: copiedMappingQuery?.rru ?? 0,
        copiedPositions: opened.length,
      },
      idlePass,
      perOpen,
      perClose,
      masterFlat: { tallies: tallyOf(perClass.flat, passes * flat.length), lambdaSeconds: masterSeconds, accounts: flat.length, polls: passes },
      masterHolding: { tallies: tallyOf(perClass.holding, passes * holding.length), lambdaSeconds: masterSeconds, accounts: holding.length, polls: passes },
      slave: { tallies: tallyOf(perClass.slave, slaves.length), lambdaSeconds: slaveSeconds, accounts: slaves.length, polls: 1 },
      reconcilePerMapping: tallyOf(perClass.reconcile, mappings.length + 1),
      listing: {
        queriesPerPass: listingCalls.length / passes,
        rruPerPass: listingCalls.reduce((sum, call) => sum + call.rru, 0) / passes,
        accounts: accountsListed.items,
        mappings: mappingsListed.items,
        accountItemBytes: accountsListed.bytes,
        mappingItemBytes: mappingsListed.bytes,
      },
      api: { perRequest: apiPerRequest, ms: apiMs / Math.max(1, apiRequests), requests: apiRequests },
      masterPollIntervalMs: options.masterPollIntervalMs,
    };
  } finally {
    await bench.stop();
  }
};

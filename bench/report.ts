import type { ReplayBenchResult } from './scenarios/replay';
import { cpus } from 'node:os';
import {
  accountMonthlyCost,
  accountsPerShardBeforeSaturation,
  breakEvenFleet,
  costPerConnectedAccount,
  deploymentMonthlyCost,
  type Fleet,
  fleetMonthlyCost,
  shardWatchSchedule,
  timesPerMonth,
  type AccountProfile,
  type Bill,
  type CopyUsage,
  type DeploymentProfile,
  type PollUsage,
} from './cost-model';
import type { Prices } from './prices';
import type { FanOutResult } from './scenarios/fan-out';
import type { OneToOneResult } from './scenarios/one-to-one';
import type { MetaApiDetectionResult } from './scenarios/metaapi-detection';
import type { RecoveryResult } from './scenarios/recovery';
import { totals, type PerCopy, type RequestCountsResult, type Tallies } from './scenarios/request-counts';
import { summarize, type Summary } from './stats';
import { SYNC_FOOTPRINT, syncMemoryMb, syncSizing, type SyncSizing } from '../infra/sync-sizing';
import type { SyncFootprintResult } from './scenarios/sync-footprint';

/** How the deployment in AWS runs (from the stacks) and what the cost model assumes beyond what was measured. */
export interface CostAssumptions {
  masterPollIntervalMs: number;
  slaveSyncIntervalMs: number;
  shards: number;
  memoryGb: number;
  /** The sync function's timeout and the hand-over settings of functions/sync/sync-loop.ts. */
  syncInvocationMs: number;
  syncStopAllowanceMs: number;
  syncHandOverMs: number;
  /** A successor's synchronization of its streams before it takes over (measured by the MetaApi phase when it ran). */
  syncTakeOverMs: number;
  /** A scheduled invocation that finds its shard owned: one lease read, then it returns. */
  syncShortInvocationMs: number;
  copiesPerSlaveMonth: number;
  apiRequestsPerAccountMonth: number;
  fleetAccounts: number;
  secretCallsPerMonth: number;
  sqsIdleReceivesPerMonth: number;
  /** How often a watching invocation lists its shard (functions/sync/sync-loop.ts). */
  membershipIntervalMs: number;
  /** Masters a shard is sized for (the stacks' `mastersPerShard` default). */
  mastersPerShard: number;
  /** A scheduled invocation of a shard without a master: one pass over its slaves. */
  idleShardInvocationSeconds: number;
  /** The stacks' alarms (test/infra/stacks.test.ts counts them). */
  alarms: number;
}

/** The fleets the bill is printed for: a master for every three slaves. */
export const FLEETS: Fleet[] = [4, 40, 400, 4000].map((accounts) => ({ accounts, masters: accounts / 4 }));

export interface FleetCost {
  fleet: Fleet;
  sizing: SyncSizing;
  bill: Bill;
  perAccountUsd: number;
}

export interface CostReport {
  assumptions: CostAssumptions;
  schedule: ReturnType<typeof shardWatchSchedule>;
  profiles: { label: string; profile: AccountProfile; bill: Bill; withFixedShare: number; breakEvenFleet: number }[];
  fixed: Bill;
  accountsPerShardBeforeSaturation: number;
  /** The whole bill of each fleet, its sync sized for its masters as the stacks size it. */
  fleets: FleetCost[];
}

export interface Target {
  name: string;
  limit: string;
  measured: string;
  pass: boolean;
  margin: string;
}

const dynamo = (tallies: Tallies) => totals(tallies, 'dynamodb');

const pollUsage = (tallies: Tallies, lambdaSeconds: number): PollUsage => ({ rru: dynamo(tallies).rru, wru: dynamo(tallies).wru, lambdaSeconds });

const copyUsage = (perCopy: PerCopy): CopyUsage => ({
  rru: dynamo(perCopy.tallies).rru,
  wru: dynamo(perCopy.tallies).wru,
  sqsRequests: totals(perCopy.tallies, 'sqs').billed,
  kmsRequests: totals(perCopy.tallies, 'kms').billed,
  lambdaInvocations: 1,
  lambdaSeconds: perCopy.workerMs / 1000,
});

/** Cost per account and per deployment from the counted requests (see docs/costs.md for the formula). */
export const buildCostReport = (counts: RequestCountsResult, assumptions: CostAssumptions, prices: Prices): CostReport => {
  const { listing } = counts;
  const listingRru = (bytes: number) => (bytes / 4096) * 0.5;
  const perCopy = copyUsage(counts.perOpen);
  const api = { rru: dynamo(counts.api.perRequest).rru, wru: dynamo(counts.api.perRequest).wru, lambdaSeconds: counts.api.ms / 1000 };
  const base = {
    shardPassIntervalMs: assumptions.membershipIntervalMs,
    perCopy,
    apiRequestsPerMonth: assumptions.apiRequestsPerAccountMonth,
    perApiRequest: api,
  };
  const masterPoll = (figures: RequestCountsResult['masterFlat']) => pollUsage(figures.tallies, figures.lambdaSeconds);
  const slaveTallies: Tallies = {};
  for (const source of [counts.slave.tallies, counts.reconcilePerMapping]) {
    for (const [key, entry] of Object.entries(source)) {
      const into = (slaveTallies[key] ??= { requests: 0, billed: 0, rru: 0, wru: 0, messages: 0 });
      into.requests += entry.requests;
      into.billed += entry.billed;
      into.rru += entry.rru;
      into.wru += entry.wru;
      into.messages += entry.messages;
    }
  }
  const profiles: AccountProfile[] = [
    {
      ...base,
      label: 'master, flat (no open positions)',
      pollIntervalMs: assumptions.masterPollIntervalMs,
      perPoll: masterPoll(counts.masterFlat),
      listingRruPerPass: listingRru(listing.accountItemBytes),
      copiesPerMonth: 0,
    },
    {
      ...base,
      label: 'master holding positions, prices moving',
      pollIntervalMs: assumptions.masterPollIntervalMs,
      perPoll: masterPoll(counts.masterHolding),
      listingRruPerPass: listingRru(listing.accountItemBytes),
      copiesPerMonth: 0,
    },
    {
      ...base,
      label: `slave (${assumptions.copiesPerSlaveMonth} copies a month)`,
      pollIntervalMs: assumptions.slaveSyncIntervalMs,
      perPoll: pollUsage(slaveTallies, counts.slave.lambdaSeconds),
      listingRruPerPass: listingRru(listing.accountItemBytes + listing.mappingItemBytes),
      copiesPerMonth: assumptions.copiesPerSlaveMonth,
    },
  ];
  const schedule = shardWatchSchedule({
    invocationMs: assumptions.syncInvocationMs,
    stopAllowanceMs: assumptions.syncStopAllowanceMs,
    handOverMs: assumptions.syncHandOverMs,
    scheduleMs: 60_000,
    takeOverSyncMs: assumptions.syncTakeOverMs,
    passMs: assumptions.masterPollIntervalMs,
    shortInvocationMs: assumptions.syncShortInvocationMs,
  });
  const deployment: DeploymentProfile = {
    shards: assumptions.shards,
    syncScheduleIntervalMs: 60_000,
    syncSecondsPerShardMonth: schedule.billedSeconds,
    memoryGb: assumptions.memoryGb,
    shardPassIntervalMs: assumptions.membershipIntervalMs,
    listingQueriesPerShardPass: 16 / assumptions.shards,
    minimumQueryRru: 0.5,
    kmsKeys: 1,
    secrets: 1,
    secretCallsPerMonth: assumptions.secretCallsPerMonth,
    sqsIdleReceivesPerMonth: assumptions.sqsIdleReceivesPerMonth,
  };
  const fixed = deploymentMonthlyCost(deployment, prices);
  // An account's own cost without the sync's time: in a fleet the sync watch is billed whole, below.
  const ownUsd = (profile: AccountProfile): number =>
    accountMonthlyCost(profile, prices, assumptions.memoryGb)
      .lines.filter((line) => line.item !== 'sync loop duration share')
      .reduce((sum, line) => sum + line.usd, 0);
  const fleets = FLEETS.map((fleet): FleetCost => {
    const sizing = syncSizing({ masters: fleet.masters, mastersPerShard: assumptions.mastersPerShard });
    const fleetBill = fleetMonthlyCost(
      fleet,
      {
        masterOwnUsd: ownUsd(profiles[1]!),
        slaveOwnUsd: ownUsd(profiles[2]!),
        shards: sizing.shards,
        syncMemoryMb: sizing.memoryMb,
        watchingShardSeconds: schedule.billedSeconds,
        idleShardInvocationSeconds: assumptions.idleShardInvocationSeconds,
        membershipIntervalMs: assumptions.membershipIntervalMs,
        eventsPerMasterMonth: assumptions.copiesPerSlaveMonth,
        apiRequestsPerAccountMonth: assumptions.apiRequestsPerAccountMonth,
        alarms: assumptions.alarms,
        kmsKeys: 1,
        secrets: 1,
        secretCallsPerMonth: assumptions.secretCallsPerMonth,
        sqsIdleReceivesPerMonth: assumptions.sqsIdleReceivesPerMonth,
      },
      prices,
    );
    return { fleet, sizing, bill: fleetBill, perAccountUsd: fleetBill.usd / fleet.accounts };
  });
  return {
    assumptions,
    schedule,
    fixed,
    fleets,
    accountsPerShardBeforeSaturation: accountsPerShardBeforeSaturation(assumptions.masterPollIntervalMs, counts.masterHolding.lambdaSeconds),
    profiles: profiles.map((profile) => {
      const bill = accountMonthlyCost(profile, prices, assumptions.memoryGb);
      return {
        label: profile.label,
        profile,
        bill,
        withFixedShare: costPerConnectedAccount(bill.usd, fixed.usd, assumptions.fleetAccounts),
        breakEvenFleet: breakEvenFleet(bill.usd, fixed.usd, 0.25),
      };
    }),
  };
};

const ms = (value: number): string => (Number.isFinite(value) ? (value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${value.toFixed(1)} ms`) : 'n/a');
const usd = (value: number): string => (value >= 1 ? `$${value.toFixed(2)}` : value >= 0.01 ? `$${value.toFixed(3)}` : `$${value.toFixed(5)}`);
const qty = (value: number): string => (value >= 1000 ? Math.round(value).toLocaleString('en-US') : Number(value.toPrecision(3)).toString());
const pad = (text: string, width: number): string => text.padEnd(width);
const lpad = (text: string, width: number): string => text.padStart(width);

const summaryRow = (label: string, summary: Summary): string =>
  `  ${pad(label, 40)}${lpad(ms(summary.p50), 10)}${lpad(ms(summary.p95), 10)}${lpad(ms(summary.p99), 10)}${lpad(ms(summary.max), 10)}${lpad(String(summary.n), 6)}`;

export const evaluateTargets = (
  oneToOne: OneToOneResult,
  fanOut: FanOutResult,
  counts: RequestCountsResult,
  costs: CostReport,
  recovery?: RecoveryResult,
  metaApi?: MetaApiDetectionResult,
  footprint?: SyncFootprintResult,
  replay?: ReplayBenchResult,
): Target[] => {
  const targets: Target[] = [];
  const upTo = (name: string, limit: number, value: number, unit: string, format: (v: number) => string) =>
    targets.push({
      name,
      limit: `<= ${format(limit)}${unit}`,
      measured: `${format(value)}${unit}`,
      pass: value <= limit,
      margin: value <= limit ? `${format(limit - value)}${unit} to spare` : `missed by ${format(value - limit)}${unit} (${(value / limit).toFixed(2)}x)`,
    });
  const fixed1 = (value: number) => value.toFixed(1);
  upTo('engine overhead p50 (1 -> 1)', 15, oneToOne.engine.p50, ' ms', fixed1);
  upTo('engine overhead p99 (1 -> 1)', 60, oneToOne.engine.p99, ' ms', fixed1);
  const at200 = fanOut.rounds.filter((round) => round.slaves === 200).map((round) => round.completeMs);
  const typical = at200.length ? summarize(at200).p50 : Number.NaN;
  upTo(
    `200-slave fan-out complete after detection (median of ${at200.length} rounds; worst ${(Math.max(...at200) / 1000).toFixed(2)} s)`,
    2,
    typical / 1000,
    ' s',
    (v) => v.toFixed(2),
  );
  const at1000 = fanOut.rounds.filter((round) => round.slaves === 1000).map((round) => round.completeMs);
  if (at1000.length > 0) {
    upTo(`1000-slave fan-out complete after detection (median of ${at1000.length} rounds)`, 2, summarize(at1000).p50 / 1000, ' s', (v) => v.toFixed(2));
  }
  const streaming = metaApi?.modes.find((mode) => mode.mode === 'streaming');
  if (metaApi && streaming) {
    const masters = metaApi.options.masters;
    upTo(`streaming detection p50 (MetaApi, ${masters} masters)`, 50, streaming.detection.p50, ' ms', fixed1);
    upTo(`streaming detection p99 (MetaApi, ${masters} masters)`, 250, streaming.detection.p99, ' ms', fixed1);
    upTo('MetaApi RPC requests per master-minute (streaming)', 2, streaming.rpcPerMasterMinute, '', (v) => v.toFixed(2));
    upTo(`trades never seen by streaming detection (MetaApi, ${masters} masters)`, 0, streaming.missed, '', (v) => v.toFixed(0));
  }
  upTo('DynamoDB requests per copied open', 6, dynamo(counts.perOpen.tallies).requests, '', (v) => v.toFixed(1));
  const dollars = (v: number) => `$${v.toFixed(2)}`;
  const smallest = costs.fleets.find((entry) => entry.fleet.accounts === 4);
  if (smallest) upTo('AWS cost a month, 4 accounts', 10, smallest.bill.usd, '', dollars);
  const largest = costs.fleets.find((entry) => entry.fleet.accounts === 4000);
  if (largest) upTo('AWS cost per account a month, 4,000 accounts', 0.25, largest.perAccountUsd, '', (v) => `$${v.toFixed(3)}`);
  if (footprint) {
    // The stacks size the sync from infra/sync-sizing.ts: the memory they give each run's streams holds what the run measured.
    for (const run of footprint.runs) {
      const peak = run.baselineMiB + run.watchMiB;
      upTo(
        `sync function's measured peak, ${run.masters} master stream${run.masters === 1 ? '' : 's'}, within the memory the stacks size for them (${syncMemoryMb(run.masters)} MB)`,
        syncMemoryMb(run.masters),
        peak,
        ' MiB',
        fixed1,
      );
    }
  }
  if (recovery && recovery.rounds.length > 0) {
    const worst = Math.max(...recovery.rounds.map((round) => round.catchUpMs));
    upTo(
      `recovery after a worker dies mid-burst (worst of ${recovery.rounds.length}: restarted runtime ready -> ${recovery.options.slaves} slaves caught up)`,
      10,
      worst / 1000,
      ' s',
      (v) => v.toFixed(2),
    );
    upTo(
      'orders placed twice after a worker died mid-burst',
      0,
      recovery.rounds.reduce((sum, round) => sum + round.duplicates, 0),
      '',
      (v) => v.toFixed(0),
    );
  }
  if (replay) upTo(`what-if replay of a year of an active master (${replay.trades} trades)`, 10, replay.replayMs / 1000, ' s', (v) => v.toFixed(2));
  return targets;
};

/** The tables the bench prints, in the order of the issue. */
export const renderReport = (input: {
  header: string[];
  oneToOne: OneToOneResult;
  fanOut: FanOutResult;
  counts: RequestCountsResult;
  costs: CostReport;
  recovery?: RecoveryResult;
  metaApi?: MetaApiDetectionResult;
  footprint?: SyncFootprintResult;
  targets: Target[];
  prices: Prices;
}): string => {
  const { oneToOne, fanOut, counts, costs, recovery, metaApi, footprint, targets, prices } = input;
  const lines: string[] = ['', ...input.header, ''];
  const mix = oneToOne.mix;
  lines.push(
    `1 master -> 1 slave: ${oneToOne.samples.length} master events (${mix.open} opens, ${mix.modify} SL moves, ${mix.partialClose} partial closes, ${mix.close} closes), ${oneToOne.options.lanes === 1 ? 'one at a time, the next a random 0-poll ms after the previous copy landed' : `${oneToOne.options.lanes} positions changing at once`}; master polled every ${oneToOne.options.pollIntervalMs} ms; ${oneToOne.options.consumers} consumers`,
  );
  lines.push(`  ${pad('', 40)}${lpad('p50', 10)}${lpad('p95', 10)}${lpad('p99', 10)}${lpad('max', 10)}${lpad('n', 6)}`);
  lines.push(summaryRow('detection (master fill -> sync saw it)', oneToOne.detection));
  lines.push(summaryRow('engine overhead (saw it -> order sent)', oneToOne.engine));
  lines.push(summaryRow('end to end (master fill -> slave fill)', oneToOne.endToEnd));
  lines.push(summaryRow('  of it, copies with no queue ahead', oneToOne.engineAlone));
  lines.push(summaryRow('records: sentAt - detectedAt (raw)', oneToOne.recordEngine));
  const stages = oneToOne.stagesAlone;
  lines.push(
    `  where a lone copy's engine overhead goes (medians): SendMessageBatch ${ms(stages.enqueue)}, SQS delivery ${ms(stages.deliver)}, context read + claim ${ms(stages.readAndClaim)} (BatchGetItem ${ms(stages.read)}, claim UpdateItem ${ms(stages.claim)}), rest ${ms(stages.rest)}`,
  );
  lines.push(
    `  copies/s: ${oneToOne.copiesPerSecondSustained.toFixed(1)} sustained (the offered load); one slave's FIFO group in a burst of ${oneToOne.options.burst}: ${oneToOne.burstOpen.copiesPerSecond.toFixed(1)} opens/s, ${oneToOne.burstClose.copiesPerSecond.toFixed(1)} closes/s`,
  );
  const statuses = Object.entries(oneToOne.statuses)
    .map(([status, count]) => `${count} ${status}`)
    .join(', ');
  lines.push(`  outcomes: ${statuses}${oneToOne.lost ? `; ${oneToOne.lost} not copied as expected` : ''}`);
  lines.push('');

  lines.push(`Fan-out: 1 master -> N slaves, ${fanOut.consumers} consumers (the local stand-in for Lambda's SQS event source), batches of up to 10 signals`);
  lines.push(
    `  ${pad('slaves', 8)}${pad('round', 7)}${lpad('copied', 11)}${lpad('p50/slave', 12)}${lpad('p99/slave', 12)}${lpad('last order', 12)}${lpad('copies/s', 10)}${lpad('enqueue', 10)}`,
  );
  for (const round of fanOut.rounds) {
    lines.push(
      `  ${pad(String(round.slaves), 8)}${pad(round.kind, 7)}${lpad(`${round.copies}/${round.slaves}`, 11)}${lpad(ms(round.perSlave.p50), 12)}${lpad(ms(round.perSlave.p99), 12)}${lpad(ms(round.completeMs), 12)}${lpad(round.copiesPerSecond.toFixed(0), 10)}${lpad(ms(round.enqueueMs), 10)}`,
    );
  }
  lines.push(
    `  per slave: detection -> that slave's order answered by the broker. Largest fan-out run: ${fanOut.largest} slaves${fanOut.stoppedBecause ? ` (stopped: ${fanOut.stoppedBecause})` : ''}.`,
  );
  const largest = fanOut.rounds.filter((round) => round.slaves === fanOut.largest && round.cpuMs.dynamoDbLocal > 0);
  if (largest.length > 0) {
    const jvm = summarize(largest.map((round) => round.cpuMs.dynamoDbLocal / round.copies)).p50;
    const node = summarize(largest.map((round) => round.cpuMs.node / round.copies)).p50;
    lines.push(
      `  CPU per copy at ${fanOut.largest} slaves (median of rounds): DynamoDB Local's JVM ${jvm.toFixed(1)} ms, this Node process ${node.toFixed(1)} ms; on ${cpus().length} CPUs a round of ${fanOut.largest} copies needs at least ${(((jvm + node) * fanOut.largest) / cpus().length / 1000).toFixed(2)} s here, whatever the engine does`,
    );
  }
  if (fanOut.fleetPass) {
    lines.push(
      `  one sync pass over all ${fanOut.fleetPass.accounts} accounts (slaves, and the master's reconcile of ${fanOut.fleetPass.mappings} mappings): ${fanOut.fleetPass.wallSeconds.toFixed(1)} s, ${(fanOut.fleetPass.secondsPerAccount * 1000).toFixed(1)} ms per account; the reconcile's ${fanOut.fleetPass.reconcileQueries} queries (16 at a time) took ${fanOut.fleetPass.reconcileSeconds.toFixed(1)} s of it`,
    );
  }
  lines.push('');

  const tallyRows = (title: string, tallies: Tallies) => {
    lines.push(`  ${pad(title, 52)}${lpad('requests', 9)}${lpad('RRU', 7)}${lpad('WRU', 7)}`);
    const entries = Object.entries(tallies).sort(([a], [b]) => a.localeCompare(b));
    for (const [key, entry] of entries) {
      const messages = key.startsWith('sqs') ? ` (${qty(entry.messages)} msg, ${qty(entry.billed)} billed)` : '';
      lines.push(`    ${pad(key, 50)}${lpad(qty(entry.requests), 9)}${lpad(qty(entry.rru), 7)}${lpad(qty(entry.wru), 7)}${messages}`);
    }
    const d = dynamo(tallies);
    lines.push(`    ${pad('DynamoDB in all', 50)}${lpad(qty(d.requests), 9)}${lpad(qty(d.rru), 7)}${lpad(qty(d.wru), 7)}`);
  };
  lines.push(
    `Requests per copied event, counted at the SDK clients (sync side and copy side; an idle pass subtracted; ${counts.perOpen.samples} samples each)`,
  );
  tallyRows('per copied open', counts.perOpen.tallies);
  lines.push(
    `    SQS billed requests ${qty(totals(counts.perOpen.tallies, 'sqs').billed)}; KMS ${qty(totals(counts.perOpen.tallies, 'kms').requests)}; broker calls on the slave: ${Object.entries(
      counts.perOpen.slaveBrokerCalls,
    )
      .map(([method, count]) => `${method} ${qty(count)}`)
      .join(', ')}; copy worker ${counts.perOpen.workerMs.toFixed(0)} ms`,
  );
  tallyRows('per copied close', counts.perClose.tallies);
  lines.push(
    `    broker calls on the slave: ${Object.entries(counts.perClose.slaveBrokerCalls)
      .map(([method, count]) => `${method} ${qty(count)}`)
      .join(', ')}; the master's 3 reads (positions, orders, funds) belong to every poll`,
  );
  lines.push(
    `  KMS requests per connected account: ${counts.kmsRequestsPerAccountCreated} Encrypt when it is created; none per poll or copy (the simulated and MetaApi gateways keep their sessions)`,
  );
  lines.push('');
  lines.push(
    `Requests per poll, one simulated minute of an idle fleet (${counts.masterFlat.accounts} flat masters, ${counts.masterHolding.accounts} holding positions, ${counts.slave.accounts} slaves)`,
  );
  tallyRows(`flat master, per poll (every ${counts.masterPollIntervalMs / 1000} s)`, counts.masterFlat.tallies);
  tallyRows('master holding positions, prices moving, per poll', counts.masterHolding.tallies);
  tallyRows('slave, per poll (every 60 s)', counts.slave.tallies);
  tallyRows('reconcile, per mapping per slave-interval pass', counts.reconcilePerMapping);
  lines.push(
    `  shard listing: ${counts.listing.queriesPerPass} queries a pass, ${qty(counts.listing.rruPerPass)} RRU for ${qty(counts.listing.accounts)} accounts + ${qty(counts.listing.mappings)} mappings (account item ${counts.listing.accountItemBytes.toFixed(0)} B, mapping ${counts.listing.mappingItemBytes.toFixed(0)} B)`,
  );
  lines.push(
    `  reconcile of the mapping that copied ${counts.reconcileOfCopiedMapping.copiedPositions} positions: read ${counts.reconcileOfCopiedMapping.linksRead} links to return ${counts.reconcileOfCopiedMapping.linksReturned} open ones (closed links are read by every reconcile until TTL removes them, a week after closing)`,
  );
  lines.push(
    `  sync time per account poll (pass wall time / accounts, 16 read at once): master ${(counts.masterFlat.lambdaSeconds * 1000).toFixed(1)} ms, slave ${(counts.slave.lambdaSeconds * 1000).toFixed(1)} ms`,
  );
  lines.push(
    `  API request (GET accounts / copies): ${qty(dynamo(counts.api.perRequest).requests)} DynamoDB requests (rate limiter included), ${counts.api.ms.toFixed(1)} ms`,
  );
  lines.push('');

  const a = costs.assumptions;
  const costLineText = (line: Bill['lines'][number]) =>
    `      ${pad(`${line.service}: ${line.item}`, 64)}${lpad(qty(line.quantity), 12)} ${pad(line.unit, 13)} x ${lpad(line.unitUsd.toExponential(3), 10)} = ${lpad(usd(line.usd), 9)}`;
  lines.push(
    `AWS cost a month (us-east-1 list prices taken ${prices.takenOn}; 30-day month; no free tier; Lambda arm64, copy and API ${a.memoryGb * 1024} MB)`,
  );
  lines.push(
    `  masters polled or streamed with a pass every ${a.masterPollIntervalMs / 1000} s, slaves read every ${a.slaveSyncIntervalMs / 1000} s (${qty(timesPerMonth(a.slaveSyncIntervalMs))}), the shard listed every ${a.membershipIntervalMs / 1000} s; ${a.copiesPerSlaveMonth} copies per slave and ${a.apiRequestsPerAccountMonth} API requests per account a month (assumed)`,
  );
  lines.push("  an account's own cost (the requests it causes; the sync watch is billed whole in the fleets below):");
  for (const entry of costs.profiles) {
    lines.push(`    ${entry.label}: ${usd(entry.bill.usd - (entry.bill.lines.find((line) => line.item === 'sync loop duration share')?.usd ?? 0))} a month`);
    for (const line of entry.bill.lines) if (line.item !== 'sync loop duration share') lines.push(costLineText(line));
  }
  const w = costs.schedule;
  lines.push(
    `  the sync watch of a shard that holds a master: ${a.syncInvocationMs / 60_000}-minute invocations, one owner taking over from the last every ${(w.periodSeconds / 60).toFixed(1)} min (${qty(w.longPerMonth)} a month) after a ${(a.syncTakeOverMs / 1000).toFixed(1)} s synchronization, two watching at once ${(w.overlapShare * 100).toFixed(1)}% of the time; the ${qty(w.shortPerMonth)} other scheduled invocations a month find the shard owned and return (~${a.syncShortInvocationMs} ms): ${qty(w.billedSeconds)} s billed a month; a shard without a master runs one pass a minute (~${a.idleShardInvocationSeconds} s) and ends`,
  );
  lines.push(
    `  the whole bill of a fleet (a master for every three slaves; the stacks sized with -c masters=<its masters>, ${a.mastersPerShard} masters a shard):`,
  );
  lines.push(
    `  ${pad('accounts', 10)}${lpad('masters', 9)}${lpad('shards', 8)}${lpad('sync MB', 9)}${lpad('streams/shard', 15)}${lpad('a month', 11)}${lpad('per account', 13)}`,
  );
  for (const entry of costs.fleets) {
    lines.push(
      `  ${pad(qty(entry.fleet.accounts), 10)}${lpad(qty(entry.fleet.masters), 9)}${lpad(String(entry.sizing.shards), 8)}${lpad(String(entry.sizing.memoryMb), 9)}${lpad(String(entry.sizing.streamCapacity), 15)}${lpad(usd(entry.bill.usd), 11)}${lpad(usd(entry.perAccountUsd), 13)}`,
    );
  }
  for (const entry of [costs.fleets[0], costs.fleets[costs.fleets.length - 1]]) {
    if (!entry) continue;
    lines.push(`    ${qty(entry.fleet.accounts)} accounts, line by line:`);
    for (const line of entry.bill.lines) lines.push(costLineText(line));
  }
  lines.push('');

  if (footprint) {
    lines.push(
      'Sync footprint: the sync code bundled by esbuild as for Lambda, in a Node process of its own, its streams synchronized from the fake MetaApi, then the masters trading (5 trades/s at random masters)',
    );
    lines.push(
      `  ${pad('masters', 9)}${lpad('process', 10)}${lpad('+ watch', 10)}${lpad('= peak', 10)}${lpad('sized', 8)}${lpad('synchronized', 14)}${lpad('CPU sync', 10)}${lpad('CPU trading', 13)}`,
    );
    for (const run of footprint.runs) {
      lines.push(
        `  ${pad(String(run.masters), 9)}${lpad(`${run.baselineMiB.toFixed(0)} MiB`, 10)}${lpad(`${run.watchMiB.toFixed(0)} MiB`, 10)}${lpad(`${(run.baselineMiB + run.watchMiB).toFixed(0)} MiB`, 10)}${lpad(`${syncMemoryMb(run.masters)} MB`, 8)}${lpad(ms(run.synchronizedMs), 14)}${lpad(`${(run.cpuShareSynchronizing * 100).toFixed(0)}%`, 10)}${lpad(`${(run.cpuShareTrading * 100).toFixed(0)}%`, 13)}`,
      );
    }
    const d = footprint.derived;
    lines.push(
      `  derived: process ${d.processMiB.toFixed(0)} MiB, first stream ${d.firstStreamMiB.toFixed(1)} MiB, each further stream ${d.perStreamMiB.toFixed(2)} MiB, synchronization ${d.synchronizeCpuMsPerStream.toFixed(0)} ms CPU a stream; the stacks size with ${SYNC_FOOTPRINT.processMiB}, ${SYNC_FOOTPRINT.firstStreamMiB}, ${SYNC_FOOTPRINT.perStreamMiB} MiB and ${SYNC_FOOTPRINT.synchronizeCpuMsPerStream} ms (infra/sync-sizing.ts)`,
    );
    lines.push(
      "  '+ watch' also holds the fake MetaApi's side of the sockets: a little more than the function itself holds; CPU shares are of one core and include the fake's work",
    );
    lines.push('');
  }

  if (recovery) {
    const o = recovery.options;
    lines.push(
      `Recovery: npm start's runtime killed with SIGKILL once ${o.killAfterCopies} copies of a burst of ${o.burst} master opens to ${o.slaves} slaves had landed (${o.brokerLatencyMs} ms broker latency), then started again on the same DATA_DIR`,
    );
    lines.push(`  ${pad('round', 8)}${lpad('master pos.', 13)}${lpad('restart', 10)}${lpad('caught up', 12)}${lpad('duplicates', 12)}`);
    for (const [index, round] of recovery.rounds.entries()) {
      lines.push(
        `  ${pad(String(index + 1), 8)}${lpad(String(round.masterPositions), 13)}${lpad(ms(round.restartMs), 10)}${lpad(Number.isFinite(round.catchUpMs) ? ms(round.catchUpMs) : 'never', 12)}${lpad(String(round.duplicates), 12)}`,
      );
    }
    lines.push('  restart: SIGKILL -> the new runtime ready (its JVM and emulators); caught up: ready -> every slave holds a copy of every master position');
    lines.push('');
  }

  if (metaApi) {
    const o = metaApi.options;
    lines.push(
      `Detection on MetaApi (the real SDK against the fake MetaApi on this machine): the sync function's shard watch, two deployments side by side for ${o.seconds} s, each ${o.masters} masters with ${o.tradesPerSecond} trades/s at random masters: streaming as deployed (every master also read over RPC every ${o.reconcileIntervalMs / 1000} s), and polling every ${o.pollIntervalMs / 1000} s`,
    );
    lines.push(
      `  ${pad('mode', 11)}${lpad('p50', 10)}${lpad('p95', 10)}${lpad('p99', 10)}${lpad('max', 10)}${lpad('trades', 8)}${lpad('unseen', 8)}${lpad('RPC/master-min', 16)}${lpad('sync all', 10)}${lpad('RSS +', 10)}`,
    );
    for (const mode of metaApi.modes) {
      lines.push(
        `  ${pad(mode.mode, 11)}${lpad(ms(mode.detection.p50), 10)}${lpad(ms(mode.detection.p95), 10)}${lpad(ms(mode.detection.p99), 10)}${lpad(ms(mode.detection.max), 10)}${lpad(String(mode.trades), 8)}${lpad(String(mode.missed), 8)}${lpad(mode.rpcPerMasterMinute.toFixed(2), 16)}${lpad(mode.synchronizeAllMs === undefined ? '-' : ms(mode.synchronizeAllMs), 10)}${lpad(`${mode.rssDeltaMiB.toFixed(0)} MiB`, 10)}`,
      );
    }
    lines.push(
      '  detection: the master trade at the fake broker -> its copy signal handed to the queue; unseen: trades no signal came for (polling misses a position opened and closed between two polls)',
    );
    lines.push(
      '  sync all: invocation start -> every master stream synchronized; RSS +: resident memory the watch added to the process until its masters were ready (streams and SDK state; before the other mode started)',
    );
    lines.push('');
  }

  lines.push('Targets');
  for (const target of targets) {
    lines.push(`  ${target.pass ? 'PASS' : 'MISS'}  ${pad(target.name, 100)} ${pad(target.limit, 12)} measured ${pad(target.measured, 12)} ${target.margin}`);
  }
  return lines.join('\n');
};

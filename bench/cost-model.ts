import type { Prices } from './prices';

/**
 * The monthly AWS cost of the copier, from counted requests and list prices. Pure
 * arithmetic: every figure that goes in was measured by the benchmark (or is an assumption
 * the caller states), every line that comes out shows quantity x unit price.
 */

/** A month of 30 days, in seconds. */
export const SECONDS_PER_MONTH = 30 * 24 * 3600;

/** How often something that happens every `intervalMs` happens in a month. */
export const timesPerMonth = (intervalMs: number): number => (SECONDS_PER_MONTH * 1000) / intervalMs;

/** SQS bills every started 64 KB chunk of a request's payload as one request. */
export const sqsBilledRequests = (payloadBytes: number, chunkBytes: number): number => Math.max(1, Math.ceil(payloadBytes / chunkBytes));

/** One line of a bill: `quantity` `unit`s at `unitUsd` each. */
export interface CostLine {
  service: string;
  item: string;
  quantity: number;
  unit: string;
  unitUsd: number;
  usd: number;
}

export const costLine = (service: string, item: string, quantity: number, unit: string, unitUsd: number): CostLine => ({
  service,
  item,
  quantity,
  unit,
  unitUsd,
  usd: quantity * unitUsd,
});

export interface Bill {
  lines: CostLine[];
  usd: number;
}

const bill = (lines: CostLine[]): Bill => {
  const kept = lines.filter((line) => line.quantity > 0);
  return { lines: kept, usd: kept.reduce((sum, line) => sum + line.usd, 0) };
};

/** DynamoDB on-demand request units. */
export interface DynamoUsage {
  rru: number;
  wru: number;
}

/** One poll of one account by the sync loop. */
export interface PollUsage extends DynamoUsage {
  /** Seconds of the sync loop's duration this poll takes (wall time of a pass / accounts in it). */
  lambdaSeconds: number;
}

/** One copied master event on one slave, sync side and copy side together. */
export interface CopyUsage extends DynamoUsage {
  sqsRequests: number;
  kmsRequests: number;
  lambdaInvocations: number;
  lambdaSeconds: number;
}

/** One request of the HTTP API. */
export interface ApiUsage extends DynamoUsage {
  lambdaSeconds: number;
}

/** What one connected account makes the system do in a month. */
export interface AccountProfile {
  label: string;
  pollIntervalMs: number;
  perPoll: PollUsage;
  /** This account's share (its own item and its mappings) of the shard listing each pass reads. */
  listingRruPerPass: number;
  shardPassIntervalMs: number;
  copiesPerMonth: number;
  perCopy: CopyUsage;
  apiRequestsPerMonth: number;
  perApiRequest: ApiUsage;
}

/**
 * Cost of one account a month:
 *   polls = month / pollInterval, passes = month / shardPassInterval
 *   DynamoDB = (polls x perPoll.rru + passes x listingRruPerPass + copies x perCopy.rru + api x perApi.rru) x RRU price
 *            + (polls x perPoll.wru + copies x perCopy.wru + api x perApi.wru) x WRU price
 *   Lambda   = (copies x invocations + api) x request price + (polls x s/poll + copies x s/copy + api x s/request) x GB x GB-s price
 *   SQS, KMS = copies x requests x price; API Gateway = api x price.
 */
export const accountMonthlyCost = (profile: AccountProfile, prices: Prices, memoryGb: number): Bill => {
  const polls = timesPerMonth(profile.pollIntervalMs);
  const passes = timesPerMonth(profile.shardPassIntervalMs);
  const copies = profile.copiesPerMonth;
  const api = profile.apiRequestsPerMonth;
  const { perPoll, perCopy, perApiRequest } = profile;
  const { dynamodb, lambda } = prices;
  return bill([
    costLine('DynamoDB', 'polls: read units', polls * perPoll.rru, 'RRU', dynamodb.readRequestUnitUsd),
    costLine('DynamoDB', 'polls: write units', polls * perPoll.wru, 'WRU', dynamodb.writeRequestUnitUsd),
    costLine('DynamoDB', 'shard listing share: read units', passes * profile.listingRruPerPass, 'RRU', dynamodb.readRequestUnitUsd),
    costLine('Lambda', 'sync loop duration share', polls * perPoll.lambdaSeconds * memoryGb, 'GB-s', lambda.gbSecondArm64Usd),
    costLine('DynamoDB', 'copies: read units', copies * perCopy.rru, 'RRU', dynamodb.readRequestUnitUsd),
    costLine('DynamoDB', 'copies: write units', copies * perCopy.wru, 'WRU', dynamodb.writeRequestUnitUsd),
    costLine('SQS', 'copies: FIFO requests', copies * perCopy.sqsRequests, 'requests', prices.sqs.fifoRequestUsd),
    costLine('KMS', 'copies: requests', copies * perCopy.kmsRequests, 'requests', prices.kms.requestUsd),
    costLine('Lambda', 'copy invocations', copies * perCopy.lambdaInvocations, 'requests', lambda.requestUsd),
    costLine('Lambda', 'copy duration', copies * perCopy.lambdaSeconds * memoryGb, 'GB-s', lambda.gbSecondArm64Usd),
    costLine('API Gateway', 'HTTP API requests', api, 'requests', prices.apiGateway.httpRequestUsd),
    costLine('Lambda', 'API invocations', api, 'requests', lambda.requestUsd),
    costLine('Lambda', 'API duration', api * perApiRequest.lambdaSeconds * memoryGb, 'GB-s', lambda.gbSecondArm64Usd),
    costLine('DynamoDB', 'API: read units', api * perApiRequest.rru, 'RRU', dynamodb.readRequestUnitUsd),
    costLine('DynamoDB', 'API: write units', api * perApiRequest.wru, 'WRU', dynamodb.writeRequestUnitUsd),
  ]);
};

/** What a deployment pays whatever number of accounts it serves. */
export interface DeploymentProfile {
  shards: number;
  syncScheduleIntervalMs: number;
  /** Billed seconds of one shard's sync invocations a month (see `shardWatchSchedule`): busy or idle, sleeps included. */
  syncSecondsPerShardMonth: number;
  memoryGb: number;
  shardPassIntervalMs: number;
  /** Listing queries of one pass of one shard (16 virtual buckets / shards); each reads at least `minimumQueryRru`. */
  listingQueriesPerShardPass: number;
  minimumQueryRru: number;
  kmsKeys: number;
  secrets: number;
  secretCallsPerMonth: number;
  /** Empty long polls the SQS event source makes on the copy queue. */
  sqsIdleReceivesPerMonth: number;
}

/**
 * Fixed cost a month:
 *   sync Lambda = shards x (schedules x request price + billed seconds a month x GB x GB-s price)
 *   listing floor = shards x passes x queries x minimum RRU x RRU price
 *   + KMS keys + secrets (+ their calls) + idle SQS long polls; EventBridge scheduled rules cost nothing.
 */
export const deploymentMonthlyCost = (deployment: DeploymentProfile, prices: Prices): Bill => {
  const invocations = deployment.shards * timesPerMonth(deployment.syncScheduleIntervalMs);
  const passes = deployment.shards * timesPerMonth(deployment.shardPassIntervalMs);
  return bill([
    costLine('Lambda', 'sync invocations', invocations, 'requests', prices.lambda.requestUsd),
    costLine(
      'Lambda',
      'sync watch duration (an owner per shard all month, busy or idle)',
      deployment.shards * deployment.syncSecondsPerShardMonth * deployment.memoryGb,
      'GB-s',
      prices.lambda.gbSecondArm64Usd,
    ),
    costLine('EventBridge', 'scheduled rule invocations', invocations, 'invocations', prices.eventBridge.scheduledRuleInvocationUsd),
    costLine(
      'DynamoDB',
      'shard listing floor (empty buckets)',
      passes * deployment.listingQueriesPerShardPass * deployment.minimumQueryRru,
      'RRU',
      prices.dynamodb.readRequestUnitUsd,
    ),
    costLine('KMS', 'customer managed key', deployment.kmsKeys, 'key-months', prices.kms.customerManagedKeyMonthUsd),
    costLine('Secrets Manager', 'secret (MetaApi token)', deployment.secrets, 'secret-months', prices.secretsManager.secretMonthUsd),
    costLine('Secrets Manager', 'GetSecretValue at cold starts', deployment.secretCallsPerMonth, 'calls', prices.secretsManager.apiCallUsd),
    costLine('SQS', 'idle long polls of the event source', deployment.sqsIdleReceivesPerMonth, 'requests', prices.sqs.fifoRequestUsd),
  ]);
};

/** An account's own cost plus its share of the fixed cost in a fleet of `fleetAccounts`. */
export const costPerConnectedAccount = (accountUsd: number, fixedUsd: number, fleetAccounts: number): number => accountUsd + fixedUsd / fleetAccounts;

/** The smallest fleet in which an account's cost with its fixed share is at most `targetUsd`; Infinity if none. */
export const breakEvenFleet = (accountUsd: number, fixedUsd: number, targetUsd: number): number =>
  accountUsd >= targetUsd ? Number.POSITIVE_INFINITY : Math.ceil(fixedUsd / (targetUsd - accountUsd) - 1e-9);

/**
 * Accounts one shard's loop polls within a pass interval before it runs late: below this,
 * the polls' Lambda seconds are already paid by the fixed loop; above it, shards must grow.
 */
export const accountsPerShardBeforeSaturation = (passIntervalMs: number, lambdaSecondsPerPoll: number): number =>
  lambdaSecondsPerPoll <= 0 ? Number.POSITIVE_INFINITY : Math.floor(passIntervalMs / 1000 / lambdaSecondsPerPoll);

/**
 * A shard's sync invocations a month by the rule of `watchShard` (shared/use-cases/watch-shard.ts):
 * an owner watches from its start until `invocationMs - stopAllowanceMs`, and asks for a
 * successor `handOverMs` before that; the next scheduled invocation (on average half a
 * schedule period later) synchronizes its streams (`takeOverSyncMs`) and takes the lease
 * over; the owner sees that at its next pass (on average half a pass later) and stops. Every
 * other scheduled invocation finds the shard owned and returns after `shortInvocationMs`.
 * Gives the long invocations a month, the seconds billed in all, and how much of the month
 * two invocations watch the shard at once.
 */
export const shardWatchSchedule = (options: {
  invocationMs: number;
  stopAllowanceMs: number;
  handOverMs: number;
  scheduleMs: number;
  takeOverSyncMs: number;
  passMs: number;
  shortInvocationMs: number;
}): { periodSeconds: number; longPerMonth: number; shortPerMonth: number; billedSeconds: number; overlapShare: number } => {
  const handOverAfter = options.invocationMs - options.stopAllowanceMs - options.handOverMs;
  // One invocation start to the next one's: the successor starts at the first tick after the request.
  const periodMs = Math.max(options.scheduleMs, handOverAfter + options.scheduleMs / 2);
  const longPerMonth = (SECONDS_PER_MONTH * 1000) / periodMs;
  const longBilledMs = periodMs + options.takeOverSyncMs + options.passMs / 2;
  const shortPerMonth = Math.max(0, (SECONDS_PER_MONTH * 1000) / options.scheduleMs - longPerMonth);
  return {
    periodSeconds: periodMs / 1000,
    longPerMonth,
    shortPerMonth,
    billedSeconds: (longPerMonth * longBilledMs + shortPerMonth * options.shortInvocationMs) / 1000,
    overlapShare: (options.takeOverSyncMs + options.passMs / 2) / periodMs,
  };
};

/** A deployment of `accounts` accounts, `masters` of them copied from. */
export interface Fleet {
  accounts: number;
  masters: number;
}

/** What a fleet's bill is built from: the accounts' own measured costs, the sync's sizing, and stated assumptions. */
export interface FleetInputs {
  /** Own cost a month of a master and of a slave (requests they cause; the sync watch is below, not in these). */
  masterOwnUsd: number;
  slaveOwnUsd: number;
  /** The deployment's sync sizing for the fleet's masters (infra/sync-sizing.ts). */
  shards: number;
  syncMemoryMb: number;
  /** Billed seconds a month of a shard that holds a master (an owner all month, see `shardWatchSchedule`). */
  watchingShardSeconds: number;
  /** A scheduled invocation of a shard without a master: one pass over its slaves, then it ends. */
  idleShardInvocationSeconds: number;
  /** How often a watching invocation lists its shard (16 bucket queries over all shards). */
  membershipIntervalMs: number;
  /** Master events a master makes a month (every slave copies each: the copies a slave takes). */
  eventsPerMasterMonth: number;
  /** API requests an account makes a month. */
  apiRequestsPerAccountMonth: number;
  alarms: number;
  kmsKeys: number;
  secrets: number;
  secretCallsPerMonth: number;
  sqsIdleReceivesPerMonth: number;
}

const HOURS_PER_MONTH = SECONDS_PER_MONTH / 3600;

/**
 * Account writes a month that reach the live events publisher (assumed): the 15-minute
 * `lastSyncAt` renewal (2,880) and funds that moved, written at most once a minute, for an
 * account holding positions a third of the time (14,400).
 */
export const LIVE_EVENT_WRITES_PER_ACCOUNT_MONTH = 17_280;
/** A dashboard connected to the live events (assumed): this many hours a day, one per this many accounts. */
export const LIVE_DASHBOARD_HOURS_PER_DAY = 8;
export const LIVE_ACCOUNTS_PER_DASHBOARD = 4;

/** The shards of `shards` that hold at least one of `masters` masters (each master's shard is a hash of its id). */
export const watchingShards = (masters: number, shards: number): number => shards * (1 - (1 - 1 / shards) ** masters);

/**
 * The whole monthly bill of a fleet:
 *   sync  = watching shards x billed seconds x GB + idle shards x a short pass a minute x GB + invocations
 *   listing = watching shards x listings a month x 16/shards queries + idle shards x 43,200 x 16/shards, 0.5 RRU each
 *   accounts = masters x master own + slaves x slave own
 *   + KMS key, secret and its reads, idle SQS long polls (fixed)
 *   + CloudWatch: alarms; custom metrics by the hour sent (SyncPassDuration every hour; CopyLatency and
 *     DetectionLag in every hour with a master event; Copies in an hour per action/status/reason seen in it,
 *     at most one per event); logs ingested (EMF lines, Lambda's own lines); X-Ray traces (one per invocation).
 */
export const fleetMonthlyCost = (fleet: Fleet, inputs: FleetInputs, prices: Prices): Bill => {
  const slaves = fleet.accounts - fleet.masters;
  const gb = inputs.syncMemoryMb / 1024;
  const watching = watchingShards(fleet.masters, inputs.shards);
  const idle = inputs.shards - watching;
  const minutes = timesPerMonth(60_000);
  const queriesPerListing = 16 / inputs.shards;
  const events = fleet.masters * inputs.eventsPerMasterMonth;
  const copies = slaves * inputs.eventsPerMasterMonth;
  const api = fleet.accounts * inputs.apiRequestsPerAccountMonth;
  const activeHours = Math.min(HOURS_PER_MONTH, events);
  const metricHours = (watching > 0 ? HOURS_PER_MONTH : 0) + 2 * activeHours + Math.min(4 * HOURS_PER_MONTH, events);
  const passes = watching * timesPerMonth(5_000);
  const invocations = inputs.shards * minutes;
  // Bytes a month: an EMF line per watching pass (~350 B), two EMF lines and Lambda's three per copy
  // invocation (~1.1 KB), Lambda's three per sync invocation and per API request (~300 B, ~600 B with a line of its own).
  // Live events: the stream invokes the publisher for each finished copy and each account write
  // (LIVE_EVENT_WRITES_PER_ACCOUNT_MONTH, assumed); each invocation asks the connections table once.
  const liveEventInvocations = copies + fleet.accounts * LIVE_EVENT_WRITES_PER_ACCOUNT_MONTH;
  const logBytes = passes * 350 + copies * 1100 + invocations * 300 + api * 600 + liveEventInvocations * 300;
  return bill([
    costLine(
      'Lambda',
      `sync watch (${watching.toFixed(2)} shards holding a master, ${inputs.syncMemoryMb} MB)`,
      watching * inputs.watchingShardSeconds * gb,
      'GB-s',
      prices.lambda.gbSecondArm64Usd,
    ),
    costLine(
      'Lambda',
      'sync: shards without a master, a pass a minute',
      idle * minutes * inputs.idleShardInvocationSeconds * gb,
      'GB-s',
      prices.lambda.gbSecondArm64Usd,
    ),
    costLine('Lambda', 'sync invocations', invocations, 'requests', prices.lambda.requestUsd),
    costLine(
      'DynamoDB',
      'shard listings (16 bucket queries over all shards)',
      (watching * timesPerMonth(inputs.membershipIntervalMs) + idle * minutes) * queriesPerListing * 0.5,
      'RRU',
      prices.dynamodb.readRequestUnitUsd,
    ),
    costLine('accounts', `masters' own (polls, books, API)`, fleet.masters, 'accounts', inputs.masterOwnUsd),
    costLine('accounts', `slaves' own (polls, books, ${inputs.eventsPerMasterMonth} copies, API)`, slaves, 'accounts', inputs.slaveOwnUsd),
    costLine('Lambda', 'live events publisher (256 MB, 30 ms an invocation)', liveEventInvocations * 0.03 * 0.25, 'GB-s', prices.lambda.gbSecondArm64Usd),
    costLine('Lambda', 'live events publisher invocations', liveEventInvocations, 'requests', prices.lambda.requestUsd),
    costLine('DynamoDB', 'live events: connections looked up', liveEventInvocations * 0.5, 'RRU', prices.dynamodb.readRequestUnitUsd),
    costLine(
      'API Gateway',
      `live events WebSocket: a dashboard open ${LIVE_DASHBOARD_HOURS_PER_DAY} h a day per ${LIVE_ACCOUNTS_PER_DASHBOARD} accounts ($0.25 a million connection-minutes), sent what happens meanwhile ($1 a million messages)`,
      (Math.ceil(fleet.accounts / LIVE_ACCOUNTS_PER_DASHBOARD) * LIVE_DASHBOARD_HOURS_PER_DAY * 60 * 30.4 * 0.25 +
        (liveEventInvocations * LIVE_DASHBOARD_HOURS_PER_DAY) / 24) /
        1e6,
      'million units',
      1,
    ),
    costLine('KMS', 'customer managed key', inputs.kmsKeys, 'key-months', prices.kms.customerManagedKeyMonthUsd),
    costLine('Secrets Manager', 'secret (MetaApi token)', inputs.secrets, 'secret-months', prices.secretsManager.secretMonthUsd),
    costLine('Secrets Manager', 'GetSecretValue at cold starts', inputs.secretCallsPerMonth, 'calls', prices.secretsManager.apiCallUsd),
    costLine('SQS', 'idle long polls of the event source', inputs.sqsIdleReceivesPerMonth, 'requests', prices.sqs.fifoRequestUsd),
    costLine('CloudWatch', 'alarms', inputs.alarms, 'alarm-months', prices.cloudWatch.alarmMonthUsd),
    costLine('CloudWatch', 'custom metrics, by the hours sent', metricHours / HOURS_PER_MONTH, 'metric-months', prices.cloudWatch.customMetricMonthUsd),
    costLine('CloudWatch Logs', 'ingested (EMF and Lambda lines)', logBytes / 1e9, 'GB', prices.cloudWatchLogs.ingestionGbUsd),
    costLine('X-Ray', 'traces (one per invocation)', invocations + copies + api, 'traces', prices.xRay.traceRecordedUsd),
  ]);
};

import { describe, expect, it } from 'vitest';
import {
  fleetMonthlyCost,
  type FleetInputs,
  watchingShards,
  accountMonthlyCost,
  breakEvenFleet,
  costPerConnectedAccount,
  deploymentMonthlyCost,
  sqsBilledRequests,
  shardWatchSchedule,
  timesPerMonth,
  type AccountProfile,
  type DeploymentProfile,
} from '../../bench/cost-model';
import { US_EAST_1_PRICES } from '../../bench/prices';

const idle = { rru: 0, wru: 0, sqsRequests: 0, kmsRequests: 0, lambdaInvocations: 0, lambdaSeconds: 0 };

const account = (changes: Partial<AccountProfile>): AccountProfile => ({
  label: 'test',
  pollIntervalMs: 5000,
  perPoll: { rru: 0, wru: 0, lambdaSeconds: 0 },
  listingRruPerPass: 0,
  shardPassIntervalMs: 5000,
  copiesPerMonth: 0,
  perCopy: idle,
  apiRequestsPerMonth: 0,
  perApiRequest: { rru: 0, wru: 0, lambdaSeconds: 0 },
  ...changes,
});

describe('the cost model', () => {
  it('counts 518,400 polls a month at a 5 s interval and 43,200 at 60 s', () => {
    expect(timesPerMonth(5000)).toBe(518_400);
    expect(timesPerMonth(60_000)).toBe(43_200);
  });

  it('prices a master polled every 5 s by request units: no read (the book is cached), book and funds rewritten once a minute', () => {
    // Book 1 WRU + account 2 WRU every 60 s = 0.25 WRU a poll: 129,600 WRU x $0.625/M; no read line.
    const bill = accountMonthlyCost(account({ perPoll: { rru: 0, wru: 3 / 12, lambdaSeconds: 0 } }), US_EAST_1_PRICES, 0.5);
    expect(bill.usd).toBeCloseTo(0.081, 6);
    expect(bill.lines.map((line) => line.item)).toEqual(['polls: write units']);
  });

  it('prices a slave polled every 60 s: a read and 3 WRU a minute', () => {
    // 43,200 polls x (1 RRU x $0.125/M + 3 WRU x $0.625/M).
    const bill = accountMonthlyCost(account({ pollIntervalMs: 60_000, perPoll: { rru: 1, wru: 3, lambdaSeconds: 0 } }), US_EAST_1_PRICES, 0.5);
    expect(bill.usd).toBeCloseTo(0.0054 + 0.081, 6);
    expect(bill.lines.map((line) => line.item)).toEqual(['polls: read units', 'polls: write units']);
  });

  it('adds copies, their SQS requests and their Lambda time and invocations', () => {
    const perCopy = { rru: 3, wru: 12, sqsRequests: 3, kmsRequests: 0, lambdaInvocations: 1, lambdaSeconds: 0.1 };
    const bill = accountMonthlyCost(account({ pollIntervalMs: 60_000, copiesPerMonth: 1000, perCopy }), US_EAST_1_PRICES, 0.5);
    const expected = 3000 * 0.125e-6 + 12_000 * 0.625e-6 + 3000 * 0.5e-6 + 1000 * 0.2e-6 + 1000 * 0.1 * 0.5 * 0.0000133334;
    expect(bill.usd).toBeCloseTo(expected, 9);
  });

  it('bills the sync watch for the seconds it runs a month, busy or idle, on every shard, and every scheduled invocation', () => {
    const deployment: DeploymentProfile = {
      shards: 4,
      syncScheduleIntervalMs: 60_000,
      syncSecondsPerShardMonth: 43_200 * 55,
      memoryGb: 0.5,
      shardPassIntervalMs: 5000,
      listingQueriesPerShardPass: 4,
      minimumQueryRru: 0.5,
      kmsKeys: 1,
      secrets: 1,
      secretCallsPerMonth: 0,
      sqsIdleReceivesPerMonth: 0,
    };
    const bill = deploymentMonthlyCost(deployment, US_EAST_1_PRICES);
    const invocations = 4 * 43_200;
    const expected = invocations * 0.2e-6 + invocations * 55 * 0.5 * 0.0000133334 + 4 * 518_400 * 4 * 0.5 * 0.125e-6 + 1 + 0.4;
    expect(bill.usd).toBeCloseTo(expected, 6);
    expect(bill.lines.find((line) => line.item.startsWith('sync watch'))!.quantity).toBe(4_752_000);
  });

  it('shares the fixed cost over the fleet and finds the fleet that reaches a target', () => {
    expect(costPerConnectedAccount(0.2, 60, 1000)).toBeCloseTo(0.26, 10);
    expect(breakEvenFleet(0.2, 60, 0.25)).toBe(1200);
    expect(breakEvenFleet(0.3, 60, 0.25)).toBe(Number.POSITIVE_INFINITY);
  });

  it('bills SQS by started 64 KB chunk, at least one request', () => {
    expect(sqsBilledRequests(0, 65_536)).toBe(1);
    expect(sqsBilledRequests(65_536, 65_536)).toBe(1);
    expect(sqsBilledRequests(65_537, 65_536)).toBe(2);
  });

  it('follows the shard watch: a 15-minute owner hands over every ~13.4 min, billed the month plus the take-overs and the short checks', () => {
    const schedule = shardWatchSchedule({
      invocationMs: 900_000,
      stopAllowanceMs: 15_000,
      handOverMs: 110_000,
      scheduleMs: 60_000,
      takeOverSyncMs: 5_000,
      passMs: 5_000,
      shortInvocationMs: 200,
    });
    // Hand-over asked at 775 s; the successor starts at the next tick, 30 s later on average.
    expect(schedule.periodSeconds).toBe(805);
    expect(schedule.longPerMonth).toBeCloseTo(2_592_000 / 805, 6);
    expect(schedule.shortPerMonth).toBeCloseTo(43_200 - 2_592_000 / 805, 6);
    expect(schedule.billedSeconds).toBeCloseTo((2_592_000 / 805) * 812.5 + (43_200 - 2_592_000 / 805) * 0.2, 3);
    expect(schedule.overlapShare).toBeCloseTo(7.5 / 805, 9);
    // Invocations shorter than a schedule period plus the hand-over: one per tick, each taking over.
    const short = shardWatchSchedule({
      invocationMs: 120_000,
      stopAllowanceMs: 15_000,
      handOverMs: 110_000,
      scheduleMs: 60_000,
      takeOverSyncMs: 5_000,
      passMs: 5_000,
      shortInvocationMs: 200,
    });
    expect(short.longPerMonth).toBe(43_200);
    expect(short.shortPerMonth).toBe(0);
  });

  describe("a fleet's whole bill", () => {
    const inputs: FleetInputs = {
      masterOwnUsd: 0.1,
      slaveOwnUsd: 0.12,
      shards: 1,
      syncMemoryMb: 160,
      watchingShardSeconds: 2_600_000,
      idleShardInvocationSeconds: 1,
      membershipIntervalMs: 30_000,
      eventsPerMasterMonth: 500,
      apiRequestsPerAccountMonth: 1000,
      alarms: 11,
      kmsKeys: 1,
      secrets: 1,
      secretCallsPerMonth: 3000,
      sqsIdleReceivesPerMonth: 648_000,
    };
    const line = (bill: ReturnType<typeof fleetMonthlyCost>, prefix: string) => bill.lines.find((entry) => entry.item.startsWith(prefix));

    it('counts the shards that hold a master: one master watches one shard of four, many masters all of them', () => {
      expect(watchingShards(1, 4)).toBeCloseTo(1, 9);
      expect(watchingShards(0, 4)).toBe(0);
      expect(watchingShards(1000, 16)).toBeCloseTo(16, 6);
      expect(watchingShards(2, 2)).toBeCloseTo(1.5, 9);
    });

    it('bills one shard watched all month at its sized memory for one master and three slaves', () => {
      const bill = fleetMonthlyCost({ accounts: 4, masters: 1 }, inputs, US_EAST_1_PRICES);
      expect(line(bill, 'sync watch')?.quantity).toBeCloseTo(2_600_000 * (160 / 1024), 3);
      expect(line(bill, 'sync: shards without a master')).toBeUndefined();
      expect(line(bill, "masters' own")?.usd).toBeCloseTo(0.1, 9);
      expect(line(bill, "slaves' own")?.usd).toBeCloseTo(0.36, 9);
      // 500 master events: 500 hours of CopyLatency, DetectionLag and Copies, and every hour of SyncPassDuration.
      expect(line(bill, 'custom metrics')?.quantity).toBeCloseTo((720 + 3 * 500) / 720, 9);
      expect(line(bill, 'alarms')?.usd).toBeCloseTo(1.1, 9);
      // Every invocation a trace: 43,200 sync, 1,500 copies, 4,000 API requests.
      expect(line(bill, 'traces')?.quantity).toBe(43_200 + 1_500 + 4_000);
      expect(bill.usd).toBeCloseTo(
        bill.lines.reduce((sum, entry) => sum + entry.usd, 0),
        9,
      );
    });

    it('bills a shard without a master a pass a minute, not an owner all month', () => {
      const one = fleetMonthlyCost({ accounts: 4, masters: 1 }, inputs, US_EAST_1_PRICES);
      const four = fleetMonthlyCost({ accounts: 4, masters: 1 }, { ...inputs, shards: 4 }, US_EAST_1_PRICES);
      expect(line(four, 'sync watch')?.quantity).toBeCloseTo(line(one, 'sync watch')?.quantity ?? 0, 3);
      expect(line(four, 'sync: shards without a master')?.quantity).toBeCloseTo(3 * 43_200 * (160 / 1024), 3);
    });

    it('caps the hourly metrics at the hours of the month', () => {
      const bill = fleetMonthlyCost({ accounts: 4000, masters: 1000 }, { ...inputs, shards: 16 }, US_EAST_1_PRICES);
      expect(line(bill, 'custom metrics')?.quantity).toBeCloseTo(1 + 2 + 4, 9);
    });
  });
});

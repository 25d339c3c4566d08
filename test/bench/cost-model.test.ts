import { describe, expect, it } from 'vitest';
import {
  accountMonthlyCost,
  breakEvenFleet,
  costPerConnectedAccount,
  deploymentMonthlyCost,
  sqsBilledRequests,
  syncLoopSchedule,
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

  it('bills the sync loop for the seconds it runs (~55 s of every minute at 5 s), busy or idle, on every shard', () => {
    const deployment: DeploymentProfile = {
      shards: 4,
      syncScheduleIntervalMs: 60_000,
      syncInvocationSeconds: 55,
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
    const expected =
      invocations * 0.2e-6 + invocations * 55 * 0.5 * 0.0000133334 + 4 * 518_400 * 4 * 0.5 * 0.125e-6 + 1 + 0.4;
    expect(bill.usd).toBeCloseTo(expected, 6);
    expect(bill.lines.find((line) => line.item.startsWith('sync loop'))!.quantity).toBe(4_752_000);
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

  it('follows the sync loop: passes every 5 s until 56 s make 12, billed 55 s plus the last pass, gaps of 5 s', () => {
    expect(syncLoopSchedule(56_000, 5000, 0)).toEqual({ passes: 12, billedSeconds: 55, longestGapMs: 5_000 });
    expect(syncLoopSchedule(56_000, 5000, 500)).toEqual({ passes: 12, billedSeconds: 55.5, longestGapMs: 5_000 });
    // A pass slower than the interval sets the pace: 8 s passes make 8 a minute.
    expect(syncLoopSchedule(56_000, 5000, 8000)).toEqual({ passes: 8, billedSeconds: 64, longestGapMs: 8_000 });
  });
});

import { describe, expect, it } from 'vitest';
import { runSyncLoop, type LoopClock } from '../../functions/sync/sync-loop';

/** A clock that advances only when the loop sleeps or a pass takes time. */
const fakeClock = (start = 0) => {
  let now = start;
  const clock: LoopClock = { now: () => now, sleep: async (ms) => void (now += ms) };
  return { clock, advance: (ms: number) => void (now += ms), at: () => now };
};

describe('the sync loop of one scheduled invocation', () => {
  it('polls every interval up to the last start of the minute, with slaves once per slave interval', async () => {
    const { clock, advance, at } = fakeClock();
    const starts: { at: number; slaves: boolean }[] = [];
    const result = await runSyncLoop({ intervalMs: 5_000, slaveIntervalMs: 60_000, lastStartAt: 56_000, clock }, async (slaves) => {
      starts.push({ at: at(), slaves });
      advance(700); // a pass takes time; the cadence does not drift
      return 1;
    });
    expect(starts.map((s) => s.at)).toEqual([0, 5_000, 10_000, 15_000, 20_000, 25_000, 30_000, 35_000, 40_000, 45_000, 50_000, 55_000]);
    expect(starts.filter((s) => s.slaves).map((s) => s.at)).toEqual([0]);
    expect(result).toEqual({ passes: 12, events: 12 });
  });

  it('follows a pass slower than the interval at once with the next, without catching up missed slots', async () => {
    const { clock, advance, at } = fakeClock();
    const starts: number[] = [];
    await runSyncLoop({ intervalMs: 5_000, slaveIntervalMs: 60_000, lastStartAt: 20_000, clock }, async () => {
      starts.push(at());
      advance(starts.length === 1 ? 12_000 : 100);
      return 0;
    });
    expect(starts).toEqual([0, 12_000, 17_000]);
  });

  it('makes no pass when there is no time left for one', async () => {
    const { clock } = fakeClock(1_000);
    const result = await runSyncLoop({ intervalMs: 5_000, slaveIntervalMs: 60_000, lastStartAt: 0, clock }, async () => 0);
    expect(result.passes).toBe(0);
  });
});

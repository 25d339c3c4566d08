import { describe, expect, it } from 'vitest';
import { MEMORY_HEADROOM, streamCapacity, SYNC_FOOTPRINT, syncMemoryMb, syncShardsFor, syncSizing } from '../../infra/sync-sizing';

describe('sync sizing', () => {
  it('gives a shard at least the measured peak of its streams with headroom, in whole MB, never below 128', () => {
    for (const streams of [1, 7, 18, 50, 87, 135, 300]) {
      const memory = syncMemoryMb(streams);
      const peak = SYNC_FOOTPRINT.processMiB + SYNC_FOOTPRINT.firstStreamMiB + SYNC_FOOTPRINT.perStreamMiB * streams;
      expect(memory).toBeGreaterThanOrEqual(peak * MEMORY_HEADROOM);
      expect(Number.isInteger(memory)).toBe(true);
      expect(memory).toBeGreaterThanOrEqual(128);
    }
    // More streams never get less memory.
    for (let streams = 1; streams < 400; streams += 1) expect(syncMemoryMb(streams + 1)).toBeGreaterThanOrEqual(syncMemoryMb(streams));
  });

  it('gives CPU enough to synchronize a shard within 15 s where that needs more than the memory does', () => {
    const streams = 300;
    const vcpu = syncMemoryMb(streams) / 1769;
    expect((SYNC_FOOTPRINT.synchronizeCpuMsPerStream * streams) / vcpu).toBeLessThanOrEqual(15_000);
  });

  it('runs a power of two of shards, at most 16, enough for the masters at the given number a shard', () => {
    expect([1, 10, 100, 101, 200, 201, 1000, 5000].map((masters) => syncShardsFor(masters, 100))).toEqual([1, 1, 1, 2, 2, 4, 16, 16]);
  });

  it('sizes a shard for its share of the masters with room for an uneven hash spread', () => {
    expect(streamCapacity(10, 1)).toBe(18);
    expect(streamCapacity(1000, 16)).toBeGreaterThan(1000 / 16 + 3 * Math.sqrt(1000 / 16));
    expect(syncSizing({ masters: 1000, mastersPerShard: 100, shards: 4 })).toMatchObject({ shards: 4, streamCapacity: streamCapacity(1000, 4) });
  });
});

/**
 * How many sync shards a deployment runs and how much memory its sync function gets, from the
 * number of masters it is meant for. The sync function's owner watches its shard all month,
 * so its memory is most of a small deployment's bill: it is sized from measurements, not
 * guessed, and a shard never opens more streams than it was sized for (`SYNC_STREAM_CAPACITY`:
 * masters beyond are polled over RPC, with a warning and the `MastersNotStreamed` metric).
 */

/**
 * Measured by `npm run bench` (phase "sync footprint": the sync code bundled as for Lambda,
 * in a process of its own, streaming masters from the fake MetaApi while they trade), the
 * largest of four runs on 2026-12-02; the bench prints these figures again and checks the
 * sizing against them.
 */
export const SYNC_FOOTPRINT = {
  /** Resident memory of the process once the sync's code is loaded and its runtime built (a cold start). */
  processMiB: 91,
  /** What the first master's stream adds: the MetaApi SDK's connections and state. */
  firstStreamMiB: 26,
  /** What each further master's stream adds (its terminal state, its share of the sockets). */
  perStreamMiB: 0.54,
  /** CPU a master's stream takes to synchronize (the SDK's specification hashing, the first diff). */
  synchronizeCpuMsPerStream: 34,
} as const;

/** Memory above the measured peak: the garbage collector's timing moves the peak by tens of MiB. */
export const MEMORY_HEADROOM = 1.25;

/** Lambda gives one vCPU at 1,769 MB, and CPU in proportion below. */
const MB_PER_VCPU = 1769;

/** A successor synchronizes its streams within the sync's wait (30 s); sized to do it in half. */
const SYNCHRONIZE_WITHIN_MS = 15_000;

/** Accounts hash into 16 virtual shards (`VIRTUAL_SYNC_SHARDS`): more real shards than that stay empty. */
export const MAX_SYNC_SHARDS = 16;

/**
 * The sync function's memory (MB) for shards of up to `streams` masters: the measured peak with
 * its headroom, or the CPU to synchronize them in time, whichever needs more; at least 128.
 * Lambda takes memory in 1 MB steps, and the owner is billed for every MB all month.
 */
export const syncMemoryMb = (streams: number): number => {
  const resident = (SYNC_FOOTPRINT.processMiB + SYNC_FOOTPRINT.firstStreamMiB + SYNC_FOOTPRINT.perStreamMiB * streams) * MEMORY_HEADROOM;
  const cpu = ((SYNC_FOOTPRINT.synchronizeCpuMsPerStream * streams) / SYNCHRONIZE_WITHIN_MS) * MB_PER_VCPU;
  return Math.min(10_240, Math.max(128, Math.ceil(Math.max(resident, cpu))));
};

/**
 * Shards for `masters` masters at about `mastersPerShard` each: a power of two (each real
 * shard then takes the same number of the 16 virtual ones), at most 16.
 */
export const syncShardsFor = (masters: number, mastersPerShard: number): number => {
  let shards = 1;
  while (shards < MAX_SYNC_SHARDS && shards * mastersPerShard < masters) shards *= 2;
  return shards;
};

/**
 * The streams one shard is sized for: its share of the masters, with room for the uneven
 * spread of a hash (masters land on shards by their id) and for a few masters more.
 */
export const streamCapacity = (masters: number, shards: number): number => Math.ceil((masters / shards) * 1.3) + 5;

export interface SyncSizing {
  shards: number;
  streamCapacity: number;
  memoryMb: number;
}

/** The sizing of a deployment for `masters` masters (explicit `shards` win over the computed count). */
export const syncSizing = (options: { masters: number; mastersPerShard: number; shards?: number }): SyncSizing => {
  const shards = options.shards ?? syncShardsFor(options.masters, options.mastersPerShard);
  const capacity = streamCapacity(options.masters, shards);
  return { shards, streamCapacity: capacity, memoryMb: syncMemoryMb(capacity) };
};

import fc from 'fast-check';

/**
 * Every property test runs from one fixed seed, so a run is repeatable and CI sees what a
 * developer sees. A failure prints its seed and path (fast-check's report, verbose); run
 * again with `PROPERTY_SEED=<seed>` to replay it, or another seed to explore further.
 */
fc.configureGlobal({ seed: Number(process.env.PROPERTY_SEED ?? 20261201), verbose: 1 });

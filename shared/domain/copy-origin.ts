import type { CopyMapping } from './copy-mapping';

/** Chains longer than this are not walked further (no tenant copies through this many accounts). */
export const MAX_ORIGIN_HOPS = 16;

/**
 * Whether copying a master trade along `mapping` would bring it back onto its own origin
 * path. `path` lists the accounts the trade was copied from, nearest first (empty for a
 * trade made at the master itself). A chain A -> B -> C is fine; a trade reaching its slave
 * again, or a trade that came back to its own master, is a loop. Returns why, or undefined.
 */
export const loopOnOriginPath = (path: readonly string[], mapping: Pick<CopyMapping, 'masterAccountId' | 'slaveAccountId'>): string | undefined => {
  const route = [mapping.masterAccountId, ...path].reverse().join(' -> ');
  if (path.includes(mapping.slaveAccountId)) return `the trade came from the slave: ${route} -> ${mapping.slaveAccountId}`;
  if (path.includes(mapping.masterAccountId)) return `the trade came back to the account it was copied from: ${route}`;
  return undefined;
};

import type { AccountView } from '../domain/live-events';
import { getAccount, viewOf } from './manage-accounts';
import { syncAccount, type SyncDependencies } from './sync-accounts';

/** Same freshness rule as the scheduled sync: an unchanged book is rewritten at most this often. */
export const SYNC_NOW_BOOK_REFRESH_MS = 30_000;

/**
 * Syncs one account now instead of at the next tick: the same `syncAccount` as the schedule,
 * with the account's master mappings, so a change found here is copied exactly like one the
 * timer finds (and one both find is the same event, deduplicated downstream).
 */
export const syncAccountNow = async (deps: Omit<SyncDependencies, 'bookRefreshMs'>, tenantId: string, accountId: string): Promise<AccountView> => {
  const account = await getAccount(deps, tenantId, accountId);
  const mappings = await deps.mappings.listAll(tenantId);
  const masterMappings = mappings.filter((mapping) => mapping.masterAccountId === accountId);
  await syncAccount({ ...deps, bookRefreshMs: SYNC_NOW_BOOK_REFRESH_MS }, account, masterMappings);
  return viewOf(await getAccount(deps, tenantId, accountId), mappings);
};

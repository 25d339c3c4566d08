import type { CopyMapping } from './copy-mapping';
import type { PublicAccount } from './account';
import type { PublicCopyRecord } from './copy-record';

/** What an account is to its tenant's mappings: a master copies out, a slave copies in. */
export type AccountRole = 'master' | 'slave';

/** The roles of an account from its tenant's mappings (disabled ones too: they still close what they opened). */
export const rolesOf = (accountId: string, mappings: readonly Pick<CopyMapping, 'masterAccountId' | 'slaveAccountId'>[]): AccountRole[] => {
  const roles: AccountRole[] = [];
  if (mappings.some((mapping) => mapping.masterAccountId === accountId)) roles.push('master');
  if (mappings.some((mapping) => mapping.slaveAccountId === accountId)) roles.push('slave');
  return roles;
};

/** An account as the API shows it: with its roles. */
export type AccountView = PublicAccount & { roles: AccountRole[] };

/** The messages of the live events WebSocket (`/v1/events`), as the contract names them. */
export type LiveEvent =
  | { type: 'copy.finished'; at: string; data: PublicCopyRecord }
  | { type: 'account.updated'; at: string; data: AccountView }
  | { type: 'protection.breached'; at: string; data: { accountId: string; reason: string } };

export type LiveEventType = LiveEvent['type'];

/** One event for one tenant: only that tenant's connections receive it. */
export interface TenantEvent {
  tenantId: string;
  event: LiveEvent;
}

import { defaultProtectionStatus, type AccountProtection, type ProtectionRules, type ProtectionStatus } from '../domain/protection';
import type { AccountStore, AuditLog, ProtectionStore } from '../ports/stores';
import { getAccount } from './manage-accounts';
import { presetLossLimits } from '../domain/loss-limits';

export interface ProtectionManagementDependencies {
  accounts: AccountStore;
  protections: ProtectionStore;
  audit: AuditLog;
  now: () => Date;
}

/** What the API shows: the rules and the state they are in; never the equity marks behind it. */
export type PublicProtection = ProtectionRules & Pick<ProtectionStatus, 'state' | 'breachedAt' | 'reason'> & { updatedAt?: string };

/** An account without rules is protected by nothing and copies: `stopCopying` on breach, state ok. */
export const unprotected: PublicProtection = { onBreach: 'stopCopying', state: 'ok' };

const toPublic = (protection: AccountProtection | undefined): PublicProtection => {
  if (!protection) return unprotected;
  const { state, breachedAt, reason } = protection.status;
  return { ...protection.rules, state, ...(breachedAt ? { breachedAt } : {}), ...(reason ? { reason } : {}), updatedAt: protection.updatedAt };
};

export const getProtection = async (deps: ProtectionManagementDependencies, tenantId: string, accountId: string): Promise<PublicProtection> => {
  await getAccount(deps, tenantId, accountId);
  return toPublic(await deps.protections.get(tenantId, accountId));
};

/**
 * Replaces the account's rules (a rule left out is removed). The state is kept: new rules do
 * not lift a breach, only a reset does. The copy engine enforces them from its next open on.
 */
export const putProtection = async (
  deps: ProtectionManagementDependencies,
  tenantId: string,
  accountId: string,
  rules: ProtectionRules,
): Promise<PublicProtection> => {
  await getAccount(deps, tenantId, accountId);
  const before = await deps.protections.get(tenantId, accountId);
  const updatedAt = deps.now().toISOString();
  // A preset is the firm's rules written out: what is enforced is the lossLimits it gives.
  if (rules.preset) rules = { ...rules, lossLimits: presetLossLimits(rules.preset) };
  await deps.protections.put({ tenantId, accountId, rules, updatedAt });
  await deps.audit.append({
    tenantId,
    at: updatedAt,
    actor: `user:${tenantId}`,
    action: 'protection.put',
    resourceType: 'protection',
    resourceId: accountId,
    details: { ...(before ? { before: before.rules } : {}), after: rules },
  });
  return toPublic(await deps.protections.get(tenantId, accountId));
};

/**
 * Lifts a breach: state ok, and the day's starting equity and the peak forgotten, so loss and
 * drawdown are measured afresh from the next equity mark. Without rules there is nothing to
 * reset and the answer is the unprotected state.
 */
export const resetProtection = async (deps: ProtectionManagementDependencies, tenantId: string, accountId: string): Promise<PublicProtection> => {
  await getAccount(deps, tenantId, accountId);
  const before = await deps.protections.get(tenantId, accountId);
  if (!before) return unprotected;
  // The initial capital is the account's start, not the breach's: it survives a reset.
  const initialCapital = before.status.initialCapital;
  await deps.protections.updateStatus(tenantId, accountId, { ...defaultProtectionStatus, ...(initialCapital !== undefined ? { initialCapital } : {}) });
  await deps.audit.append({
    tenantId,
    at: deps.now().toISOString(),
    actor: `user:${tenantId}`,
    action: 'protection.reset',
    resourceType: 'protection',
    resourceId: accountId,
    details: {
      before: {
        state: before.status.state,
        ...(before.status.breachedAt ? { breachedAt: before.status.breachedAt } : {}),
        ...(before.status.reason ? { reason: before.status.reason } : {}),
      },
    },
  });
  return toPublic(await deps.protections.get(tenantId, accountId));
};

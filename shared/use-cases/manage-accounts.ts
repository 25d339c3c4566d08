import { describeBrokerError, isBrokerError } from '../domain/broker-errors';
import { randomUUID } from 'node:crypto';
import { serverProblem, toPublicAccount, type Account, type Platform } from '../domain/account';
import { rolesOf, type AccountView } from '../domain/live-events';
import { ConcurrentUpdateError, ConflictError, NotFoundError, ValidationError, type TenantQuotas } from '../domain/errors';
import type { CredentialCipher } from '../ports/credential-cipher';
import type { Log } from '../ports/log';
import type { AccountStore, AuditLog, DemoTradeStore, MappingStore, Page, PageRequest, ProtectionStore } from '../ports/stores';
import { brokerRef, type BrokerDirectory } from './broker-directory';
import { type CtraderAuthorizationDependencies, ctraderAuthorizationUrl } from './ctrader-authorization';
import { RuleViolationError } from '../domain/errors';

export interface AccountDependencies extends Partial<Pick<CtraderAuthorizationDependencies, 'ctraderOAuth' | 'oauthStates'>> {
  accounts: AccountStore;
  mappings: MappingStore;
  audit: AuditLog;
  cipher: CredentialCipher;
  brokers: BrokerDirectory;
  now: () => Date;
  log: Log;
  /** Limits per tenant; none without. */
  quotas?: TenantQuotas;
  /** What else is kept per account and goes with it when it is deleted. */
  protections?: ProtectionStore;
  demoTrades?: DemoTradeStore;
}

export interface NewAccount {
  name: string;
  platform: Platform;
  login: string;
  /** Absent for `ctrader`: its accounts are authorized through OAuth. */
  password?: string;
  server: string;
}

export const newId = (prefix: string): string => `${prefix}_${randomUUID().replaceAll('-', '')}`;

/**
 * Connects a trading account: the password is encrypted for (tenant, account) before the
 * account is stored, handed decrypted to the broker gateway only to provision it, and
 * never kept, logged or returned in clear.
 */
export const createAccount = async (deps: AccountDependencies, tenantId: string, input: NewAccount): Promise<AccountView & { authorizationUrl?: string }> => {
  const id = newId('acc');
  const now = deps.now().toISOString();
  const oauth = input.platform === 'ctrader';
  if (oauth && !(deps.ctraderOAuth && deps.oauthStates)) {
    throw new ValidationError('Invalid request: platform', [
      { path: 'platform', message: 'cTrader is not configured on this deployment (no Open API application)' },
    ]);
  }
  // A cTrader account has no password: its credential is the OAuth tokens, kept when the trader
  // has authorized it (until then an empty object: KMS encrypts nothing shorter than a byte).
  const encryptedPassword = await deps.cipher.encrypt(oauth ? '{}' : (input.password ?? ''), { tenantId, accountId: id });
  const account: Account = {
    id,
    tenantId,
    name: input.name,
    platform: input.platform,
    login: input.login,
    server: input.server,
    status: 'connecting',
    ...(oauth ? { statusDetail: 'waiting for the trader to authorize the account at cTrader (authorizationUrl)' } : {}),
    createdAt: now,
    updatedAt: now,
    encryptedPassword,
  };
  // Made first: an application cTrader cannot be asked for yet (its secret unset) refuses the account before it exists.
  const authorizationUrl =
    oauth && deps.ctraderOAuth && deps.oauthStates
      ? await ctraderAuthorizationUrl({ ...deps, ctraderOAuth: deps.ctraderOAuth, oauthStates: deps.oauthStates }, account)
      : undefined;
  await deps.accounts.create(account, { maxAccounts: deps.quotas?.accounts });
  const provisioned = oauth ? account : await provision(deps, account, input.password ?? '');
  await deps.audit.append({
    tenantId,
    at: now,
    actor: `user:${tenantId}`,
    action: 'account.create',
    resourceType: 'account',
    resourceId: id,
    details: { name: account.name, platform: account.platform, login: account.login, server: account.server },
  });
  // A new account is in no mapping yet.
  return { ...toPublicAccount(provisioned), roles: [], ...(authorizationUrl ? { authorizationUrl } : {}) };
};

const provision = async (deps: AccountDependencies, account: Account, password: string): Promise<Account> => {
  try {
    const result = await deps.brokers.gateway(account.platform).provision(brokerRef(account), password);
    return await deps.accounts.update(account.tenantId, account.id, {
      status: result.status,
      statusDetail: result.statusDetail,
      ...(result.brokerAccountId ? { brokerAccountId: result.brokerAccountId } : {}),
    });
  } catch (error) {
    deps.log.warn('provisioning failed', { tenantId: account.tenantId, accountId: account.id, error: error instanceof Error ? error.name : 'unknown' });
    return deps.accounts.update(account.tenantId, account.id, {
      status: 'error',
      statusDetail: isBrokerError(error) ? describeBrokerError(error) : 'provisioning failed',
    });
  }
};

export const getAccount = async (deps: Pick<AccountDependencies, 'accounts'>, tenantId: string, accountId: string): Promise<Account> => {
  const account = await deps.accounts.get(tenantId, accountId);
  if (!account) throw new NotFoundError('account');
  return account;
};

/** An account as the API shows it: its public fields and its roles in the tenant's mappings. */
export const viewOf = (account: Account, mappings: Parameters<typeof rolesOf>[1]): AccountView => ({
  ...toPublicAccount(account),
  roles: rolesOf(account.id, mappings),
});

export const showAccount = async (deps: Pick<AccountDependencies, 'accounts' | 'mappings'>, tenantId: string, accountId: string): Promise<AccountView> => {
  const [account, mappings] = await Promise.all([getAccount(deps, tenantId, accountId), deps.mappings.listAll(tenantId)]);
  return viewOf(account, mappings);
};

export const listAccounts = async (
  deps: Pick<AccountDependencies, 'accounts' | 'mappings'>,
  tenantId: string,
  page: PageRequest,
): Promise<Page<AccountView>> => {
  const [result, mappings] = await Promise.all([deps.accounts.list(tenantId, page), deps.mappings.listAll(tenantId)]);
  return { ...result, items: result.items.map((account) => viewOf(account, mappings)) };
};

/**
 * Removes an account, refused while a copy mapping uses it (as master or slave). The check
 * and the deletion are one step against the tenant's mapping graph, so a mapping created
 * meanwhile either makes this a 409 or is itself refused because the account is gone.
 */
export const deleteAccount = async (deps: AccountDependencies, tenantId: string, accountId: string): Promise<void> => {
  const account = await getAccount(deps, tenantId, accountId);
  for (let attempt = 1; ; attempt += 1) {
    const graph = await deps.mappings.graph(tenantId);
    const users = graph.mappings.filter((m) => m.masterAccountId === accountId || m.slaveAccountId === accountId);
    if (users.length > 0)
      throw new ConflictError(`The account is used by copy mapping ${users.map((m) => m.id).join(', ')}; delete the mapping first`, 'ACCOUNT_IN_USE');
    try {
      await deps.accounts.delete(tenantId, accountId, { graphVersion: graph.version });
      break;
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || attempt >= 8) throw error;
    }
  }
  deps.brokers.forget(accountId);
  try {
    await deps.brokers.gateway(account.platform).deprovision(brokerRef(account));
  } catch (error) {
    // The account is gone from the system already; what is left at the broker gateway is
    // named in the log for an operator, and is no reason to fail the request.
    deps.log.error('deprovisioning a deleted account failed', { tenantId, accountId, brokerAccountId: account.brokerAccountId, error });
  }
  await Promise.all([deps.protections?.delete(tenantId, accountId), deps.demoTrades?.deleteAll(tenantId, accountId)]);
  await deps.audit.append({
    tenantId,
    at: deps.now().toISOString(),
    actor: `user:${tenantId}`,
    action: 'account.delete',
    resourceType: 'account',
    resourceId: accountId,
    details: { name: account.name },
  });
};

/** Renames, moves to another server or changes the password (re-encrypted and re-provisioned). */
export const updateAccount = async (
  deps: AccountDependencies,
  tenantId: string,
  accountId: string,
  change: { name?: string; password?: string; server?: string },
): Promise<AccountView> => {
  const account = await getAccount(deps, tenantId, accountId);
  const problem = change.server === undefined ? undefined : serverProblem(account.platform, change.server);
  if (problem) throw new ValidationError('invalid request', [{ path: 'server', message: problem }]);
  if (account.platform === 'ctrader' && change.password !== undefined) {
    throw new ValidationError('invalid request', [
      { path: 'password', message: 'is not used for a cTrader account: authorize it again (POST /v1/accounts/{id}/authorization)' },
    ]);
  }
  // A move to another server re-provisions with the stored password: decrypt it before
  // anything is written, so a credential that does not decrypt leaves the account unchanged.
  const password = change.password ?? (change.server ? await deps.cipher.decrypt(account.encryptedPassword, { tenantId, accountId }) : undefined);
  const encryptedPassword = change.password ? await deps.cipher.encrypt(change.password, { tenantId, accountId }) : undefined;
  let updated = await deps.accounts.update(tenantId, accountId, {
    ...(change.name !== undefined ? { name: change.name } : {}),
    ...(change.server !== undefined ? { server: change.server } : {}),
    ...(encryptedPassword ? { encryptedPassword } : {}),
    updatedAt: deps.now().toISOString(),
  });
  if (password !== undefined) {
    const result = await deps.brokers.gateway(account.platform).updatePassword(brokerRef(updated), password);
    deps.brokers.forget(accountId);
    updated = await deps.accounts.update(tenantId, accountId, {
      status: result.status,
      statusDetail: result.statusDetail,
      ...(result.brokerAccountId ? { brokerAccountId: result.brokerAccountId } : {}),
    });
  }
  await deps.audit.append({
    tenantId,
    at: deps.now().toISOString(),
    actor: `user:${tenantId}`,
    action: 'account.update',
    resourceType: 'account',
    resourceId: accountId,
    details: {
      before: { name: account.name, server: account.server },
      after: { name: updated.name, server: updated.server },
      passwordChanged: change.password !== undefined,
    },
  });
  return viewOf(updated, await deps.mappings.listAll(tenantId));
};

/**
 * A new `authorizationUrl` for a cTrader account: after the trader revoked the grant, a
 * consent that was declined or timed out, or a callback that could not complete. The account
 * is authorized again at the callback, as when it was added.
 */
export const authorizeAccountAgain = async (deps: AccountDependencies, tenantId: string, accountId: string): Promise<{ authorizationUrl: string }> => {
  const account = await getAccount(deps, tenantId, accountId);
  if (account.platform !== 'ctrader') {
    throw new RuleViolationError('Only cTrader accounts are authorized through OAuth; change the password of this one', [], 'NOT_OAUTH_ACCOUNT');
  }
  if (!deps.ctraderOAuth || !deps.oauthStates) {
    throw new ValidationError('Invalid request: platform', [
      { path: 'platform', message: 'cTrader is not configured on this deployment (no Open API application)' },
    ]);
  }
  return { authorizationUrl: await ctraderAuthorizationUrl({ ...deps, ctraderOAuth: deps.ctraderOAuth, oauthStates: deps.oauthStates }, account) };
};

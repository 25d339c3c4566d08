import { createHash, randomBytes } from 'node:crypto';
import type { Account } from '../domain/account';
import { BrokerError } from '../domain/broker-errors';
import { ValidationError } from '../domain/errors';
import type { CtraderTokens } from '../adapters/ctrader/ctrader-gateway';
import type { CtraderApp } from '../adapters/ctrader/ctrader-session';
import type { CredentialCipher } from '../ports/credential-cipher';
import type { AccountStore, AuditLog, OAuthStateStore } from '../ports/stores';
import type { BrokerDirectory } from './broker-directory';
import { brokerRef } from './broker-directory';

/** Where cTrader's OAuth happens, and the application it authorizes. */
export interface CtraderOAuthSettings {
  /** cTrader's consent pages (`https://id.ctrader.com`). */
  authUrl: string;
  /** The token endpoint (`https://openapi.ctrader.com/apps/token`). */
  tokenUrl: string;
  /** This API's callback, as registered with the application: `.../v1/oauth/ctrader/callback` (asked when needed: a local API knows its port late). */
  redirectUri: () => string;
  app: () => Promise<CtraderApp>;
  fetch?: typeof fetch;
}

export interface CtraderAuthorizationDependencies {
  ctraderOAuth?: CtraderOAuthSettings;
  oauthStates: OAuthStateStore;
  accounts: Pick<AccountStore, 'get' | 'update'>;
  cipher: CredentialCipher;
  brokers: BrokerDirectory;
  audit: AuditLog;
  now: () => Date;
}

/** How long a trader has to give consent at cTrader. */
const STATE_TTL_MS = 60 * 60_000;
/** The code exchange's budget: the API function has ten seconds for the whole callback. */
const TOKEN_TIMEOUT_MS = 4_000;

const hashOf = (state: string): string => createHash('sha256').update(state).digest('hex');

/**
 * The address where the trader lets this application trade the account: cTrader's consent
 * page, which sends the trader back to the callback with a code and this state. The state is
 * 256 random bits, kept only as its hash, bound to the tenant and the account, and good once,
 * for an hour.
 */
export const ctraderAuthorizationUrl = async (deps: CtraderAuthorizationDependencies, account: Pick<Account, 'tenantId' | 'id'>): Promise<string> => {
  const settings = deps.ctraderOAuth;
  if (!settings) throw new BrokerError('NOT_CONFIGURED', 'cTrader is not configured on this deployment (no Open API application)');
  const { clientId } = await settings.app();
  const state = randomBytes(32).toString('base64url');
  const expiresAt = new Date(deps.now().getTime() + STATE_TTL_MS).toISOString();
  await deps.oauthStates.put({ hash: hashOf(state), tenantId: account.tenantId, accountId: account.id, expiresAt });
  const url = new URL('/my/settings/openapi/grantingaccess/', settings.authUrl);
  url.search = new URLSearchParams({ client_id: clientId, redirect_uri: settings.redirectUri(), scope: 'trading', product: 'web', state }).toString();
  return url.toString();
};

/**
 * cTrader's redirect after consent: the state names the account, the code is exchanged for
 * tokens at the token endpoint, the tokens are kept encrypted as the account's credential, and
 * the account is checked at cTrader (connected, or `error` with the reason). A state that is
 * unknown, used or expired is a 400 naming `state`; a code cTrader refuses, one naming `code`.
 */
export const completeCtraderAuthorization = async (
  deps: CtraderAuthorizationDependencies,
  query: { code?: string; state?: string; error?: string },
): Promise<{ accountId: string; status: Account['status']; statusDetail?: string }> => {
  const settings = deps.ctraderOAuth;
  if (!settings) throw new BrokerError('NOT_CONFIGURED', 'cTrader is not configured on this deployment (no Open API application)');
  if (!query.state) throw new ValidationError('Invalid query: state', [{ path: 'state', message: 'is required' }]);
  const pending = await deps.oauthStates.take(hashOf(query.state), deps.now());
  if (!pending)
    throw new ValidationError('Invalid query: state', [{ path: 'state', message: 'is unknown, already used or expired: start the authorization again' }]);
  const account = await deps.accounts.get(pending.tenantId, pending.accountId);
  if (account?.platform !== 'ctrader')
    throw new ValidationError('Invalid query: state', [{ path: 'state', message: 'names an account that no longer exists' }]);
  if (query.error || !query.code) {
    const updated = await deps.accounts.update(account.tenantId, account.id, {
      status: 'error',
      statusDetail: `the trader did not authorize the account at cTrader${query.error ? ` (${query.error})` : ''}`,
    });
    return { accountId: updated.id, status: updated.status, statusDetail: updated.statusDetail };
  }
  const tokens = await exchangeCode(settings, query.code, deps.now());
  const credential = JSON.stringify(tokens);
  const encryptedPassword = await deps.cipher.encrypt(credential, { tenantId: account.tenantId, accountId: account.id });
  await deps.accounts.update(account.tenantId, account.id, { encryptedPassword });
  const result = await deps.brokers.gateway('ctrader').provision(brokerRef(account), credential);
  const updated = await deps.accounts.update(account.tenantId, account.id, {
    status: result.status,
    statusDetail: result.statusDetail,
    ...(result.brokerAccountId ? { brokerAccountId: result.brokerAccountId } : {}),
  });
  await deps.audit.append({
    tenantId: account.tenantId,
    at: deps.now().toISOString(),
    actor: `user:${account.tenantId}`,
    action: 'account.authorize',
    resourceType: 'account',
    resourceId: account.id,
    details: { platform: 'ctrader', status: updated.status },
  });
  return { accountId: updated.id, status: updated.status, ...(updated.statusDetail ? { statusDetail: updated.statusDetail } : {}) };
};

/** The authorization code for tokens, at cTrader's token endpoint (the secret goes there only). */
const exchangeCode = async (settings: CtraderOAuthSettings, code: string, now: Date): Promise<CtraderTokens> => {
  const app = await settings.app();
  const url = new URL(settings.tokenUrl);
  url.search = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: settings.redirectUri(),
    client_id: app.clientId,
    client_secret: app.clientSecret,
  }).toString();
  let answer: { accessToken?: string; refreshToken?: string; expiresIn?: number; errorCode?: string | null; description?: string | null };
  try {
    const response = await (settings.fetch ?? fetch)(url, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS) });
    answer = (await response.json()) as typeof answer;
  } catch {
    throw new BrokerError('CONNECTION', 'cTrader could not be reached to complete the authorization: try again');
  }
  if (!answer.accessToken || !answer.refreshToken || answer.errorCode) {
    throw new ValidationError('Invalid query: code', [
      { path: 'code', message: `cTrader did not accept the authorization code (${answer.errorCode ?? 'no tokens'}): start the authorization again` },
    ]);
  }
  return {
    accessToken: answer.accessToken,
    refreshToken: answer.refreshToken,
    ...(answer.expiresIn ? { expiresAt: new Date(now.getTime() + answer.expiresIn * 1000).toISOString() } : {}),
  };
};

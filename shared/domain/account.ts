export const platforms = ['mt4', 'mt5', 'simulated', 'oanda', 'ctrader'] as const;
export type Platform = (typeof platforms)[number];

/** OANDA's two environments: an OANDA account's `server` is one of them. */
export const oandaServers = ['practice', 'live'] as const;
/** cTrader's environments: a `ctrader` account's `server`. */
export const ctraderServers = ['live', 'demo'] as const;

/** What is wrong with a server for the platform, if anything: OANDA has two, MetaTrader brokers name theirs. */
export const serverProblem = (platform: Platform, server: string): string | undefined => {
  if (platform === 'oanda' && !(oandaServers as readonly string[]).includes(server)) return 'must be "practice" or "live" for an OANDA account';
  if (platform === 'ctrader' && !(ctraderServers as readonly string[]).includes(server)) return 'must be "live" or "demo" for a cTrader account';
  return undefined;
};

export const accountStatuses = ['connecting', 'connected', 'disconnected', 'error'] as const;
export type AccountStatus = (typeof accountStatuses)[number];

/**
 * A trading account a tenant connected. The password exists only as `encryptedPassword`,
 * a KMS ciphertext bound to (tenantId, id); it is never part of what the API returns.
 */
export interface Account {
  id: string;
  tenantId: string;
  name: string;
  platform: Platform;
  login: string;
  server: string;
  status: AccountStatus;
  statusDetail?: string;
  balance?: number;
  equity?: number;
  currency?: string;
  lastSyncAt?: string;
  /** When the sync last kept an equity point of the account (see the trade history). */
  equityPointAt?: string;
  createdAt: string;
  updatedAt: string;
  encryptedPassword: string;
  /** Id of the account at the broker gateway (MetaApi account id), once provisioned. */
  brokerAccountId?: string;
}

/** The fields of an account a client may see. */
export type PublicAccount = Omit<Account, 'tenantId' | 'encryptedPassword' | 'brokerAccountId' | 'equityPointAt'>;

export const toPublicAccount = ({ tenantId: _t, encryptedPassword: _p, brokerAccountId: _b, equityPointAt: _e, ...visible }: Account): PublicAccount => visible;

/**
 * What makes two accounts the same broker login: the platform, the server (case and
 * surrounding blanks aside) and the login. A tenant may add each login once: two accounts on
 * one login would copy each other's copies.
 */
export const brokerLoginKey = (account: Pick<Account, 'platform' | 'server' | 'login'>): string =>
  [account.platform, account.server.trim().toLowerCase(), account.login.trim()].join('#');

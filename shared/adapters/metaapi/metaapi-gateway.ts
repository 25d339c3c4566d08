import { isBrokerError } from '../../domain/broker-errors';
import type { AccountStream, BrokerAccountRef, BrokerGateway, BrokerPort, ProvisionResult } from '../../ports/broker';
import { DeadlineExceededError, withDeadline } from '../../domain/deadline';
import { metaApiAccountName, type MetaApiCloud } from './metaapi-cloud';
import { toBrokerError } from './metaapi-errors';
import type { MetaApiAccount } from './metaapi-sdk';

export type MetaApiPlatform = 'mt4' | 'mt5';

/** Why MetaApi refused to add or update an account, from its `details` code, in the user's words. */
const provisioningRefusals: Record<string, string> = {
  E_AUTH: 'the broker refused the login and password (E_AUTH): check them and save the password again',
  E_SRV_NOT_FOUND: 'MetaApi does not know this broker server (E_SRV_NOT_FOUND): check the server name',
  E_SERVER_TIMEZONE: 'MetaApi could not detect the broker settings (E_SERVER_TIMEZONE): try again later',
  E_RESOURCE_SLOTS: 'the account needs more MetaApi resource slots than configured (E_RESOURCE_SLOTS)',
};

interface ProvisioningError {
  name?: unknown;
  message?: unknown;
  details?: unknown;
}

const detailsCode = (details: unknown): string | undefined => {
  if (typeof details === 'string') return details;
  if (typeof details === 'object' && details !== null && typeof (details as { code?: unknown }).code === 'string') {
    return (details as { code: string }).code;
  }
  return undefined;
};

/** A refusal MetaApi gave while adding or updating an account, as an `error` status with its reason. */
const refusal = (error: unknown): ProvisionResult | undefined => {
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, message, details } = error as ProvisioningError;
  if (name === 'ValidationError') {
    const code = detailsCode(details);
    const known = code ? provisioningRefusals[code] : undefined;
    const said = typeof message === 'string' ? message : 'invalid account settings';
    return { status: 'error', statusDetail: known ? `${known}. MetaApi: ${said}` : `MetaApi refused the account: ${said}` };
  }
  if (name === 'UnauthorizedError' || name === 'ForbiddenError' || name === 'MethodAccessError') {
    return { status: 'error', statusDetail: 'MetaApi refused the API token: check the token this deployment uses' };
  }
  if (name === 'TooManyRequestsError') {
    return { status: 'error', statusDetail: 'MetaApi throttled adding the account: save the password again in a minute' };
  }
  return undefined;
};

/** The account's state at MetaApi as the API shows it. */
export const provisionResultOf = (account: MetaApiAccount, final: boolean): ProvisionResult => {
  const brokerAccountId = account.id;
  const state = account.state;
  if (state === 'DEPLOYED') {
    if (account.connectionStatus === 'CONNECTED') return { brokerAccountId, status: 'connected' };
    if (account.connectionStatus === 'DISCONNECTED_FROM_BROKER' && final) {
      return { brokerAccountId, status: 'disconnected', statusDetail: 'MetaApi cannot reach the broker with this account (DISCONNECTED_FROM_BROKER)' };
    }
    return { brokerAccountId, status: 'connecting', statusDetail: 'MetaApi is connecting the account to the broker' };
  }
  if (state.endsWith('_FAILED')) return { brokerAccountId, status: 'error', statusDetail: `MetaApi failed to deploy the account (${state})` };
  return { brokerAccountId, status: 'connecting', statusDetail: `the MetaApi account is ${state.toLowerCase()}` };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The mt4 or mt5 platform through MetaApi. Adding an account creates it at MetaApi with the
 * password (handed over for that call only, never kept or logged), deploys it and follows its
 * state while the API request allows (`provisionMs`); a later sync carries the state on.
 * Accounts are named after the system's account id, so one created by a request whose answer
 * was lost is found again instead of created twice.
 */
export class MetaApiBrokerGateway implements BrokerGateway {
  constructor(
    readonly platform: MetaApiPlatform,
    private readonly cloud: MetaApiCloud,
  ) {}

  provision(ref: BrokerAccountRef, password: string): Promise<ProvisionResult> {
    return this.provisioning(async (progress) => {
      const existing = await this.cloud.findAccount(ref);
      return existing ? this.changeCredentials(existing, ref, password, progress) : this.create(ref, password, progress);
    });
  }

  /** Updates the password at MetaApi and redeploys; provisions the account if MetaApi does not have it. */
  updatePassword(ref: BrokerAccountRef, password: string): Promise<ProvisionResult> {
    return this.provision(ref, password);
  }

  /** Undeploys and removes the account at MetaApi; nothing to do when MetaApi no longer has it. */
  async deprovision(ref: BrokerAccountRef): Promise<void> {
    await this.cloud.disconnect(ref);
    const budget = this.cloud.timeouts.provisionMs;
    try {
      await withDeadline(
        async () => {
          const account = await this.cloud.findAccount(ref);
          if (!account) return;
          if (!['UNDEPLOYED', 'CREATED', 'DRAFT'].includes(account.state)) await account.undeploy();
          await removeAccount(account);
        },
        budget,
        'MetaApi account removal',
      );
    } catch (error) {
      throw toBrokerError(error);
    }
  }

  connect(ref: BrokerAccountRef): Promise<BrokerPort> {
    return this.cloud.connect(ref);
  }

  watch(ref: BrokerAccountRef, onChange: () => void): AccountStream {
    return this.cloud.watch(ref, onChange);
  }

  private async create(ref: BrokerAccountRef, password: string, progress: Progress): Promise<ProvisionResult> {
    const account = await this.cloud.sdk().metatraderAccountApi.createAccount({
      name: metaApiAccountName(ref),
      type: 'cloud-g2',
      login: ref.login,
      password,
      server: ref.server,
      platform: this.platform,
      magic: 0,
      reliability: this.cloud.options.reliability ?? 'regular',
      ...(this.cloud.options.region ? { region: this.cloud.options.region } : {}),
      metadata: { tenantId: ref.tenantId, accountId: ref.accountId },
    });
    progress.account = account;
    if (account.state === 'UNDEPLOYED' || account.state === 'CREATED') await account.deploy();
    return this.follow(account, progress);
  }

  private async changeCredentials(account: MetaApiAccount, ref: BrokerAccountRef, password: string, progress: Progress): Promise<ProvisionResult> {
    progress.account = account;
    await this.cloud.disconnect(ref);
    await account.update({ name: account.name, password, server: ref.server, magic: account.magic ?? 0 });
    if (account.state === 'UNDEPLOYED' || account.state === 'CREATED') await account.deploy();
    else await account.redeploy();
    return this.follow(account, progress);
  }

  /** Reloads the account until it is connected, failed, or the provisioning budget is nearly spent. */
  private async follow(account: MetaApiAccount, progress: Progress): Promise<ProvisionResult> {
    const { statePollMs } = this.cloud.timeouts;
    for (;;) {
      const result = provisionResultOf(account, false);
      if (result.status !== 'connecting') return result;
      if (Date.now() + statePollMs + 500 >= progress.deadlineAt) return provisionResultOf(account, true);
      await sleep(statePollMs);
      await account.reload();
    }
  }

  /**
   * Runs a provisioning step within `provisionMs`. Refusals become an `error` status with the
   * reason; running out of time is `connecting` (MetaApi may still be validating the
   * credentials, which can take a minute); anything else is a classified `BrokerError`.
   */
  private async provisioning(step: (progress: Progress) => Promise<ProvisionResult>): Promise<ProvisionResult> {
    const budget = this.cloud.timeouts.provisionMs;
    const progress: Progress = { deadlineAt: Date.now() + budget };
    try {
      return await withDeadline(() => step(progress), budget, 'MetaApi provisioning');
    } catch (error) {
      if (error instanceof DeadlineExceededError) {
        return progress.account
          ? provisionResultOf(progress.account, true)
          : { status: 'connecting', statusDetail: 'MetaApi is still checking the account with the broker' };
      }
      const refused = refusal(error);
      if (refused) return progress.account ? { brokerAccountId: progress.account.id, ...refused } : refused;
      throw isBrokerError(error) ? error : toBrokerError(error);
    }
  }
}

interface Progress {
  deadlineAt: number;
  /** The account once MetaApi has it, so a late answer still reports its id. */
  account?: MetaApiAccount;
}

/**
 * Removes the account. The SDK then clears its local history cache under the working
 * directory, which is read-only in Lambda: the removal at MetaApi has happened by then, so a
 * file system error of that cleanup is not a failure.
 */
const removeAccount = async (account: MetaApiAccount): Promise<void> => {
  try {
    await account.remove();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && ['EROFS', 'EACCES', 'EPERM', 'ENOENT'].includes(code)) return;
    throw error;
  }
};

/** The mt4 and mt5 gateways, sharing one MetaApi client. */
export const metaApiGateways = (cloud: MetaApiCloud): Record<MetaApiPlatform, MetaApiBrokerGateway> => ({
  mt4: new MetaApiBrokerGateway('mt4', cloud),
  mt5: new MetaApiBrokerGateway('mt5', cloud),
});

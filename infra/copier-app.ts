import type { App, Environment } from 'aws-cdk-lib';
import { StatefulStack } from './stateful-stack';
import { StatelessStack } from './stateless-stack';
import { MAX_SYNC_SHARDS, type SyncSizing, syncSizing } from './sync-sizing';

/** Deployment settings, read from CDK context (`cdk deploy -c stage=prod -c masters=250`). */
export interface DeploymentSettings {
  /** Lower-case name prefixed to stacks and named resources. @default 'dev' */
  readonly stage: string;
  /**
   * Sync shards, the sync function's memory and the streams a shard holds, from the masters
   * the deployment is for (`-c masters=N`, default 10; `-c mastersPerShard=N`, default 100;
   * `-c syncShards=N` overrides the shard count). See infra/sync-sizing.ts.
   */
  readonly sync: SyncSizing & { readonly masters: number };
  /** Comma-separated in context. @default ['*'] */
  readonly corsOrigins: string[];
  /**
   * How long one sync invocation watches its shard (its Lambda timeout), 3 to 15 minutes (shorter leaves no room for a hand-over before the next scheduled invocation);
   * the next one takes over shortly before it ends. @default 15
   */
  readonly syncInvocationMinutes: number;
  /** `off` polls every master over RPC instead of holding MetaApi streams. @default 'on' */
  readonly masterStreaming: 'on' | 'off';
  readonly alarmEmail?: string;
  /** cTrader accounts: the Open API application's secret, the OAuth callback route. @default false */
  readonly ctrader: boolean;
  /** Limits per tenant (`-c maxAccountsPerTenant=... -c maxMappingsPerTenant=... -c maxSlavesPerMaster=...`). @default 500, 1000, 500 */
  readonly quotas: { readonly accounts: number; readonly mappings: number; readonly slavesPerMaster: number };
  /** Copy batches processed at once (2-1000). @default 50 */
  readonly copyMaxConcurrency: number;
  /** Concurrency reserved for the API function. @default none */
  readonly apiReservedConcurrency?: number;
}

export class DeploymentSettingsError extends Error {
  override readonly name = 'DeploymentSettingsError';
}

const contextString = (app: App, key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new DeploymentSettingsError(`Context "${key}" must be a string or a number`);
  }
  return String(value);
};

/** Reads and checks the context, failing before any stack is built. */
export const readDeploymentSettings = (app: App): DeploymentSettings => {
  const stage = contextString(app, 'stage') ?? 'dev';
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(stage)) {
    throw new DeploymentSettingsError(`Context "stage" must be lower-case letters, digits and dashes: ${stage}`);
  }
  const corsOrigins = (contextString(app, 'corsOrigin') ?? '*')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  if (corsOrigins.length === 0) throw new DeploymentSettingsError('Context "corsOrigin" names no origin');
  const syncInvocationMinutes = Number(contextString(app, 'syncInvocationMinutes') ?? '15');
  if (!Number.isInteger(syncInvocationMinutes) || syncInvocationMinutes < 3 || syncInvocationMinutes > 15) {
    throw new DeploymentSettingsError('Context "syncInvocationMinutes" must be an integer from 3 to 15');
  }
  const masterStreaming = contextString(app, 'masterStreaming') ?? 'on';
  if (masterStreaming !== 'on' && masterStreaming !== 'off') throw new DeploymentSettingsError('Context "masterStreaming" must be on or off');
  const alarmEmail = contextString(app, 'alarmEmail');
  const ctrader = contextString(app, 'ctrader') ?? 'off';
  if (ctrader !== 'on' && ctrader !== 'off') throw new DeploymentSettingsError('Context "ctrader" must be on or off');
  const limit = (key: string, fallback: number): number => {
    const value = Number(contextString(app, key) ?? String(fallback));
    if (!Number.isInteger(value) || value < 1) throw new DeploymentSettingsError(`Context "${key}" must be a positive integer`);
    return value;
  };
  const quotas = {
    accounts: limit('maxAccountsPerTenant', 500),
    mappings: limit('maxMappingsPerTenant', 1000),
    slavesPerMaster: limit('maxSlavesPerMaster', 500),
  };
  const copyMaxConcurrency = limit('copyMaxConcurrency', 50);
  if (copyMaxConcurrency < 2 || copyMaxConcurrency > 1000) throw new DeploymentSettingsError('Context "copyMaxConcurrency" must be an integer from 2 to 1000');
  const masters = limit('masters', 10);
  const mastersPerShard = limit('mastersPerShard', 100);
  const shardsGiven = contextString(app, 'syncShards');
  const syncShards = shardsGiven === undefined ? undefined : Number(shardsGiven);
  if (syncShards !== undefined && (!Number.isInteger(syncShards) || syncShards < 1 || syncShards > MAX_SYNC_SHARDS)) {
    throw new DeploymentSettingsError(`Context "syncShards" must be an integer from 1 to ${MAX_SYNC_SHARDS}`);
  }
  const sync = { masters, ...syncSizing({ masters, mastersPerShard, ...(syncShards !== undefined ? { shards: syncShards } : {}) }) };
  const reserved = contextString(app, 'apiReservedConcurrency') === undefined ? undefined : limit('apiReservedConcurrency', 1);
  return {
    stage,
    sync,
    corsOrigins,
    syncInvocationMinutes,
    masterStreaming,
    quotas,
    copyMaxConcurrency,
    ctrader: ctrader === 'on',
    ...(reserved !== undefined ? { apiReservedConcurrency: reserved } : {}),
    ...(alarmEmail ? { alarmEmail } : {}),
  };
};

/**
 * The target account and region when the CLI knows them; otherwise the stacks stay
 * environment-agnostic, so `cdk synth` needs no credentials and makes no lookups.
 */
const environmentFrom = (env: NodeJS.ProcessEnv): Environment | undefined => {
  const account = env.CDK_DEFAULT_ACCOUNT;
  const region = env.CDK_DEFAULT_REGION;
  return account && region ? { account, region } : undefined;
};

export interface CopierStacks {
  readonly settings: DeploymentSettings;
  readonly stateful: StatefulStack;
  readonly stateless: StatelessStack;
}

/** Adds both stacks of the copier to `app`: `<stage>-mt-copier-stateful` and `-stateless`. */
export const buildCopierApp = (app: App, processEnv: NodeJS.ProcessEnv = process.env): CopierStacks => {
  const settings = readDeploymentSettings(app);
  const env = environmentFrom(processEnv);
  const description = `mt-copier (${settings.stage})`;

  const stateful = new StatefulStack(app, `${settings.stage}-mt-copier-stateful`, {
    env,
    description: `${description}: tables, key, secret, queue, user pool`,
    stage: settings.stage,
    alarmEmail: settings.alarmEmail,
    ctrader: settings.ctrader,
  });
  const stateless = new StatelessStack(app, `${settings.stage}-mt-copier-stateless`, {
    env,
    description: `${description}: functions, HTTP API, live events WebSocket API, schedule`,
    stage: settings.stage,
    stateful,
    sync: settings.sync,
    corsOrigins: settings.corsOrigins,
    syncInvocationMinutes: settings.syncInvocationMinutes,
    masterStreaming: settings.masterStreaming,
    quotas: settings.quotas,
    copyMaxConcurrency: settings.copyMaxConcurrency,
    apiReservedConcurrency: settings.apiReservedConcurrency,
  });
  return { settings, stateful, stateless };
};

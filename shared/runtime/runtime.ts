import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoAccountStore } from '../adapters/dynamodb/account-store';
import { DynamoAuditLog } from '../adapters/dynamodb/audit-log';
import { DynamoBookStore } from '../adapters/dynamodb/book-store';
import { DynamoCopyContextLoader } from '../adapters/dynamodb/copy-context-loader';
import { DynamoCopyStore } from '../adapters/dynamodb/copy-store';
import { DynamoDemoTradeStore } from '../adapters/dynamodb/demo-trade-store';
import { DynamoTradeHistoryStore } from '../adapters/dynamodb/trade-history-store';
import { DynamoShardLeaseStore } from '../adapters/dynamodb/shard-lease-store';
import { DynamoIdempotencyStore } from '../adapters/dynamodb/idempotency-store';
import { DynamoMappingStore } from '../adapters/dynamodb/mapping-store';
import { DynamoProtectionStore } from '../adapters/dynamodb/protection-store';
import { DynamoRateLimiter } from '../adapters/dynamodb/rate-limiter';
import { KmsCredentialCipher } from '../adapters/kms/kms-credential-cipher';
import { SqsSignalQueue } from '../adapters/sqs/sqs-signal-queue';
import type { Config } from '../config';
import type { FinalCopyRecord } from '../domain/copy-record';
import type { BrokerAccountRef, BrokerGateway } from '../ports/broker';
import { BrokerError } from '../domain/broker-errors';
import { OandaGateway, type OandaEnvironment, type OandaHost } from '../adapters/oanda/oanda-gateway';
import { type CtraderEnvironment, CtraderGateway, type CtraderTokenStore, parseCtraderTokens } from '../adapters/ctrader/ctrader-gateway';
import type { CtraderApp } from '../adapters/ctrader/ctrader-session';
import { DynamoOAuthStateStore } from '../adapters/dynamodb/oauth-state-store';
import type { CtraderOAuthSettings } from '../use-cases/ctrader-authorization';
import type { CredentialCipher } from '../ports/credential-cipher';
import type { IdempotencyStore } from '../ports/idempotency';
import type { TenantQuotas } from '../domain/errors';
import { keyedLog, type Log } from '../ports/log';
import { type Metrics, noMetrics } from '../ports/metrics';
import { noTracing, type Tracing } from '../ports/tracing';
import { tracedGateway } from '../adapters/tracing/traced-broker';
import type { RateLimiter } from '../ports/rate-limiter';
import type {
  AccountStore,
  AuditLog,
  BookStore,
  CopyContextLoader,
  CopyStore,
  CopyWorkerIdentity,
  DemoTradeStore,
  TradeHistoryStore,
  MappingStore,
  OAuthStateStore,
  ProtectionStore,
  ShardLeaseStore,
  SignalDeliveries,
  SignalQueue,
} from '../ports/stores';
import { BrokerDirectory } from '../use-cases/broker-directory';

/** Everything a handler needs, built once per container (cold start) from the configuration. */
export interface Runtime {
  config: Config;
  clients: { dynamo: DynamoDBClient; sqs: SQSClient; kms: KMSClient };
  accounts: AccountStore;
  mappings: MappingStore;
  books: BookStore;
  protections: ProtectionStore;
  copies: CopyStore;
  copyContext: CopyContextLoader;
  audit: AuditLog;
  demoTrades: DemoTradeStore;
  tradeHistory: TradeHistoryStore;
  rateLimiter: RateLimiter;
  idempotency: IdempotencyStore;
  /** Pending OAuth authorizations (cTrader accounts). */
  oauthStates: OAuthStateStore;
  /** cTrader's OAuth, where the deployment has an Open API application. */
  ctraderOAuth?: CtraderOAuthSettings;
  shardLeases: ShardLeaseStore;
  queue: SignalQueue;
  /** The copy worker's side of the same queue. */
  deliveries: SignalDeliveries;
  cipher: CredentialCipher;
  brokers: BrokerDirectory;
  log: Log;
  metrics: Metrics;
  /** Limits per tenant, from the settings. */
  quotas: TenantQuotas;
  now: () => Date;
  onCopyFinished?: (record: FinalCopyRecord) => void;
  /** Who the copy worker claims as (the local runtime supersedes the runtimes before it). */
  copyWorker?: CopyWorkerIdentity;
}

export interface RuntimeOptions {
  gateways: Record<string, BrokerGateway>;
  /**
   * OANDA's hosts (its own, or a fake's in tests): the `oanda` platform's gateway is built with
   * them, reaching each account with its own token, decrypted from the account for the
   * connection that needs it. Without: `oanda` accounts cannot connect (NOT_CONFIGURED).
   */
  oandaHosts?: Record<OandaEnvironment, OandaHost>;
  /**
   * The cTrader Open API (its hosts or a fake's, and the deployer's application): the `ctrader`
   * platform's gateway is built with it, reaching each account with its OAuth tokens, decrypted
   * from the account and kept again encrypted when refreshed. Without: `ctrader` accounts cannot
   * connect (NOT_CONFIGURED).
   */
  ctrader?: {
    hosts: Record<CtraderEnvironment, string>;
    app: () => Promise<CtraderApp>;
    /** cTrader's consent pages and token endpoint, and this API's callback. */
    oauth: Omit<CtraderOAuthSettings, 'app'>;
    /** Refresh access tokens this long before they expire: for the process that renews them (see CtraderGatewayOptions). */
    refreshBeforeMs?: number;
  };
  log: Log;
  /** @default noMetrics */
  metrics?: Metrics;
  /** Spans around the AWS SDK clients and the broker calls. @default noTracing */
  tracing?: Tracing;
  now?: () => Date;
  /** Local runtime and tests: fixed credentials for the emulators. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  onCopyFinished?: (record: FinalCopyRecord) => void;
  copyWorker?: CopyWorkerIdentity;
}

/**
 * A broker token (OANDA's, kept as the account's password) decrypted for the connection that
 * needs it: bound to the account's tenant and id like every password, never kept in clear.
 */
const tokenOf =
  (accounts: Pick<AccountStore, 'get'>, cipher: CredentialCipher) =>
  async (ref: BrokerAccountRef): Promise<string> => {
    const account = await accounts.get(ref.tenantId, ref.accountId);
    if (!account) throw new BrokerError('AUTH_FAILED', 'the account no longer exists');
    return cipher.decrypt(account.encryptedPassword, { tenantId: ref.tenantId, accountId: ref.accountId });
  };

/** A cTrader account's OAuth tokens, kept as its encrypted credential like every password. */
const ctraderTokenStore = (accounts: Pick<AccountStore, 'get' | 'update'>, cipher: CredentialCipher): CtraderTokenStore => ({
  read: async (ref) => {
    const tokens = parseCtraderTokens(await tokenOf(accounts, cipher)(ref));
    if (!tokens) throw new BrokerError('AUTH_FAILED', `cTrader account ${ref.login} has not been authorized yet`);
    return tokens;
  },
  write: async (ref, tokens) => {
    const encryptedPassword = await cipher.encrypt(JSON.stringify(tokens), { tenantId: ref.tenantId, accountId: ref.accountId });
    await accounts.update(ref.tenantId, ref.accountId, { encryptedPassword });
  },
});

export const createRuntime = (config: Config, options: RuntimeOptions): Runtime => {
  const common = { region: config.AWS_REGION, ...(options.credentials ? { credentials: options.credentials } : {}) };
  const tracing = options.tracing ?? noTracing;
  const dynamo = tracing.awsClient(new DynamoDBClient({ ...common, ...(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {}) }));
  const sqs = tracing.awsClient(new SQSClient({ ...common, ...(config.SQS_ENDPOINT ? { endpoint: config.SQS_ENDPOINT } : {}) }));
  const kms = tracing.awsClient(new KMSClient({ ...common, ...(config.KMS_ENDPOINT ? { endpoint: config.KMS_ENDPOINT } : {}) }));
  const main = { client: dynamo, tableName: config.TABLE_NAME };
  const accounts = new DynamoAccountStore(main);
  const cipher = new KmsCredentialCipher({ client: kms, keyId: config.KMS_KEY_ID });
  const oanda = options.oandaHosts ? { oanda: new OandaGateway({ hosts: options.oandaHosts, tokenFor: tokenOf(accounts, cipher) }) } : {};
  const ctrader = options.ctrader
    ? {
        ctrader: new CtraderGateway({
          hosts: options.ctrader.hosts,
          app: options.ctrader.app,
          tokens: ctraderTokenStore(accounts, cipher),
          ...(options.ctrader.refreshBeforeMs !== undefined ? { refreshBeforeMs: options.ctrader.refreshBeforeMs } : {}),
        }),
      }
    : {};
  const gateways = Object.fromEntries(
    Object.entries({ ...oanda, ...ctrader, ...options.gateways }).map(([platform, gateway]) => [platform, tracedGateway(gateway, tracing)]),
  );
  const auditTable = { client: dynamo, tableName: config.AUDIT_TABLE_NAME };
  const queue = new SqsSignalQueue(sqs, config.COPY_QUEUE_URL);
  return {
    config,
    clients: { dynamo, sqs, kms },
    accounts,
    mappings: new DynamoMappingStore(main),
    books: new DynamoBookStore(main),
    protections: new DynamoProtectionStore(main),
    copies: new DynamoCopyStore(main, auditTable),
    copyContext: new DynamoCopyContextLoader(main),
    audit: new DynamoAuditLog(auditTable),
    demoTrades: new DynamoDemoTradeStore(main),
    tradeHistory: new DynamoTradeHistoryStore(main),
    rateLimiter: new DynamoRateLimiter(main),
    idempotency: new DynamoIdempotencyStore(main),
    oauthStates: new DynamoOAuthStateStore(main),
    ...(options.ctrader ? { ctraderOAuth: { ...options.ctrader.oauth, app: options.ctrader.app } } : {}),
    shardLeases: new DynamoShardLeaseStore(main),
    queue,
    deliveries: queue,
    cipher,
    brokers: new BrokerDirectory(gateways),
    log: keyedLog(options.log),
    metrics: options.metrics ?? noMetrics,
    quotas: { accounts: config.MAX_ACCOUNTS_PER_TENANT, mappings: config.MAX_MAPPINGS_PER_TENANT, slavesPerMaster: config.MAX_SLAVES_PER_MASTER },
    now: options.now ?? (() => new Date()),
    onCopyFinished: options.onCopyFinished,
    copyWorker: options.copyWorker,
  };
};

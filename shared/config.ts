import { z } from 'zod';

/**
 * The one place that reads the environment. Parsed once at cold start; a missing or
 * malformed setting fails the function before it touches a broker.
 */
const configSchema = z.object({
  TABLE_NAME: z.string().min(1),
  AUDIT_TABLE_NAME: z.string().min(1),
  COPY_QUEUE_URL: z.string().url(),
  KMS_KEY_ID: z.string().min(1),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  MASTER_POLL_INTERVAL_MS: z.coerce.number().int().min(100).default(5000),
  SLAVE_SYNC_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  SYNC_SHARDS: z.coerce.number().int().min(1).max(64).default(4),
  /** `on`: a sync invocation holds MetaApi streaming connections of its masters (polling stays the fallback). */
  MASTER_STREAMING: z.enum(['on', 'off']).default('on'),
  /** The most master streams one sync invocation holds (its memory is sized for them); unset: no limit. */
  SYNC_STREAM_CAPACITY: z.coerce.number().int().min(1).optional(),
  /** Every master is read over RPC this often, stream or not (funds, and anything a stream missed). */
  MASTER_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  /** How far back an account's deals are read the first time. */
  HISTORY_BACKFILL_DAYS: z.coerce.number().int().min(1).max(366).default(90),
  /** An account whose balance moved has its deals read again this long after the last read, at the soonest. */
  HISTORY_MIN_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  /** A master's deals (MetaApi credits next to its stream) at most this often. */
  MASTER_HISTORY_INTERVAL_MS: z.coerce.number().int().min(1000).default(600_000),
  /** Equity points are kept at most this often per account while its funds move. */
  EQUITY_POINT_INTERVAL_MS: z.coerce.number().int().min(1000).default(300_000),
  /** How long a copy the broker deferred (market closed, trading off) waits on the queue before it is tried again. */
  COPY_DEFER_SECONDS: z.coerce.number().int().min(1).max(900).default(60),
  METAAPI_TOKEN_SECRET_ARN: z.string().optional(),
  /** The cTrader Open API application's secret (`{"clientId","clientSecret"}`); unset: no cTrader accounts. */
  CTRADER_APP_SECRET_ARN: z.string().optional(),
  /** This API's cTrader OAuth callback, as registered with the application (set by the deployment from the API's address). */
  CTRADER_REDIRECT_URI: z.string().url().optional(),
  /** How long a function keeps the MetaApi token before it reads the secret again (a new token is picked up without a redeploy). */
  METAAPI_TOKEN_MAX_AGE_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
  /** Pins MetaApi to one region (e.g. `new-york`); unset: the account's own region. */
  METAAPI_REGION: z.string().min(1).optional(),
  /** Reliability of new MetaApi accounts: `high` runs two terminals and is billed twice. */
  METAAPI_RELIABILITY: z.enum(['regular', 'high']).default('regular'),
  /** `*`, one origin, or a comma-separated list of origins allowed to call the API from a browser. */
  CORS_ORIGIN: z.string().default('*'),
  /** Requests per tenant per minute on all authenticated routes but trading ones, across all instances. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(300),
  /** Requests per tenant per minute on routes that trade at a broker (place, modify, close, cancel). */
  TRADE_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  /** Limits per tenant: broker accounts, copy mappings, and slaves one master may be copied to. */
  MAX_ACCOUNTS_PER_TENANT: z.coerce.number().int().min(1).default(500),
  MAX_MAPPINGS_PER_TENANT: z.coerce.number().int().min(1).default(1000),
  MAX_SLAVES_PER_MASTER: z.coerce.number().int().min(1).default(500),
  /** Live events in AWS: the table of open WebSocket connections (connect and events functions only). */
  CONNECTIONS_TABLE_NAME: z.string().min(1).optional(),
  /** Live events in AWS: the WebSocket API stage's management endpoint (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`) the events function posts to. */
  EVENTS_CALLBACK_URL: z.string().url().optional(),
  /** Live events in AWS: the Cognito user pool and app client whose access tokens the `$connect` authorizer accepts. */
  USER_POOL_ID: z.string().min(1).optional(),
  USER_POOL_CLIENT_ID: z.string().min(1).optional(),
  /** Local runtime and tests only: endpoints of the emulators. Unset in AWS. */
  DYNAMODB_ENDPOINT: z.string().url().optional(),
  SQS_ENDPOINT: z.string().url().optional(),
  KMS_ENDPOINT: z.string().url().optional(),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const parseConfig = (env: Record<string, string | undefined>): Config => {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new ConfigError(`Invalid configuration: ${fields}`);
  }
  return parsed.data;
};

let cached: Config | undefined;

/** The configuration of this process, parsed from the environment on first use. */
export const config = (): Config => (cached ??= parseConfig(process.env));

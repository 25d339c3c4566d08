import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loggerFor, powertoolsLog } from '../shared/adapters/logging/powertools-log';
import { MetaApiCloud, metaApiTimeoutsFor } from '../shared/adapters/metaapi/metaapi-cloud';
import { metaApiGateways } from '../shared/adapters/metaapi/metaapi-gateway';
import { oandaHosts } from '../shared/adapters/oanda/oanda-gateway';
import { CTRADER_AUTH_URL, CTRADER_TOKEN_URL, ctraderHosts } from '../shared/adapters/ctrader/ctrader-gateway';
import type { CtraderApp } from '../shared/adapters/ctrader/ctrader-session';
import { BrokerError } from '../shared/domain/broker-errors';
import { cachedMetaApiToken, type MetaApiTokenLookup } from '../shared/adapters/metaapi/metaapi-token-secret';
import { emfMetrics } from '../shared/adapters/metrics/emf-metrics';
import { tracerFor, xrayTracing } from '../shared/adapters/tracing/xray-tracing';
import { UnavailableGateway } from '../shared/adapters/unavailable-gateway';
import { type Config, config } from '../shared/config';
import type { BrokerGateway } from '../shared/ports/broker';
import { createRuntime, type Runtime, type RuntimeOptions } from '../shared/runtime/runtime';

/** What a warm container keeps: its runtime, built for the token it read, and that token's MetaApi client. */
interface Container {
  runtime: Runtime;
  token: string | undefined;
  cloud: MetaApiCloud | undefined;
}

let container: Container | undefined;
let readToken: (() => Promise<MetaApiTokenLookup>) | undefined;
let pending: Promise<Runtime> | undefined;

/**
 * mt4 and mt5 through MetaApi when the token secret holds a token; otherwise gateways that
 * report why accounts cannot connect. The simulator runs only in the local runtime.
 */
const brokerGateways = (settings: Config, service: string, lookup: MetaApiTokenLookup): { gateways: Record<string, BrokerGateway>; cloud?: MetaApiCloud } => {
  const simulated = new UnavailableGateway('simulated', 'the simulated broker runs only in the local runtime');
  if (lookup.token === undefined) {
    return { gateways: { mt4: new UnavailableGateway('mt4', lookup.reason), mt5: new UnavailableGateway('mt5', lookup.reason), simulated } };
  }
  const cloud = new MetaApiCloud({
    token: lookup.token,
    region: settings.METAAPI_REGION,
    reliability: settings.METAAPI_RELIABILITY,
    timeouts: metaApiTimeoutsFor(service),
  });
  return { gateways: { ...metaApiGateways(cloud), simulated }, cloud };
};

let secrets: SecretsProvider | undefined;

/** How long before its expiry the sync renews a cTrader access token. */
const CTRADER_REFRESH_AHEAD_MS = 24 * 60 * 60_000;

/**
 * cTrader through the deployer's Open API application, its credentials read from Secrets
 * Manager (cached five minutes, so a replaced secret is taken up). A secret that does not hold
 * them yet (the placeholder) leaves `ctrader` accounts NOT_CONFIGURED, with the reason.
 */
const ctraderOptions = (settings: Config, secretArn: string, service: string): NonNullable<RuntimeOptions['ctrader']> => {
  const app = async (): Promise<CtraderApp> => {
    secrets ??= new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient({ region: settings.AWS_REGION }) });
    const value = (await secrets.get(secretArn, { maxAge: 300 })) as string | undefined;
    try {
      const parsed = JSON.parse(value ?? '') as Partial<CtraderApp>;
      if (typeof parsed.clientId === 'string' && parsed.clientId && typeof parsed.clientSecret === 'string' && parsed.clientSecret) {
        return { clientId: parsed.clientId, clientSecret: parsed.clientSecret };
      }
    } catch {
      // Not JSON yet: the placeholder.
    }
    throw new BrokerError('NOT_CONFIGURED', 'the cTrader application secret does not hold {"clientId","clientSecret"} yet');
  };
  return {
    hosts: ctraderHosts,
    app,
    oauth: { authUrl: CTRADER_AUTH_URL, tokenUrl: CTRADER_TOKEN_URL, redirectUri: () => settings.CTRADER_REDIRECT_URI ?? '' },
    // The sync renews tokens a day ahead (one owner per shard); copy and API refresh only a token cTrader refused.
    ...(service === 'sync' ? { refreshBeforeMs: CTRADER_REFRESH_AHEAD_MS } : {}),
  };
};

const build = async (service: string): Promise<Runtime> => {
  const settings = config();
  readToken ??= cachedMetaApiToken(
    settings.METAAPI_TOKEN_SECRET_ARN,
    new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient({ region: settings.AWS_REGION }) }),
    settings.METAAPI_TOKEN_MAX_AGE_SECONDS,
  );
  let lookup: MetaApiTokenLookup;
  try {
    lookup = await readToken();
  } catch (error) {
    // A warm container that cannot read the secret again keeps the token it has.
    if (!container) throw error;
    container.runtime.log.warn('MetaApi token not read again; keeping the one in use', { error });
    return container.runtime;
  }
  if (container && container.token === lookup.token) return container.runtime;
  const previous = container;
  const { gateways, cloud } = brokerGateways(settings, service, lookup);
  // EMF lines on stdout: CloudWatch Logs makes them metrics, with no API call on the way.
  const metrics = emfMetrics({ service: `mt-copier-${service}`, write: (line) => process.stdout.write(`${line}\n`) });
  const tracing = xrayTracing(tracerFor(service));
  container = {
    runtime: createRuntime(settings, {
      log: powertoolsLog(service, loggerFor(service)),
      metrics,
      tracing,
      gateways,
      oandaHosts,
      ...(settings.CTRADER_APP_SECRET_ARN ? { ctrader: ctraderOptions(settings, settings.CTRADER_APP_SECRET_ARN, service) } : {}),
    }),
    token: lookup.token,
    cloud,
  };
  if (previous) {
    // A new token (put in, or rotated): the old client's connections close; one invocation at a time runs in a container.
    container.runtime.log.info('MetaApi token changed: broker gateways rebuilt', { hadToken: previous.token !== undefined });
    await previous.cloud?.close().catch(() => undefined);
  }
  return container.runtime;
};

/**
 * The runtime of a Lambda container, built on the first invocation and reused while warm. The
 * MetaApi token is read again once it is older than `METAAPI_TOKEN_MAX_AGE_SECONDS`, and a new
 * one rebuilds the broker gateways. A cold start that fails (the secret could not be read) is
 * not kept: the next invocation tries again.
 */
export const lambdaRuntime = (service: string): Promise<Runtime> =>
  (pending ??= build(service).finally(() => {
    pending = undefined;
  }));

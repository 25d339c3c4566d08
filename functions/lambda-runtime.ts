import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { UnavailableGateway } from '../shared/adapters/unavailable-gateway';
import { powertoolsLog } from '../shared/adapters/logging/powertools-log';
import { emfMetrics } from '../shared/adapters/metrics/emf-metrics';
import { MetaApiCloud, metaApiTimeoutsFor } from '../shared/adapters/metaapi/metaapi-cloud';
import { metaApiGateways } from '../shared/adapters/metaapi/metaapi-gateway';
import { metaApiTokenFromSecret } from '../shared/adapters/metaapi/metaapi-token-secret';
import { config, type Config } from '../shared/config';
import type { BrokerGateway } from '../shared/ports/broker';
import { createRuntime, type Runtime } from '../shared/runtime/runtime';

let runtime: Promise<Runtime> | undefined;

/**
 * mt4 and mt5 through MetaApi when the token secret holds a token (read once per cold start;
 * the SDK and its connections then live as long as the container); otherwise gateways that
 * report why accounts cannot connect. The simulator runs only in the local runtime.
 */
const brokerGateways = async (settings: Config, service: string): Promise<Record<string, BrokerGateway>> => {
  const simulated = new UnavailableGateway('simulated', 'the simulated broker runs only in the local runtime');
  const lookup = await metaApiTokenFromSecret(settings.METAAPI_TOKEN_SECRET_ARN, () => new SecretsManagerClient({ region: settings.AWS_REGION }));
  if (lookup.token === undefined) return { mt4: new UnavailableGateway('mt4', lookup.reason), mt5: new UnavailableGateway('mt5', lookup.reason), simulated };
  const { token } = lookup;
  const cloud = new MetaApiCloud({ token, region: settings.METAAPI_REGION, reliability: settings.METAAPI_RELIABILITY, timeouts: metaApiTimeoutsFor(service) });
  return { ...metaApiGateways(cloud), simulated };
};

/**
 * The runtime of a Lambda container, built on the first invocation and reused while warm. A
 * cold start that fails (the secret could not be read) is not cached: the next invocation
 * tries again.
 */
export const lambdaRuntime = (service: string): Promise<Runtime> =>
  (runtime ??= (async () => {
    const settings = config();
    // EMF lines on stdout: CloudWatch Logs makes them metrics, with no API call on the way.
    const metrics = emfMetrics({ service: `mt-copier-${service}`, write: (line) => process.stdout.write(`${line}\n`) });
    return createRuntime(settings, { log: powertoolsLog(service), metrics, gateways: await brokerGateways(settings, service) });
  })().catch((error: unknown) => {
    runtime = undefined;
    throw error;
  }));

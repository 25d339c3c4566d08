import { UnavailableGateway } from '../shared/adapters/unavailable-gateway';
import { powertoolsLog } from '../shared/adapters/logging/powertools-log';
import { config } from '../shared/config';
import { createRuntime, type Runtime } from '../shared/runtime/runtime';

let runtime: Promise<Runtime> | undefined;

/**
 * The runtime of a Lambda container, built on the first invocation and reused while warm.
 * MetaApi arrives with the MetaApi adapter; until then mt4/mt5 accounts report why they
 * cannot connect. The simulator runs only in the local runtime.
 */
export const lambdaRuntime = (service: string): Promise<Runtime> =>
  (runtime ??= (async () =>
    createRuntime(config(), {
      log: powertoolsLog(service),
      gateways: {
        mt4: new UnavailableGateway('mt4', 'no MetaApi token is configured'),
        mt5: new UnavailableGateway('mt5', 'no MetaApi token is configured'),
        simulated: new UnavailableGateway('simulated', 'the simulated broker runs only in the local runtime'),
      },
    }))());

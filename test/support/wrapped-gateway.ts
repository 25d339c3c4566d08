import { SimulatedBrokerGateway } from '../../local/simulated-broker/simulated-broker-gateway';
import type { SimulatedMarket } from '../../local/simulated-broker/simulated-market';
import type { BrokerAccountRef, BrokerGateway, BrokerPort } from '../../shared/ports/broker';

/**
 * The simulated broker's gateway with some of each port's methods replaced: a test's broker
 * that hangs, is slow, or drops what a real broker would not carry. What `override` does not
 * name is the simulator's own.
 */
export const wrappedGateway = (market: SimulatedMarket, override: (port: BrokerPort, ref: BrokerAccountRef) => Partial<BrokerPort>): BrokerGateway => {
  const gateway = new SimulatedBrokerGateway(market);
  return {
    platform: 'simulated',
    provision: (ref, password) => gateway.provision(ref, password),
    updatePassword: (ref, password) => gateway.updatePassword(ref, password),
    deprovision: (ref) => gateway.deprovision(ref),
    connect: async (ref) => {
      const port = await gateway.connect(ref);
      return Object.assign(Object.create(port) as BrokerPort, override(port, ref));
    },
  };
};

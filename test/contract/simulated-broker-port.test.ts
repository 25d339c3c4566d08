import { SimulatedBrokerGateway } from '../../local/simulated-broker/simulated-broker-gateway';
import { SimulatedMarket } from '../../local/simulated-broker/simulated-market';
import { describeBrokerPortContract } from './broker-port.contract';

describeBrokerPortContract('the simulated broker', async () => {
  const market = new SimulatedMarket();
  const gateway = new SimulatedBrokerGateway(market);
  const ref = { tenantId: 'tenant-contract', accountId: 'acc-contract', platform: 'simulated', login: '1001', server: 'Simulated-Demo' };
  const { brokerAccountId } = await gateway.provision(ref, 'contract-password');
  const port = await gateway.connect({ ...ref, brokerAccountId });
  return { port, market, marketAccountId: ref.accountId, close: async () => undefined };
});

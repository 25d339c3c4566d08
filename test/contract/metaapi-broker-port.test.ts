import { expect } from 'vitest';
import { MetaApiCloud } from '../../shared/adapters/metaapi/metaapi-cloud';
import { metaApiGateways } from '../../shared/adapters/metaapi/metaapi-gateway';
import { fakeCloudOptions } from '../support/fake-metaapi/cloud-options';
import { FakeMetaApi } from '../support/fake-metaapi/fake-metaapi';
import { describeBrokerPortContract } from './broker-port.contract';

describeBrokerPortContract('MetaApi (the real SDK against the fake MetaApi server)', async () => {
  const fake = await FakeMetaApi.start();
  const cloud = new MetaApiCloud(fakeCloudOptions(fake));
  const marketAccountId = fake.addBrokerAccount({ server: 'FakeBroker-Demo', login: '50001', password: 'contract-password' });
  const gateway = metaApiGateways(cloud).mt5;
  const ref = { tenantId: 'tenant-contract', accountId: 'acc-contract', platform: 'mt5', login: '50001', server: 'FakeBroker-Demo' };
  const provisioned = await gateway.provision(ref, 'contract-password');
  expect(provisioned.status).toBe('connected');
  const port = await gateway.connect({ ...ref, brokerAccountId: provisioned.brokerAccountId });
  return {
    port,
    market: fake.market,
    marketAccountId,
    close: async () => {
      await cloud.close();
      await fake.stop();
    },
  };
});

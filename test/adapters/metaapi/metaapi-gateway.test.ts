import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MetaApiCloud } from '../../../shared/adapters/metaapi/metaapi-cloud';
import { metaApiGateways, type MetaApiBrokerGateway } from '../../../shared/adapters/metaapi/metaapi-gateway';
import type { BrokerAccountRef } from '../../../shared/ports/broker';
import { fakeCloudOptions } from '../../support/fake-metaapi/cloud-options';
import { FakeMetaApi } from '../../support/fake-metaapi/fake-metaapi';

const SERVER = 'FakeBroker-Demo';
let sequence = 0;

const refFor = (login: string, platform = 'mt5'): BrokerAccountRef => ({
  tenantId: 'tenant-a',
  accountId: `acc_gateway${(sequence += 1)}`,
  platform,
  login,
  server: SERVER,
});

describe('MetaApiBrokerGateway: accounts at MetaApi', () => {
  let fake: FakeMetaApi;
  let cloud: MetaApiCloud;
  let mt5: MetaApiBrokerGateway;
  let mt4: MetaApiBrokerGateway;
  const clouds: MetaApiCloud[] = [];

  beforeAll(async () => {
    fake = await FakeMetaApi.start({ validationPolls: 1, deployPolls: 1, connectPolls: 1 });
    cloud = new MetaApiCloud(fakeCloudOptions(fake));
    ({ mt4, mt5 } = metaApiGateways(cloud));
  });

  afterEach(async () => {
    await Promise.all(clouds.splice(0).map((other) => other.close()));
  });

  afterAll(async () => {
    await cloud?.close();
    await fake?.stop();
  });

  it('creates the account with its platform, waits out the credential check, deploys it and follows it to connected', async () => {
    fake.addBrokerAccount({ server: SERVER, login: '1001', password: 'secret-1001' });
    const ref = refFor('1001', 'mt4');
    const result = await mt4.provision(ref, 'secret-1001');

    const account = fake.accountByLogin('1001')!;
    expect(result).toEqual({ brokerAccountId: account._id, status: 'connected' });
    expect(account).toMatchObject({
      name: `mt-copier ${ref.accountId}`,
      platform: 'mt4',
      server: SERVER,
      type: 'cloud-g2',
      state: 'DEPLOYED',
      connectionStatus: 'CONNECTED',
      metadata: { tenantId: 'tenant-a', accountId: ref.accountId },
    });
    // The first create was answered 202 (broker settings detection): the SDK sent it again.
    expect(fake.httpRequests.filter((request) => request.method === 'POST' && request.path === '/users/current/accounts')).toHaveLength(2);
  });

  it("reports a wrong password as an error with the broker's reason, and creates nothing", async () => {
    fake.addBrokerAccount({ server: SERVER, login: '1002', password: 'right' });
    const result = await mt5.provision(refFor('1002'), 'wrong');
    expect(result.status).toBe('error');
    expect(result.statusDetail).toMatch(/refused the login and password \(E_AUTH\)/);
    expect(result.statusDetail).not.toContain('wrong');
    expect(result.brokerAccountId).toBeUndefined();
    expect(fake.accountByLogin('1002')).toBeUndefined();
  });

  it('reports a server MetaApi does not know, with the servers it suggests', async () => {
    const result = await mt5.provision({ ...refFor('1003'), server: 'NoSuchBroker-Live' }, 'whatever');
    expect(result.status).toBe('error');
    expect(result.statusDetail).toContain('E_SRV_NOT_FOUND');
    expect(result.statusDetail).toContain(SERVER);
  });

  it('answers connecting with the MetaApi id when deployment outlasts the request budget', async () => {
    const slow = await FakeMetaApi.start({ validationPolls: 0, deployPolls: 1_000 });
    const slowCloud = new MetaApiCloud(fakeCloudOptions(slow, { provisionMs: 400 }));
    clouds.push(slowCloud);
    try {
      slow.addBrokerAccount({ server: SERVER, login: '1004', password: 'p' });
      const started = Date.now();
      const result = await metaApiGateways(slowCloud).mt5.provision(refFor('1004'), 'p');
      expect(Date.now() - started).toBeLessThan(1_500);
      expect(result).toMatchObject({ status: 'connecting', brokerAccountId: slow.accountByLogin('1004')!._id });
      expect(result.statusDetail).toContain('deploying');
    } finally {
      await slowCloud.close();
      await slow.stop();
    }
  });

  it('finds an account it created earlier by its name instead of creating it twice', async () => {
    fake.addBrokerAccount({ server: SERVER, login: '1005', password: 'p5' });
    const ref = refFor('1005');
    const first = await mt5.provision(ref, 'p5');
    // The answer was lost: the system does not know the MetaApi id and provisions again.
    const second = await mt5.provision(ref, 'p5');
    expect(second).toMatchObject({ status: 'connected', brokerAccountId: first.brokerAccountId });
    expect([...fake.accounts.values()].filter((account) => account.login === '1005')).toHaveLength(1);
  });

  it('updates the password at MetaApi and redeploys; a wrong new password is reported with its reason', async () => {
    fake.addBrokerAccount({ server: SERVER, login: '1006', password: 'old' });
    const ref = refFor('1006');
    const { brokerAccountId } = await mt5.provision(ref, 'old');
    fake.changeBrokerPassword(SERVER, '1006', 'new');

    const refused = await mt5.updatePassword({ ...ref, brokerAccountId }, 'typo');
    expect(refused).toMatchObject({ status: 'error', brokerAccountId });
    expect(refused.statusDetail).toContain('E_AUTH');

    const updated = await mt5.updatePassword({ ...ref, brokerAccountId }, 'new');
    expect(updated).toEqual({ brokerAccountId, status: 'connected' });
    expect(fake.accounts.get(brokerAccountId!)!.password).toBe('new');
    expect(fake.httpRequests).toContainEqual({ method: 'POST', path: `/users/current/accounts/${brokerAccountId}/redeploy` });
  });

  it('provisions on a password update when MetaApi does not have the account yet', async () => {
    fake.addBrokerAccount({ server: SERVER, login: '1007', password: 'p7' });
    const result = await mt5.updatePassword(refFor('1007'), 'p7');
    expect(result).toMatchObject({ status: 'connected', brokerAccountId: fake.accountByLogin('1007')!._id });
  });

  it('undeploys and removes the account at MetaApi; removing it again does nothing', async () => {
    fake.addBrokerAccount({ server: SERVER, login: '1008', password: 'p8' });
    const ref = refFor('1008');
    const { brokerAccountId } = await mt5.provision(ref, 'p8');
    const port = await mt5.connect({ ...ref, brokerAccountId });
    expect((await port.getAccountInformation()).balance).toBe(10_000);

    await mt5.deprovision({ ...ref, brokerAccountId });
    expect(fake.accounts.has(brokerAccountId!)).toBe(false);
    expect(fake.httpRequests).toContainEqual({ method: 'POST', path: `/users/current/accounts/${brokerAccountId}/undeploy` });
    expect(fake.httpRequests).toContainEqual({ method: 'DELETE', path: `/users/current/accounts/${brokerAccountId}` });
    await expect(mt5.deprovision({ ...ref, brokerAccountId })).resolves.toBeUndefined();
  });

  it('reports a token MetaApi refuses', async () => {
    const refusedCloud = new MetaApiCloud({ ...fakeCloudOptions(fake), token: 'not.the.token' });
    clouds.push(refusedCloud);
    fake.addBrokerAccount({ server: SERVER, login: '1009', password: 'p9' });
    const result = await metaApiGateways(refusedCloud).mt5.provision(refFor('1009'), 'p9');
    expect(result).toEqual({ status: 'error', statusDetail: 'MetaApi refused the API token: check the token this deployment uses' });
  });

  it("reports MetaApi's throttling of account creation", async () => {
    fake.addBrokerAccount({ server: SERVER, login: '1010', password: 'p10' });
    fake.failNextHttp('POST', /^\/users\/current\/accounts$/, 429, {
      id: 1,
      error: 'TooManyRequestsError',
      message: 'You have used all your account creation quota',
      metadata: { recommendedRetryTime: new Date(Date.now() + 60_000).toISOString(), type: 'LIMIT_ACCOUNT_CREATION' },
    });
    const result = await mt5.provision(refFor('1010'), 'p10');
    expect(result.status).toBe('error');
    expect(result.statusDetail).toContain('throttled');
  });
});

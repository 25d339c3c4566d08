import { TracedGateway } from '../../../shared/adapters/tracing/traced-broker';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MetaApiBrokerGateway } from '../../../shared/adapters/metaapi/metaapi-gateway';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { cachedMetaApiToken, isMetaApiToken, readMetaApiToken } from '../../../shared/adapters/metaapi/metaapi-token-secret';
import { UnavailableGateway } from '../../../shared/adapters/unavailable-gateway';
import { FAKE_METAAPI_TOKEN } from '../../support/fake-metaapi/fake-metaapi';
import { SecretsManagerStub } from '../../support/fake-metaapi/secrets-manager-stub';

const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:dev/mt-copier/metaapi-token-AbCdEf';
/** What the stateful stack creates the secret with before anyone puts the token in. */
const PLACEHOLDER = 'Xq3v-placeholder-9hJ2kLmN0pQrStUv';

describe('the MetaApi token in Secrets Manager', () => {
  let stub: SecretsManagerStub;
  const client = () =>
    new SecretsManagerClient({ region: 'us-east-1', endpoint: stub.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

  const provider = () => new SecretsProvider({ awsSdkV3Client: client() });

  beforeAll(async () => {
    stub = await SecretsManagerStub.start();
  });

  afterEach(() => {
    stub.secrets.clear();
    stub.reads.length = 0;
    stub.failWith = undefined;
  });

  afterAll(async () => {
    await stub?.stop();
  });

  it('reads the token, also from a JSON secret, and treats the placeholder as no token', async () => {
    stub.secrets.set(ARN, `  ${FAKE_METAAPI_TOKEN}\n`);
    expect(await readMetaApiToken(client(), ARN)).toBe(FAKE_METAAPI_TOKEN);
    stub.secrets.set(ARN, JSON.stringify({ token: FAKE_METAAPI_TOKEN }));
    expect(await readMetaApiToken(client(), ARN)).toBe(FAKE_METAAPI_TOKEN);
    stub.secrets.set(ARN, PLACEHOLDER);
    expect(await readMetaApiToken(client(), ARN)).toBeUndefined();
    expect(isMetaApiToken('account-token-without-dots')).toBe(false);
  });

  it('says why there is no token: no secret configured (no read at all), or a secret still holding its placeholder', async () => {
    expect(await cachedMetaApiToken(undefined, provider(), 5)()).toEqual({ reason: 'no MetaApi token is configured' });
    expect(stub.reads).toEqual([]);
    stub.secrets.set(ARN, PLACEHOLDER);
    const placeholder = await cachedMetaApiToken(ARN, provider(), 5)();
    expect(placeholder.token).toBeUndefined();
    expect(placeholder.reason).toMatch(/no MetaApi token is configured: .*put-secret-value/);
  });

  it('fails loudly when the secret cannot be read', async () => {
    stub.failWith = 'AccessDeniedException';
    await expect(cachedMetaApiToken(ARN, provider(), 5)()).rejects.toMatchObject({ message: expect.stringContaining('AccessDeniedException') });
  });

  describe('the Lambda runtime', () => {
    const saved = { ...process.env };

    const environment = () => {
      Object.assign(process.env, {
        TABLE_NAME: 'main',
        AUDIT_TABLE_NAME: 'audit',
        COPY_QUEUE_URL: 'http://127.0.0.1:9/queue/copy.fifo',
        KMS_KEY_ID: 'key',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        METAAPI_TOKEN_SECRET_ARN: ARN,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: stub.endpoint,
      });
    };

    /**
     * The class of a gateway (a fresh module graph has classes of its own, so not instanceof).
     * The runtime traces every gateway: the kind is that of the gateway traced.
     */
    const kindOf = (gateway: object) => {
      expect(gateway.constructor.name).toBe(TracedGateway.name);
      return (gateway as TracedGateway).inner.constructor.name;
    };

    /** A fresh module graph: a new container's cold start. */
    const coldStart = async () => {
      vi.resetModules();
      return (await import('../../../functions/lambda-runtime')).lambdaRuntime;
    };

    afterEach(() => {
      process.env = { ...saved };
    });

    it('trades mt4 and mt5 through MetaApi with the token read once per cold start, kept out of the environment', async () => {
      environment();
      stub.secrets.set(ARN, FAKE_METAAPI_TOKEN);
      const lambdaRuntime = await coldStart();
      const runtime = await lambdaRuntime('sync');
      await lambdaRuntime('sync');
      expect(kindOf(runtime.brokers.gateway('mt5'))).toBe(MetaApiBrokerGateway.name);
      expect(runtime.brokers.gateway('mt4')).toMatchObject({ platform: 'mt4' });
      expect(kindOf(runtime.brokers.gateway('mt4'))).toBe(MetaApiBrokerGateway.name);
      expect(stub.reads).toEqual([ARN]);
      expect(Object.values(process.env)).not.toContain(FAKE_METAAPI_TOKEN);
    });

    it('keeps mt4/mt5 accounts in error with the reason while the secret holds its placeholder', async () => {
      environment();
      stub.secrets.set(ARN, PLACEHOLDER);
      const runtime = await (await coldStart())('api');
      const gateway = runtime.brokers.gateway('mt5');
      expect(kindOf(gateway)).toBe(UnavailableGateway.name);
      const result = await gateway.provision({ tenantId: 't', accountId: 'a', platform: 'mt5', login: '1', server: 's' }, 'p');
      expect(result.status).toBe('error');
      expect(result.statusDetail).toMatch(/^no MetaApi token is configured/);
    });

    it('picks up a token put into the secret without a redeploy, once the kept value is older than its max age', async () => {
      environment();
      process.env.METAAPI_TOKEN_MAX_AGE_SECONDS = '1';
      stub.secrets.set(ARN, PLACEHOLDER);
      const lambdaRuntime = await coldStart();
      const first = await lambdaRuntime('api');
      expect(kindOf(first.brokers.gateway('mt5'))).toBe(UnavailableGateway.name);
      stub.secrets.set(ARN, FAKE_METAAPI_TOKEN);
      // Within the max age: the kept value, the same runtime, no read.
      expect(await lambdaRuntime('api')).toBe(first);
      expect(stub.reads).toEqual([ARN]);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const second = await lambdaRuntime('api');
      expect(second).not.toBe(first);
      expect(kindOf(second.brokers.gateway('mt5'))).toBe(MetaApiBrokerGateway.name);
      // The token did not change again: the runtime stays, however often the secret is read.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await lambdaRuntime('api')).toBe(second);
      expect(stub.reads).toEqual([ARN, ARN, ARN]);
    });

    it('keeps a warm runtime when the secret cannot be read again', async () => {
      environment();
      process.env.METAAPI_TOKEN_MAX_AGE_SECONDS = '1';
      stub.secrets.set(ARN, FAKE_METAAPI_TOKEN);
      const lambdaRuntime = await coldStart();
      const warm = await lambdaRuntime('copy');
      stub.failWith = 'InternalServiceError';
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await lambdaRuntime('copy')).toBe(warm);
    });

    it('does not keep a failed cold start: the next invocation reads the secret again', async () => {
      environment();
      stub.failWith = 'InternalServiceError';
      const lambdaRuntime = await coldStart();
      // Powertools' secrets provider says which read failed, with the service's error in its message.
      await expect(lambdaRuntime('copy')).rejects.toMatchObject({ name: 'GetParameterError', message: expect.stringContaining('InternalServiceError') });
      stub.failWith = undefined;
      stub.secrets.set(ARN, FAKE_METAAPI_TOKEN);
      const runtime = await lambdaRuntime('copy');
      expect(kindOf(runtime.brokers.gateway('mt5'))).toBe(MetaApiBrokerGateway.name);
    });
  });
});

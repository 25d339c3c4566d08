import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** A MetaApi API token is a JWT: three dot-separated base64url parts (account tokens cannot manage accounts). */
export const isMetaApiToken = (value: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(value);

/**
 * The MetaApi token from Secrets Manager: the secret's string, or its `token` field when it
 * holds JSON. Undefined while the secret still holds the random placeholder the stack created
 * it with. Read once per cold start; the value is never logged or put into the environment.
 */
export const readMetaApiToken = async (client: SecretsManagerClient, secretId: string): Promise<string | undefined> => {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  let value = (SecretString ?? '').trim();
  if (value.startsWith('{')) {
    try {
      const parsed = JSON.parse(value) as { token?: unknown };
      value = typeof parsed.token === 'string' ? parsed.token.trim() : '';
    } catch {
      value = '';
    }
  }
  return isMetaApiToken(value) ? value : undefined;
};

/** Why mt4 and mt5 accounts cannot connect while there is no token. */
export const NO_TOKEN_REASON = 'no MetaApi token is configured';

/** The token when the secret holds one; otherwise why there is none, for the accounts' status. */
export type MetaApiTokenLookup = { token: string; reason?: undefined } | { token?: undefined; reason: string };

/**
 * The token a Lambda container uses, from the secret `secretArn` names: none (with the
 * reason) when no secret is configured or it still holds its placeholder. A failure to read
 * the secret is thrown, so the container does not settle for running without MetaApi.
 */
export const metaApiTokenFromSecret = async (secretArn: string | undefined, client: () => SecretsManagerClient): Promise<MetaApiTokenLookup> => {
  if (!secretArn) return { reason: NO_TOKEN_REASON };
  const token = await readMetaApiToken(client(), secretArn);
  return token ? { token } : { reason: `${NO_TOKEN_REASON}: the secret holds no MetaApi API token yet (put it with aws secretsmanager put-secret-value)` };
};

import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
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
  return metaApiTokenIn(SecretString);
};

/** The token a secret's string holds (itself, or the `token` field of JSON), if it is one. */
export const metaApiTokenIn = (secretString: string | undefined): string | undefined => {
  let value = (secretString ?? '').trim();
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

const lookupOf = (token: string | undefined): MetaApiTokenLookup =>
  token ? { token } : { reason: `${NO_TOKEN_REASON}: the secret holds no MetaApi API token yet (put it with aws secretsmanager put-secret-value)` };

/**
 * The token a Lambda container uses, from the secret `secretArn` names: none (with the reason)
 * when no secret is configured or it still holds its placeholder. Read through Powertools'
 * secrets provider, which keeps a value `maxAgeSeconds` and reads the secret again after that,
 * so a token put into the secret (or rotated) is picked up without a redeploy. A failure to
 * read is thrown, so a cold start does not settle for running without MetaApi.
 */
export const cachedMetaApiToken =
  (secretArn: string | undefined, provider: SecretsProvider, maxAgeSeconds: number) => async (): Promise<MetaApiTokenLookup> => {
    if (!secretArn) return { reason: NO_TOKEN_REASON };
    const value = await provider.get(secretArn, { maxAge: maxAgeSeconds });
    return lookupOf(metaApiTokenIn(typeof value === 'string' ? value : undefined));
  };

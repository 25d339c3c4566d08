import { randomUUID } from 'node:crypto';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessTokenVerifier, authorizeConnection, ConnectionUnauthorizedError } from '../../functions/events/connection-authorizer';
import type { Log } from '../../shared/ports/log';

const USER_POOL_ID = 'us-east-1_LiveTest1';
const CLIENT_ID = 'live-events-client';
const ISSUER = `https://cognito-idp.us-east-1.amazonaws.com/${USER_POOL_ID}`;
const KEY_ID = 'pool-key-1';
const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/v1/$connect';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/**
 * The `$connect` authorizer with the real `aws-jwt-verify` Cognito verifier, given the pool's
 * JWKS in advance (`cacheJwks`, as it would have fetched it), and tokens signed with `jose`
 * the way Cognito signs them (RS256, the pool's key id).
 */
describe('the live events $connect authorizer', () => {
  let poolKey: PrivateKey;
  let otherKey: PrivateKey;
  let verifier: ReturnType<typeof accessTokenVerifier>;
  const lines: string[] = [];
  const log: Log = {
    debug: (message, attributes) => lines.push(JSON.stringify({ message, attributes })),
    info: (message, attributes) => lines.push(JSON.stringify({ message, attributes })),
    warn: (message, attributes) => lines.push(JSON.stringify({ message, attributes })),
    error: (message, attributes) => lines.push(JSON.stringify({ message, attributes })),
  };

  beforeAll(async () => {
    const pool = await generateKeyPair('RS256', { extractable: true });
    poolKey = pool.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    const jwk: JWK = { ...(await exportJWK(pool.publicKey)), kid: KEY_ID, alg: 'RS256', use: 'sig' };
    verifier = accessTokenVerifier(USER_POOL_ID, CLIENT_ID);
    verifier.cacheJwks({ keys: [jwk as never] });
  });

  /** A Cognito access token of `sub`, as the pool issues it; `claims` overrides what a test needs wrong. */
  const token = (sub: string, claims: Record<string, unknown> = {}, options: { key?: PrivateKey; expiresIn?: number } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      sub,
      iss: ISSUER,
      token_use: 'access',
      client_id: CLIENT_ID,
      scope: 'aws.cognito.signin.user.admin',
      auth_time: now,
      iat: now - 60,
      exp: options.expiresIn ?? now + 3600,
      username: sub,
      jti: randomUUID(),
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', kid: KEY_ID })
      .sign(options.key ?? poolKey);
  };

  const connectEvent = (query: Record<string, string> | null): APIGatewayRequestAuthorizerEvent =>
    ({
      type: 'REQUEST',
      methodArn: METHOD_ARN,
      headers: { Host: 'abcdef1234.execute-api.us-east-1.amazonaws.com' },
      queryStringParameters: query,
      requestContext: { routeKey: '$connect', eventType: 'CONNECT', connectionId: 'conn-1=', stage: 'v1' },
    }) as unknown as APIGatewayRequestAuthorizerEvent;

  const refusal = async (query: Record<string, string> | null): Promise<unknown> => {
    try {
      await authorizeConnection(verifier, connectEvent(query), log);
    } catch (error) {
      return error;
    }
    throw new Error('the connection was allowed');
  };

  it("allows a valid access token of the pool's client, with its sub as the connection's tenant", async () => {
    const tenantId = `tenant-${randomUUID()}`;
    const result = await authorizeConnection(verifier, connectEvent({ token: await token(tenantId) }), log);
    expect(result).toEqual({
      principalId: tenantId,
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: METHOD_ARN }] },
      context: { tenantId },
    });
  });

  it.each([
    ['an expired token', () => token('tenant-a', {}, { expiresIn: Math.floor(Date.now() / 1000) - 1 })],
    ["another app client's token", () => token('tenant-a', { client_id: 'another-client' })],
    ['an id token of the same pool and client', () => token('tenant-a', { token_use: 'id', client_id: undefined, aud: CLIENT_ID })],
    ['a token of another pool', () => token('tenant-a', { iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other' })],
    ["a token signed by another key under the pool's key id", () => token('tenant-a', {}, { key: otherKey })],
    [
      'a token with its payload changed',
      async () => {
        const [header, , signature] = (await token('tenant-a')).split('.');
        const forged = Buffer.from(JSON.stringify({ sub: 'tenant-b', token_use: 'access', client_id: CLIENT_ID, iss: ISSUER, exp: 9_999_999_999 })).toString(
          'base64url',
        );
        return `${header}.${forged}.${signature}`;
      },
    ],
    ['garbage', async () => 'not-a-jwt'],
  ])('refuses %s with Unauthorized (401), and never logs the token', async (_case, make) => {
    const bad = await make();
    lines.length = 0;
    const error = await refusal({ token: bad });
    expect(error).toBeInstanceOf(ConnectionUnauthorizedError);
    expect((error as Error).message).toBe('Unauthorized');
    expect(lines).toHaveLength(1);
    expect(lines.join('\n')).not.toContain(bad);
    expect(lines.join('\n')).not.toContain(bad.split('.')[1] ?? bad);
  });

  it('refuses a connection with no token at all (no query, or no token in it)', async () => {
    expect(await refusal(null)).toBeInstanceOf(ConnectionUnauthorizedError);
    expect(await refusal({ other: 'value' })).toBeInstanceOf(ConnectionUnauthorizedError);
    expect(await refusal({ token: '' })).toBeInstanceOf(ConnectionUnauthorizedError);
  });
});

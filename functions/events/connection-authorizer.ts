import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import type { Log } from '../../shared/ports/log';

/** Verifies Cognito access tokens of one app client (signature against the pool's JWKS, issuer, expiry, `token_use`, `client_id`). */
export const accessTokenVerifier = (userPoolId: string, clientId: string) => CognitoJwtVerifier.create({ userPoolId, tokenUse: 'access', clientId });

export type AccessTokenVerifier = Pick<ReturnType<typeof accessTokenVerifier>, 'verify'>;

/** Thrown to refuse a connection: API Gateway answers 401 for exactly the message `Unauthorized`. */
export class ConnectionUnauthorizedError extends Error {
  override readonly name = 'ConnectionUnauthorizedError';
  constructor(cause?: unknown) {
    super('Unauthorized', { cause });
  }
}

/**
 * The `$connect` authorizer of the live events WebSocket: browsers cannot set headers on a
 * WebSocket, so the access token comes as `?token=`. A token that verifies allows the
 * connection, with its `sub` as the connection's tenant (`context.tenantId`); anything else
 * (no token, expired, another client's, an id token, not a JWT) is refused. The token is
 * never logged, only why it was refused.
 */
export const authorizeConnection = async (
  verifier: AccessTokenVerifier,
  event: APIGatewayRequestAuthorizerEvent,
  log: Log,
): Promise<APIGatewayAuthorizerResult> => {
  const token = event.queryStringParameters?.token;
  if (!token) {
    log.info('live connection refused', { reason: 'NO_TOKEN' });
    throw new ConnectionUnauthorizedError();
  }
  let tenantId: string;
  try {
    tenantId = (await verifier.verify(token)).sub;
  } catch (error) {
    // The error's name only: its message may quote the token's claims.
    log.info('live connection refused', { reason: error instanceof Error ? error.name : 'INVALID_TOKEN' });
    throw new ConnectionUnauthorizedError();
  }
  return {
    principalId: tenantId,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] },
    context: { tenantId },
  };
};

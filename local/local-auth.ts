import { SignJWT, jwtVerify } from 'jose';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { required } from '../shared/domain/required';

const ISSUER = 'mt-copier-local';
const AUDIENCE = 'mt-copier';

/**
 * Tokens of the local runtime, standing in for the Cognito JWT authorizer: HS256 with a
 * secret kept under DATA_DIR (so tokens survive a restart), claims shaped like Cognito's.
 */
export class LocalAuth {
  private constructor(private readonly secret: Uint8Array) {}

  static open(secretPath: string): LocalAuth {
    if (!existsSync(secretPath)) {
      mkdirSync(dirname(secretPath), { recursive: true });
      writeFileSync(secretPath, randomBytes(32).toString('base64'), { mode: 0o600 });
    }
    return new LocalAuth(Buffer.from(readFileSync(secretPath, 'utf8'), 'base64'));
  }

  issue(sub: string, ttlSeconds = 12 * 3600): Promise<string> {
    return new SignJWT({ token_use: 'access', scope: 'copier' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(sub)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.secret);
  }

  /** The verified claims of a bearer token, or undefined when it is missing, forged or expired. */
  async verify(authorization: string | undefined): Promise<Record<string, string | number> | undefined> {
    const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    if (!match) return undefined;
    try {
      const { payload } = await jwtVerify(required(match[1], 'a bearer token'), this.secret, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      return Object.fromEntries(Object.entries(payload).filter(([, v]) => typeof v === 'string' || typeof v === 'number')) as Record<string, string | number>;
    } catch {
      return undefined;
    }
  }
}

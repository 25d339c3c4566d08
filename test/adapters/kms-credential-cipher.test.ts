import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_KMS_CREDENTIALS, LOCAL_KMS_REGION, startLocalKms, type RunningLocalKms } from '../../local/emulators/local-kms';
import { CredentialDecryptionError, KmsCredentialCipher } from '../../shared/adapters/kms/kms-credential-cipher';

const A1 = { tenantId: 'tenant-a', accountId: 'account-1' };
const A2 = { tenantId: 'tenant-a', accountId: 'account-2' };
const B1 = { tenantId: 'tenant-b', accountId: 'account-1' };
const PASSWORD = 'broker-password-Zq7!x9#long-enough-to-never-appear-by-chance';

let kms: RunningLocalKms;
let client: KMSClient;
let cipher: KmsCredentialCipher;

beforeAll(async () => {
  kms = await startLocalKms({ port: 0 });
  client = new KMSClient({ endpoint: kms.endpoint, region: LOCAL_KMS_REGION, credentials: LOCAL_KMS_CREDENTIALS });
  cipher = new KmsCredentialCipher({ client, keyId: await kms.createKey() });
});

afterAll(async () => {
  client?.destroy();
  await kms?.stop();
});

/** Flips one bit of the byte at `index` of a base64 ciphertext. */
const flipBit = (ciphertext: string, index: number): string => {
  const bytes = Buffer.from(ciphertext, 'base64');
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return bytes.toString('base64');
};

const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
};

describe('KmsCredentialCipher', () => {
  it('decrypts for (tenant A, account 1) what it encrypted for (tenant A, account 1)', async () => {
    const ciphertext = await cipher.encrypt(PASSWORD, A1);

    expect(await cipher.decrypt(ciphertext, A1)).toBe(PASSWORD);
  });

  it('round-trips non-ASCII passwords byte for byte', async () => {
    const password = 'pässwörd-日本-🔑';

    expect(await cipher.decrypt(await cipher.encrypt(password, A1), A1)).toBe(password);
  });

  it('refuses to decrypt a ciphertext of (A, 1) as (A, 2)', async () => {
    const ciphertext = await cipher.encrypt(PASSWORD, A1);

    await expect(cipher.decrypt(ciphertext, A2)).rejects.toBeInstanceOf(CredentialDecryptionError);
  });

  it('refuses to decrypt a ciphertext of (A, 1) as (B, 1)', async () => {
    const ciphertext = await cipher.encrypt(PASSWORD, A1);

    await expect(cipher.decrypt(ciphertext, B1)).rejects.toBeInstanceOf(CredentialDecryptionError);
  });

  it('refuses a ciphertext with one bit flipped in any byte', async () => {
    const ciphertext = await cipher.encrypt(PASSWORD, A1);
    const length = Buffer.from(ciphertext, 'base64').length;

    for (let index = 0; index < length; index += 1) {
      await expect(cipher.decrypt(flipBit(ciphertext, index), A1), `byte ${index}`).rejects.toBeInstanceOf(CredentialDecryptionError);
    }
  });

  it('refuses a truncated ciphertext', async () => {
    const bytes = Buffer.from(await cipher.encrypt(PASSWORD, A1), 'base64');

    await expect(cipher.decrypt(bytes.subarray(0, -1).toString('base64'), A1)).rejects.toBeInstanceOf(CredentialDecryptionError);
  });

  it('refuses a ciphertext made under another key with the same context', async () => {
    const otherCipher = new KmsCredentialCipher({ client, keyId: await kms.createKey() });
    const ciphertext = await otherCipher.encrypt(PASSWORD, A1);

    await expect(cipher.decrypt(ciphertext, A1)).rejects.toBeInstanceOf(CredentialDecryptionError);
  });

  it('refuses a string that is not base64 without calling KMS', async () => {
    await expect(cipher.decrypt('not base64 at all!', A1)).rejects.toBeInstanceOf(CredentialDecryptionError);
  });

  it('names the error, keeps the KMS error as cause and leaks neither ciphertext nor plaintext', async () => {
    const ciphertext = await cipher.encrypt(PASSWORD, A1);

    const error = await rejection(cipher.decrypt(ciphertext, B1));

    expect(error).toBeInstanceOf(CredentialDecryptionError);
    const decryptionError = error as CredentialDecryptionError;
    expect(decryptionError.name).toBe('CredentialDecryptionError');
    expect((decryptionError.cause as Error).name).toBe('InvalidCiphertextException');
    const shown = `${decryptionError.message} ${decryptionError.stack ?? ''} ${JSON.stringify(decryptionError)}`;
    expect(shown).not.toContain(ciphertext);
    expect(shown).not.toContain(ciphertext.slice(0, 24));
    expect(shown).not.toContain(PASSWORD);
  });

  it('produces a ciphertext that contains the plaintext neither raw nor in base64', async () => {
    const ciphertext = await cipher.encrypt(PASSWORD, A1);
    const bytes = Buffer.from(ciphertext, 'base64');
    const plaintextBase64 = Buffer.from(PASSWORD, 'utf8').toString('base64').replace(/=+$/, '');

    expect(bytes.includes(Buffer.from(PASSWORD, 'utf8'))).toBe(false);
    expect(bytes.includes(Buffer.from(plaintextBase64, 'ascii'))).toBe(false);
    expect(ciphertext).not.toContain(plaintextBase64);
    expect(ciphertext).not.toContain(PASSWORD);
    // A middle slice of the password would survive any base64 realignment.
    expect(bytes.includes(Buffer.from(PASSWORD.slice(10, 30), 'utf8'))).toBe(false);
  });

  it('encrypts the same password differently each time', async () => {
    const first = await cipher.encrypt(PASSWORD, A1);
    const second = await cipher.encrypt(PASSWORD, A1);

    expect(first).not.toBe(second);
  });
});

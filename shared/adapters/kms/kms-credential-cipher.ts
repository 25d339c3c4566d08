import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { CREDENTIAL_PURPOSE, type CredentialCipher, type CredentialContext } from '../../ports/credential-cipher';

/** What every broker-credential ciphertext is bound to, besides its owner. */
const PURPOSE = CREDENTIAL_PURPOSE;

/**
 * KMS errors that say this ciphertext will never decrypt for this caller: wrong context or
 * key, tampered blob, no permission, key disabled or gone. Anything else (throttling, network,
 * KMS internal errors) is transient and is rethrown unchanged so the caller's retry applies.
 */
const PERMANENT_DECRYPT_FAILURES = new Set([
  'InvalidCiphertextException',
  'IncorrectKeyException',
  'AccessDeniedException',
  'NotFoundException',
  'DisabledException',
  'KMSInvalidStateException',
  'InvalidKeyUsageException',
  'InvalidGrantTokenException',
  'ValidationException',
]);

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A broker credential cannot be decrypted for the (tenant, account) that asked: it was
 * encrypted for someone else, tampered with, or the key refuses. Permanent: retrying does not
 * help. The message names the owner only; it never holds the ciphertext or a plaintext.
 */
export class CredentialDecryptionError extends Error {
  override readonly name = 'CredentialDecryptionError';
  constructor(context: CredentialContext, options: { cause?: unknown } = {}) {
    super(`Cannot decrypt the broker credential of tenant ${context.tenantId}, account ${context.accountId}`, options);
  }
}

export interface KmsCredentialCipherOptions {
  client: KMSClient;
  /** Key id, key ARN, alias name or alias ARN of the symmetric key that wraps credentials. */
  keyId: string;
}

/**
 * {@link CredentialCipher} over KMS Encrypt/Decrypt. Every ciphertext is bound to the
 * encryption context `{ tenantId, accountId, purpose: 'broker-credential' }`, and decrypting
 * passes the context of the caller's own (tenant, account): a ciphertext copied onto another
 * account or tenant, or any other KMS ciphertext of the same key, fails with
 * {@link CredentialDecryptionError} instead of yielding someone else's password. Decrypt also
 * names the key, so a blob made under another key is refused. Nothing here logs; plaintexts
 * and ciphertexts never appear in error messages.
 */
export class KmsCredentialCipher implements CredentialCipher {
  private readonly client: KMSClient;
  private readonly keyId: string;

  constructor({ client, keyId }: KmsCredentialCipherOptions) {
    this.client = client;
    this.keyId = keyId;
  }

  /** Returns the KMS ciphertext blob, base64-encoded, bound to `context`. */
  async encrypt(plaintext: string, context: CredentialContext): Promise<string> {
    const { CiphertextBlob } = await this.client.send(
      new EncryptCommand({
        KeyId: this.keyId,
        Plaintext: Buffer.from(plaintext, 'utf8'),
        EncryptionContext: encryptionContextOf(context),
      }),
    );
    if (!CiphertextBlob) throw new Error('KMS Encrypt returned no CiphertextBlob');
    return Buffer.from(CiphertextBlob).toString('base64');
  }

  /**
   * Returns the UTF-8 plaintext of a ciphertext made by {@link encrypt} for the same
   * `context`; rejects with {@link CredentialDecryptionError} when it cannot ever decrypt here.
   */
  async decrypt(ciphertext: string, context: CredentialContext): Promise<string> {
    if (ciphertext.length === 0 || !BASE64.test(ciphertext)) {
      throw new CredentialDecryptionError(context, { cause: new Error('The ciphertext is not base64') });
    }
    let plaintext: Uint8Array | undefined;
    try {
      ({ Plaintext: plaintext } = await this.client.send(
        new DecryptCommand({
          KeyId: this.keyId,
          CiphertextBlob: Buffer.from(ciphertext, 'base64'),
          EncryptionContext: encryptionContextOf(context),
        }),
      ));
    } catch (error) {
      if (PERMANENT_DECRYPT_FAILURES.has((error as { name?: string }).name ?? '')) {
        throw new CredentialDecryptionError(context, { cause: error });
      }
      throw error;
    }
    if (!plaintext) throw new Error('KMS Decrypt returned no Plaintext');
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
    } catch (error) {
      throw new CredentialDecryptionError(context, { cause: error });
    }
  }
}

const encryptionContextOf = ({ tenantId, accountId }: CredentialContext): Record<string, string> => ({
  tenantId,
  accountId,
  purpose: PURPOSE,
});

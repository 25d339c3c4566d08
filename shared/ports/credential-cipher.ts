/** The `purpose` in a broker credential's encryption context: the key's policy admits only this use. */
export const CREDENTIAL_PURPOSE = 'broker-credential';

/** Who a secret belongs to; bound into the ciphertext so it decrypts for no one else. */
export interface CredentialContext {
  tenantId: string;
  accountId: string;
}

/**
 * Envelope of a broker password. Implementations bind `context` into the ciphertext
 * (KMS encryption context), so a ciphertext copied onto another account or tenant fails
 * to decrypt instead of yielding someone else's password.
 */
export interface CredentialCipher {
  encrypt(plaintext: string, context: CredentialContext): Promise<string>;
  decrypt(ciphertext: string, context: CredentialContext): Promise<string>;
}

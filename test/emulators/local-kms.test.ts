import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyRotationStatusCommand,
  InvalidCiphertextException,
  KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
  NotFoundException,
  ReEncryptCommand,
  SignCommand,
} from '@aws-sdk/client-kms';
import { connect } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLocalKey, LOCAL_KMS_CREDENTIALS, LOCAL_KMS_REGION, startLocalKms, type RunningLocalKms } from '../../local/emulators/local-kms';

const clientFor = (endpoint: string): KMSClient => new KMSClient({ endpoint, region: LOCAL_KMS_REGION, credentials: LOCAL_KMS_CREDENTIALS, maxAttempts: 1 });

const rejection = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
};

const CONTEXT = { tenantId: 'tenant-a', accountId: 'account-1' };

let kms: RunningLocalKms;
let client: KMSClient;
let keyId: string;
const temporaryDirectories: string[] = [];

beforeAll(async () => {
  kms = await startLocalKms({ port: 0 });
  client = clientFor(kms.endpoint);
  keyId = await kms.createKey();
});

afterAll(async () => {
  client?.destroy();
  await kms?.stop();
  for (const directory of temporaryDirectories) rmSync(directory, { recursive: true, force: true });
});

const temporaryDirectory = (): string => {
  const directory = mkdtempSync(join(tmpdir(), 'local-kms-'));
  temporaryDirectories.push(directory);
  return directory;
};

describe('local KMS, Encrypt and Decrypt', () => {
  it('decrypts with the same encryption context and returns the key ARN', async () => {
    const encrypted = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('secret'), EncryptionContext: CONTEXT }));

    const decrypted = await client.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext: { ...CONTEXT } }));

    expect(Buffer.from(decrypted.Plaintext ?? []).toString()).toBe('secret');
    expect(decrypted.KeyId).toBe(`arn:aws:kms:us-east-1:000000000000:key/${keyId}`);
    expect(encrypted.KeyId).toBe(decrypted.KeyId);
  });

  it('treats the encryption context as a set: key order does not matter', async () => {
    const encrypted = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('secret'), EncryptionContext: { a: '1', b: '2' } }));

    const decrypted = await client.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext: { b: '2', a: '1' } }));

    expect(Buffer.from(decrypted.Plaintext ?? []).toString()).toBe('secret');
  });

  it.each([
    ['a different value', { ...CONTEXT, accountId: 'account-2' }],
    ['an extra pair', { ...CONTEXT, purpose: 'other' }],
    ['a missing pair', { tenantId: CONTEXT.tenantId }],
    ['no context at all', undefined],
  ])('rejects with InvalidCiphertextException when the context has %s', async (_, context) => {
    const encrypted = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('secret'), EncryptionContext: CONTEXT }));

    const error = await rejection(client.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext: context })));

    expect(error).toBeInstanceOf(InvalidCiphertextException);
    expect(error.name).toBe('InvalidCiphertextException');
  });

  it('rejects a tampered blob and a blob of no key it knows with InvalidCiphertextException', async () => {
    const encrypted = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('secret') }));
    const tampered = Buffer.from(encrypted.CiphertextBlob ?? []);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0x80;

    const other = await startLocalKms({ port: 0 });
    const otherClient = clientFor(other.endpoint);
    const foreign = await otherClient.send(new EncryptCommand({ KeyId: await other.createKey(), Plaintext: Buffer.from('secret') }));
    otherClient.destroy();
    await other.stop();

    for (const blob of [tampered, foreign.CiphertextBlob, Buffer.from('garbage')]) {
      const error = await rejection(client.send(new DecryptCommand({ CiphertextBlob: blob })));
      expect(error.name).toBe('InvalidCiphertextException');
    }
  });

  it('rejects with IncorrectKeyException when Decrypt names another key than the one that encrypted', async () => {
    const encrypted = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('secret') }));

    const error = await rejection(client.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, KeyId: await kms.createKey() })));

    expect(error.name).toBe('IncorrectKeyException');
  });

  it('encrypts 4096 bytes and rejects 4097 with ValidationException', async () => {
    const largest = Buffer.alloc(4096, 7);
    const encrypted = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: largest }));
    const decrypted = await client.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob }));
    expect(Buffer.from(decrypted.Plaintext!).equals(largest)).toBe(true);

    const error = await rejection(client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(4097, 1) })));

    expect(error.name).toBe('ValidationException');
  });

  it('re-encrypts a blob from one context and key to another', async () => {
    const destinationKeyId = await kms.createKey();
    const encrypted = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('secret'), EncryptionContext: CONTEXT }));

    const reEncrypted = await client.send(
      new ReEncryptCommand({
        CiphertextBlob: encrypted.CiphertextBlob,
        SourceEncryptionContext: CONTEXT,
        DestinationKeyId: destinationKeyId,
        DestinationEncryptionContext: { tenantId: 'tenant-b' },
      }),
    );
    const decrypted = await client.send(new DecryptCommand({ CiphertextBlob: reEncrypted.CiphertextBlob, EncryptionContext: { tenantId: 'tenant-b' } }));

    expect(Buffer.from(decrypted.Plaintext ?? []).toString()).toBe('secret');
    expect(decrypted.KeyId).toMatch(new RegExp(`key/${destinationKeyId}$`));
  });
});

describe('local KMS, GenerateDataKey', () => {
  it('returns a 32-byte AES_256 data key whose blob decrypts back to the same bytes', async () => {
    const dataKey = await client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: CONTEXT }));

    const decrypted = await client.send(new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: CONTEXT }));

    expect(dataKey.Plaintext?.length).toBe(32);
    expect(Buffer.from(decrypted.Plaintext ?? []).equals(Buffer.from(dataKey.Plaintext ?? []))).toBe(true);
  });

  it('returns NumberOfBytes bytes when asked by size', async () => {
    const dataKey = await client.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 64 }));

    expect(dataKey.Plaintext?.length).toBe(64);
  });

  it('rejects a request with both KeySpec and NumberOfBytes with ValidationException', async () => {
    const error = await rejection(client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', NumberOfBytes: 32 })));

    expect(error.name).toBe('ValidationException');
  });
});

describe('local KMS, keys and aliases', () => {
  it('finds a key by alias name and alias ARN, and encrypts through the alias', async () => {
    const aliasName = `alias/test-${Date.now()}`;
    await client.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId }));

    const byName = await client.send(new DescribeKeyCommand({ KeyId: aliasName }));
    const byArn = await client.send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:us-east-1:000000000000:${aliasName}` }));
    const encrypted = await client.send(new EncryptCommand({ KeyId: aliasName, Plaintext: Buffer.from('x') }));
    const decrypted = await client.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob }));
    const aliases = await client.send(new ListAliasesCommand({ KeyId: keyId }));

    expect(byName.KeyMetadata?.KeyId).toBe(keyId);
    expect(byArn.KeyMetadata?.KeyId).toBe(keyId);
    expect(byName.KeyMetadata?.CreationDate).toBeInstanceOf(Date);
    expect(decrypted.KeyId).toBe(`arn:aws:kms:us-east-1:000000000000:key/${keyId}`);
    expect(aliases.Aliases?.map((alias) => alias.AliasName)).toContain(aliasName);
  });

  it('rejects a second alias of the same name with AlreadyExistsException', async () => {
    const aliasName = `alias/twice-${Date.now()}`;
    await client.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId }));

    const error = await rejection(client.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId })));

    expect(error.name).toBe('AlreadyExistsException');
  });

  it('answers NotFoundException for an unknown key id, key ARN or alias', async () => {
    const unknown = '11111111-2222-4333-8444-555555555555';
    for (const reference of [unknown, `arn:aws:kms:us-east-1:000000000000:key/${unknown}`, 'alias/nobody']) {
      const error = await rejection(client.send(new EncryptCommand({ KeyId: reference, Plaintext: Buffer.from('x') })));
      expect(error).toBeInstanceOf(NotFoundException);
      expect(error.name).toBe('NotFoundException');
    }
  });

  it('lists a created key with its ARN', async () => {
    const created = await client.send(new CreateKeyCommand({ Description: 'listed' }));

    const listed = await client.send(new ListKeysCommand({}));

    expect(listed.Keys).toContainEqual({ KeyId: created.KeyMetadata?.KeyId, KeyArn: created.KeyMetadata?.Arn });
  });

  it('reports rotation as enabled only after EnableKeyRotation', async () => {
    const rotatingKeyId = await kms.createKey();
    const before = await client.send(new GetKeyRotationStatusCommand({ KeyId: rotatingKeyId }));

    await client.send(new EnableKeyRotationCommand({ KeyId: rotatingKeyId }));
    const after = await client.send(new GetKeyRotationStatusCommand({ KeyId: rotatingKeyId }));

    expect(before.KeyRotationEnabled).toBe(false);
    expect(after.KeyRotationEnabled).toBe(true);
    expect(after.RotationPeriodInDays).toBe(365);
  });

  it('refuses asymmetric keys and operations it does not emulate with UnsupportedOperationException', async () => {
    const asymmetric = await rejection(client.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })));
    const sign = await rejection(client.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('x'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' })));

    expect(asymmetric.name).toBe('UnsupportedOperationException');
    expect(sign.name).toBe('UnsupportedOperationException');
  });

  it('returns the same key for an alias every time ensureLocalKey is called', async () => {
    const alias = `copier-${Date.now()}`;

    const first = await ensureLocalKey(kms.endpoint, alias);
    const second = await ensureLocalKey(kms.endpoint, `alias/${alias}`);
    const rotation = await client.send(new GetKeyRotationStatusCommand({ KeyId: first }));

    expect(second).toBe(first);
    expect(rotation.KeyRotationEnabled).toBe(true);
  });
});

describe('local KMS, wire format', () => {
  it('answers errors as HTTP 400 with __type in the body and x-amzn-errortype', async () => {
    const response = await fetch(kms.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.DescribeKey' },
      body: JSON.stringify({ KeyId: 'alias/nobody' }),
    });

    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('NotFoundException');
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await response.json()).toMatchObject({ __type: 'NotFoundException', message: expect.any(String) });
  });

  it('answers a body that is not JSON with SerializationException', async () => {
    const response = await fetch(kms.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.Encrypt' },
      body: '{',
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'SerializationException' });
  });
});

describe('local KMS, lifecycle', () => {
  it('decrypts after a restart what it encrypted before, when given a keyStorePath', async () => {
    const keyStorePath = join(temporaryDirectory(), 'nested', 'keys.json');
    const first = await startLocalKms({ port: 0, keyStorePath });
    const firstClient = clientFor(first.endpoint);
    const storedKeyId = await ensureLocalKey(first.endpoint, 'alias/persisted');
    const encrypted = await firstClient.send(new EncryptCommand({ KeyId: storedKeyId, Plaintext: Buffer.from('survives'), EncryptionContext: CONTEXT }));
    firstClient.destroy();
    await first.stop();

    const second = await startLocalKms({ port: 0, keyStorePath });
    const secondClient = clientFor(second.endpoint);
    try {
      const decrypted = await secondClient.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext: CONTEXT }));
      const rotation = await secondClient.send(new GetKeyRotationStatusCommand({ KeyId: storedKeyId }));

      expect(Buffer.from(decrypted.Plaintext ?? []).toString()).toBe('survives');
      expect(await ensureLocalKey(second.endpoint, 'alias/persisted')).toBe(storedKeyId);
      expect(rotation.KeyRotationEnabled).toBe(true);
    } finally {
      secondClient.destroy();
      await second.stop();
    }
  });

  it('writes the key store as one owner-only JSON file and leaves no temporary file behind', async () => {
    const directory = temporaryDirectory();
    const keyStorePath = join(directory, 'keys.json');
    const running = await startLocalKms({ port: 0, keyStorePath });
    const storedKeyId = await running.createKey();
    await running.createKey();
    await running.stop();

    expect(readdirSync(directory)).toEqual(['keys.json']);
    expect(statSync(keyStorePath).mode & 0o077).toBe(0);
    expect(JSON.parse(readFileSync(keyStorePath, 'utf8')).keys).toHaveLength(2);
    expect(readFileSync(keyStorePath, 'utf8')).toContain(storedKeyId);
  });

  it('forgets its keys across a restart without a keyStorePath', async () => {
    const first = await startLocalKms({ port: 0 });
    const firstClient = clientFor(first.endpoint);
    const encrypted = await firstClient.send(new EncryptCommand({ KeyId: await first.createKey(), Plaintext: Buffer.from('gone') }));
    firstClient.destroy();
    await first.stop();

    const second = await startLocalKms({ port: 0 });
    const secondClient = clientFor(second.endpoint);
    try {
      const error = await rejection(secondClient.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob })));
      expect(error.name).toBe('InvalidCiphertextException');
    } finally {
      secondClient.destroy();
      await second.stop();
    }
  });

  it('stops promptly while a client holds a keep-alive connection, then refuses connections', async () => {
    const running = await startLocalKms({ port: 0 });
    const keptAlive = clientFor(running.endpoint);
    await keptAlive.send(new ListKeysCommand({}));

    const startedAt = Date.now();
    await running.stop();

    expect(Date.now() - startedAt).toBeLessThan(1000);
    await expect(fetch(running.endpoint, { method: 'POST' })).rejects.toThrow();
    keptAlive.destroy();
  });

  it('stops promptly while a request is still arriving, closing that connection', async () => {
    const running = await startLocalKms({ port: 0 });
    const { port } = new URL(running.endpoint);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.resume(); // a paused socket never reports the server's end
    socket.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{');
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));

    const startedAt = Date.now();
    await running.stop();
    await closed;

    expect(Date.now() - startedAt).toBeLessThan(1000);
  });
});

/**
 * LOCAL KMS: a development stand-in for AWS KMS. It is never deployed and never used in AWS.
 *
 * Nothing on npm emulates KMS, so the local runtime and the tests run the real, unchanged
 * `@aws-sdk/client-kms` against this small `node:http` server. It speaks the KMS wire protocol
 * as the SDK sends it (AWS JSON 1.1: `POST /`, `X-Amz-Target: TrentService.<Operation>`,
 * base64 blobs, errors as `{"__type": ..., "message": ...}`) for the operations the project
 * uses. It does not check SigV4 signatures, key policies or grants, and it keeps a single
 * version of key material per key (enabling rotation is recorded, nothing rotates).
 *
 * Ciphertext blobs are AES-256-GCM under the key's 32 random bytes, with the encryption
 * context as additional authenticated data, so a blob only decrypts with the exact context it
 * was made with, as in AWS. Key material is kept in memory, or in a JSON file (`keyStorePath`)
 * in clear: the file is a development artefact and must never hold anything real.
 */
import { AlreadyExistsException, CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, EnableKeyRotationCommand, KMSClient } from '@aws-sdk/client-kms';
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname } from 'node:path';
import { z } from 'zod';

/** Fixed credentials for talking to local emulators; the local KMS does not check them. */
export const LOCAL_KMS_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_KMS_REGION = 'us-east-1';
/** The account id in every ARN the local KMS hands out. */
export const LOCAL_KMS_ACCOUNT_ID = '000000000000';

export interface LocalKmsOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1: the local KMS is not meant to be reachable from other machines. */
  host?: string;
  /** A JSON file that keeps keys and aliases across restarts; without it, everything is in memory. */
  keyStorePath?: string;
  /** The region written into ARNs; defaults to us-east-1. */
  region?: string;
}

export interface RunningLocalKms {
  /** Base URL for `new KMSClient({ endpoint })`. */
  endpoint: string;
  /** Closes the server and destroys its open (keep-alive) connections. */
  stop(): Promise<void>;
  /** Creates a symmetric key without going through HTTP; returns its KeyId. */
  createKey(): Promise<string>;
}

// ---------------------------------------------------------------------------------------------
// Faults: every one becomes HTTP 4xx/5xx with `__type` in the body and `x-amzn-errortype` header.

class KmsFault extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

const notFound = (keyId: string): KmsFault => new KmsFault('NotFoundException', `Key '${keyId}' does not exist`);
const invalidCiphertext = (): KmsFault => new KmsFault('InvalidCiphertextException', 'The ciphertext is invalid');

// ---------------------------------------------------------------------------------------------
// Key store

interface LocalKey {
  keyId: string;
  material: Buffer;
  description: string;
  creationDateMs: number;
  rotationEnabled: boolean;
  rotationPeriodInDays: number;
}

interface LocalAlias {
  aliasName: string;
  targetKeyId: string;
  creationDateMs: number;
  lastUpdatedDateMs: number;
}

const storedKeyStoreSchema = z.object({
  formatVersion: z.literal(1),
  keys: z.array(
    z.object({
      keyId: z.string(),
      material: z.string(),
      description: z.string(),
      creationDateMs: z.number(),
      rotationEnabled: z.boolean(),
      rotationPeriodInDays: z.number(),
    }),
  ),
  aliases: z.array(
    z.object({
      aliasName: z.string(),
      targetKeyId: z.string(),
      creationDateMs: z.number(),
      lastUpdatedDateMs: z.number(),
    }),
  ),
});

const KEY_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ALIAS_NAME_PATTERN = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;

class LocalKeyStore {
  private readonly keys = new Map<string, LocalKey>();
  private readonly aliases = new Map<string, LocalAlias>();

  constructor(
    private readonly region: string,
    private readonly path: string | undefined,
  ) {
    if (path && existsSync(path)) this.load(path);
  }

  keyArn(keyId: string): string {
    return `arn:aws:kms:${this.region}:${LOCAL_KMS_ACCOUNT_ID}:key/${keyId}`;
  }

  aliasArn(aliasName: string): string {
    return `arn:aws:kms:${this.region}:${LOCAL_KMS_ACCOUNT_ID}:${aliasName}`;
  }

  createKey(description: string): LocalKey {
    const key: LocalKey = {
      keyId: randomUUID(),
      material: randomBytes(32),
      description,
      creationDateMs: Date.now(),
      rotationEnabled: false,
      rotationPeriodInDays: 365,
    };
    this.keys.set(key.keyId, key);
    this.save();
    return key;
  }

  createAlias(aliasName: string, targetKeyId: string): void {
    if (!ALIAS_NAME_PATTERN.test(aliasName) || aliasName.startsWith('alias/aws/')) {
      throw new KmsFault('InvalidAliasNameException', `Alias '${aliasName}' is not a valid customer alias name`);
    }
    if (this.aliases.has(aliasName)) {
      throw new KmsFault('AlreadyExistsException', `An alias with the name ${this.aliasArn(aliasName)} already exists`);
    }
    const key = this.resolve(targetKeyId, { allowAlias: false });
    const now = Date.now();
    this.aliases.set(aliasName, { aliasName, targetKeyId: key.keyId, creationDateMs: now, lastUpdatedDateMs: now });
    this.save();
  }

  setRotation(key: LocalKey, enabled: boolean, rotationPeriodInDays?: number): void {
    key.rotationEnabled = enabled;
    if (rotationPeriodInDays !== undefined) key.rotationPeriodInDays = rotationPeriodInDays;
    this.save();
  }

  listKeys(): LocalKey[] {
    return [...this.keys.values()];
  }

  listAliases(): LocalAlias[] {
    return [...this.aliases.values()];
  }

  findById(keyId: string): LocalKey | undefined {
    return this.keys.get(keyId);
  }

  /**
   * Finds the key a KeyId names: key id, key ARN, and (where AWS accepts them) alias name or
   * alias ARN. ARNs of another region or account name nothing here, as in AWS.
   */
  resolve(keyIdentifier: string, { allowAlias }: { allowAlias: boolean }): LocalKey {
    let reference = keyIdentifier;
    const arnPrefix = `arn:aws:kms:${this.region}:${LOCAL_KMS_ACCOUNT_ID}:`;
    if (reference.startsWith('arn:')) {
      if (!reference.startsWith(arnPrefix)) throw notFound(keyIdentifier);
      reference = reference.slice(arnPrefix.length);
      if (reference.startsWith('key/')) reference = reference.slice('key/'.length);
      else if (!reference.startsWith('alias/')) throw notFound(keyIdentifier);
    }
    if (reference.startsWith('alias/')) {
      if (!allowAlias) {
        throw new KmsFault('ValidationException', 'This operation takes a key id or key ARN, not an alias');
      }
      const alias = this.aliases.get(reference);
      const key = alias && this.keys.get(alias.targetKeyId);
      if (!key) throw new KmsFault('NotFoundException', `Alias ${this.aliasArn(reference)} is not found.`);
      return key;
    }
    const key = KEY_ID_PATTERN.test(reference) ? this.keys.get(reference) : undefined;
    if (!key) throw notFound(keyIdentifier);
    return key;
  }

  private load(path: string): void {
    const stored = storedKeyStoreSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
    for (const key of stored.keys) {
      const material = Buffer.from(key.material, 'base64');
      if (material.length !== 32) throw new Error(`Local KMS key store ${path}: key ${key.keyId} has no 32-byte material`);
      this.keys.set(key.keyId, { ...key, material });
    }
    for (const alias of stored.aliases) this.aliases.set(alias.aliasName, alias);
  }

  /** Writes a temp file beside the store and renames it over, so a crash never leaves half a file. */
  private save(): void {
    if (!this.path) return;
    const stored: z.infer<typeof storedKeyStoreSchema> = {
      formatVersion: 1,
      keys: this.listKeys().map((key) => ({ ...key, material: key.material.toString('base64') })),
      aliases: this.listAliases(),
    };
    mkdirSync(dirname(this.path), { recursive: true });
    const temporaryPath = `${this.path}.${process.pid}.${randomUUID()}.tmp`;
    writeFileSync(temporaryPath, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporaryPath, this.path);
  }
}

// ---------------------------------------------------------------------------------------------
// Ciphertext blob, format version 1:
//   [0]        format version (1)
//   [1]        n = byte length of the key id
//   [2, 2+n)   key id (ASCII)
//   12 bytes   GCM IV
//   16 bytes   GCM auth tag
//   rest       AES-256-GCM ciphertext
// AAD = the header (version, n, key id) followed by the canonical encryption context, so
// neither the key reference nor the context can be changed without the tag failing.

const FORMAT_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_CIPHERTEXT_BYTES = 6144;

type EncryptionContext = Record<string, string>;

/** Sorted [key, value] pairs as JSON: the same context always serializes the same way. */
const canonicalEncryptionContext = (context: EncryptionContext | undefined): Buffer =>
  Buffer.from(JSON.stringify(Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), 'utf8');

const seal = (key: LocalKey, plaintext: Buffer, context: EncryptionContext | undefined): Buffer => {
  const keyIdBytes = Buffer.from(key.keyId, 'ascii');
  const header = Buffer.concat([Buffer.from([FORMAT_VERSION, keyIdBytes.length]), keyIdBytes]);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.material, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.concat([header, canonicalEncryptionContext(context)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), body]);
};

const readKeyIdOf = (blob: Buffer): { keyId: string; headerLength: number } => {
  if (blob.length < 2 || blob[0] !== FORMAT_VERSION) throw invalidCiphertext();
  const keyIdLength = blob[1] ?? 0;
  const headerLength = 2 + keyIdLength;
  if (blob.length < headerLength + IV_BYTES + TAG_BYTES) throw invalidCiphertext();
  return { keyId: blob.subarray(2, headerLength).toString('ascii'), headerLength };
};

const open = (key: LocalKey, blob: Buffer, headerLength: number, context: EncryptionContext | undefined): Buffer => {
  const iv = blob.subarray(headerLength, headerLength + IV_BYTES);
  const tag = blob.subarray(headerLength + IV_BYTES, headerLength + IV_BYTES + TAG_BYTES);
  const body = blob.subarray(headerLength + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key.material, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.concat([blob.subarray(0, headerLength), canonicalEncryptionContext(context)]));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw invalidCiphertext();
  }
};

// ---------------------------------------------------------------------------------------------
// Operations

const base64Blob = (minBytes: number, maxBytes: number) =>
  z
    .string()
    .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'must be base64')
    .transform((value) => Buffer.from(value, 'base64'))
    .refine((bytes) => bytes.length >= minBytes && bytes.length <= maxBytes, {
      message: `must hold between ${minBytes} and ${maxBytes} bytes`,
    });

const keyIdField = z.string().min(1).max(2048);
const encryptionContextField = z.record(z.string(), z.string()).optional();
const encryptionAlgorithmField = z.literal('SYMMETRIC_DEFAULT').optional();
const paging = { Limit: z.number().int().min(1).max(1000).optional(), Marker: z.string().optional() };

const parseInput = <T extends z.ZodType>(schema: T, body: unknown): z.infer<T> => {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  // Only paths and rule messages: never echo an input value, which may be a plaintext.
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
  throw new KmsFault('ValidationException', `${problems.length} validation error(s): ${problems.join('; ')}`);
};

const page = <T>(items: T[], limit: number | undefined, marker: string | undefined) => {
  const start = marker === undefined ? 0 : Number.parseInt(marker, 10);
  if (!Number.isInteger(start) || start < 0 || start > items.length) throw new KmsFault('InvalidMarkerException', 'Invalid marker');
  const end = start + (limit ?? 100);
  return end < items.length ? { items: items.slice(start, end), Truncated: true, NextMarker: String(end) } : { items: items.slice(start), Truncated: false };
};

const epochSeconds = (ms: number): number => ms / 1000;

type Operation = (body: unknown) => unknown;

const createOperations = (store: LocalKeyStore): Record<string, Operation> => {
  const keyMetadata = (key: LocalKey) => ({
    AWSAccountId: LOCAL_KMS_ACCOUNT_ID,
    KeyId: key.keyId,
    Arn: store.keyArn(key.keyId),
    CreationDate: epochSeconds(key.creationDateMs),
    Enabled: true,
    Description: key.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: 'Enabled',
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
  });

  /** Opens a blob; with `expectedKeyId` the blob must belong to that key (IncorrectKeyException otherwise). */
  const decryptBlob = (blob: Buffer, context: EncryptionContext | undefined, expectedKeyId: string | undefined) => {
    const expectedKey = expectedKeyId === undefined ? undefined : store.resolve(expectedKeyId, { allowAlias: true });
    const { keyId, headerLength } = readKeyIdOf(blob);
    const key = store.findById(keyId);
    if (!key) throw invalidCiphertext();
    if (expectedKey && expectedKey.keyId !== key.keyId) {
      throw new KmsFault('IncorrectKeyException', 'The key ID in the request does not identify the KMS key that encrypted the ciphertext');
    }
    return { key, plaintext: open(key, blob, headerLength, context) };
  };

  const generateDataKey = (body: unknown) => {
    const input = parseInput(
      z.object({
        KeyId: keyIdField,
        KeySpec: z.enum(['AES_256', 'AES_128']).optional(),
        NumberOfBytes: z.number().int().min(1).max(1024).optional(),
        EncryptionContext: encryptionContextField,
      }),
      body,
    );
    if ((input.KeySpec === undefined) === (input.NumberOfBytes === undefined)) {
      throw new KmsFault('ValidationException', 'Specify exactly one of KeySpec or NumberOfBytes');
    }
    const key = store.resolve(input.KeyId, { allowAlias: true });
    const plaintext = randomBytes(input.NumberOfBytes ?? (input.KeySpec === 'AES_128' ? 16 : 32));
    return { key, plaintext, ciphertext: seal(key, plaintext, input.EncryptionContext) };
  };

  return {
    CreateKey: (body) => {
      const input = parseInput(
        z.object({
          Description: z.string().max(8192).optional(),
          KeyUsage: z.string().optional(),
          KeySpec: z.string().optional(),
          CustomerMasterKeySpec: z.string().optional(),
          Origin: z.string().optional(),
          MultiRegion: z.boolean().optional(),
        }),
        body,
      );
      if ((input.KeyUsage ?? 'ENCRYPT_DECRYPT') !== 'ENCRYPT_DECRYPT') {
        throw new KmsFault('UnsupportedOperationException', `The local KMS has no ${input.KeyUsage} keys`);
      }
      const spec = input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
      if (spec !== 'SYMMETRIC_DEFAULT' || (input.Origin ?? 'AWS_KMS') !== 'AWS_KMS' || input.MultiRegion) {
        throw new KmsFault('UnsupportedOperationException', 'The local KMS only has single-region SYMMETRIC_DEFAULT keys of origin AWS_KMS');
      }
      return { KeyMetadata: keyMetadata(store.createKey(input.Description ?? '')) };
    },

    DescribeKey: (body) => {
      const input = parseInput(z.object({ KeyId: keyIdField }), body);
      return { KeyMetadata: keyMetadata(store.resolve(input.KeyId, { allowAlias: true })) };
    },

    ListKeys: (body) => {
      const input = parseInput(z.object(paging), body);
      const { items, ...rest } = page(store.listKeys(), input.Limit, input.Marker);
      return { Keys: items.map((key) => ({ KeyId: key.keyId, KeyArn: store.keyArn(key.keyId) })), ...rest };
    },

    CreateAlias: (body) => {
      const input = parseInput(z.object({ AliasName: z.string().min(1).max(256), TargetKeyId: keyIdField }), body);
      store.createAlias(input.AliasName, input.TargetKeyId);
      return {};
    },

    ListAliases: (body) => {
      const input = parseInput(z.object({ KeyId: keyIdField.optional(), ...paging }), body);
      const keyId = input.KeyId === undefined ? undefined : store.resolve(input.KeyId, { allowAlias: false }).keyId;
      const aliases = store.listAliases().filter((alias) => keyId === undefined || alias.targetKeyId === keyId);
      const { items, ...rest } = page(aliases, input.Limit, input.Marker);
      return {
        Aliases: items.map((alias) => ({
          AliasName: alias.aliasName,
          AliasArn: store.aliasArn(alias.aliasName),
          TargetKeyId: alias.targetKeyId,
          CreationDate: epochSeconds(alias.creationDateMs),
          LastUpdatedDate: epochSeconds(alias.lastUpdatedDateMs),
        })),
        ...rest,
      };
    },

    EnableKeyRotation: (body) => {
      const input = parseInput(z.object({ KeyId: keyIdField, RotationPeriodInDays: z.number().int().min(90).max(2560).optional() }), body);
      store.setRotation(store.resolve(input.KeyId, { allowAlias: false }), true, input.RotationPeriodInDays);
      return {};
    },

    DisableKeyRotation: (body) => {
      const input = parseInput(z.object({ KeyId: keyIdField }), body);
      store.setRotation(store.resolve(input.KeyId, { allowAlias: false }), false);
      return {};
    },

    GetKeyRotationStatus: (body) => {
      const input = parseInput(z.object({ KeyId: keyIdField }), body);
      const key = store.resolve(input.KeyId, { allowAlias: false });
      return key.rotationEnabled
        ? {
            KeyId: store.keyArn(key.keyId),
            KeyRotationEnabled: true,
            RotationPeriodInDays: key.rotationPeriodInDays,
            NextRotationDate: epochSeconds(Date.now() + key.rotationPeriodInDays * 86_400_000),
          }
        : { KeyId: store.keyArn(key.keyId), KeyRotationEnabled: false };
    },

    Encrypt: (body) => {
      const input = parseInput(
        z.object({
          KeyId: keyIdField,
          Plaintext: base64Blob(1, 4096),
          EncryptionContext: encryptionContextField,
          EncryptionAlgorithm: encryptionAlgorithmField,
        }),
        body,
      );
      const key = store.resolve(input.KeyId, { allowAlias: true });
      return {
        CiphertextBlob: seal(key, input.Plaintext, input.EncryptionContext).toString('base64'),
        KeyId: store.keyArn(key.keyId),
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },

    Decrypt: (body) => {
      const input = parseInput(
        z.object({
          CiphertextBlob: base64Blob(1, MAX_CIPHERTEXT_BYTES),
          EncryptionContext: encryptionContextField,
          KeyId: keyIdField.optional(),
          EncryptionAlgorithm: encryptionAlgorithmField,
        }),
        body,
      );
      const { key, plaintext } = decryptBlob(input.CiphertextBlob, input.EncryptionContext, input.KeyId);
      return {
        KeyId: store.keyArn(key.keyId),
        Plaintext: plaintext.toString('base64'),
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },

    ReEncrypt: (body) => {
      const input = parseInput(
        z.object({
          CiphertextBlob: base64Blob(1, MAX_CIPHERTEXT_BYTES),
          SourceEncryptionContext: encryptionContextField,
          SourceKeyId: keyIdField.optional(),
          DestinationKeyId: keyIdField,
          DestinationEncryptionContext: encryptionContextField,
          SourceEncryptionAlgorithm: encryptionAlgorithmField,
          DestinationEncryptionAlgorithm: encryptionAlgorithmField,
        }),
        body,
      );
      const destination = store.resolve(input.DestinationKeyId, { allowAlias: true });
      const source = decryptBlob(input.CiphertextBlob, input.SourceEncryptionContext, input.SourceKeyId);
      return {
        CiphertextBlob: seal(destination, source.plaintext, input.DestinationEncryptionContext).toString('base64'),
        SourceKeyId: store.keyArn(source.key.keyId),
        KeyId: store.keyArn(destination.keyId),
        SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },

    GenerateDataKey: (body) => {
      const { key, plaintext, ciphertext } = generateDataKey(body);
      return {
        CiphertextBlob: ciphertext.toString('base64'),
        Plaintext: plaintext.toString('base64'),
        KeyId: store.keyArn(key.keyId),
      };
    },

    GenerateDataKeyWithoutPlaintext: (body) => {
      const { key, ciphertext } = generateDataKey(body);
      return { CiphertextBlob: ciphertext.toString('base64'), KeyId: store.keyArn(key.keyId) };
    },
  };
};

// ---------------------------------------------------------------------------------------------
// HTTP

const TARGET_PREFIX = 'TrentService.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_REQUEST_BYTES = 1024 * 1024;

const readBody = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        reject(new KmsFault('ValidationException', 'Request body too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });

const send = (response: ServerResponse, statusCode: number, payload: unknown, errorType?: string): void => {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  response.writeHead(statusCode, {
    'Content-Type': CONTENT_TYPE,
    'Content-Length': body.length,
    'x-amzn-RequestId': randomUUID(),
    ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}),
  });
  response.end(body);
};

const handleRequest = async (operations: Record<string, Operation>, request: IncomingMessage, response: ServerResponse): Promise<void> => {
  try {
    const target = request.headers['x-amz-target'];
    if (request.method !== 'POST' || typeof target !== 'string' || !target.startsWith(TARGET_PREFIX)) {
      throw new KmsFault('UnknownOperationException', 'Expected POST with X-Amz-Target: TrentService.<Operation>');
    }
    if (!(request.headers['content-type'] ?? '').startsWith(CONTENT_TYPE)) {
      throw new KmsFault('SerializationException', `Expected Content-Type ${CONTENT_TYPE}`);
    }
    const operationName = target.slice(TARGET_PREFIX.length);
    const operation = Object.hasOwn(operations, operationName) ? operations[operationName] : undefined;
    const text = await readBody(request);
    if (!operation) throw new KmsFault('UnsupportedOperationException', `The local KMS does not emulate ${operationName}`);
    let body: unknown;
    try {
      body = text.length === 0 ? {} : JSON.parse(text);
    } catch {
      throw new KmsFault('SerializationException', 'The request body is not JSON');
    }
    send(response, 200, operation(body));
  } catch (error) {
    const fault = error instanceof KmsFault ? error : new KmsFault('KMSInternalException', 'The local KMS failed on this request', 500);
    if (!(error instanceof KmsFault)) console.error('local KMS: unexpected failure', error);
    if (!response.headersSent) send(response, fault.statusCode, { __type: fault.type, message: fault.message }, fault.type);
  }
};

/**
 * Starts the local KMS (development only; see the file header). Keys persist to
 * `keyStorePath` when given, so ciphertexts made before a restart still decrypt after it.
 */
export const startLocalKms = async (options: LocalKmsOptions = {}): Promise<RunningLocalKms> => {
  const host = options.host ?? '127.0.0.1';
  const store = new LocalKeyStore(options.region ?? LOCAL_KMS_REGION, options.keyStorePath);
  const operations = createOperations(store);
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => void handleRequest(operations, request, response));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const reachableHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const endpoint = `http://${reachableHost.includes(':') ? `[${reachableHost}]` : reachableHost}:${port}`;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      for (const socket of sockets) socket.destroy();
    }));

  return { endpoint, stop, createKey: async () => store.createKey('').keyId };
};

/**
 * Returns the KeyId behind `alias` on a running local KMS, creating a key (with rotation
 * enabled, like the deployed key) and the alias when missing. `alias` may omit the `alias/`
 * prefix. Uses the real SDK, so it also proves the endpoint speaks KMS.
 */
export const ensureLocalKey = async (endpoint: string, alias: string): Promise<string> => {
  const aliasName = alias.startsWith('alias/') ? alias : `alias/${alias}`;
  const client = new KMSClient({ endpoint, region: LOCAL_KMS_REGION, credentials: LOCAL_KMS_CREDENTIALS });
  const describe = async (): Promise<string | undefined> => {
    try {
      const { KeyMetadata } = await client.send(new DescribeKeyCommand({ KeyId: aliasName }));
      return KeyMetadata?.KeyId;
    } catch (error) {
      if ((error as { name?: unknown }).name === 'NotFoundException') return undefined;
      throw error;
    }
  };
  try {
    const existing = await describe();
    if (existing) return existing;
    const { KeyMetadata } = await client.send(new CreateKeyCommand({ Description: `local key for ${aliasName}` }));
    const keyId = KeyMetadata?.KeyId;
    if (!keyId) throw new Error('Local KMS returned no KeyId from CreateKey');
    await client.send(new EnableKeyRotationCommand({ KeyId: keyId }));
    try {
      await client.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId }));
      return keyId;
    } catch (error) {
      // Another process created the alias first: its key wins, ours stays unused.
      if (!(error instanceof AlreadyExistsException)) throw error;
      const winner = await describe();
      if (!winner) throw error;
      return winner;
    }
  } finally {
    client.destroy();
  }
};

import { GetItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { CredentialDecryptionError } from '../../shared/adapters/kms/kms-credential-cipher';
import { capturingLog, recordingClient, type ApiClient } from '../support/api-capture';
import { rejectionOf } from '../support/dynamo';
import { startTestSystem, tokenFor } from '../support/local-api';

const TENANT = 'cred-alice';
const OTHER = 'cred-bob';

describe('broker passwords', () => {
  const captured = capturingLog();
  const transcript: string[] = [];
  /** Every password this file sends; none may come back out anywhere. */
  const sent: string[] = [];
  let system: LocalSystem;
  let alice: ApiClient;
  let bob: ApiClient;
  let first: string;
  let second: string;

  const password = (label: string) => {
    const value = `${label}-Pw-${Math.random().toString(36).slice(2, 10)}!`;
    sent.push(value);
    return value;
  };
  const create = async (api: ApiClient, name: string, platform = 'simulated') => {
    const response = await api.post('/v1/accounts', { name, platform, login: name, password: password(name), server: 'Sim' });
    expect(response.status).toBe(201);
    return response.body.id as string;
  };
  const storedItem = async (tenantId: string, accountId: string) => {
    const { Item } = await system.runtime.clients.dynamo.send(
      new GetItemCommand({ TableName: system.runtime.config.TABLE_NAME, Key: { pk: { S: `TENANT#${tenantId}` }, sk: { S: `ACCOUNT#${accountId}` } } }),
    );
    return unmarshall(Item!) as { encryptedPassword: string };
  };

  beforeAll(async () => {
    system = await startTestSystem({ log: captured.log, manualSync: true });
    alice = recordingClient(system.url, await tokenFor(system.url, TENANT), transcript);
    bob = recordingClient(system.url, await tokenFor(system.url, OTHER), transcript);
    first = await create(alice, 'first');
    second = await create(alice, 'second');
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('stores only a KMS ciphertext bound to (tenant, account), and never returns it', async () => {
    const item = await storedItem(TENANT, first);
    expect(item.encryptedPassword).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(item.encryptedPassword, 'base64').toString('latin1')).not.toContain(sent[0]);
    expect(await system.runtime.cipher.decrypt(item.encryptedPassword, { tenantId: TENANT, accountId: first })).toBe(sent[0]);
    for (const response of [await alice.get(`/v1/accounts/${first}`), await alice.get('/v1/accounts')]) {
      expect(response.text).not.toContain('encryptedPassword');
      expect(response.text).not.toContain(item.encryptedPassword);
    }
  });

  it('does not decrypt a ciphertext moved onto another account or read as another tenant', async () => {
    const moved = (await storedItem(TENANT, first)).encryptedPassword;
    await system.runtime.clients.dynamo.send(
      new UpdateItemCommand({
        TableName: system.runtime.config.TABLE_NAME,
        Key: { pk: { S: `TENANT#${TENANT}` }, sk: { S: `ACCOUNT#${second}` } },
        UpdateExpression: 'SET encryptedPassword = :moved',
        ExpressionAttributeValues: { ':moved': { S: moved } },
      }),
    );
    const onSecond = (await storedItem(TENANT, second)).encryptedPassword;
    expect(onSecond).toBe(moved);
    expect(await rejectionOf(system.runtime.cipher.decrypt(onSecond, { tenantId: TENANT, accountId: second }))).toBeInstanceOf(CredentialDecryptionError);
    expect(await rejectionOf(system.runtime.cipher.decrypt(moved, { tenantId: OTHER, accountId: first }))).toBeInstanceOf(CredentialDecryptionError);

    // A server change needs the stored password: the API fails without telling why.
    const response = await alice.patch(`/v1/accounts/${second}`, { server: 'Elsewhere' });
    expect(response.status).toBe(500);
    expect(response.body.detail).toMatch(/^Something went wrong; quote request id [\w-]+ when reporting it$/);
    expect(response.text).not.toContain(moved);
    // The log line of that request holds the whole error (name, stack), under the request id the caller was given.
    const requestId = /request id ([\w-]+)/.exec(response.body.detail)?.[1];
    const logged = captured.lines.find((line) => line.includes('request failed') && requestId !== undefined && line.includes(requestId));
    expect(logged).toContain('CredentialDecryptionError');
    expect(JSON.parse(logged ?? '{}')).toMatchObject({ level: 'error', error: { name: 'CredentialDecryptionError', stack: expect.stringContaining('at ') } });
    expect((await alice.get(`/v1/accounts/${second}`)).body.server).toBe('Sim');
  });

  it('re-encrypts a changed password: a new ciphertext that decrypts to the new password only', async () => {
    const before = (await storedItem(TENANT, first)).encryptedPassword;
    const next = password('changed');
    const response = await alice.patch(`/v1/accounts/${first}`, { password: next });
    expect(response.status).toBe(200);
    const after = (await storedItem(TENANT, first)).encryptedPassword;
    expect(after).not.toBe(before);
    expect(await system.runtime.cipher.decrypt(after, { tenantId: TENANT, accountId: first })).toBe(next);
  });

  it('keeps passwords out of refusals: invalid fields, unknown fields, malformed JSON, other tenants', async () => {
    const long = password('x'.repeat(300));
    const refusals = [
      await alice.post('/v1/accounts', { name: 'bad', platform: 'simulated', login: 'bad', password: long, server: 'Sim' }),
      await alice.post('/v1/accounts', { name: '', platform: 'mt9', login: 'bad', password: password('invalid'), server: 'Sim', secret: password('unknown') }),
      await alice.raw('POST', '/v1/accounts', `{"name":"broken","password":"${password('malformed')}",`),
      await alice.patch(`/v1/accounts/${first}`, { password: password('empty-name'), name: '' }),
      await bob.patch(`/v1/accounts/${first}`, { password: password('tenant') }),
    ];
    expect(refusals.map((response) => response.status)).toEqual([400, 400, 400, 400, 404]);
    // Each refusal says what was wrong (the field, not its value) and never echoes a password.
    expect(refusals[0]!.text).toContain('password');
    expect(refusals[1]!.text).toMatch(/name|platform/);
    expect(refusals[3]!.text).toContain('name');
    for (const response of refusals) {
      for (const secret of sent) expect(response.text).not.toContain(secret);
      expect(response.text).not.toMatch(/-Pw-/);
    }
  });

  it('keeps passwords out of accounts whose platform cannot be reached', async () => {
    const mt5 = await create(alice, 'metatrader', 'mt5');
    expect((await alice.get(`/v1/accounts/${mt5}`)).body).toMatchObject({ status: 'error' });
    const changed = await alice.patch(`/v1/accounts/${mt5}`, { password: password('mt5-new') });
    const shown = await alice.get(`/v1/accounts/${mt5}`);
    expect(changed.status).toBe(200);
    expect(shown.body).toMatchObject({ status: 'error' });
    expect(typeof shown.body.statusDetail).toBe('string');
    for (const response of [changed, shown]) expect(response.text).not.toMatch(/-Pw-/);
  });

  it('never shows a sent password in any response, header, log line, stored item or environment variable of this file', async () => {
    expect(sent.length).toBeGreaterThanOrEqual(10);
    expect(transcript.length).toBeGreaterThanOrEqual(10);
    expect(captured.lines.length).toBeGreaterThan(0);
    const tables = await Promise.all(
      [system.runtime.config.TABLE_NAME, system.runtime.config.AUDIT_TABLE_NAME].map(async (table) =>
        JSON.stringify((await system.runtime.clients.dynamo.send(new ScanCommand({ TableName: table }))).Items),
      ),
    );
    const haystacks = {
      responses: transcript.join('\n'),
      logs: captured.lines.join('\n'),
      tables: tables.join('\n'),
      environment: JSON.stringify(process.env),
    };
    for (const secret of sent) {
      for (const [where, text] of Object.entries(haystacks)) expect(text.includes(secret), `${where} contain a password`).toBe(false);
    }
  });
});

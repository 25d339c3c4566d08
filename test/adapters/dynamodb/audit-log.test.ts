import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditLog } from '../../../shared/adapters/dynamodb/audit-log';
import { ValidationError } from '../../../shared/domain/errors';
import type { AuditEntry } from '../../../shared/ports/stores';
import { createTestTables, rejectionOf, type TestTables } from '../../support/dynamo';

let tables: TestTables;
let audit: DynamoAuditLog;

beforeAll(async () => {
  tables = await createTestTables('audit');
  audit = new DynamoAuditLog(tables.audit);
});

afterAll(async () => {
  await tables?.drop();
});

const entry = (tenantId: string, at: string, action = 'account.created'): AuditEntry => ({
  tenantId,
  at,
  actor: 'user-1',
  action,
  resourceType: 'account',
  resourceId: 'acc-1',
  details: { name: 'Main account', nested: { ok: true } },
});

describe('DynamoAuditLog', () => {
  it('appends entries and lists them newest first', async () => {
    const times = ['2024-03-04T10:00:00.000Z', '2024-03-04T12:00:00.000Z', '2024-03-04T11:00:00.000Z'];
    for (const at of times) await audit.append(entry('tenant-order', at));

    const { items } = await audit.list('tenant-order', { limit: 10 });

    expect(items.map((item) => item.at)).toEqual(['2024-03-04T12:00:00.000Z', '2024-03-04T11:00:00.000Z', '2024-03-04T10:00:00.000Z']);
    expect(items[0]).toEqual({ ...entry('tenant-order', '2024-03-04T12:00:00.000Z'), id: expect.any(String) });
  });

  it('keeps two entries written at the same instant', async () => {
    await audit.append(entry('tenant-same', '2024-03-04T10:00:00.000Z', 'a'));
    await audit.append(entry('tenant-same', '2024-03-04T10:00:00.000Z', 'b'));

    const { items } = await audit.list('tenant-same', { limit: 10 });
    expect(items.map((item) => item.action).toSorted()).toEqual(['a', 'b']);
    expect(new Set(items.map((item) => item.id)).size).toBe(2);
  });

  it('pages newest first with a cursor', async () => {
    for (let minute = 0; minute < 5; minute += 1) await audit.append(entry('tenant-pages', `2024-03-04T10:0${minute}:00.000Z`));

    const first = await audit.list('tenant-pages', { limit: 2 });
    const second = await audit.list('tenant-pages', { limit: 2, cursor: first.nextCursor });
    const third = await audit.list('tenant-pages', { limit: 2, cursor: second.nextCursor });

    expect([...first.items, ...second.items, ...third.items].map((item) => item.at.slice(11, 16))).toEqual(['10:04', '10:03', '10:02', '10:01', '10:00']);
  });

  it("never lists tenant A's entries for tenant B, nor accepts A's cursor", async () => {
    await audit.append(entry('tenant-iso-a', '2024-03-04T10:00:00.000Z'));
    await audit.append(entry('tenant-iso-a', '2024-03-04T10:01:00.000Z'));
    await audit.append(entry('tenant-iso-b', '2024-03-04T10:00:00.000Z'));

    const listed = await audit.list('tenant-iso-b', { limit: 10 });
    expect(listed.items.map((item) => item.tenantId)).toEqual(['tenant-iso-b']);

    const aCursor = (await audit.list('tenant-iso-a', { limit: 1 })).nextCursor;
    expect(aCursor).toBeDefined();
    const error = await rejectionOf(audit.list('tenant-iso-b', { limit: 10, cursor: aCursor }));
    expect(error).toBeInstanceOf(ValidationError);
  });
});

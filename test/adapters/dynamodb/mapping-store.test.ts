import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoMappingStore } from '../../../shared/adapters/dynamodb/mapping-store';
import type { CopyMapping } from '../../../shared/domain/copy-mapping';
import { ConflictError, NotFoundError, ValidationError } from '../../../shared/domain/errors';
import { createTestTables, rejectionOf, type TestTables } from '../../support/dynamo';
import { aMapping } from '../../support/fixtures';

let tables: TestTables;
let mappings: DynamoMappingStore;

beforeAll(async () => {
  tables = await createTestTables('mappings');
  mappings = new DynamoMappingStore(tables.main);
});

/** Creates at the tenant's current graph version, as the use case does after its checks. */
const create = async (mapping: CopyMapping) => mappings.create(mapping, { graphVersion: (await mappings.graph(mapping.tenantId)).version });

afterAll(async () => {
  await tables?.drop();
});

describe('DynamoMappingStore', () => {
  it('creates a mapping and gets it back with its nested sizing and symbol rules', async () => {
    const mapping = aMapping({
      tenantId: 'tenant-create',
      id: 'm-1',
      sizing: { mode: 'riskPercent', percent: 1.5 },
      symbols: { include: ['EURUSD', 'XAUUSD'], map: { XAUUSD: 'GOLD' } },
      maxVolume: 2,
    });
    await create(mapping);

    expect(await mappings.get('tenant-create', 'm-1')).toEqual(mapping);
  });

  it('refuses a duplicate id with ConflictError', async () => {
    await create(aMapping({ tenantId: 'tenant-dup', id: 'm-1' }));
    expect(await rejectionOf(create(aMapping({ tenantId: 'tenant-dup', id: 'm-1', reverse: true })))).toBeInstanceOf(ConflictError);
    expect((await mappings.get('tenant-dup', 'm-1'))?.reverse).toBe(false);
  });

  it("returns undefined for a missing mapping and for another tenant's mapping", async () => {
    await create(aMapping({ tenantId: 'tenant-own', id: 'm-1' }));
    expect(await mappings.get('tenant-own', 'missing')).toBeUndefined();
    expect(await mappings.get('tenant-other', 'm-1')).toBeUndefined();
  });

  it('lists a page at a time and listAll returns them all, only of the tenant', async () => {
    const tenantId = 'tenant-list';
    const ids = Array.from({ length: 5 }, (_, index) => `m-${index}`);
    for (const id of ids) await create(aMapping({ tenantId, id, slaveAccountId: `slave-${id}` }));
    await create(aMapping({ tenantId: 'tenant-list-other', id: 'm-x' }));

    const first = await mappings.list(tenantId, { limit: 2 });
    expect(first.items).toHaveLength(2);
    const seen: CopyMapping[] = [...first.items];
    let cursor = first.nextCursor;
    while (cursor) {
      const next = await mappings.list(tenantId, { limit: 2, cursor });
      seen.push(...next.items);
      cursor = next.nextCursor;
    }
    expect(seen.map((mapping) => mapping.id)).toEqual(ids);
    expect((await mappings.listAll(tenantId)).map((mapping) => mapping.id)).toEqual(ids);
  });

  it('refuses an account cursor on the mapping list', async () => {
    const cursor = Buffer.from(JSON.stringify({ pk: 'TENANT#tenant-list', sk: 'ACCOUNT#a-1' })).toString('base64url');
    const error = await rejectionOf(mappings.list('tenant-list', { limit: 2, cursor }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).errors[0]?.path).toBe('cursor');
  });

  it('updates settable fields but never the accounts it connects', async () => {
    await create(aMapping({ tenantId: 'tenant-update', id: 'm-1', maxVolume: 1 }));

    const updated = await mappings.update('tenant-update', 'm-1', {
      enabled: false,
      sizing: { mode: 'fixedVolume', volume: 0.05 },
      maxVolume: undefined,
      masterAccountId: 'someone-else',
    });

    expect(updated).toMatchObject({ enabled: false, sizing: { mode: 'fixedVolume', volume: 0.05 }, masterAccountId: 'master-1' });
    expect(updated).not.toHaveProperty('maxVolume');
    expect(updated.updatedAt).not.toBe(aMapping().updatedAt);
    expect(await mappings.get('tenant-update', 'm-1')).toEqual(updated);
  });

  it('refuses to update a missing mapping with NotFoundError', async () => {
    expect(await rejectionOf(mappings.update('tenant-update', 'missing', { enabled: false }))).toBeInstanceOf(NotFoundError);
    expect(await mappings.get('tenant-update', 'missing')).toBeUndefined();
  });

  it('deletes a mapping', async () => {
    await create(aMapping({ tenantId: 'tenant-delete', id: 'm-1' }));
    await mappings.delete('tenant-delete', 'm-1');
    expect(await mappings.get('tenant-delete', 'm-1')).toBeUndefined();
    expect(await mappings.listAll('tenant-delete')).toEqual([]);
  });
});

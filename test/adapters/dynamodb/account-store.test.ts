import { DeleteItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAccountStore } from '../../../shared/adapters/dynamodb/account-store';
import { DynamoMappingStore } from '../../../shared/adapters/dynamodb/mapping-store';
import { VIRTUAL_SYNC_SHARDS, virtualShardOf } from '../../../shared/adapters/dynamodb/table';
import type { Account } from '../../../shared/domain/account';
import { ConflictError, NotFoundError, QuotaExceededError, ValidationError } from '../../../shared/domain/errors';
import { createTestTables, rejectionOf, type TestTables } from '../../support/dynamo';
import { aMapping, anAccount } from '../../support/fixtures';

let tables: TestTables;
let accounts: DynamoAccountStore;

beforeAll(async () => {
  tables = await createTestTables('accounts');
  accounts = new DynamoAccountStore(tables.main);
});

afterAll(async () => {
  await tables?.drop();
});

const cursorOf = (key: Record<string, unknown>): string => Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');

/** Every page of a tenant's accounts, following cursors. */
const listAllPages = async (tenantId: string, limit: number): Promise<Account[][]> => {
  const pages: Account[][] = [];
  let cursor: string | undefined;
  do {
    const page = await accounts.list(tenantId, { limit, cursor });
    pages.push(page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return pages;
};

describe('DynamoAccountStore', () => {
  it('counts the accounts of a tenant from before the count once, then holds the limit', async () => {
    const tenantId = 'tenant-legacy-count';
    for (const id of ['l-1', 'l-2', 'l-3']) await accounts.create(anAccount({ tenantId, id, login: id }));
    // A tenant from before the count: its count item is not there.
    await tables.client.send(new DeleteItemCommand({ TableName: tables.main.tableName, Key: { pk: { S: `TENANT#${tenantId}` }, sk: { S: 'QUOTA' } } }));
    expect(await rejectionOf(accounts.create(anAccount({ tenantId, id: 'l-4', login: 'l-4' }), { maxAccounts: 3 }))).toBeInstanceOf(QuotaExceededError);
    await accounts.create(anAccount({ tenantId, id: 'l-4', login: 'l-4' }), { maxAccounts: 4 });
    const { Item } = await tables.client.send(
      new GetItemCommand({ TableName: tables.main.tableName, Key: { pk: { S: `TENANT#${tenantId}` }, sk: { S: 'QUOTA' } } }),
    );
    expect(Item?.accounts?.N).toBe('4');
  });

  it('creates an account and gets it back as it was', async () => {
    const account = anAccount({ tenantId: 'tenant-create', id: 'acc-1', balance: 1000.5, currency: 'USD' });
    await accounts.create(account);

    expect(await accounts.get('tenant-create', 'acc-1')).toEqual(account);
  });

  it('refuses a second account with the same id with ConflictError and keeps the first', async () => {
    await accounts.create(anAccount({ tenantId: 'tenant-dup', id: 'acc-1', name: 'first' }));

    const error = await rejectionOf(accounts.create(anAccount({ tenantId: 'tenant-dup', id: 'acc-1', name: 'second' })));

    expect(error).toBeInstanceOf(ConflictError);
    expect((await accounts.get('tenant-dup', 'acc-1'))?.name).toBe('first');
  });

  it('returns undefined for an account that does not exist', async () => {
    expect(await accounts.get('tenant-create', 'missing')).toBeUndefined();
  });

  it('lists with a limit and a cursor across three pages, each account once', async () => {
    const tenantId = 'tenant-pages';
    const ids = ['acc-1', 'acc-2', 'acc-3', 'acc-4', 'acc-5', 'acc-6', 'acc-7'];
    for (const id of ids) await accounts.create(anAccount({ tenantId, id }));

    const pages = await listAllPages(tenantId, 3);

    expect(pages.map((page) => page.length).filter((length) => length > 0)).toEqual([3, 3, 1]);
    expect(pages.flat().map((account) => account.id)).toEqual(ids);
  });

  it('returns no cursor when the last page is complete', async () => {
    await accounts.create(anAccount({ tenantId: 'tenant-single', id: 'acc-1' }));
    expect(await accounts.list('tenant-single', { limit: 10 })).toEqual({ items: [expect.objectContaining({ id: 'acc-1' })] });
  });

  it('updates the given fields and updatedAt, keeps the others, and removes fields set to undefined', async () => {
    await accounts.create(anAccount({ tenantId: 'tenant-update', id: 'acc-1', statusDetail: 'handshake', balance: 10 }));

    const updated = await accounts.update('tenant-update', 'acc-1', {
      status: 'error',
      statusDetail: undefined,
      balance: 20,
      updatedAt: '2024-05-01T00:00:00.000Z',
    });

    expect(updated).toMatchObject({ status: 'error', balance: 20, updatedAt: '2024-05-01T00:00:00.000Z', name: 'Main account' });
    expect(updated).not.toHaveProperty('statusDetail');
    expect(await accounts.get('tenant-update', 'acc-1')).toEqual(updated);
  });

  it('refuses to update a missing account with NotFoundError and creates nothing', async () => {
    const error = await rejectionOf(accounts.update('tenant-update', 'missing', { status: 'connected' }));

    expect(error).toBeInstanceOf(NotFoundError);
    expect(await accounts.get('tenant-update', 'missing')).toBeUndefined();
  });

  it('deletes an account', async () => {
    await accounts.create(anAccount({ tenantId: 'tenant-delete', id: 'acc-1' }));
    await accounts.delete('tenant-delete', 'acc-1');

    expect(await accounts.get('tenant-delete', 'acc-1')).toBeUndefined();
    expect((await accounts.list('tenant-delete', { limit: 10 })).items).toEqual([]);
  });

  describe('tenant isolation', () => {
    const A = 'tenant-iso-a';
    const B = 'tenant-iso-b';

    beforeAll(async () => {
      await accounts.create(anAccount({ tenantId: A, id: 'acc-a1' }));
      await accounts.create(anAccount({ tenantId: A, id: 'acc-a2' }));
      await accounts.create(anAccount({ tenantId: B, id: 'acc-b1' }));
    });

    it("never gets tenant A's account as tenant B", async () => {
      expect(await accounts.get(B, 'acc-a1')).toBeUndefined();
    });

    it("never lists tenant A's accounts for tenant B", async () => {
      expect((await accounts.list(B, { limit: 100 })).items.map((account) => account.id)).toEqual(['acc-b1']);
    });

    it("cannot update or delete tenant A's account as tenant B", async () => {
      expect(await rejectionOf(accounts.update(B, 'acc-a1', { name: 'taken over' }))).toBeInstanceOf(NotFoundError);
      await accounts.delete(B, 'acc-a1');
      expect(await accounts.get(A, 'acc-a1')).toMatchObject({ name: 'Main account' });
    });

    it('lets two tenants hold the same account id independently', async () => {
      await accounts.create(anAccount({ tenantId: A, id: 'shared-id', name: 'of A' }));
      await accounts.create(anAccount({ tenantId: B, id: 'shared-id', name: 'of B' }));
      expect((await accounts.get(A, 'shared-id'))?.name).toBe('of A');
      expect((await accounts.get(B, 'shared-id'))?.name).toBe('of B');
    });

    it.each([
      ["points into tenant A's partition", cursorOf({ pk: `TENANT#${A}`, sk: 'ACCOUNT#acc-a1' })],
      ['is not base64 JSON', 'not-a-cursor!!'],
      ['is JSON but not an object', cursorOf([1, 2] as unknown as Record<string, unknown>)],
      ['carries extra attributes', cursorOf({ pk: `TENANT#${B}`, sk: 'ACCOUNT#acc-b1', gsi1pk: 'SYNC#1' })],
      ['points at another kind of item', cursorOf({ pk: `TENANT#${B}`, sk: 'MAPPING#m-1' })],
      ['lacks the sort key', cursorOf({ pk: `TENANT#${B}` })],
      ['holds a non-string key', cursorOf({ pk: `TENANT#${B}`, sk: { S: 'ACCOUNT#acc-b1' } })],
    ])('refuses a cursor that %s with ValidationError on path cursor', async (_case, cursor) => {
      const error = await rejectionOf(accounts.list(B, { limit: 10, cursor }));

      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).errors).toEqual([expect.objectContaining({ path: 'cursor' })]);
    });

    it("accepts a cursor it returned, and it stays in the caller's partition", async () => {
      const first = await accounts.list(A, { limit: 1 });
      expect(first.nextCursor).toBeDefined();
      const rest = await accounts.list(A, { limit: 100, cursor: first.nextCursor });
      expect([...first.items, ...rest.items].every((account) => account.tenantId === A)).toBe(true);
      expect(rest.items.length).toBeGreaterThan(0);
    });
  });

  describe('listSyncShard', () => {
    let shardTables: TestTables;
    let shardAccounts: DynamoAccountStore;
    const created: Account[] = [];

    beforeAll(async () => {
      // Its own tables, so that the whole table is what the shards must cover.
      shardTables = await createTestTables('shards');
      shardAccounts = new DynamoAccountStore(shardTables.main);
      const mappings = new DynamoMappingStore(shardTables.main);
      for (let index = 0; index < 40; index += 1) {
        const account = anAccount({ tenantId: `tenant-${index % 3}`, id: `account-${index}` });
        created.push(account);
        await shardAccounts.create(account);
      }
      // Each account with an even index copies to the next one.
      for (let index = 0; index < 40; index += 2) {
        const master = created[index]!;
        await mappings.create(
          aMapping({ tenantId: master.tenantId, id: `mapping-${index}`, masterAccountId: master.id, slaveAccountId: `account-${index + 1}` }),
          { graphVersion: (await mappings.graph(master.tenantId)).version },
        );
      }
    });

    afterAll(async () => {
      await shardTables?.drop();
    });

    it('spreads the test accounts over more than one virtual shard', () => {
      expect(new Set(created.map((account) => virtualShardOf(account.id))).size).toBeGreaterThan(4);
    });

    it.each([1, 3, 4, 5, VIRTUAL_SYNC_SHARDS, 20])('returns every account exactly once across %i shards', async (shards) => {
      const contents = await Promise.all(Array.from({ length: shards }, (_, shard) => shardAccounts.listSyncShard(shard, shards)));
      const listed = contents.flatMap((content) => content.accounts.map((account) => `${account.tenantId}/${account.id}`));

      expect(listed.toSorted()).toEqual(created.map((account) => `${account.tenantId}/${account.id}`).toSorted());
      expect(new Set(listed).size).toBe(listed.length);
    });

    it('returns with each shard the mappings whose master is in that shard', async () => {
      const shards = 3;
      const contents = await Promise.all(Array.from({ length: shards }, (_, shard) => shardAccounts.listSyncShard(shard, shards)));

      const listed = contents.flatMap((content) => content.mappings.map((mapping) => mapping.id));
      expect(listed.toSorted()).toEqual(Array.from({ length: 20 }, (_, index) => `mapping-${index * 2}`).toSorted());
      for (const content of contents) {
        const masters = new Set(content.accounts.map((account) => account.id));
        for (const mapping of content.mappings) expect(masters.has(mapping.masterAccountId)).toBe(true);
      }
    });

    it('returns full accounts, not index projections', async () => {
      const { accounts: listed } = await shardAccounts.listSyncShard(0, 1);
      expect(listed.find((account) => account.id === 'account-7')).toEqual(created[7]);
    });
  });
});

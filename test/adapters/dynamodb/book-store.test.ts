import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoBookStore } from '../../../shared/adapters/dynamodb/book-store';
import type { AccountBook } from '../../../shared/domain/account-book';
import { ConcurrentUpdateError } from '../../../shared/domain/errors';
import { createTestTables, rejectionOf, type TestTables } from '../../support/dynamo';
import { aPosition, anOrder, T0 } from '../../support/fixtures';

let tables: TestTables;
let books: DynamoBookStore;

beforeAll(async () => {
  tables = await createTestTables('books');
  books = new DynamoBookStore(tables.main);
});

afterAll(async () => {
  await tables?.drop();
});

const aBook = (accountId: string, version: number, overrides: Partial<AccountBook> = {}): AccountBook => ({
  tenantId: 'tenant-a',
  accountId,
  version,
  positions: [{ ...aPosition({ volume: version / 10 }), rev: version - 1, detectedAt: T0 }],
  orders: [{ ...anOrder(), rev: 0, detectedAt: T0 }],
  balance: 1000,
  equity: 990,
  currency: 'USD',
  syncedAt: T0,
  ...overrides,
});

describe('DynamoBookStore', () => {
  it('writes version 1 and then version 2', async () => {
    await books.put(aBook('acc-1', 1));
    expect(await books.get('tenant-a', 'acc-1')).toEqual(aBook('acc-1', 1));

    await books.put(aBook('acc-1', 2));
    expect(await books.get('tenant-a', 'acc-1')).toEqual(aBook('acc-1', 2));
  });

  it('refuses a stale version 2 with ConcurrentUpdateError and keeps the stored book', async () => {
    await books.put(aBook('acc-stale', 1));
    await books.put(aBook('acc-stale', 2, { balance: 2000 }));

    const error = await rejectionOf(books.put(aBook('acc-stale', 2, { balance: 3000 })));

    expect(error).toBeInstanceOf(ConcurrentUpdateError);
    expect((await books.get('tenant-a', 'acc-stale'))?.balance).toBe(2000);
  });

  it('refuses a second version 1', async () => {
    await books.put(aBook('acc-first', 1));
    expect(await rejectionOf(books.put(aBook('acc-first', 1)))).toBeInstanceOf(ConcurrentUpdateError);
  });

  it('refuses a version that skips one', async () => {
    await books.put(aBook('acc-skip', 1));
    expect(await rejectionOf(books.put(aBook('acc-skip', 3)))).toBeInstanceOf(ConcurrentUpdateError);
    expect(await rejectionOf(books.put(aBook('acc-none', 2)))).toBeInstanceOf(ConcurrentUpdateError);
    expect(await books.get('tenant-a', 'acc-none')).toBeUndefined();
  });

  it('lets exactly one of two concurrent writes of the same next version succeed', async () => {
    await books.put(aBook('acc-race', 1));

    const results = await Promise.allSettled([books.put(aBook('acc-race', 2, { balance: 111 })), books.put(aBook('acc-race', 2, { balance: 222 }))]);

    const fulfilled = results.filter((result) => result.status === 'fulfilled');
    const rejected = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.reason).toBeInstanceOf(ConcurrentUpdateError);
    const winner = results[0]?.status === 'fulfilled' ? 111 : 222;
    expect((await books.get('tenant-a', 'acc-race'))?.balance).toBe(winner);
  });

  it('lets exactly one of many concurrent first syncs succeed', async () => {
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => books.put(aBook('acc-first-race', 1))));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
  });

  it("keeps one tenant's book apart from another's with the same account id", async () => {
    await books.put(aBook('acc-shared', 1, { tenantId: 'tenant-x', balance: 1 }));
    await books.put(aBook('acc-shared', 1, { tenantId: 'tenant-y', balance: 2 }));
    expect((await books.get('tenant-x', 'acc-shared'))?.balance).toBe(1);
    expect((await books.get('tenant-y', 'acc-shared'))?.balance).toBe(2);
    expect(await books.get('tenant-z', 'acc-shared')).toBeUndefined();
  });
});

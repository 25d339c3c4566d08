import { DynamoDBClient, GetItemCommand, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoAccountStore } from '../../../shared/adapters/dynamodb/account-store';
import { ConcurrentUpdateError, QuotaExceededError } from '../../../shared/domain/errors';
import { createTestTables, LOCAL_AWS, rejectionOf, type TestTables } from '../../support/dynamo';
import { anAccount } from '../../support/fixtures';

let tables: TestTables;
beforeAll(async () => {
  tables = await createTestTables('account-race');
});
afterAll(async () => {
  await tables?.drop();
});

/**
 * Every account create or delete of a tenant writes its count item in the same transaction,
 * so creates at once meet on that item. DynamoDB then cancels all but one of them with
 * `TransactionConflict` (DynamoDB Local runs transactions one at a time and never does, so a
 * client here answers the first sends the way DynamoDB would). Such a cancellation wrote
 * nothing, and the store sends the transaction again.
 */
describe('DynamoAccountStore under transaction conflicts', () => {
  /** A real client on DynamoDB Local whose first `conflicts` transactions DynamoDB cancels for a conflict. */
  const conflicting = (conflicts: number) => {
    const client = new DynamoDBClient({ endpoint: inject('dynamoDbEndpoint'), ...LOCAL_AWS });
    let left = conflicts;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand' && left > 0) {
          left -= 1;
          const items = (args.input as { TransactItems: unknown[] }).TransactItems;
          throw new TransactionCanceledException({
            message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [None, None, TransactionConflict]',
            $metadata: {},
            CancellationReasons: items.map((_, index) => ({ Code: index === items.length - 1 ? 'TransactionConflict' : 'None' })),
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'transactionConflicts' },
    );
    return { accounts: new DynamoAccountStore({ client, tableName: tables.main.tableName }), sent: () => conflicts - left };
  };
  const count = async (tenantId: string) =>
    (await tables.client.send(new GetItemCommand({ TableName: tables.main.tableName, Key: { pk: { S: `TENANT#${tenantId}` }, sk: { S: 'QUOTA' } } }))).Item
      ?.accounts?.N;

  it('creates and deletes an account whose transaction met others, counted once', async () => {
    const { accounts, sent } = conflicting(4);
    const tenantId = 'tenant-conflicts';
    await accounts.create(anAccount({ tenantId, id: 'c-1', login: 'c-1' }), { maxAccounts: 5 });
    await accounts.create(anAccount({ tenantId, id: 'c-2', login: 'c-2' }), { maxAccounts: 5 });
    expect(sent()).toBe(4);
    expect(await count(tenantId)).toBe('2');
    const more = conflicting(2);
    await more.accounts.delete(tenantId, 'c-1');
    expect(await count(tenantId)).toBe('1');
    expect(await more.accounts.get(tenantId, 'c-1')).toBeUndefined();
  });

  it('gives up after five conflicts in a row, having written nothing', async () => {
    const { accounts } = conflicting(5);
    const tenantId = 'tenant-busy';
    expect(await rejectionOf(accounts.create(anAccount({ tenantId, id: 'x-1', login: 'x-1' }), { maxAccounts: 5 }))).toBeInstanceOf(ConcurrentUpdateError);
    expect(await accounts.get(tenantId, 'x-1')).toBeUndefined();
    expect(await count(tenantId)).toBe('0');
  });

  it('creates twelve at once up to the limit of ten, and refuses the other two for the limit', async () => {
    const accounts = new DynamoAccountStore(tables.main);
    const tenantId = 'tenant-burst';
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, index) => accounts.create(anAccount({ tenantId, id: `b-${index}`, login: `b-${index}` }), { maxAccounts: 10 })),
    );
    const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    expect(refused).toHaveLength(2);
    for (const reason of refused) expect(reason).toBeInstanceOf(QuotaExceededError);
    expect(await count(tenantId)).toBe('10');
  });
});

import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { AccountBook } from '../../domain/account-book';
import { ConcurrentUpdateError } from '../../domain/errors';
import type { BookStore } from '../../ports/stores';
import { fromItem, isConditionFailure, tenantKey, toItem, type TableRef } from './table';

const bookKey = (tenantId: string, accountId: string) => ({ pk: tenantKey(tenantId), sk: `BOOK#${accountId}` });

/** One item per account: its positions, pending orders and funds as last synced, versioned. */
export class DynamoBookStore implements BookStore {
  constructor(private readonly table: TableRef) {}

  async get(tenantId: string, accountId: string): Promise<AccountBook | undefined> {
    const { Item } = await this.table.client.send(
      new GetItemCommand({ TableName: this.table.tableName, Key: toItem(bookKey(tenantId, accountId)), ConsistentRead: true }),
    );
    return Item ? fromItem<AccountBook>(Item) : undefined;
  }

  async put(book: AccountBook): Promise<void> {
    try {
      await this.table.client.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: toItem({ ...bookKey(book.tenantId, book.accountId), entity: 'book', ...book }),
          ConditionExpression: book.version === 1 ? 'attribute_not_exists(pk)' : 'version = :previous',
          ExpressionAttributeValues: book.version === 1 ? undefined : toItem({ ':previous': book.version - 1 }),
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new ConcurrentUpdateError(`book of ${book.accountId} moved past version ${book.version - 1}`);
      throw error;
    }
  }
}

import {
  GetItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type QueryCommandOutput,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { brokerLoginKey, type Account } from '../../domain/account';
import type { CopyMapping } from '../../domain/copy-mapping';
import { ConcurrentUpdateError, ConflictError, NotFoundError, QuotaExceededError } from '../../domain/errors';
import { moveGraph } from './mapping-store';
import type { AccountStore, Page, PageRequest, SyncShardContents } from '../../ports/stores';
import {
  VIRTUAL_SYNC_SHARDS,
  cancellationCodes,
  decodeCursor,
  fromItem,
  isConditionFailure,
  page,
  queryAll,
  syncShardKey,
  tenantKey,
  toItem,
  transactWrite,
  virtualShardOf,
  type TableRef,
} from './table';
import { updateExpression } from './update-expression';
import { required } from '../../domain/required';

export const accountKey = (tenantId: string, accountId: string) => toItem({ pk: tenantKey(tenantId), sk: `ACCOUNT#${accountId}` });

/** The item that reserves one broker login for one account of the tenant. */
const loginKey = (account: Pick<Account, 'tenantId' | 'platform' | 'server' | 'login'>) =>
  toItem({ pk: tenantKey(account.tenantId), sk: `LOGIN#${brokerLoginKey(account)}` });

const taken = (account: Pick<Account, 'platform' | 'server' | 'login'>) =>
  new ConflictError(`This tenant already has the ${account.platform} account ${account.login} on ${account.server}`, 'ACCOUNT_EXISTS');

/**
 * Accounts, each with a login item that reserves its `(platform, server, login)` in the
 * tenant: written in the same transaction, so two accounts of one tenant can never be the
 * same broker login, not even when both are added at once.
 */
export class DynamoAccountStore implements AccountStore {
  constructor(private readonly table: TableRef) {}

  /** The tenant's count of accounts lives on one item, changed in the transactions that add and remove accounts. */
  private quotaKey(tenantId: string) {
    return toItem({ pk: tenantKey(tenantId), sk: 'QUOTA' });
  }

  /**
   * A tenant from before the count (or one with no account yet) gets its count from a Query
   * once; two requests doing this at once write the same number, and only the first lands.
   */
  private async ensureCount(tenantId: string): Promise<void> {
    const { Item } = await this.table.client.send(
      new GetItemCommand({ TableName: this.table.tableName, Key: this.quotaKey(tenantId), ConsistentRead: true, ProjectionExpression: 'accounts' }),
    );
    if (Item?.accounts) return;
    let count = 0;
    let start: QueryCommandOutput['LastEvaluatedKey'];
    do {
      const page = await this.table.client.send(
        new QueryCommand({
          TableName: this.table.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: toItem({ ':pk': tenantKey(tenantId), ':prefix': 'ACCOUNT#' }),
          Select: 'COUNT',
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    try {
      await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: this.quotaKey(tenantId),
          UpdateExpression: 'SET accounts = :count, entity = :entity',
          ConditionExpression: 'attribute_not_exists(accounts)',
          ExpressionAttributeValues: toItem({ ':count': count, ':entity': 'quota' }),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  private countAccount(tenantId: string, change: 1 | -1, maxAccounts?: number): TransactWriteItem {
    return {
      Update: {
        TableName: this.table.tableName,
        Key: this.quotaKey(tenantId),
        UpdateExpression: 'ADD accounts :change',
        ...(maxAccounts !== undefined ? { ConditionExpression: 'accounts < :max' } : {}),
        ExpressionAttributeValues: toItem({ ':change': change, ...(maxAccounts !== undefined ? { ':max': maxAccounts } : {}) }),
      },
    };
  }

  private reserveLogin(account: Account): TransactWriteItem {
    return {
      Put: {
        TableName: this.table.tableName,
        Item: { ...loginKey(account), ...toItem({ entity: 'login', accountId: account.id }) },
        ConditionExpression: 'attribute_not_exists(pk) OR accountId = :id',
        ExpressionAttributeValues: toItem({ ':id': account.id }),
      },
    };
  }

  private releaseLogin(account: Account): TransactWriteItem {
    return {
      Delete: {
        TableName: this.table.tableName,
        Key: loginKey(account),
        ConditionExpression: 'attribute_not_exists(pk) OR accountId = :id',
        ExpressionAttributeValues: toItem({ ':id': account.id }),
      },
    };
  }

  async create(account: Account, options: { maxAccounts?: number } = {}): Promise<void> {
    await this.ensureCount(account.tenantId);
    try {
      await transactWrite(this.table, {
        TransactItems: [
          {
            Put: {
              TableName: this.table.tableName,
              Item: toItem({
                pk: tenantKey(account.tenantId),
                sk: `ACCOUNT#${account.id}`,
                gsi1pk: syncShardKey(virtualShardOf(account.id)),
                gsi1sk: `ACCOUNT#${account.id}`,
                entity: 'account',
                ...account,
              }),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          this.reserveLogin(account),
          this.countAccount(account.tenantId, 1, options.maxAccounts),
        ],
      });
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const [accountCode, loginCode, quotaCode] = cancellationCodes(error);
      if (accountCode === 'ConditionalCheckFailed') throw new ConflictError(`account ${account.id} exists`, 'ACCOUNT_EXISTS');
      if (loginCode === 'ConditionalCheckFailed') throw taken(account);
      if (quotaCode === 'ConditionalCheckFailed' && options.maxAccounts !== undefined) {
        throw new QuotaExceededError('MAX_ACCOUNTS_PER_TENANT', options.maxAccounts, 'accounts');
      }
      throw new ConcurrentUpdateError(`account ${account.id} was not created: ${cancellationCodes(error).join(', ')}`);
    }
  }

  async get(tenantId: string, accountId: string): Promise<Account | undefined> {
    const { Item } = await this.table.client.send(
      new GetItemCommand({ TableName: this.table.tableName, Key: accountKey(tenantId, accountId), ConsistentRead: true }),
    );
    return Item ? fromItem<Account>(Item) : undefined;
  }

  async list(tenantId: string, request: PageRequest): Promise<Page<Account>> {
    const result = await this.table.client.send(
      new QueryCommand({
        TableName: this.table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: toItem({ ':pk': tenantKey(tenantId), ':prefix': 'ACCOUNT#' }),
        Limit: request.limit,
        ExclusiveStartKey: decodeCursor(request.cursor, { partitionAttribute: 'pk', partitionValue: tenantKey(tenantId), skPrefix: 'ACCOUNT#' }),
      }),
    );
    return page(
      (result.Items ?? []).map((item) => fromItem<Account>(item)),
      result.LastEvaluatedKey,
    );
  }

  async update(tenantId: string, accountId: string, changes: Partial<Account>): Promise<Account> {
    const { id: _i, tenantId: _t, createdAt: _c, platform: _p, login: _l, ...settable } = changes;
    const expression = updateExpression({ ...settable, updatedAt: changes.updatedAt ?? new Date().toISOString() });
    if (changes.server !== undefined) return this.moveServer(tenantId, accountId, changes.server, expression);
    try {
      const { Attributes } = await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: accountKey(tenantId, accountId),
          ...expression,
          ConditionExpression: 'attribute_exists(pk)',
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem<Account>(required(Attributes, 'the updated account item'));
    } catch (error) {
      if (isConditionFailure(error)) throw new NotFoundError('account');
      throw error;
    }
  }

  /** A move to another server moves the login reservation with it, in one transaction. */
  private async moveServer(tenantId: string, accountId: string, server: string, expression: ReturnType<typeof updateExpression>): Promise<Account> {
    const before = await this.get(tenantId, accountId);
    if (!before) throw new NotFoundError('account');
    const after = { ...before, server };
    const moving = brokerLoginKey(before) !== brokerLoginKey(after);
    try {
      await this.table.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table.tableName,
                Key: accountKey(tenantId, accountId),
                ...expression,
                // Still on the server the reservations were read for: two moves at once cannot
                // both release the old login and leave a reservation behind.
                ConditionExpression: '#server = :previousServer',
                ExpressionAttributeNames: { ...expression.ExpressionAttributeNames, '#server': 'server' },
                ExpressionAttributeValues: { ...expression.ExpressionAttributeValues, ...toItem({ ':previousServer': before.server }) },
              },
            },
            ...(moving ? [this.releaseLogin(before), this.reserveLogin(after)] : []),
          ],
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const [accountCode, , loginCode] = cancellationCodes(error);
      if (accountCode === 'ConditionalCheckFailed') {
        if (!(await this.get(tenantId, accountId))) throw new NotFoundError('account');
        throw new ConflictError('The account was changed by another request at the same time; try again', 'CONCURRENT_CHANGE');
      }
      if (loginCode === 'ConditionalCheckFailed') throw taken(after);
      // Another write to the same items at the same moment (TransactionConflict).
      throw new ConflictError('The account was changed by another request at the same time; try again', 'CONCURRENT_CHANGE');
    }
    return required(await this.get(tenantId, accountId), `account ${accountId} after its update`);
  }

  async delete(tenantId: string, accountId: string, options: { graphVersion?: number } = {}): Promise<void> {
    const account = await this.get(tenantId, accountId);
    if (!account) return;
    await this.ensureCount(tenantId);
    try {
      await transactWrite(this.table, {
        TransactItems: [
          {
            Delete: {
              TableName: this.table.tableName,
              Key: accountKey(tenantId, accountId),
              // The login released below is the account's own only while its server is unchanged.
              ConditionExpression: '#server = :server',
              ExpressionAttributeNames: { '#server': 'server' },
              ExpressionAttributeValues: toItem({ ':server': account.server }),
            },
          },
          this.releaseLogin(account),
          ...(options.graphVersion !== undefined ? [moveGraph(this.table, tenantId, options.graphVersion)] : []),
          this.countAccount(tenantId, -1),
        ],
      });
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new ConcurrentUpdateError(`account ${accountId} was not deleted: it or the mapping graph changed meanwhile`);
    }
  }

  async listSyncShard(shard: number, shards: number): Promise<SyncShardContents> {
    const contents: SyncShardContents = { accounts: [], mappings: [] };
    for (let virtual = 0; virtual < VIRTUAL_SYNC_SHARDS; virtual += 1) {
      if (virtual % shards !== shard) continue;
      const items = await queryAll(this.table, {
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: toItem({ ':pk': syncShardKey(virtual) }),
      });
      for (const item of items) {
        const entity = item.entity?.S;
        if (entity === 'account') contents.accounts.push(fromItem<Account>(item));
        else if (entity === 'mapping') contents.mappings.push(fromItem<CopyMapping>(item));
      }
    }
    return contents;
  }
}

import { afterAll, beforeAll } from 'vitest';
import { DynamoAccountStore } from '../../shared/adapters/dynamodb/account-store';
import { DynamoBookStore } from '../../shared/adapters/dynamodb/book-store';
import { DynamoCopyStore } from '../../shared/adapters/dynamodb/copy-store';
import { DynamoMappingStore } from '../../shared/adapters/dynamodb/mapping-store';
import { DynamoShardLeaseStore } from '../../shared/adapters/dynamodb/shard-lease-store';
import { createTestTables, type TestTables } from '../support/dynamo';
import { storeContract, type StoreSet } from './stores.contract';
import { tradeHistoryStoreContract } from './trade-history-store.contract';
import { DynamoTradeHistoryStore } from '../../shared/adapters/dynamodb/trade-history-store';

let tables: TestTables;
let stores: StoreSet;
let history: DynamoTradeHistoryStore;

beforeAll(async () => {
  tables = await createTestTables('contract');
  stores = {
    accounts: new DynamoAccountStore(tables.main),
    mappings: new DynamoMappingStore(tables.main),
    copies: new DynamoCopyStore(tables.main, tables.audit),
    books: new DynamoBookStore(tables.main),
    shardLeases: new DynamoShardLeaseStore(tables.main),
  };
  history = new DynamoTradeHistoryStore(tables.main);
});

afterAll(async () => tables?.drop());

storeContract('DynamoDB stores', () => stores);
tradeHistoryStoreContract('DynamoDB stores', () => history);

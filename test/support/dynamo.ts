import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { ensureTables } from '../../shared/adapters/dynamodb/table-definitions';
import type { TableRef } from '../../shared/adapters/dynamodb/table';

/** DynamoDB Local keeps data per access key and region: every test uses the same pair. */
export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

export interface TestTables {
  client: DynamoDBClient;
  main: TableRef;
  audit: TableRef;
  /** Deletes both tables and closes the client. */
  drop(): Promise<void>;
}

/**
 * Creates a Main and an Audit table with fresh unique names in the DynamoDB Local the
 * global setup started, so each test file (or describe block) works on its own data.
 */
export const createTestTables = async (prefix = 'test'): Promise<TestTables> => {
  const client = new DynamoDBClient({ endpoint: inject('dynamoDbEndpoint'), ...LOCAL_AWS });
  const suffix = randomUUID();
  const names = { main: `${prefix}-main-${suffix}`, audit: `${prefix}-audit-${suffix}` };
  await ensureTables(client, names);
  return {
    client,
    main: { client, tableName: names.main },
    audit: { client, tableName: names.audit },
    async drop() {
      await Promise.allSettled([
        client.send(new DeleteTableCommand({ TableName: names.main })),
        client.send(new DeleteTableCommand({ TableName: names.audit })),
      ]);
      client.destroy();
    },
  };
};

/** The error a promise rejects with; fails the test when it resolves. */
export const rejectionOf = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
};

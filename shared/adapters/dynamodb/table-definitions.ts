import { CreateTableCommand, DescribeTableCommand, UpdateTableCommand, UpdateTimeToLiveCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** The main table's indexes as the stateful stack declares them: sync shards and mapping timelines (gsi1), each tenant's copies (gsi2). */
const MAIN_INDEXES = ['gsi1', 'gsi2'].map((name) => ({
  IndexName: name,
  KeySchema: [
    { AttributeName: `${name}pk`, KeyType: 'HASH' as const },
    { AttributeName: `${name}sk`, KeyType: 'RANGE' as const },
  ],
  Projection: { ProjectionType: 'ALL' as const },
}));
const MAIN_INDEX_ATTRIBUTES = MAIN_INDEXES.flatMap((index) =>
  index.KeySchema.map((key) => ({ AttributeName: key.AttributeName, AttributeType: 'S' as const })),
);

/** The main table's stream, as the stateful stack declares it: the live events are read from it. */
const MAIN_STREAM = { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } as const;

/**
 * Creates the Main and Audit tables with the same keys and index the CDK stateful stack
 * declares, if they do not exist. Used by the local runtime and the tests only; in AWS
 * CloudFormation owns the tables.
 */
export const ensureTables = async (client: DynamoDBClient, names: { main: string; audit: string }): Promise<void> => {
  const exists = async (name: string): Promise<boolean> => {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
      // A main table of an older DATA_DIR gets the stream it lacks.
      if (name === names.main && !Table?.StreamSpecification?.StreamEnabled) {
        await client.send(new UpdateTableCommand({ TableName: name, StreamSpecification: MAIN_STREAM }));
      }
      // ...and the indexes it lacks (one at a time, as DynamoDB creates them).
      for (const index of name === names.main ? MAIN_INDEXES : []) {
        if (Table?.GlobalSecondaryIndexes?.some((existing) => existing.IndexName === index.IndexName)) continue;
        await client.send(
          new UpdateTableCommand({ TableName: name, AttributeDefinitions: MAIN_INDEX_ATTRIBUTES, GlobalSecondaryIndexUpdates: [{ Create: index }] }),
        );
      }
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ResourceNotFoundException') return false;
      throw error;
    }
  };
  if (!(await exists(names.main))) {
    await client.send(
      new CreateTableCommand({
        TableName: names.main,
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: MAIN_STREAM,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }, ...MAIN_INDEX_ATTRIBUTES],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: MAIN_INDEXES,
      }),
    );
    await client.send(new UpdateTimeToLiveCommand({ TableName: names.main, TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }));
  }
  if (!(await exists(names.audit))) await createKeyedTable(client, names.audit);
};

/** A table keyed `pk` / `sk` (strings), on demand, with nothing else: the audit and the live events connections tables. */
export const createKeyedTable = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
};

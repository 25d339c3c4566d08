import { CreateTableCommand, DescribeTableCommand, UpdateTableCommand, UpdateTimeToLiveCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

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
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'gsi1pk', AttributeType: 'S' },
          { AttributeName: 'gsi1sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'gsi1',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
    await client.send(new UpdateTimeToLiveCommand({ TableName: names.main, TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }));
  }
  if (!(await exists(names.audit))) {
    await client.send(
      new CreateTableCommand({
        TableName: names.audit,
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
  }
};

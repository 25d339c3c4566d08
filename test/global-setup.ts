import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../local/emulators/dynamodb-local';
import { startSqsLocal } from '../local/emulators/sqs-local';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbEndpoint: string;
    sqsEndpoint: string;
  }
}

/**
 * Starts the emulators once for the whole run: DynamoDB Local (in memory) and fauxqs.
 * Each test file makes its own tables and queues with unique names, so files stay independent.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [dynamo, sqs] = await Promise.all([startDynamoDbLocal(), startSqsLocal()]);
  project.provide('dynamoDbEndpoint', dynamo.endpoint);
  project.provide('sqsEndpoint', sqs.address);
  return async () => {
    await Promise.all([dynamo.stop(), sqs.stop()]);
  };
}

import type { SQSEvent } from 'aws-lambda';

/** An SQS message as Lambda's event source hands it to the copy function, in the FIFO group `group`. */
export const sqsRecord = (id: string, body: string, group: string): SQSEvent['Records'][number] => ({
  messageId: id,
  receiptHandle: `handle-${id}`,
  body,
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: '0',
    SenderId: 'test',
    ApproximateFirstReceiveTimestamp: '0',
    MessageGroupId: group,
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test.fifo',
  awsRegion: 'us-east-1',
});

import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * Timeout of the copy worker, the consumer of the copy-signal queue. The queue's
 * visibility timeout is derived from it, so this is the one number both stacks read.
 */
export const COPY_WORKER_TIMEOUT = Duration.seconds(30);

/**
 * AWS recommends a visibility timeout of at least six times the consumer's timeout, so a
 * batch that Lambda retries after throttling is not handed to a second worker meanwhile.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/**
 * A poison signal is retried this many times before it moves to the dead-letter queue;
 * fewer would dead-letter signals that only met a throttled or briefly unreachable broker.
 */
export const MAX_RECEIVE_COUNT = 5;

export interface CopyQueueProps {
  /** Prefixes the queue names, so stages share an account without colliding. */
  readonly stage: string;
  /** Timeout of the Lambda function that consumes the queue. */
  readonly consumerTimeout: Duration;
  /** Receives the alarm raised when a signal reaches the dead-letter queue. */
  readonly alarmTopic: sns.ITopic;
}

/**
 * The FIFO queue of copy signals and its FIFO dead-letter queue.
 *
 * Producers give every signal a deduplication id derived in the domain, so content-based
 * deduplication stays off. Deduplication and throughput are per message group (one group
 * per slave account), which is high-throughput FIFO. One message visible in the DLQ raises
 * an alarm: a signal there is a copy that did not happen.
 */
export class CopyQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly deadLetterAlarm: cloudwatch.Alarm;
  /** The consumer timeout the visibility timeout was derived from. */
  readonly consumerTimeout: Duration;

  constructor(scope: Construct, id: string, props: CopyQueueProps) {
    super(scope, id);
    this.consumerTimeout = props.consumerTimeout;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: `${props.stage}-copy-signals-dlq.fifo`,
      fifo: true,
      contentBasedDeduplication: false,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: `${props.stage}-copy-signals.fifo`,
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: 'A copy signal reached the dead-letter queue: a slave order was not placed.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const action = new cloudwatchActions.SnsAction(props.alarmTopic);
    this.deadLetterAlarm.addAlarmAction(action);
    this.deadLetterAlarm.addOkAction(action);
  }
}

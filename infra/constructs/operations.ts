import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../shared/ports/metrics';

export interface OperationsProps {
  readonly stage: string;
  readonly functions: { readonly api: lambda.IFunction; readonly sync: lambda.Function; readonly copy: lambda.Function };
  readonly copyQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly alarmTopic: sns.ITopic;
  /** How often a master without a stream is read: detection lag alarms at two of these. */
  readonly masterPollInterval: Duration;
}

/** Thresholds of the alarms (one place, named, so an operator can read what pages them). */
export const ALARM_THRESHOLDS = {
  /** Copies the broker refused for good, in five minutes. */
  failedCopiesPerFiveMinutes: 5,
  /** p99 of detection -> the slave broker's answer, over five minutes. */
  copyLatencyP99: Duration.seconds(5),
} as const;

/**
 * What an operator watches: a dashboard of the copy path (latency, outcomes, detection, the
 * queue and the functions) and the alarms that page through the alarm topic. The metrics are
 * the functions' EMF lines (namespace `MtCopier`, dimension `service`), Lambda's and SQS's own.
 */
export class Operations extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    const copier = (name: string, service: 'copy' | 'sync', statistic: string, label?: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { service: `mt-copier-${service}` },
        statistic,
        period: Duration.minutes(5),
        // A label would turn an alarm's metric into metric math; alarms' metrics go without.
        ...(label ? { label } : {}),
      });

    const copyLatencyP99 = copier('CopyLatency', 'copy', 'p99');
    const failedCopies = copier('CopiesFailed', 'copy', 'Sum');
    const detectionLag = copier('DetectionLag', 'sync', 'p90');
    const action = new cloudwatchActions.SnsAction(props.alarmTopic);
    const alarm = (alarmId: string, description: string, options: Omit<cloudwatch.AlarmProps, 'alarmDescription'>) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...options,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      this.alarms.push(created);
      return created;
    };

    alarm('FailedCopies', `More than ${ALARM_THRESHOLDS.failedCopiesPerFiveMinutes} copies refused by brokers in five minutes (see the copies' reasons).`, {
      metric: failedCopies,
      threshold: ALARM_THRESHOLDS.failedCopiesPerFiveMinutes,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm('CopyLatency', `Copy latency p99 above ${ALARM_THRESHOLDS.copyLatencyP99.toSeconds()} s for 15 minutes.`, {
      metric: copyLatencyP99,
      threshold: ALARM_THRESHOLDS.copyLatencyP99.toMilliseconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
    });
    alarm('DetectionLag', `New master trades seen more than two poll intervals (${2 * props.masterPollInterval.toSeconds()} s) late, in 2 of 3 periods.`, {
      metric: detectionLag,
      threshold: 2 * props.masterPollInterval.toMilliseconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    });
    alarm(
      'MastersNotStreamed',
      'A sync shard holds more masters than it was sized for: the rest are polled every 5 s. Deploy again with -c masters=<your masters>.',
      {
        metric: copier('MastersNotStreamed', 'sync', 'Maximum'),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      },
    );
    for (const [name, fn] of Object.entries(props.functions)) {
      const title = `${name[0]?.toUpperCase()}${name.slice(1)}`;
      alarm(`${title}Errors`, `The ${name} function failed (an invocation ended in an error).`, {
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
      alarm(`${title}Throttles`, `The ${name} function was throttled: invocations were refused for lack of concurrency.`, {
        metric: fn.metricThrottles({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    const fiveMinutes = { period: Duration.minutes(5) };
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${props.stage}-mt-copier`,
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Copy latency (detection -> slave broker answer), ms',
            left: [copier('CopyLatency', 'copy', 'p50'), copyLatencyP99, copier('CopyLatency', 'copy', 'Maximum')],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Copies and failures',
            left: [copier('CopyLatency', 'copy', 'SampleCount', 'copies'), failedCopies],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Detection lag (broker open -> seen), ms',
            left: [copier('DetectionLag', 'sync', 'p50'), detectionLag, copier('DetectionLag', 'sync', 'Maximum')],
            width: 8,
          }),
          new cloudwatch.GraphWidget({ title: 'Master events detected', left: [copier('DetectionLag', 'sync', 'SampleCount', 'events')], width: 8 }),
          new cloudwatch.GraphWidget({
            title: 'Sync pass duration, ms',
            left: [copier('SyncPassDuration', 'sync', 'p50'), copier('SyncPassDuration', 'sync', 'p99')],
            width: 8,
          }),
        ],
        [
          // From the copies' metric lines in the copy function's log: by reason (skips and
          // failures), without a CloudWatch metric billed for every action, status and reason.
          new cloudwatch.LogQueryWidget({
            title: 'Copies by action, status and reason (last 3 hours)',
            logGroupNames: [props.functions.copy.logGroup.logGroupName],
            queryLines: ['filter ispresent(Copies)', 'stats sum(Copies) as copies, avg(brokerMs) as brokerMsAvg by action, status, reason', 'sort copies desc'],
            width: 12,
          }),
          new cloudwatch.LogQueryWidget({
            title: 'Detection lag by master, ms (last 3 hours)',
            logGroupNames: [props.functions.sync.logGroup.logGroupName],
            queryLines: [
              'filter ispresent(DetectionLag)',
              'stats pct(DetectionLag, 90) as lagP90, count(*) as events by masterAccountId',
              'sort lagP90 desc',
              'limit 20',
            ],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Copy queue',
            left: [
              props.copyQueue.metricApproximateNumberOfMessagesVisible({ ...fiveMinutes, statistic: cloudwatch.Stats.MAXIMUM, label: 'waiting' }),
              props.copyQueue.metricApproximateAgeOfOldestMessage({ ...fiveMinutes, statistic: cloudwatch.Stats.MAXIMUM, label: 'oldest, s' }),
            ],
            right: [
              props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ ...fiveMinutes, statistic: cloudwatch.Stats.MAXIMUM, label: 'dead letters' }),
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Functions: errors and throttles',
            left: Object.entries(props.functions).flatMap(([name, fn]) => [
              fn.metricErrors({ ...fiveMinutes, statistic: cloudwatch.Stats.SUM, label: `${name} errors` }),
              fn.metricThrottles({ ...fiveMinutes, statistic: cloudwatch.Stats.SUM, label: `${name} throttles` }),
            ]),
            width: 12,
          }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 })],
      ],
    });
  }
}

/**
 * AWS list prices in us-east-1 that the cost model multiplies the counted requests by.
 *
 * Taken on `PRICES_TAKEN_ON` from the public AWS pricing pages (and the figures the
 * benchmark issue states); the bench does not fetch them (it runs offline). No free tier is
 * applied anywhere: a self-hosted deployment usually shares its account with other workloads.
 */
export const PRICES_TAKEN_ON = '2026-11-24';

export interface Prices {
  takenOn: string;
  region: string;
  lambda: {
    /** Per request (invocation), any architecture. */
    requestUsd: number;
    /** Per GB-second of duration on arm64 (Graviton), the first pricing tier. */
    gbSecondArm64Usd: number;
  };
  dynamodb: {
    /** On-demand, per write request unit (1 KB; transactional writes take 2 per KB). Price after the November 2024 cut. */
    writeRequestUnitUsd: number;
    /** On-demand, per read request unit (4 KB strongly consistent; eventually consistent takes 0.5). After the November 2024 cut. */
    readRequestUnitUsd: number;
    /** Standard table class storage, per GB-month. */
    storageGbMonthUsd: number;
  };
  sqs: {
    /** FIFO queues, per request; every 64 KB chunk of a request's payload is billed as one request. */
    fifoRequestUsd: number;
    chunkBytes: number;
  };
  kms: {
    customerManagedKeyMonthUsd: number;
    requestUsd: number;
  };
  eventBridge: {
    /** Scheduled rules on the default bus (what the stateless stack uses). */
    scheduledRuleInvocationUsd: number;
    /** EventBridge Scheduler, if the schedule moved there. */
    schedulerInvocationUsd: number;
  };
  apiGateway: {
    /** HTTP API, per request (first 300 million a month). */
    httpRequestUsd: number;
  };
  secretsManager: {
    secretMonthUsd: number;
    apiCallUsd: number;
  };
  cloudWatchLogs: {
    /** Ingestion, per GB (the EMF metric lines and Lambda's own lines are logs first). */
    ingestionGbUsd: number;
  };
  cloudWatch: {
    /** A custom metric a month, first 10,000; billed by the hour for the hours it is sent in. */
    customMetricMonthUsd: number;
    /** A standard-resolution alarm a month. */
    alarmMonthUsd: number;
  };
  xRay: {
    /** Per trace recorded. */
    traceRecordedUsd: number;
  };
}

export const US_EAST_1_PRICES: Prices = {
  takenOn: PRICES_TAKEN_ON,
  region: 'us-east-1',
  lambda: { requestUsd: 0.2 / 1e6, gbSecondArm64Usd: 0.0000133334 },
  dynamodb: { writeRequestUnitUsd: 0.625 / 1e6, readRequestUnitUsd: 0.125 / 1e6, storageGbMonthUsd: 0.25 },
  sqs: { fifoRequestUsd: 0.5 / 1e6, chunkBytes: 64 * 1024 },
  kms: { customerManagedKeyMonthUsd: 1, requestUsd: 0.03 / 10_000 },
  eventBridge: { scheduledRuleInvocationUsd: 0, schedulerInvocationUsd: 1 / 1e6 },
  apiGateway: { httpRequestUsd: 1 / 1e6 },
  secretsManager: { secretMonthUsd: 0.4, apiCallUsd: 0.05 / 10_000 },
  cloudWatchLogs: { ingestionGbUsd: 0.5 },
  cloudWatch: { customMetricMonthUsd: 0.3, alarmMonthUsd: 0.1 },
  xRay: { traceRecordedUsd: 5 / 1e6 },
};

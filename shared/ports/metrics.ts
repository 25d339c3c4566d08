/** The CloudWatch namespace of every metric of this system. */
export const METRICS_NAMESPACE = 'MtCopier';

/** The units this system measures in. */
export type MetricUnit = 'Milliseconds' | 'Count';

export interface MetricValue {
  name: string;
  unit: MetricUnit;
  value: number;
}

/**
 * Operational metrics. One `emit` is one data point set under its dimensions (in AWS one
 * CloudWatch embedded-metric-format line); dimensions must come from small fixed sets (an
 * action, a status, a reason code), never ids.
 */
export interface Metrics {
  /**
   * `properties` ride along on the same line (in AWS: searchable in the logs, not metrics):
   * CloudWatch bills every metric for each hour it is sent in, so figures that are read
   * rather than alarmed on go here.
   */
  emit(dimensions: Record<string, string>, values: MetricValue[], properties?: Record<string, string | number>): void;
}

/** Measures nothing: for callers that have no metrics to give. */
export const noMetrics: Metrics = { emit: () => undefined };

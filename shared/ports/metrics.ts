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
  emit(dimensions: Record<string, string>, values: MetricValue[]): void;
}

/** Measures nothing: for callers that have no metrics to give. */
export const noMetrics: Metrics = { emit: () => undefined };

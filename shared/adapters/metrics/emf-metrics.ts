import { Metrics as PowertoolsMetrics, MetricUnit as PowertoolsUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, type MetricUnit, type Metrics } from '../../ports/metrics';

const units: Record<MetricUnit, (typeof PowertoolsUnit)[keyof typeof PowertoolsUnit]> = {
  Milliseconds: PowertoolsUnit.Milliseconds,
  Count: PowertoolsUnit.Count,
};

/**
 * Metrics as CloudWatch embedded metric format (EMF) lines, serialized by Powertools: in
 * Lambda `write` is stdout, where CloudWatch Logs turns each line into metrics without an API
 * call; locally it is whatever the runtime gives (its log). Each emit is written at once, so a
 * function that dies loses at most the line it was writing.
 */
export const emfMetrics = (options: { service: string; write: (line: string) => void; namespace?: string }): Metrics => {
  const metrics = new PowertoolsMetrics({ namespace: options.namespace ?? METRICS_NAMESPACE, serviceName: options.service });
  return {
    emit(dimensions, values, properties = {}) {
      if (values.length === 0) return;
      try {
        for (const [name, value] of Object.entries(dimensions)) metrics.addDimension(name, value);
        for (const [name, value] of Object.entries(properties)) metrics.addMetadata(name, String(value));
        for (const value of values) metrics.addMetric(value.name, units[value.unit], value.value);
        options.write(JSON.stringify(metrics.serializeMetrics()));
      } finally {
        metrics.clearMetrics();
        metrics.clearDimensions();
      }
    },
  };
};

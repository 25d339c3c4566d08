import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Subsegment } from 'aws-xray-sdk-core';
import type { SpanAnnotations, Tracing } from '../../ports/tracing';

/**
 * The Tracing port on Powertools' tracer (X-Ray). A span is a subsegment of the invocation's
 * segment, opened by the X-Ray SDK in a context of its own, so spans of signals worked side
 * by side do not nest into one another. Outside Lambda the tracer is disabled and spans are
 * plain calls.
 */
export const xrayTracing = (tracer: Tracer): Tracing => ({
  span: async <T>(name: string, annotations: SpanAnnotations, work: () => Promise<T>): Promise<T> => {
    if (!tracer.isTracingEnabled()) return work();
    return tracer.provider.captureAsyncFunc(name, async (subsegment?: Subsegment): Promise<T> => {
      // No segment to join (a stream's callback after its invocation ended): the work runs untraced.
      if (!subsegment) return work();
      for (const [key, value] of Object.entries(annotations)) subsegment.addAnnotation(key, value);
      try {
        return await work();
      } catch (error) {
        subsegment.addError(error instanceof Error ? error : new Error(String(error)));
        throw error;
      } finally {
        subsegment.close();
      }
    }) as Promise<T>;
  },
  awsClient: (client) => (tracer.isTracingEnabled() ? tracer.captureAWSv3Client(client) : client),
});

const tracers = new Map<string, Tracer>();

/**
 * The one tracer of a function (`mt-copier-<service>`). HTTP requests are not captured on
 * their own: a broker call is one span of the port (`broker.placeOrder`), whatever HTTP and
 * websocket traffic the SDK makes under it, and MetaApi's long-lived websockets would leave
 * subsegments open.
 */
export const tracerFor = (service: string): Tracer => {
  let tracer = tracers.get(service);
  if (!tracer) {
    tracer = new Tracer({ serviceName: `mt-copier-${service}`, captureHTTPsRequests: false });
    tracers.set(service, tracer);
  }
  return tracer;
};

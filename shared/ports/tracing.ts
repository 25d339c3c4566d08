/** Annotations a span carries: indexed by X-Ray, so a trace can be found by account or method. */
export type SpanAnnotations = Record<string, string | number | boolean>;

/**
 * Tracing as the adapters need it: named spans around calls that leave the process (the
 * broker), and instrumented AWS SDK clients. A span never changes what the work returns or
 * throws; tracing that is off or has no trace to join costs one function call.
 */
export interface Tracing {
  span<T>(name: string, annotations: SpanAnnotations, work: () => Promise<T>): Promise<T>;
  /** The same client, each of its requests recorded as a span. */
  awsClient<Client extends object>(client: Client): Client;
}

export const noTracing: Tracing = {
  span: (_name, _annotations, work) => work(),
  awsClient: (client) => client,
};

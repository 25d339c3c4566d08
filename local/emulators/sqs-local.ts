import { buildApp } from 'fauxqs';

export interface RunningSqsLocal {
  /** The endpoint for the SQS client, e.g. http://127.0.0.1:49152. */
  address: string;
  stop(): Promise<void>;
}

/**
 * The SQS emulator (`fauxqs`, in process) listening on 127.0.0.1 only: its own `startFauxqs`
 * listens on every interface, and an emulator has no authentication.
 */
export const startSqsLocal = async (options: { port?: number } = {}): Promise<RunningSqsLocal> => {
  const app = buildApp({ logger: false });
  const address = await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  return { address, stop: () => app.close() };
};

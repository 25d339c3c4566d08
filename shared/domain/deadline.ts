/** A call to MetaApi did not answer within its time budget; its outcome is unknown. */
export class DeadlineExceededError extends Error {
  override readonly name = 'DeadlineExceededError';
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what} did not answer within ${ms} ms`);
  }
}

/**
 * Settles with `work`, or rejects with `DeadlineExceededError` once `ms` have passed. The SDK
 * retries some requests by itself and waits for a connected instance without a limit; this
 * bound is what keeps one slow broker from holding a Lambda invocation. The work itself is
 * not cancelled (the SDK has no cancellation); its late result is ignored.
 */
export const withDeadline = async <T>(work: () => Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(what, ms)), ms);
  });
  const running = (async () => work())();
  // A rejection that arrives after the deadline must not surface as an unhandled rejection.
  running.catch(() => undefined);
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
};

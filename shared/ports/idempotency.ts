/** The answer a request gave, kept so that the same request sent again gets it again. */
export interface StoredResponse {
  status: number;
  body?: unknown;
}

export type IdempotencyStart =
  /** This request runs. `resumed`: an earlier attempt with the key stopped without an answer and may have reached the broker. */
  | { outcome: 'started'; resumed: boolean }
  /** The key was answered before: give that answer again. */
  | { outcome: 'replay'; response: StoredResponse }
  /** The key was used for another request. */
  | { outcome: 'mismatch' }
  /** An attempt with the key is running right now. */
  | { outcome: 'inProgress'; retryAfterSeconds: number };

/**
 * Keys of requests that trade at a broker (`Idempotency-Key`), per tenant, for a day. A key is
 * taken by one attempt at a time (a lease); a finished attempt's answer is kept and replayed.
 */
export interface IdempotencyStore {
  begin(tenantId: string, key: string, fingerprint: string, options: { now: Date; leaseMs: number; keepMs: number }): Promise<IdempotencyStart>;
  /** Keeps the answer of the attempt that began; later attempts with the key get it again. */
  complete(tenantId: string, key: string, fingerprint: string, response: StoredResponse): Promise<void>;
  /** The attempt ends without an answer worth keeping (an internal failure): the next one resumes at once. */
  release(tenantId: string, key: string, fingerprint: string): Promise<void>;
}

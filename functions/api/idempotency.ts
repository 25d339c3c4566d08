import { createHash } from 'node:crypto';
import { ValidationError } from '../../shared/domain/errors';
import type { Runtime } from '../../shared/runtime/runtime';
import { errorResponse, problemBody, type ApiEvent, type Route, type RouteContext, type RouteResult } from './http';

/** How long a key's answer is kept and replayed. */
export const IDEMPOTENCY_KEEP_MS = 24 * 3600_000;

/** How long one attempt holds its key: past the API function's timeout, so a dead attempt's key is resumed, never raced. */
export const IDEMPOTENCY_LEASE_MS = 60_000;

const KEY = /^[\x20-\x7e]{1,128}$/;

/** The request a key stands for: route, path and body. The same key with another of these is refused. */
const fingerprintOf = (route: Route, event: ApiEvent): string =>
  createHash('sha256')
    .update(JSON.stringify([route.method, event.rawPath, event.body ?? '']))
    .digest('hex');

/**
 * Runs a trading route under its `Idempotency-Key` (when the request has one): the first
 * attempt runs and its answer is kept for a day; the same key again gets the same status and
 * body and reaches no broker; the same key with another request is 422; a key whose attempt is
 * still running is 409 with Retry-After. An attempt that ends in an internal error keeps no
 * answer: the next one runs `resumed`, and the use case looks its client id up first.
 */
export const withIdempotency = async (
  runtime: Runtime,
  request: { route: Route; event: ApiEvent; tenantId: string; requestId: string },
  run: (idempotency: RouteContext<unknown, unknown>['idempotency']) => Promise<RouteResult>,
): Promise<RouteResult> => {
  const { route, event, tenantId, requestId } = request;
  const key = event.headers?.['idempotency-key'];
  if (!route.trading || key === undefined) return run(undefined);
  if (!KEY.test(key)) {
    throw new ValidationError('Invalid Idempotency-Key', [{ path: 'Idempotency-Key', message: 'must be 1-128 printable ASCII characters' }]);
  }
  const fingerprint = fingerprintOf(route, event);
  const start = await runtime.idempotency.begin(tenantId, key, fingerprint, { now: runtime.now(), leaseMs: IDEMPOTENCY_LEASE_MS, keepMs: IDEMPOTENCY_KEEP_MS });
  switch (start.outcome) {
    case 'replay': {
      const replayed = answer(start.response.status, start.response.body);
      return { ...replayed, headers: { ...replayed.headers, 'idempotent-replayed': 'true' } };
    }
    case 'mismatch':
      return answer(
        422,
        problemBody(
          422,
          'IDEMPOTENCY_KEY_REUSED',
          'Idempotency key reused',
          'This Idempotency-Key was used for a different request; use a new key for a new request',
        ),
      );
    case 'inProgress':
      return {
        ...answer(
          409,
          problemBody(409, 'REQUEST_IN_PROGRESS', 'Request in progress', 'A request with this Idempotency-Key is still running; retry after it finishes'),
        ),
        headers: { 'content-type': PROBLEM, 'retry-after': String(start.retryAfterSeconds) },
      };
    case 'started':
      break;
  }
  let result: RouteResult;
  try {
    result = await run({ key, resumed: start.resumed });
  } catch (error) {
    const refusal = errorResponse(error, runtime.log, requestId);
    const status = refusal.statusCode ?? 500;
    const body: unknown = JSON.parse(String(refusal.body));
    // A refusal is an answer (the same request gets it again); an internal failure is not.
    await (status < 500
      ? runtime.idempotency.complete(tenantId, key, fingerprint, { status, body })
      : runtime.idempotency.release(tenantId, key, fingerprint)
    ).catch((storeError: unknown) => runtime.log.error('idempotency key not updated', { requestId, tenantId, error: storeError }));
    return { status, body, headers: refusal.headers as Record<string, string> | undefined };
  }
  // The trade is done: a failure to keep its answer must not turn it into an error (the key
  // then resumes, finds the trade by its client id and answers the same).
  await runtime.idempotency
    .complete(tenantId, key, fingerprint, { status: result.status, body: result.body })
    .catch((error: unknown) => runtime.log.error('idempotency answer not kept', { requestId, tenantId, error }));
  return result;
};

const PROBLEM = 'application/problem+json';

const answer = (status: number, body?: unknown): RouteResult => ({
  status,
  ...(body !== undefined ? { body } : {}),
  headers: status >= 400 ? { 'content-type': PROBLEM } : {},
});

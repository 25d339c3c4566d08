import { randomUUID } from 'node:crypto';
import { TooManyRequestsError, UnauthorizedError, ValidationError } from '../../shared/domain/errors';
import type { Runtime } from '../../shared/runtime/runtime';
import type { RateDecision } from '../../shared/ports/rate-limiter';
import { corsHeaders } from './cors';
import { withIdempotency } from './idempotency';
import { errorResponse, problem, zodProblems, type ApiEvent, type ApiResult, type Route } from './http';

/** Request bodies above this size are refused with 413 before they are parsed. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Rate-limit windows are one minute long; the limits are requests per minute. */
export const RATE_WINDOW_MS = 60_000;

/**
 * What a path parameter (an id of ours or a broker ticket) may look like. Anything else is
 * no id that exists: 404, before a store or a broker sees it.
 */
export const PATH_PARAM = /^[A-Za-z0-9._:-]{1,64}$/;

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

const compile = (route: Route): CompiledRoute => {
  const names: string[] = [];
  const source = route.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}/?$`), names };
};

const parseBody = (event: ApiEvent): unknown => {
  if (!event.body) return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('The body is not valid JSON', [{ path: '(body)', message: 'is not valid JSON' }]);
  }
};

const decodeParam = (raw: string): string | undefined => {
  try {
    const value = decodeURIComponent(raw);
    return PATH_PARAM.test(value) ? value : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Matches an API Gateway (HTTP API, payload 2.0) event to a route, takes the tenant from the
 * verified JWT claims only, counts the request against the tenant's rate limit, validates
 * its body and query with the route's zod schemas, and maps every outcome to JSON or
 * problem+json. `corsOrigin` is the `CORS_ORIGIN` setting (`*`, an origin or a list).
 */
export const createRouter = (routes: Route[], runtime: Runtime, options: { corsOrigin?: string } = {}) => {
  const compiled = routes.map(compile);
  return async (event: ApiEvent): Promise<ApiResult> => {
    const requestId = event.requestContext?.requestId ?? randomUUID();
    const method = event.requestContext.http.method.toUpperCase();
    const path = event.rawPath;
    const cors = corsHeaders(options.corsOrigin, event.headers?.origin);
    const withCors = (result: ApiResult): ApiResult => ({ ...result, headers: { ...cors, ...result.headers } });
    try {
      const candidates = compiled.flatMap((entry) => {
        const match = entry.pattern.exec(path);
        return match ? [{ entry, match }] : [];
      });
      if (candidates.length === 0) return withCors(problem(404, 'ROUTE_NOT_FOUND', 'Not found', `No route ${path}`));
      const found = candidates.find((candidate) => candidate.entry.route.method === method);
      if (!found) {
        const allowed = [...new Set(candidates.map((candidate) => candidate.entry.route.method))].join(', ');
        return withCors(problem(405, 'METHOD_NOT_ALLOWED', 'Method not allowed', `${method} is not allowed on ${path}`, { headers: { allow: allowed } }));
      }
      const { route, names } = found.entry;
      const tenantId = route.auth ? tenantOf(event) : '';
      if (route.auth) await enforceRateLimit(runtime, tenantId, route, requestId);
      const params: Record<string, string> = {};
      for (const [index, name] of names.entries()) {
        const raw = found.match[index + 1];
        const value = raw === undefined ? undefined : decodeParam(raw);
        if (value === undefined) return withCors(problem(404, 'NOT_FOUND', 'Not found', `The ${name} does not exist`));
        params[name] = value;
      }
      const size = event.body ? Buffer.byteLength(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : 0;
      if (size > MAX_BODY_BYTES) return withCors(problem(413, 'PAYLOAD_TOO_LARGE', 'Payload too large', `Bodies are limited to ${MAX_BODY_BYTES} bytes`));
      const body = route.body ? validate(route.body, parseBody(event) ?? {}, 'body') : undefined;
      const query = route.query ? validate(route.query, event.queryStringParameters ?? {}, 'query') : undefined;
      const result = await withIdempotency(runtime, { route, event, tenantId, requestId }, (idempotency) =>
        route.handle({ tenantId, params, body, query, runtime, requestId, idempotency }),
      );
      const hasBody = result.body !== undefined;
      return withCors({
        statusCode: result.status,
        headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...result.headers },
        ...(hasBody ? { body: JSON.stringify(result.body) } : {}),
      });
    } catch (error) {
      return withCors(errorResponse(error, runtime.log, requestId));
    }
  };
};

/**
 * Counts the request in the tenant's window of its bucket (trading routes have their own,
 * tighter, limit). The count lives in DynamoDB, so the limit holds across Lambda instances.
 * If the counter itself cannot be reached the request is served: the stage throttle still
 * bounds the load, and an outage of the counter should not become an outage of the API.
 */
const enforceRateLimit = async (runtime: Runtime, tenantId: string, route: Route, requestId: string): Promise<void> => {
  const broker = route.trading === true || route.reachesBroker === true;
  const bucket = broker ? 'trade' : 'api';
  const limit = broker ? runtime.config.TRADE_RATE_LIMIT_PER_MINUTE : runtime.config.RATE_LIMIT_PER_MINUTE;
  let decision: RateDecision;
  try {
    decision = await runtime.rateLimiter.hit({ tenantId, bucket, limit, windowMs: RATE_WINDOW_MS, now: runtime.now() });
  } catch (error) {
    runtime.log.warn('rate limit not checked', { requestId, tenantId, error });
    return;
  }
  if (!decision.allowed) throw new TooManyRequestsError(decision.retryAfterSeconds);
};

/** Errors name the field as the client wrote it: `sizing.multiplier` in a body, `cursor` in a query. */
const validate = <T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: unknown[] } } },
  value: unknown,
  part: 'body' | 'query',
): T => {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors = zodProblems(parsed.error.issues as Parameters<typeof zodProblems>[0]);
  throw new ValidationError(`Invalid ${part}: ${errors.map((e) => e.path).join(', ')}`, errors);
};

/** The tenant is the verified token's `sub`, never a field of the request. */
const tenantOf = (event: ApiEvent): string => {
  const sub = event.requestContext.authorizer?.jwt?.claims?.sub;
  if (typeof sub !== 'string' || sub.length === 0) throw new UnauthorizedError('A valid bearer token is required');
  return sub;
};

import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { z } from 'zod';
import { brokerCodeInWords, isBrokerError } from '../../shared/domain/broker-errors';
import {
  NotFoundError,
  RuleViolationError,
  ConflictError,
  TooManyRequestsError,
  UnauthorizedError,
  ValidationError,
  type FieldProblem,
} from '../../shared/domain/errors';
import type { Log } from '../../shared/ports/log';
import type { Runtime } from '../../shared/runtime/runtime';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The names in a path template's braces: `/v1/accounts/{id}/positions/{positionId}` gives `id | positionId`. */
export type PathParams<Path extends string> = string extends Path
  ? string
  : Path extends `${string}{${infer Name}}${infer Rest}`
    ? Name | PathParams<Rest>
    : never;

export interface RouteContext<Body, Query, Params extends string = string> {
  tenantId: string;
  /** The path's parameters, each present (the router matched them) and decoded. */
  params: Record<Params, string>;
  body: Body;
  query: Query;
  runtime: Runtime;
  requestId: string;
  /** The request's `Idempotency-Key`, on routes that trade; `resumed` when an earlier attempt with it stopped unanswered. */
  idempotency?: { key: string; resumed: boolean };
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One route: its schemas validate the request and describe it in the OpenAPI document. */
export interface Route<Body = unknown, Query = unknown, Path extends string = string> {
  method: HttpMethod;
  path: Path;
  summary: string;
  tag: string;
  auth: boolean;
  body?: z.ZodType<Body>;
  query?: z.ZodType<Query>;
  response?: { status: number; schema?: z.ZodType; description: string };
  /** Reaches a broker to trade: counted against the tighter trading rate limit, and takes an Idempotency-Key. */
  trading?: boolean;
  /**
   * Reaches a broker or MetaApi without trading (provisions an account, reads its history,
   * syncs it now): counted against the trading rate limit too, so a script cannot spend the
   * tenant's MetaApi credits through the looser one.
   */
  reachesBroker?: boolean;
  /**
   * Problem statuses this route answers besides those every route of its kind may
   * (400 with a body or query, 401 and 429 when authenticated, 404 with a path id, 413 with a body, 500).
   */
  problems?: { status: number; description: string }[];
  handle(context: RouteContext<Body, Query, PathParams<Path>>): Promise<RouteResult>;
}

export const defineRoute = <Body = undefined, Query = undefined, Path extends string = string>(route: Route<Body, Query, Path>): Route<unknown, unknown> =>
  route as unknown as Route<unknown, unknown>;

const PROBLEM = 'application/problem+json';

/** Broker failures that are not a refusal, and when to come back (the words are the code's own). */
const BROKER_UNAVAILABLE = {
  CONNECTION: { retryAfterMs: 5_000 },
  TIMEOUT: { retryAfterMs: 5_000 },
  BROKER_BUSY: { retryAfterMs: 5_000 },
  TOO_MANY_REQUESTS: { retryAfterMs: 10_000 },
  NOT_CONFIGURED: { retryAfterMs: 60_000 },
} as const;

/** A problem's `type`: a URN per code, so a client may switch on either. */
export const problemType = (code: string): string => `urn:mt-copier:problem:${code}`;

/** The RFC 9457 problem body: `code` is stable (UPPER_SNAKE) for programs, `detail` is for people. */
export const problemBody = (status: number, code: string, title: string, detail: string, errors?: FieldProblem[]) => ({
  type: problemType(code),
  title,
  status,
  code,
  detail,
  ...(errors ? { errors } : {}),
});

export const problem = (
  status: number,
  code: string,
  title: string,
  detail: string,
  extra: { errors?: FieldProblem[]; headers?: Record<string, string> } = {},
): APIGatewayProxyStructuredResultV2 => ({
  statusCode: status,
  headers: { 'content-type': PROBLEM, ...extra.headers },
  body: JSON.stringify(problemBody(status, code, title, detail, extra.errors)),
});

/** The one mapping from errors to HTTP answers: below 500 it explains, from 500 up it says nothing of internals. */
export const errorResponse = (error: unknown, log: Log, requestId: string): APIGatewayProxyStructuredResultV2 => {
  if (error instanceof ValidationError) return problem(400, 'INVALID_REQUEST', 'Invalid request', error.message, { errors: error.errors });
  if (error instanceof UnauthorizedError) return problem(401, 'UNAUTHORIZED', 'Unauthorized', error.message);
  if (error instanceof NotFoundError) return problem(404, 'NOT_FOUND', 'Not found', `The ${error.resource} does not exist`);
  if (error instanceof ConflictError) return problem(409, error.code, 'Conflict', error.message);
  if (error instanceof RuleViolationError) return problem(422, error.code, 'Not allowed', error.message, error.errors.length ? { errors: error.errors } : {});
  if (isBrokerError(error)) {
    // Not reached, or no answer in time (the outcome of a trade is then unknown): 503, so the
    // caller comes back; an Idempotency-Key is then released, and its retry finds the order by
    // its client id before it sends anything.
    const unavailable = BROKER_UNAVAILABLE[error.code as keyof typeof BROKER_UNAVAILABLE];
    if (unavailable) {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? unavailable.retryAfterMs) / 1000));
      return problem(503, error.reason, 'Broker unavailable', brokerCodeInWords(error.code), { headers: { 'retry-after': String(seconds) } });
    }
    // The broker refused (no money, market closed, invalid stops...): `BROKER_<code>`, and in words.
    return problem(422, error.reason, 'Rejected by the broker', brokerCodeInWords(error.code));
  }
  if (error instanceof TooManyRequestsError) {
    return problem(429, 'RATE_LIMITED', 'Too many requests', 'Slow down and retry later', { headers: { 'retry-after': String(error.retryAfterSeconds) } });
  }
  // The whole error, stack and cause, for whoever reads the logs; the caller gets the request id only.
  log.error('request failed', { requestId, error });
  return problem(500, 'INTERNAL_ERROR', 'Internal error', `Something went wrong; quote request id ${requestId} when reporting it`);
};

/** One problem per bad field, named by its dotted path (`sizing.multiplier`); each unknown field is named on its own. */
export const zodProblems = (issues: z.core.$ZodIssue[], prefix?: string): FieldProblem[] =>
  issues.flatMap((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [path, key].filter(Boolean).join('.'), message: 'is not a known field' }));
    }
    return [{ path: path || '(body)', message: issue.message }];
  });

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiResult = APIGatewayProxyStructuredResultV2;

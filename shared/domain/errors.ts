/**
 * Typed errors. Each carries a stable `name` so that adapters and the HTTP error mapper
 * can switch on it, and a `cause` for logs. Messages of errors below 500 are safe to show
 * a user; messages of the others never leave the process.
 */

export interface FieldProblem {
  path: string;
  message: string;
}

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly errors: FieldProblem[] = [],
  ) {
    super(message);
  }
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(readonly resource: string) {
    super(`${resource} not found`);
  }
}

/** The request conflicts with the resource's state (HTTP 409); `code` says which conflict, stable for clients. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  constructor(
    message: string,
    readonly code = 'CONFLICT',
  ) {
    super(message);
  }
}

/** Valid shape, but a rule forbids it (HTTP 422); `errors` names the fields the rule is about. */
export class RuleViolationError extends Error {
  override readonly name = 'RuleViolationError';
  constructor(
    message: string,
    readonly errors: FieldProblem[] = [],
    /** Which rule, stable for clients (UPPER_SNAKE). */
    readonly code = 'RULE_VIOLATION',
  ) {
    super(message);
  }
}

/** A tenant reached one of its configured limits (HTTP 422, the limit and its setting named). */
export class QuotaExceededError extends RuleViolationError {
  constructor(
    readonly setting: string,
    readonly limit: number,
    what: string,
  ) {
    super(`This tenant has reached its limit of ${limit} ${what} (${setting})`, [], 'QUOTA_EXCEEDED');
  }
}

/** Limits per tenant, against abuse and runaway scripts (settings MAX_*). */
export interface TenantQuotas {
  accounts: number;
  mappings: number;
  slavesPerMaster: number;
}

export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError';
}

export class TooManyRequestsError extends Error {
  override readonly name = 'TooManyRequestsError';
  constructor(readonly retryAfterSeconds: number) {
    super('Too many requests');
  }
}

/** A conditional write lost a race; the caller retries or gives up, never overwrites. */
export class ConcurrentUpdateError extends Error {
  override readonly name = 'ConcurrentUpdateError';
}

import { randomUUID } from 'node:crypto';
import { UnauthorizedError, ValidationError } from '../../shared/domain/errors';
import type { Runtime } from '../../shared/runtime/runtime';
import { errorResponse, problem, zodProblems, type ApiEvent, type ApiResult, type Route } from './http';

/** Request bodies above this size are refused with 413 before they are parsed. */
export const MAX_BODY_BYTES = 64 * 1024;

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

/**
 * Matches an API Gateway (HTTP API, payload 2.0) event to a route, validates its body and
 * query with the route's zod schemas, takes the tenant from the verified JWT claims only,
 * and maps every outcome to JSON or problem+json.
 */
export const createRouter = (routes: Route[], runtime: Runtime, options: { corsOrigin?: string } = {}) => {
  const compiled = routes.map(compile);
  const cors: Record<string, string> = options.corsOrigin ? { 'access-control-allow-origin': options.corsOrigin, vary: 'Origin' } : {};
  return async (event: ApiEvent): Promise<ApiResult> => {
    const requestId = event.requestContext?.requestId ?? randomUUID();
    const method = event.requestContext.http.method.toUpperCase();
    const path = event.rawPath;
    const withCors = (result: ApiResult): ApiResult => ({ ...result, headers: { ...cors, ...result.headers } });
    try {
      const candidates = compiled.map((entry) => ({ entry, match: entry.pattern.exec(path) })).filter((candidate) => candidate.match);
      if (candidates.length === 0) return withCors(problem(404, 'Not found', `No route ${path}`));
      const found = candidates.find((candidate) => candidate.entry.route.method === method);
      if (!found) {
        const allowed = [...new Set(candidates.map((candidate) => candidate.entry.route.method))].join(', ');
        return withCors(problem(405, 'Method not allowed', `${method} is not allowed on ${path}`, { headers: { allow: allowed } }));
      }
      const { route, names } = found.entry;
      const tenantId = route.auth ? tenantOf(event) : '';
      const params = Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(found.match![index + 1]!)]));
      const size = event.body ? Buffer.byteLength(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : 0;
      if (size > MAX_BODY_BYTES) return withCors(problem(413, 'Payload too large', `Bodies are limited to ${MAX_BODY_BYTES} bytes`));
      const body = route.body ? validate(route.body, parseBody(event) ?? {}, undefined) : undefined;
      const query = route.query ? validate(route.query, event.queryStringParameters ?? {}, 'query') : undefined;
      const result = await route.handle({ tenantId, params, body, query, runtime, requestId });
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

const validate = <T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: unknown[] } } }, value: unknown, prefix: string | undefined): T => {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors = zodProblems(parsed.error.issues as Parameters<typeof zodProblems>[0], prefix);
  throw new ValidationError(`Invalid ${prefix ?? 'body'}: ${errors.map((e) => e.path).join(', ')}`, errors);
};

/** The tenant is the verified token's `sub`, never a field of the request. */
const tenantOf = (event: ApiEvent): string => {
  const sub = event.requestContext.authorizer?.jwt?.claims?.sub;
  if (typeof sub !== 'string' || sub.length === 0) throw new UnauthorizedError('A valid bearer token is required');
  return sub;
};

import { z } from 'zod';
import type { Route } from './http';
import { PATH_PARAM } from './router';
import { problemSchema } from './schemas/common.schema';

type JsonSchema = Record<string, unknown>;

/** The OpenAPI 3.1 document of a set of routes. */
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  tags: { name: string }[];
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
}

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };

/** Rewrites zod's `#/$defs/<id>` references to components, renaming as `rename` says. */
const relink = (node: unknown, rename: (id: string) => string): unknown => {
  if (Array.isArray(node)) return node.map((child) => relink(child, rename));
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) =>
      key === '$ref' && typeof value === 'string' && value.startsWith('#/$defs/')
        ? [key, `#/components/schemas/${rename(value.slice('#/$defs/'.length))}`]
        : [key, relink(value, rename)],
    ),
  );
};

const operationId = (route: Route): string =>
  route.method.toLowerCase() +
  route.path
    .split('/')
    .filter(Boolean)
    .map((segment) => segment.replace(/[{}.]/g, ''))
    .map((segment) => segment.replace(/(^|-)(\w)/g, (_m, _dash: string, letter: string) => letter.toUpperCase()))
    .join('');

const problemResponse = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: PROBLEM_REF } },
});

/**
 * Builds the OpenAPI 3.1 document from the routes themselves: the same zod schemas that
 * validate a request describe it (`io: 'input'`: what a client may send, defaults optional),
 * and responses are described as the server emits them (`io: 'output'`). Every route is in
 * it with its path and query parameters, body, success response and the problem responses it
 * can give; `/v1` routes carry the bearer (JWT) security scheme.
 */
export const buildOpenApiDocument = (routes: readonly Route[]): OpenApiDocument => {
  const schemas: Record<string, JsonSchema> = {};
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const rename = (id: string) => (io === 'input' ? `${id}Input` : id);
    const {
      $schema: _s,
      $defs,
      ...root
    } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema & {
      $defs?: Record<string, JsonSchema>;
    };
    for (const [id, definition] of Object.entries($defs ?? {})) schemas[rename(id)] = relink(definition, rename) as JsonSchema;
    return relink(root, rename) as JsonSchema;
  };
  convert(problemSchema, 'output');

  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const pathNames = [...route.path.matchAll(/\{(\w+)\}/g)].flatMap((match) => (match[1] ? [match[1]] : []));
    const parameters: unknown[] = pathNames.map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string', pattern: PATH_PARAM.source },
    }));
    if (route.trading) {
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description:
          'Makes the trade request safe to retry: the same key from the same tenant within 24 h answers the first answer again (same status and body) and sends nothing more to the broker; the same key with another request is 422, and while its first attempt runs, 409.',
        schema: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[\\x20-\\x7e]+$' },
      });
    }
    if (route.query) {
      const query = convert(route.query, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
      for (const [name, schema] of Object.entries(query.properties ?? {})) {
        const { description, ...rest } = schema as JsonSchema & { description?: string };
        parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest });
      }
    }
    const responses: Record<string, unknown> = {};
    if (route.response) {
      const { status, schema, description } = route.response;
      responses[String(status)] = { description, ...(schema ? { content: { 'application/json': { schema: convert(schema, 'output') } } } : {}) };
    }
    const retryAfter = (description: string) => ({ 'Retry-After': { description, schema: { type: 'integer', minimum: 1 } } });
    if (route.body || route.query || route.trading)
      responses['400'] = problemResponse(
        `Invalid input (code INVALID_REQUEST): one entry in \`errors\` per bad field (unknown body fields, malformed JSON, tampered cursor${route.trading ? ', a malformed Idempotency-Key' : ''})`,
      );
    if (route.auth) responses['401'] = problemResponse('No or bad bearer token (code UNAUTHORIZED)');
    if (pathNames.length > 0) responses['404'] = problemResponse("No such resource, or another tenant's: never revealed (code NOT_FOUND)");
    if (route.body) responses['413'] = problemResponse('The body is larger than 64 KiB (code PAYLOAD_TOO_LARGE)');
    if (route.auth) {
      responses['429'] = problemResponse("Over the tenant's rate limit (code RATE_LIMITED)", retryAfter('Seconds until the current window ends'));
    }
    if (route.trading) {
      responses['409'] = problemResponse(
        'A request with this Idempotency-Key is still running (code REQUEST_IN_PROGRESS)',
        retryAfter('Seconds until it may be tried again'),
      );
      responses['422'] = problemResponse(
        'The broker refused the request (code `BROKER_<code>`: BROKER_NO_MONEY, BROKER_MARKET_CLOSED, BROKER_INVALID_STOPS...; `detail` says it in words), or the Idempotency-Key was used for another request (IDEMPOTENCY_KEY_REUSED)',
      );
    }
    for (const extra of route.problems ?? []) {
      const known = responses[String(extra.status)] as { description: string } | undefined;
      responses[String(extra.status)] = problemResponse(known ? `${known.description}; or: ${extra.description}` : extra.description);
    }
    if (route.trading || route.reachesBroker) {
      responses['503'] = problemResponse(
        'The broker cannot be reached, did not answer in time, is busy, or its platform is not set up here (code `BROKER_<code>`: BROKER_CONNECTION, BROKER_TIMEOUT, BROKER_BUSY, BROKER_TOO_MANY_REQUESTS, BROKER_NOT_CONFIGURED); try again after Retry-After',
        retryAfter('Seconds to wait before trying again'),
      );
    }
    responses['500'] = problemResponse('Something went wrong (code INTERNAL_ERROR); the detail quotes a request id and nothing else');

    const operation: Record<string, unknown> = {
      operationId: operationId(route),
      summary: route.summary,
      tags: [route.tag],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? { requestBody: { required: !route.body.safeParse({}).success, content: { 'application/json': { schema: convert(route.body, 'input') } } } }
        : {}),
      responses,
      security: route.auth ? [{ bearer: [] }] : [],
    };
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'mt-copier HTTP API',
      version: '1.0.0',
      description: 'Self-hosted copy trading for MetaTrader. Errors are application/problem+json; lists take ?limit=&cursor=.',
    },
    tags: [...new Set(routes.map((route) => route.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Cognito access token; locally from POST /local/token' } },
    },
  };
};

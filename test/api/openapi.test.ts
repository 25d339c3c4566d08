import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument, type OpenApiDocument } from '../../functions/api/openapi';
import { apiRoutes } from '../../functions/api/routes';
import type { LocalSystem } from '../../local/local-system';
import { createSimulatedAccount, type ApiClient } from '../support/api-capture';
import { apiClient, startTestSystem, tokenFor } from '../support/local-api';

type Operation = {
  operationId: string;
  parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { required: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }>; headers?: Record<string, unknown> }>;
  security: Record<string, string[]>[];
};

const operations = (document: OpenApiDocument): [string, Operation][] =>
  Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => [`${method.toUpperCase()} ${path}`, operation as Operation] as [string, Operation]),
  );

/** Samples a client could send: whether the router accepts each is compared with the document's schema. */
const samples: { route: string; body: unknown }[] = [
  { route: 'POST /v1/accounts', body: { name: 'n', platform: 'mt5', login: 'l', password: 'p', server: 's' } },
  { route: 'POST /v1/accounts', body: { name: 'n', platform: 'mt9', login: 'l', password: 'p', server: 's' } },
  { route: 'POST /v1/accounts', body: { name: 'n', platform: 'mt5', login: 'l', password: 'p', server: 's', extra: 1 } },
  { route: 'POST /v1/accounts', body: { name: 'n', platform: 'mt5', login: 'l', server: 's' } },
  { route: 'POST /v1/accounts', body: { name: '', platform: 'mt5', login: 'l', password: 'p', server: 's' } },
  { route: 'PATCH /v1/accounts/{id}', body: { name: 'renamed' } },
  { route: 'PATCH /v1/accounts/{id}', body: { platform: 'mt4' } },
  { route: 'POST /v1/copy-mappings', body: { masterAccountId: 'x', slaveAccountId: 'y', sizing: { mode: 'multiplier', multiplier: 0 } } },
  { route: 'POST /v1/copy-mappings', body: { masterAccountId: 'x', slaveAccountId: 'y', sizing: { mode: 'lots', volume: 1 } } },
  { route: 'POST /v1/copy-mappings', body: { masterAccountId: 'x', slaveAccountId: 'y', sizing: { mode: 'riskPercent', percent: 101 } } },
  { route: 'POST /v1/copy-mappings', body: { masterAccountId: 'x', slaveAccountId: 'y', sizing: { mode: 'fixedVolume', volume: 0.1 }, maxDelaySeconds: 0.5 } },
  { route: 'PATCH /v1/copy-mappings/{id}', body: { symbols: { include: ['EURUSD'], map: { EURUSD: 'EURUSD.m' } } } },
  { route: 'PATCH /v1/copy-mappings/{id}', body: { symbols: { map: { EURUSD: 7 } } } },
  { route: 'PUT /v1/accounts/{id}/protection', body: { maxDailyLossPercent: 5, tradingHours: { from: '08:00', to: '17:00', timeZone: 'UTC' } } },
  { route: 'PUT /v1/accounts/{id}/protection', body: { maxDailyLossPercent: 150 } },
  { route: 'PUT /v1/accounts/{id}/protection', body: { maxOpenPositions: 2.5 } },
  { route: 'PUT /v1/accounts/{id}/protection', body: { tradingHours: { from: '8:00', to: '17:00', timeZone: 'UTC' } } },
  { route: 'PUT /v1/accounts/{id}/protection', body: { onBreach: 'panic' } },
  { route: 'POST /v1/accounts/{id}/orders', body: { symbol: 'EURUSD', side: 'buy', volume: -1 } },
  { route: 'POST /v1/accounts/{id}/orders', body: { symbol: 'EURUSD', side: 'long', volume: 1 } },
  { route: 'POST /v1/accounts/{id}/orders', body: { symbol: 'EURUSD', side: 'buy', volume: 1, type: 'trailing' } },
  { route: 'PATCH /v1/accounts/{id}/positions/{positionId}', body: { stopLoss: 'none' } },
  { route: 'PATCH /v1/accounts/{id}/positions/{positionId}', body: {} },
  { route: 'PATCH /v1/accounts/{id}/positions/{positionId}', body: { stopLoss: null, trailing: 3 } },
  { route: 'POST /v1/accounts/{id}/positions/{positionId}/close', body: { volume: 0 } },
  { route: 'POST /v1/trades/demo', body: {} },
  { route: 'POST /v1/trades/demo', body: { accountId: 42 } },
];

describe('the OpenAPI document', () => {
  let system: LocalSystem;
  let api: ApiClient;
  let document: OpenApiDocument;
  let account: string;

  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-openapi'));
    account = await createSimulatedAccount(api, 'openapi');
    const served = await apiClient(system.url).get('/openapi.json');
    expect(served.status).toBe(200);
    document = served.body;
  });

  afterAll(async () => {
    await system?.stop();
  });

  it("is OpenAPI 3.1, served without a token, and built from the router's own routes", () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument(apiRoutes))));
  });

  it('has every route of the router, and nothing else', () => {
    expect(
      operations(document)
        .map(([key]) => key)
        .sort(),
    ).toEqual(apiRoutes.map((route) => `${route.method} ${route.path}`).sort());
    const ids = operations(document).map(([, operation]) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('puts the bearer scheme on every /v1 route and on nothing else', () => {
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    for (const [key, operation] of operations(document)) {
      // cTrader's OAuth redirect is a browser's, with no token: its single-use state names the account.
      const bearer = key.includes(' /v1') && key !== 'GET /v1/oauth/ctrader/callback';
      expect(operation.security, key).toEqual(bearer ? [{ bearer: [] }] : []);
    }
  });

  it('describes every path parameter, query parameter and request body', () => {
    for (const route of apiRoutes) {
      const operation = (document.paths[route.path] as Record<string, Operation>)[route.method.toLowerCase()]!;
      const pathNames = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      expect(operation.parameters?.filter((p) => p.in === 'path').map((p) => p.name) ?? [], route.path).toEqual(pathNames);
      for (const parameter of operation.parameters?.filter((p) => p.in === 'path') ?? []) expect(parameter.required).toBe(true);
      expect(Boolean(operation.requestBody), `${route.method} ${route.path} body`).toBe(Boolean(route.body));
      if (route.query)
        expect(
          operation.parameters?.some((p) => p.in === 'query'),
          route.path,
        ).toBe(true);
    }
    const trades = (document.paths['/v1/accounts/{id}/trades'] as Record<string, Operation>).get!;
    expect(
      trades.parameters
        ?.filter((p) => p.in === 'query')
        .map((p) => p.name)
        .sort(),
    ).toEqual(['cursor', 'from', 'limit', 'to']);
    expect(trades.parameters?.find((p) => p.name === 'from')?.schema).toMatchObject({
      anyOf: [
        { type: 'string', format: 'date-time' },
        { type: 'string', format: 'date' },
      ],
    });
  });

  it('gives every operation its success response and the problem+json errors it can answer', () => {
    for (const [key, operation] of operations(document)) {
      const route = apiRoutes.find((candidate) => `${candidate.method} ${candidate.path}` === key)!;
      expect(Object.keys(operation.responses), key).toContain(String(route.response?.status));
      const problems = ['500', ...(route.auth ? ['401', '429'] : []), ...(route.body ? ['400', '413'] : []), ...(route.path.includes('{') ? ['404'] : [])];
      for (const status of problems) {
        expect(operation.responses[status]?.content?.['application/problem+json']?.schema, `${key} ${status}`).toEqual({
          $ref: '#/components/schemas/Problem',
        });
      }
      if (route.auth) expect(operation.responses['429']?.headers).toHaveProperty('Retry-After');
    }
    expect(operations(document).find(([key]) => key === 'POST /v1/copy-mappings')![1].responses).toHaveProperty('422');
    expect(operations(document).find(([key]) => key === 'DELETE /v1/accounts/{id}')![1].responses).toHaveProperty('409');
  });

  it('resolves every reference to a component', () => {
    const references = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((match) => match[1]!);
    expect(references.length).toBeGreaterThan(10);
    for (const name of references) expect(document.components.schemas, name).toHaveProperty(name);
    for (const name of ['Account', 'CopyMapping', 'CopyRecord', 'Position', 'PendingOrder', 'ClosedTrade', 'Protection', 'AuditEntry', 'Platform', 'Problem']) {
      expect(document.components.schemas, name).toHaveProperty(name);
    }
  });

  it('rejects with its request schemas exactly what the router rejects', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ $id: 'https://mt-copier.invalid/openapi.json', components: document.components });
    const ids = { id: account, positionId: '123', orderId: '456' };
    let rejected = 0;
    for (const sample of samples) {
      const [method, path] = sample.route.split(' ') as [string, string];
      const schema = (document.paths[path] as Record<string, Operation>)[method.toLowerCase()]!.requestBody!.content['application/json']!.schema;
      const validate = ajv.compile({ ...relinked(schema), $id: `https://mt-copier.invalid/${sample.route.replace(/\W+/g, '-')}-${samples.indexOf(sample)}` });
      const documentAccepts = validate(sample.body);
      const answer = await api.raw(
        method,
        path.replace(/\{(\w+)\}/g, (_m, name: string) => ids[name as keyof typeof ids]),
        sample.body,
      );
      const routerAccepts = answer.status !== 400;
      expect(documentAccepts, `${sample.route} ${JSON.stringify(sample.body)}: router answered ${answer.status} ${answer.text}`).toBe(routerAccepts);
      if (!routerAccepts) rejected += 1;
    }
    expect(rejected).toBeGreaterThanOrEqual(samples.length - 6);
  });
});

/** Points the document's component references at the schema holding the components. */
const relinked = (schema: Record<string, unknown>): Record<string, unknown> =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"https://mt-copier.invalid/openapi.json#/components/schemas/'));

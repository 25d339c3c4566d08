import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { buildOpenApiDocument, type OpenApiDocument } from '../../functions/api/openapi';
import { apiRoutes } from '../../functions/api/routes';

type Operation = {
  operationId: string;
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
};

export interface CheckedAnswer {
  operationId: string;
  status: number;
}

const COMPONENTS_ID = 'https://mt-copier.invalid/openapi.json';

/**
 * Checks answers of the API against its OpenAPI document: the status must be one the
 * operation lists, the content type the one listed for it, and the body must validate against
 * its schema. Answers to a path or method the document does not have are not this check's
 * business (the router's 404 and 405); everything else is.
 */
export class OpenApiAnswers {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly operations: { method: string; pattern: RegExp; operation: Operation }[];
  /** Every answer checked so far, by operation and status. */
  readonly checked: CheckedAnswer[] = [];

  constructor(readonly document: OpenApiDocument = buildOpenApiDocument(apiRoutes)) {
    addFormats.default(this.ajv);
    this.ajv.addSchema({ $id: COMPONENTS_ID, components: JSON.parse(JSON.stringify(document.components)) });
    this.operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        method: method.toUpperCase(),
        pattern: new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}/?$`),
        operation: operation as Operation,
      })),
    );
  }

  /** The problems of one answer against the document; empty when it conforms (or is not the document's to judge). */
  problems(method: string, url: string, status: number, contentType: string | null, body: unknown): string[] {
    const path = new URL(url, 'http://localhost').pathname;
    const found = this.operations.find((candidate) => candidate.method === method.toUpperCase() && candidate.pattern.test(path));
    if (!found) return [];
    const { operation } = found;
    this.checked.push({ operationId: operation.operationId, status });
    const response = operation.responses[String(status)];
    const where = `${method} ${path} -> ${status}`;
    if (!response) return [`${where}: status not in the document (it lists ${Object.keys(operation.responses).join(', ')})`];
    if (!response.content) return body === undefined ? [] : [`${where}: the document says no body, the answer has one`];
    const type = (contentType ?? '').split(';')[0]?.trim() ?? '';
    const media = response.content[type];
    if (!media) return [`${where}: content type ${type || '(none)'} not in the document (${Object.keys(response.content).join(', ')})`];
    const key = `${operation.operationId} ${status} ${type}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      const schema = JSON.parse(JSON.stringify(media.schema).replaceAll('"#/components/schemas/', `"${COMPONENTS_ID}#/components/schemas/`));
      validate = this.ajv.compile(schema);
      this.compiled.set(key, validate);
    }
    if (validate(body)) return [];
    return [`${where}: body does not match the document: ${this.ajv.errorsText(validate.errors)} in ${JSON.stringify(body).slice(0, 500)}`];
  }
}

/** One checker per test process: every answer any test's API client receives is checked against the document. */
export const openApiAnswers = new OpenApiAnswers();

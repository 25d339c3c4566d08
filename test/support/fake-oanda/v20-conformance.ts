import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * Checks bodies against OANDA's own v20 OpenAPI document (the vendored subset in
 * `v20-schemas.json`), so the fake cannot drift from what OANDA publishes.
 *
 * The document is Swagger 2.0 and very permissive as published: no definition lists
 * `required` fields or `additionalProperties`, every `type` field of a transaction carries the
 * enum of all transaction types, and `Transaction` / `Order` are bare base objects. Checked as
 * it stands it would accept almost anything, so the schemas are tightened here (the vendored
 * file stays verbatim), using only what the document itself says:
 * - every object that lists `properties` is closed (`additionalProperties: false`): a field
 *   name the document does not have fails, so no field name is ever invented;
 * - a `type` property whose description says `Always set to "X"`, `Must be set to "X"` or
 *   `The string "X"` must be `X`;
 * - the document's `format` sentences become patterns: decimal numbers encoded as strings
 *   (DecimalNumber, PriceValue, AccountUnits) must be strings of digits, ids strings of
 *   digits, times RFC 3339 in UTC, instruments `XXX_YYY`, account ids `n-n-n-n`, currencies
 *   ISO 4217 (except for `clientOrderID` / `clientTradeID`, which the document gives the format
 *   sentence of an OANDA-assigned id although they hold the client's own id);
 * - `Transaction`, `Order` and `OrderRequest` select the specific definition by their `type`
 *   (`ORDER_FILL` -> `OrderFillTransaction`, `LIMIT` -> `LimitOrder`, ...), found through the
 *   same `Always set to` sentences; a type the subset does not carry fails.
 */

type Schema = Record<string, unknown>;

interface Operation {
  operationId: string;
  parameters?: { in: string; schema: Schema }[];
  responses: Record<string, Schema>;
}

interface V20Document {
  paths: Record<string, Record<string, Operation>>;
  responses: Record<string, { schema?: Schema }>;
  definitions: Record<string, Schema>;
}

const DOCUMENT_ID = 'https://fake-oanda.invalid/v20.json';

/**
 * Error answers OANDA gives although an operation's entry may not list them: 429 (rate limit),
 * 503, and 401 (a few operations, the streams and `GET .../orders`, leave it out). Their body is
 * the document's error body (`errorCode`, `errorMessage`).
 */
const STATUSES_OUTSIDE_THE_DOCUMENT = ['401', '429', '503'] as const;

/** The `format` sentences of the document, as patterns. */
const FORMAT_PATTERNS: { sentence: RegExp; pattern: string }[] = [
  { sentence: /^A decimal number encode[sd] as a string/, pattern: '^-?[0-9]+(\\.[0-9]+)?$' },
  { sentence: /^The RFC 3339 representation/, pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$' },
  { sentence: /^String representation of the numerical OANDA-assigned TransactionID/, pattern: '^[0-9]+$' },
  { sentence: /^The string representation of the OANDA-assigned (TradeID|OrderID)/, pattern: '^[0-9]+$' },
  { sentence: /^"-"-delimited string with format "\{siteID\}-\{divisionID\}-\{userID\}-\{accountNumber\}"/, pattern: '^[0-9]+-[0-9]+-[0-9]+-[0-9]+$' },
  { sentence: /base currency and quote currency delimited by a "_"/, pattern: '^[A-Z0-9]+_[A-Z0-9]+$' },
  { sentence: /ISO 4217/, pattern: '^[A-Z]{3}$' },
];

const FIXED_TYPE = /(?:Always set to|Must be set to|^The string) "([A-Z_]+)"/;

const isObject = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The vendored subset of OANDA's document. */
export const loadV20Document = (): V20Document => JSON.parse(readFileSync(new URL('./v20-schemas.json', import.meta.url), 'utf8')) as V20Document;

/** A copy of `node` tightened as the class comment says; `$ref`s point into the registered document. */
const tighten = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(tighten);
  if (!isObject(node)) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'description') continue;
    if (key === 'format' && typeof value === 'string') {
      const known = FORMAT_PATTERNS.find((entry) => entry.sentence.test(value));
      if (known) out.pattern = known.pattern;
      continue;
    }
    if (key === '$ref' && typeof value === 'string') {
      out.$ref = value.startsWith('#/') ? `${DOCUMENT_ID}${value}` : value;
      continue;
    }
    out[key] = key === 'properties' && isObject(value) ? tightenProperties(value) : tighten(value);
  }
  if (isObject(node.properties)) {
    out.additionalProperties = false;
    const typeProperty = node.properties.type;
    const fixed = isObject(typeProperty) && typeof typeProperty.description === 'string' ? FIXED_TYPE.exec(typeProperty.description)?.[1] : undefined;
    if (fixed) (out.properties as Schema).type = { type: 'string', const: fixed };
  }
  return out;
};

/** Properties tightened; a client's own id keeps no pattern (see the class comment). */
const tightenProperties = (properties: Schema): Schema =>
  Object.fromEntries(
    Object.entries(properties).map(([name, property]) => {
      const tightened = tighten(property);
      if (/^client(Order|Trade)ID$/.test(name) && isObject(tightened)) delete tightened.pattern;
      return [name, tightened];
    }),
  );

/** The fixed `type` of a definition (`ORDER_FILL` for `OrderFillTransaction`), from the document's own sentence. */
const fixedTypeOf = (definition: Schema): string | undefined => {
  const properties = isObject(definition.properties) ? definition.properties : {};
  const typeProperty = properties.type;
  return isObject(typeProperty) && typeof typeProperty.description === 'string' ? FIXED_TYPE.exec(typeProperty.description)?.[1] : undefined;
};

/** A schema that checks an object against the definition its `type` names. */
const dispatchByType = (variants: Map<string, string>): Schema => ({
  type: 'object',
  required: ['type'],
  properties: { type: { enum: [...variants.keys()] } },
  allOf: [...variants].map(([type, name]) => ({
    if: { properties: { type: { const: type } }, required: ['type'] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if / then, never awaited
    then: { $ref: `${DOCUMENT_ID}#/definitions/${name}` },
  })),
});

export class V20ConformanceError extends Error {
  override readonly name = 'V20ConformanceError';
  constructor(readonly problems: string[]) {
    super(`The fake OANDA answered a body that does not conform to OANDA's v20 document:\n${problems.join('\n')}`);
  }
}

/** Checks bodies against the document; counts what it checked. */
export class V20Conformance {
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly operations: { method: string; template: string; operation: Operation }[];
  /** How many response bodies (stream lines included) were checked and conformed. */
  validated = 0;

  constructor(private readonly document: V20Document = loadV20Document()) {
    const definitions = Object.fromEntries(Object.entries(document.definitions).map(([name, definition]) => [name, tighten(definition)]));
    const variants = (suffix: RegExp) =>
      new Map(
        Object.entries(document.definitions)
          .filter(([name]) => suffix.test(name))
          .flatMap(([name, definition]) => {
            const type = fixedTypeOf(definition);
            return type ? [[type, name] as const] : [];
          }),
      );
    definitions.Transaction = dispatchByType(variants(/[a-z]Transaction$/));
    definitions.Order = dispatchByType(variants(/[a-z]Order$/));
    definitions.OrderRequest = dispatchByType(variants(/OrderRequest$/));
    this.ajv.addSchema({ $id: DOCUMENT_ID, definitions });
    this.operations = Object.entries(document.paths).flatMap(([template, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ method: method.toUpperCase(), template, operation })),
    );
  }

  /** The operation of a path template (`/accounts/{accountID}/summary`, without `/v3`) and method. */
  private operation(method: string, template: string): Operation {
    const found = this.operations.find((candidate) => candidate.method === method && candidate.template === template);
    if (!found) throw new V20ConformanceError([`${method} ${template}: not an operation of the vendored document`]);
    return found.operation;
  }

  private validator(key: string, schema: () => unknown): ValidateFunction {
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(tighten(schema()) as Schema);
      this.compiled.set(key, validate);
    }
    return validate;
  }

  private problemsOf(validate: ValidateFunction, body: unknown, where: string): string[] {
    if (validate(body)) return [];
    return [`${where}: ${this.ajv.errorsText(validate.errors, { separator: '; ' })} in ${JSON.stringify(body).slice(0, 800)}`];
  }

  /**
   * The problems of an answer: its status must be one the operation lists (or 401 / 429 / 503;
   * or any 4xx of an operation that lists no error at all, the transaction stream), and its body
   * (as JSON would carry it) must validate against that status' schema.
   */
  responseProblems(method: string, template: string, status: number, body: unknown): string[] {
    const where = `${method} ${template} -> ${status}`;
    const operation = this.operation(method, template);
    const listed = operation.responses[String(status)];
    const listsNoError = Object.keys(operation.responses).every((code) => code.startsWith('2'));
    const outside =
      !listed && ((STATUSES_OUTSIDE_THE_DOCUMENT as readonly string[]).includes(String(status)) || (listsNoError && status >= 400 && status < 500));
    const response = outside ? { $ref: '#/responses/400' } : listed;
    if (!response) return [`${where}: status not in the document (it lists ${Object.keys(operation.responses).join(', ')})`];
    const validate = this.validator(`${method} ${template} ${outside ? 'error' : status}`, () => {
      const ref = typeof response.$ref === 'string' ? /^#\/responses\/(\d+)$/.exec(response.$ref)?.[1] : undefined;
      const schema = ref ? this.document.responses[ref]?.schema : response.schema;
      if (!schema) throw new V20ConformanceError([`${where}: the document gives no body schema`]);
      return schema;
    });
    return this.problemsOf(validate, body, where);
  }

  /** The statuses the document lists for an operation. */
  statusesOf(method: string, template: string): string[] {
    return Object.keys(this.operation(method, template).responses);
  }

  /** The problems of an error body (`errorCode`, `errorMessage`) for an answer outside the document's operations. */
  errorBodyProblems(body: unknown): string[] {
    const validate = this.validator('error body', () => this.document.responses['400']?.schema ?? {});
    return this.problemsOf(validate, body, 'error body');
  }

  /** Throws `V20ConformanceError` unless the answer conforms; counts it when it does. */
  checkResponse(method: string, template: string, status: number, body: unknown): void {
    const problems = this.responseProblems(method, template, status, body);
    if (problems.length > 0) throw new V20ConformanceError(problems);
    this.validated += 1;
  }

  /** One line of the transaction stream: a `TransactionHeartbeat` or a `Transaction`. */
  checkTransactionStreamLine(line: unknown): void {
    const isHeartbeat = isObject(line) && line.type === 'HEARTBEAT';
    const name = isHeartbeat ? 'TransactionHeartbeat' : 'Transaction';
    const validate = this.validator(`stream ${name}`, () => ({ $ref: `#/definitions/${name}` }));
    const problems = this.problemsOf(validate, line, `transaction stream ${name}`);
    if (problems.length > 0) throw new V20ConformanceError(problems);
    this.validated += 1;
  }

  /** The problems of a request body against the operation's body parameter; empty when it conforms or the operation takes none. */
  requestProblems(method: string, template: string, body: unknown): string[] {
    const parameter = this.operation(method, template).parameters?.find((candidate) => candidate.in === 'body');
    if (!parameter) return [];
    const validate = this.validator(`request ${method} ${template}`, () => parameter.schema);
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (error) =>
        `${error.instancePath || '(body)'} ${error.message ?? 'is invalid'}${error.params && 'additionalProperty' in error.params ? ` (${String(error.params.additionalProperty)})` : ''}`,
    );
  }
}

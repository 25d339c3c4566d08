import { z } from 'zod';
import { problemBody } from '../functions/api/http';
import { brokerCodeInWords, brokerErrorCodes, isBrokerError, type BrokerErrorCode } from '../shared/domain/broker-errors';
import type { FieldProblem } from '../shared/domain/errors';
import type { SimulatedMarket } from './simulated-broker/simulated-market';

/** A request as the local HTTP server hands it over: `path` may carry a query string. */
export interface SimulatorRouteRequest {
  method: string;
  path: string;
  body: unknown;
}

/** A response; statuses from 400 up carry an `application/problem+json` body. */
export interface SimulatorRouteResponse {
  status: number;
  body: unknown;
}

export type SimulatorRouteHandler = (request: SimulatorRouteRequest) => Promise<SimulatorRouteResponse | undefined>;

const positive = z.number().positive();
const nonNegativeInteger = z.number().int().min(0);
const brokerErrorCodeList = Object.keys(brokerErrorCodes) as [BrokerErrorCode, ...BrokerErrorCode[]];

export const simulatorSymbolBodySchema = z
  .object({
    bid: positive,
    ask: positive,
    volumeMin: positive.optional(),
    volumeStep: positive.optional(),
    volumeMax: positive.optional(),
    contractSize: positive.optional(),
    digits: z.number().int().min(0).max(10).optional(),
  })
  .strict()
  .refine((body) => body.ask >= body.bid, { path: ['ask'], message: 'must not be below bid' });

export const simulatorTradeBodySchema = z
  .object({
    symbol: z.string().min(1).max(32),
    side: z.enum(['buy', 'sell']),
    volume: positive,
    type: z.enum(['market', 'limit', 'stop']).optional(),
    price: positive.optional(),
    stopLoss: positive.optional(),
    takeProfit: positive.optional(),
    magic: z
      .number()
      .int()
      .min(0)
      .max(2 ** 53 - 1)
      .optional(),
  })
  .strict()
  .refine((body) => body.type === undefined || body.type === 'market' || body.price !== undefined, {
    path: ['price'],
    message: 'is required for limit and stop orders',
  });

export const simulatorCloseBodySchema = z.object({ volume: positive.optional() }).strict();

export const simulatorModifyBodySchema = z.object({ stopLoss: positive.nullable().optional(), takeProfit: positive.nullable().optional() }).strict();

export const simulatorFaultsBodySchema = z
  .object({
    rejectNext: nonNegativeInteger.optional(),
    code: z.enum(brokerErrorCodeList).optional(),
    timeoutAfterExecuteNext: nonNegativeInteger.optional(),
    partialFillNext: nonNegativeInteger.optional(),
    latencyMs: nonNegativeInteger.max(60_000).optional(),
  })
  .strict();

const problem = (status: number, code: string, title: string, detail: string, errors?: FieldProblem[]): SimulatorRouteResponse => ({
  status,
  body: problemBody(status, code, title, detail, errors),
});

const invalid = (errors: FieldProblem[]): SimulatorRouteResponse =>
  problem(400, 'INVALID_REQUEST', 'Invalid request', `Invalid fields: ${errors.map((error) => error.path || '(body)').join(', ')}`, errors);

/** One entry per bad field; an unknown field is named by its own path. */
const fieldProblems = (error: z.ZodError): FieldProblem[] =>
  error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: [...issue.path, key].join('.'), message: 'is not a known field' }))
      : [{ path: issue.path.map(String).join('.'), message: issue.message }],
  );

const parseBody = <T>(schema: z.ZodType<T>, body: unknown): { ok: true; value: T } | { ok: false; response: SimulatorRouteResponse } => {
  const parsed = schema.safeParse(body ?? {});
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, response: invalid(fieldProblems(parsed.error)) };
};

const symbolPattern = /^[A-Za-z0-9._#+-]{1,32}$/;

interface Route {
  method: string;
  pattern: RegExp;
  /** Route parameters are URI-decoded; the account one, when present, is always the first. */
  handle: (params: string[], body: unknown) => Promise<SimulatorRouteResponse> | SimulatorRouteResponse;
  accountScoped: boolean;
}

/**
 * The HTTP surface of the simulated broker of the local runtime (contract: "Local only").
 * Invariants: an account the API does not know as simulated, or the market does not have,
 * is 404 before anything else; a body is validated strictly (400, one entry per bad field)
 * before the market is touched; a broker rejection is 422 with the broker code as `detail`.
 * Any other error is rethrown for the server's one error mapper, so nothing here ever
 * answers with internals. Returns undefined for paths outside `/local/simulator/`.
 */
export const createSimulatorRoutes = (market: SimulatedMarket, isSimulatedAccount: (accountId: string) => Promise<boolean>): SimulatorRouteHandler => {
  const routes: Route[] = [
    {
      method: 'PUT',
      pattern: /^\/local\/simulator\/symbols\/([^/]+)$/,
      accountScoped: false,
      handle: ([symbol = ''], body) => {
        if (!symbolPattern.test(symbol)) {
          return invalid([{ path: 'symbol', message: 'must be 1 to 32 letters, digits or . _ # + -' }]);
        }
        const parsed = parseBody(simulatorSymbolBodySchema, body);
        if (!parsed.ok) return parsed.response;
        const spec = market.defineSymbol({ symbol, ...parsed.value });
        return { status: 200, body: { ...spec, ...market.getQuote(symbol) } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/local\/simulator\/accounts\/([^/]+)$/,
      accountScoped: true,
      handle: ([accountId = '']) => ({ status: 200, body: market.getAccountSnapshot(accountId) }),
    },
    {
      method: 'POST',
      pattern: /^\/local\/simulator\/accounts\/([^/]+)\/trades$/,
      accountScoped: true,
      handle: ([accountId = ''], body) => {
        const parsed = parseBody(simulatorTradeBodySchema, body);
        if (!parsed.ok) return parsed.response;
        return { status: 201, body: market.traderTrade(accountId, parsed.value) };
      },
    },
    {
      method: 'POST',
      pattern: /^\/local\/simulator\/accounts\/([^/]+)\/positions\/([^/]+)\/close$/,
      accountScoped: true,
      handle: ([accountId = '', positionId = ''], body) => {
        const parsed = parseBody(simulatorCloseBodySchema, body);
        if (!parsed.ok) return parsed.response;
        return { status: 200, body: market.traderClose(accountId, positionId, parsed.value.volume) };
      },
    },
    {
      method: 'PATCH',
      pattern: /^\/local\/simulator\/accounts\/([^/]+)\/positions\/([^/]+)$/,
      accountScoped: true,
      handle: ([accountId = '', positionId = ''], body) => {
        const parsed = parseBody(simulatorModifyBodySchema, body);
        if (!parsed.ok) return parsed.response;
        return { status: 200, body: market.traderModify(accountId, positionId, parsed.value) };
      },
    },
    {
      method: 'POST',
      pattern: /^\/local\/simulator\/accounts\/([^/]+)\/faults$/,
      accountScoped: true,
      handle: ([accountId = ''], body) => {
        const parsed = parseBody(simulatorFaultsBodySchema, body);
        if (!parsed.ok) return parsed.response;
        return { status: 200, body: market.setFaults(accountId, parsed.value) };
      },
    },
  ];

  return async (request) => {
    const path = (request.path.split('?')[0] ?? '').replace(/(.)\/+$/, '$1');
    if (!path.startsWith('/local/simulator/')) return undefined;
    const matching = routes.flatMap((route) => {
      const match = route.pattern.exec(path);
      return match ? [{ route, rawParams: match.slice(1) }] : [];
    });
    if (matching.length === 0) return undefined;
    const method = request.method.toUpperCase();
    const found = matching.find(({ route }) => route.method === method);
    if (!found) {
      const allowed = matching.map(({ route }) => route.method).join(', ');
      return problem(405, 'METHOD_NOT_ALLOWED', 'Method not allowed', `Allowed: ${allowed}`);
    }
    let params: string[];
    try {
      params = found.rawParams.map((param) => decodeURIComponent(param ?? ''));
    } catch {
      return invalid([{ path: '(path)', message: 'is not a valid URI' }]);
    }
    const accountId = params[0] ?? '';
    if (found.route.accountScoped && !((await isSimulatedAccount(accountId)) && market.hasAccount(accountId))) {
      return problem(404, 'NOT_FOUND', 'Not found', 'No simulated account with this id');
    }
    try {
      return await found.route.handle(params, request.body);
    } catch (error) {
      if (isBrokerError(error)) return problem(422, error.reason, 'Rejected by the broker', brokerCodeInWords(error.code));
      if (error instanceof Error && error.name === 'ValidationError') {
        const errors = (error as Error & { errors?: FieldProblem[] }).errors ?? [];
        return invalid(errors);
      }
      throw error;
    }
  };
};

import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type { components, operations, paths } from './schema';

type Schemas = components['schemas'];

/** A problem answer (`application/problem+json`); switch on `code`, which is stable, and show `detail`. */
export type Problem = Schemas['Problem'];
export type Platform = Schemas['Platform'];
export type Account = Schemas['Account'];
export type Position = Schemas['Position'];
export type PendingOrder = Schemas['PendingOrder'];
export type ClosedTrade = Schemas['ClosedTrade'];
export type TradeStats = Schemas['TradeStats'];
export type EquityPoint = Schemas['EquityPoint'];
export type PlacedTrade = Schemas['PlacedTrade'];
export type PositionClose = Schemas['PositionClose'];
export type Protection = Schemas['Protection'];
export type CopyMapping = Schemas['CopyMapping'];
export type CopyRecord = Schemas['CopyRecord'];
export type AuditEntry = Schemas['AuditEntry'];

type JsonRequestBody<Operation> = Operation extends { requestBody?: { content: { 'application/json': infer Body } } } ? Body : never;

/** What `POST /v1/accounts` takes (the password is sent once and never returned). */
export type NewAccount = JsonRequestBody<paths['/v1/accounts']['post']>;
/** What `PATCH /v1/accounts/{id}` takes. */
export type AccountChange = JsonRequestBody<paths['/v1/accounts/{id}']['patch']>;
/** What `POST /v1/copy-mappings` takes. */
export type NewCopyMapping = JsonRequestBody<paths['/v1/copy-mappings']['post']>;
/** What `PATCH /v1/copy-mappings/{id}` takes. */
export type CopyMappingChange = JsonRequestBody<paths['/v1/copy-mappings/{id}']['patch']>;

/** A bearer token, or a function that gives the current one (asked before every `/v1` request, so a refreshed token is used at once). */
export type TokenSource = string | (() => string | Promise<string>);

export interface CopierClientOptions {
  /** Where the API listens, e.g. `http://localhost:3000` or the HTTP API's URL in AWS. */
  baseUrl: string;
  token: TokenSource;
  /** Another fetch (tests, server-side rendering); the global one by default. */
  fetch?: (request: Request) => Promise<Response>;
}

/** The typed client: `GET`, `POST`, `PUT`, `PATCH`, `DELETE` of every route of the API, each answering `{ data, error, response }`. */
export type CopierClient = Client<paths>;

/**
 * A client of the mt-copier HTTP API, typed from its OpenAPI document: paths, parameters,
 * bodies and answers are checked by the compiler, and `error` is the route's {@link Problem}.
 * The token goes only to `/v1` routes, the ones that carry the bearer scheme, so `/health` or
 * `/openapi.json` never ask a token getter for a token.
 */
export const createCopierClient = ({ baseUrl, token, fetch }: CopierClientOptions): CopierClient => {
  const client = createClient<paths>({ baseUrl, ...(fetch ? { fetch } : {}) });
  const bearer: Middleware = {
    async onRequest({ request, schemaPath }) {
      if (!schemaPath.startsWith('/v1/')) return undefined;
      request.headers.set('Authorization', `Bearer ${typeof token === 'function' ? await token() : token}`);
      return request;
    },
  };
  client.use(bearer);
  return client;
};

import { BrokerError, isBrokerError } from '../../domain/broker-errors';
import { withDeadline } from '../../domain/deadline';
import { httpError, transportError, type OandaRequestContext } from './oanda-errors';

export interface OandaClientOptions {
  /** OANDA's REST base (`https://api-fxpractice.oanda.com`); paths are `/v3/...` below it. */
  restUrl: string;
  /** The v20 account id every path is below. */
  accountId: string;
  /** The personal access token. Sent as a bearer token only; never logged, never in a message. */
  token: string;
  /** Budget of one request, answer body included. */
  timeoutMs: number;
  fetch: typeof fetch;
  now: () => Date;
}

export interface OandaRequest {
  /** Query parameters; undefined ones are left out. */
  query?: Record<string, string | undefined>;
  body?: unknown;
  kind: OandaRequestContext['kind'];
  subject?: OandaRequestContext['subject'];
}

type Method = 'GET' | 'POST' | 'PUT';

/**
 * The v20 REST API of one account, over the global `fetch`. Every request is bounded by
 * `timeoutMs` (aborted past it) and fails only with a classified `BrokerError`; a 2xx answer is
 * returned as parsed JSON, whatever it says (refusals inside a 2xx are the caller's to read).
 */
export class OandaClient {
  constructor(private readonly options: OandaClientOptions) {}

  get<T>(path: string, request: Omit<OandaRequest, 'body'> = { kind: 'read' }): Promise<T> {
    return this.send<T>('GET', path, request);
  }

  post<T>(path: string, body: unknown, request: Omit<OandaRequest, 'body' | 'kind'> = {}): Promise<T> {
    return this.send<T>('POST', path, { ...request, body, kind: 'trade' });
  }

  put<T>(path: string, body: unknown, request: Omit<OandaRequest, 'body' | 'kind'> = {}): Promise<T> {
    return this.send<T>('PUT', path, { ...request, body, kind: 'trade' });
  }

  /**
   * A request below the account: `path` starts with `/` (`/openTrades`) and is taken as it is
   * (its ids already encoded). A page URL OANDA hands out is followed by its path and query only,
   * so the token never goes to a host other than the configured one.
   */
  async send<T>(method: Method, path: string, request: OandaRequest): Promise<T> {
    const context: OandaRequestContext = { what: `${method} ${path.split('?')[0]}`, kind: request.kind, subject: request.subject ?? 'account' };
    const url = this.url(path, request.query);
    const controller = new AbortController();
    try {
      return await withDeadline(
        async () => {
          const response = await this.options.fetch(url, {
            method,
            headers: {
              Authorization: `Bearer ${this.options.token}`,
              'Accept-Datetime-Format': 'RFC3339',
              ...(request.body === undefined ? {} : { 'Content-Type': 'application/json' }),
            },
            body: request.body === undefined ? undefined : JSON.stringify(request.body),
            signal: controller.signal,
          });
          const text = await response.text();
          const body = parseJson(text);
          if (!response.ok) {
            throw httpError(response.status, body, response.headers.get('Retry-After'), context, this.options.now().getTime());
          }
          if (body === undefined) {
            // An answer that cannot be read says nothing of what a trade did.
            throw new BrokerError(context.kind === 'trade' ? 'TIMEOUT' : 'CONNECTION', `${context.what} answered ${response.status} without a JSON body`);
          }
          return body as T;
        },
        this.options.timeoutMs,
        `OANDA ${context.what}`,
      );
    } catch (error) {
      throw this.scrubbed(isBrokerError(error) ? error : transportError(error, context));
    } finally {
      controller.abort();
    }
  }

  /** The absolute URL of a path below the account, or of a path below `/v3` an answer handed out. */
  private url(path: string, query: OandaRequest['query']): string {
    const base = this.options.restUrl.replace(/\/+$/, '');
    const relative = path.startsWith('/v3/') ? path : `/v3/accounts/${encodeURIComponent(this.options.accountId)}${path}`;
    const url = new URL(`${base}${relative}`);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    return url.toString();
  }

  /** The error with the token taken out of its message, should anything have echoed it. */
  private scrubbed(error: BrokerError): BrokerError {
    const token = this.options.token;
    if (!token || !error.message.includes(token)) return error;
    return new BrokerError(error.code, error.message.split(token).join('(token withheld)'), { retryAfterMs: error.retryAfterMs });
  }
}

const parseJson = (text: string): unknown => {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

/** The path and query of a page URL OANDA handed out (`https://host/v3/accounts/.../idrange?from=1&to=9`), for `send`. */
export const pathOfPage = (pageUrl: string): string | undefined => {
  try {
    const url = new URL(pageUrl, 'http://page.invalid');
    return url.pathname.startsWith('/v3/') ? `${url.pathname}${url.search}` : undefined;
  } catch {
    return undefined;
  }
};

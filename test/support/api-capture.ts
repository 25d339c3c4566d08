import type { Log } from '../../shared/ports/log';
import { apiClient } from './local-api';

/** Errors as text with their cause chain, so a secret hidden in a cause is still seen. */
const serialize = (value: unknown): string =>
  JSON.stringify(value, (_key, field: unknown) =>
    field instanceof Error ? { name: field.name, message: field.message, stack: field.stack, cause: field.cause } : field,
  );

/** A Log that keeps every line, at every level, as the JSON a log sink would receive. */
export const capturingLog = (): { log: Log; lines: string[] } => {
  const lines: string[] = [];
  const at = (level: string) => (message: string, attributes?: Record<string, unknown>) => {
    lines.push(serialize({ level, message, ...attributes }));
  };
  return { lines, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
};

export type ApiClient = ReturnType<typeof apiClient>;

/** An API client that writes every response (status, headers, body) into `transcript`. */
export const recordingClient = (baseUrl: string, token: string | undefined, transcript: string[]): ApiClient => {
  const client = apiClient(baseUrl, token);
  const raw: ApiClient['raw'] = async (method, path, body) => {
    const response = await client.raw(method, path, body);
    transcript.push(`${method} ${path} -> ${response.status} ${serialize(Object.fromEntries(response.headers.entries()))} ${response.text}`);
    return response;
  };
  return {
    get: (path) => raw('GET', path),
    post: (path, body) => raw('POST', path, body ?? {}),
    put: (path, body) => raw('PUT', path, body ?? {}),
    patch: (path, body) => raw('PATCH', path, body ?? {}),
    delete: (path) => raw('DELETE', path),
    raw,
  } as ApiClient;
};

/** Creates a simulated account through the API and returns its id. */
export const createSimulatedAccount = async (api: ApiClient, name: string, password = `${name}-password`): Promise<string> => {
  const response = await api.post('/v1/accounts', { name, platform: 'simulated', login: name, password, server: 'Sim' });
  if (response.status !== 201) throw new Error(`creating ${name} answered ${response.status}: ${response.text}`);
  return response.body.id as string;
};

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { startLocalSystem, type LocalSystem, type LocalSystemOptions } from '../../local/local-system';
import { silentLog } from '../../shared/ports/log';
import { openApiAnswers } from './openapi-validator';

/**
 * A local system on the suite's shared emulators, with its own tables, queue and data folder.
 * Rate limits are out of reach unless a test sets them: tests that poll the API must not
 * meet a 429 (the rate-limit tests set small ones).
 */
export const startTestSystem = (overrides: Partial<LocalSystemOptions> = {}): Promise<LocalSystem> =>
  startLocalSystem({
    port: 0,
    dataDir: mkdtempSync(join(tmpdir(), 'mt-copier-')),
    masterPollIntervalMs: 150,
    slaveSyncIntervalMs: 1000,
    dynamoDbEndpoint: inject('dynamoDbEndpoint'),
    sqsEndpoint: inject('sqsEndpoint'),
    namePrefix: `t${randomUUID().slice(0, 8)}`,
    log: silentLog,
    ...overrides,
    settings: { RATE_LIMIT_PER_MINUTE: '1000000', TRADE_RATE_LIMIT_PER_MINUTE: '1000000', ...overrides.settings },
  });

/** A small HTTP client of the local API, the way the frontend talks to it. */
export const apiClient = (baseUrl: string, token?: string) => {
  const call = async <T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; headers: Headers; text: string }> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    // Every answer a test receives is held to the OpenAPI document, errors included.
    const problems = openApiAnswers.problems(method, path, response.status, response.headers.get('content-type'), parsed);
    if (problems.length > 0) throw new Error(`The API answered outside its OpenAPI document:\n${problems.join('\n')}`);
    return { status: response.status, body: parsed as T, headers: response.headers, text };
  };
  return {
    get: <T = any>(path: string) => call<T>('GET', path),
    post: <T = any>(path: string, body?: unknown) => call<T>('POST', path, body ?? {}),
    put: <T = any>(path: string, body?: unknown) => call<T>('PUT', path, body ?? {}),
    patch: <T = any>(path: string, body?: unknown) => call<T>('PATCH', path, body ?? {}),
    delete: <T = any>(path: string) => call<T>('DELETE', path),
    raw: call,
  };
};

export const tokenFor = async (baseUrl: string, sub: string): Promise<string> => {
  const { body } = await apiClient(baseUrl).post<{ token: string }>('/local/token', { sub });
  return body.token;
};

/** Polls until `check` returns a value (not undefined) or the time runs out. */
export const eventually = async <T>(check: () => Promise<T | undefined>, timeoutMs = 5000, everyMs = 50): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
};

/** Methods and request headers a browser may use on the API (the CDK preflight allows the same). */
export const CORS_ALLOW_METHODS = 'GET,POST,PUT,PATCH,DELETE';
export const CORS_ALLOW_HEADERS = 'authorization,content-type,idempotency-key';

/**
 * The CORS headers of a response to a request from `requestOrigin`, for the configured
 * `CORS_ORIGIN`: `*` allows any origin; one origin or a comma-separated list allows exactly
 * those, echoing the caller's origin when it is listed (a browser accepts a single origin
 * only) and saying nothing otherwise, which the browser enforces as a refusal. `Retry-After`
 * is exposed so a browser client can honour a 429.
 */
export const corsHeaders = (configured: string | undefined, requestOrigin: string | undefined): Record<string, string> => {
  if (!configured) return {};
  const expose = { 'access-control-expose-headers': 'retry-after,idempotent-replayed' };
  if (configured.trim() === '*') return { 'access-control-allow-origin': '*', ...expose };
  const allowed = configured
    .split(',')
    .map((origin) => origin.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  const origin = requestOrigin?.replace(/\/+$/, '');
  if (origin && allowed.includes(origin)) return { 'access-control-allow-origin': origin, vary: 'Origin', ...expose };
  return { vary: 'Origin' };
};

/** The answer to a preflight (OPTIONS) request; API Gateway gives it in AWS, the local server locally. */
export const preflightHeaders = (configured: string | undefined, requestOrigin: string | undefined): Record<string, string> => ({
  ...corsHeaders(configured, requestOrigin),
  'access-control-allow-methods': CORS_ALLOW_METHODS,
  'access-control-allow-headers': CORS_ALLOW_HEADERS,
  'access-control-max-age': '3600',
});

/** The window a request falls in, and how long until the next one starts. */
export interface RateWindow {
  /** Epoch milliseconds of the window's start: a multiple of the window length. */
  start: number;
  end: number;
  /** Whole seconds until `end`, at least 1: what `Retry-After` says when the window is full. */
  retryAfterSeconds: number;
}

/**
 * Fixed windows aligned to the epoch: every instance of the API, on any machine, puts a
 * request of the same moment in the same window, so one counter per (tenant, window) holds
 * the limit across Lambda instances.
 */
export const fixedWindow = (now: Date, windowMs: number): RateWindow => {
  const time = now.getTime();
  const start = time - (((time % windowMs) + windowMs) % windowMs);
  const end = start + windowMs;
  return { start, end, retryAfterSeconds: Math.max(1, Math.ceil((end - time) / 1000)) };
};

/** Which limit a route counts against: trading routes reach a broker and have a tighter one. */
export type RateBucket = 'api' | 'trade';

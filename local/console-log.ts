import type { Log } from '../shared/ports/log';

const levels = ['debug', 'info', 'warn', 'error', 'silent'] as const;
type Level = (typeof levels)[number];

/** An error as a log field: its name, message, code and cause (JSON.stringify alone gives `{}`). */
const errorFields = (_key: string, value: unknown): unknown => {
  if (!(value instanceof Error)) return value;
  const { code } = value as { code?: unknown };
  return { name: value.name, message: value.message, ...(code !== undefined ? { code } : {}), ...(value.cause !== undefined ? { cause: value.cause } : {}) };
};

/** The Log port on stderr for the local runtime: one JSON line per entry at or above `level`; errors as objects. */
export const consoleLog = (level: Level): Log => {
  const threshold = levels.indexOf(level);
  const write = (at: Exclude<Level, 'silent'>) => (message: string, attributes?: Record<string, unknown>) => {
    if (levels.indexOf(at) < threshold) return;
    process.stderr.write(`${JSON.stringify({ level: at, time: new Date().toISOString(), message, ...attributes }, errorFields)}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
};

export interface OncePerChangeOptions {
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** The longest pace a warning keeps and still counts as going on (a warning first repeated later came back). @default 60 s */
  longestPaceMs?: number;
}

/** How far past its own pace a warning may come again and still count as going on (a sync pass's jitter, not a missed pass). */
const PACE_SLACK = 1.5;

/**
 * A log whose warnings are written once per change. A warning's subject is its message and its
 * `…Id` attributes (the account, tenant, mapping it is about); it is written the first time, then
 * again only when its attributes change, or when it comes back after a pause longer than 1.5x its
 * own pace (it had stopped: a pass of the sync went by without it). An account that cannot be
 * synced warns once, not on every pass of the sync. Debug, info and error lines pass unchanged.
 * For the local runtime's console: the Lambda functions keep logging every occurrence.
 */
export const warningsOncePerChange = (log: Log, options: OncePerChangeOptions = {}): Log => {
  const now = options.now ?? Date.now;
  const longestPaceMs = options.longestPaceMs ?? 60_000;
  const subjects = new Map<string, { content: string; lastAt: number; paceMs?: number }>();
  const hadStopped = (at: number, lastAt: number, paceMs: number) => at - lastAt > PACE_SLACK * Math.min(paceMs, longestPaceMs);
  const warn = (message: string, attributes?: Record<string, unknown>): void => {
    const at = now();
    const ids = Object.entries(attributes ?? {}).filter(([key]) => key.endsWith('Id'));
    const subject = JSON.stringify([message, ids], errorFields);
    const content = JSON.stringify(attributes ?? {}, errorFields);
    const seen = subjects.get(subject);
    if (seen && seen.content === content && !hadStopped(at, seen.lastAt, seen.paceMs ?? longestPaceMs)) {
      seen.paceMs = at - seen.lastAt;
      seen.lastAt = at;
      return;
    }
    if (subjects.size >= 1000) {
      for (const [key, { lastAt }] of subjects) if (hadStopped(at, lastAt, longestPaceMs)) subjects.delete(key);
    }
    subjects.set(subject, { content, lastAt: at });
    log.warn(message, attributes);
  };
  return {
    debug: (message, attributes) => log.debug(message, attributes),
    info: (message, attributes) => log.info(message, attributes),
    warn,
    error: (message, attributes) => log.error(message, attributes),
  };
};

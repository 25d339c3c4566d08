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

import type { Log } from '../shared/ports/log';

const levels = ['debug', 'info', 'warn', 'error', 'silent'] as const;
type Level = (typeof levels)[number];

/** The Log port on stderr for the local runtime: one JSON line per entry at or above `level`. */
export const consoleLog = (level: Level): Log => {
  const threshold = levels.indexOf(level);
  const write = (at: Exclude<Level, 'silent'>) => (message: string, attributes?: Record<string, unknown>) => {
    if (levels.indexOf(at) < threshold) return;
    process.stderr.write(`${JSON.stringify({ level: at, time: new Date().toISOString(), message, ...attributes })}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
};

import { AsyncLocalStorage } from 'node:async_hooks';

/** Structured logging as the use cases need it; attributes never hold secrets. */
export interface Log {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** The keys of the unit of work a line belongs to: a copy's tenant, mapping, slave and event; a sync's account. */
export type LogKeys = Record<string, string | undefined>;

const scope = new AsyncLocalStorage<LogKeys>();

/**
 * Runs `work` with `keys` on every line logged within it, by any layer (a broker adapter's
 * warning too), through a log made by `keyedLog`. Scopes nest (inner keys win) and follow
 * the async work they started, so signals worked side by side keep their own keys.
 */
export const withLogKeys = <T>(keys: LogKeys, work: () => Promise<T>): Promise<T> => scope.run({ ...scope.getStore(), ...keys }, work);

/** A log that adds the current scope's keys to every line; a line's own attributes win over them. */
export const keyedLog = (log: Log): Log => {
  const keyed = (attributes: Record<string, unknown> | undefined): Record<string, unknown> | undefined => {
    const keys = scope.getStore();
    if (!keys) return attributes;
    const defined = Object.fromEntries(Object.entries(keys).filter(([, value]) => value !== undefined));
    return { ...defined, ...attributes };
  };
  return {
    debug: (message, attributes) => log.debug(message, keyed(attributes)),
    info: (message, attributes) => log.info(message, keyed(attributes)),
    warn: (message, attributes) => log.warn(message, keyed(attributes)),
    error: (message, attributes) => log.error(message, keyed(attributes)),
  };
};

import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '../../ports/log';

const loggers = new Map<string, Logger>();

/**
 * The one Powertools logger of a function (`mt-copier-<service>`): its handler's middleware
 * adds the Lambda context (request id, cold start, function name) to every line it writes.
 */
export const loggerFor = (service: string): Logger => {
  let logger = loggers.get(service);
  if (!logger) {
    logger = new Logger({ serviceName: `mt-copier-${service}` });
    loggers.set(service, logger);
  }
  return logger;
};

/** The Log port on the Powertools logger: one JSON line per entry, attributes as fields. */
export const powertoolsLog = (serviceName: string, logger = new Logger({ serviceName })): Log => ({
  debug: (message, attributes) => logger.debug(message, attributes ?? {}),
  info: (message, attributes) => logger.info(message, attributes ?? {}),
  warn: (message, attributes) => logger.warn(message, attributes ?? {}),
  error: (message, attributes) => logger.error(message, attributes ?? {}),
});

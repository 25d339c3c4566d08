import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '../../ports/log';

/** The Log port on the Powertools logger: one JSON line per entry, attributes as fields. */
export const powertoolsLog = (serviceName: string, logger = new Logger({ serviceName })): Log => ({
  debug: (message, attributes) => logger.debug(message, attributes ?? {}),
  info: (message, attributes) => logger.info(message, attributes ?? {}),
  warn: (message, attributes) => logger.warn(message, attributes ?? {}),
  error: (message, attributes) => logger.error(message, attributes ?? {}),
});

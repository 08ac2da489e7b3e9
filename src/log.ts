import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/types.ts';

export type { Logger } from 'pino';
export type { LogLevel } from './config/types.ts';

/**
 * weir logs one JSON line per event to stderr: start, stop, every backend
 * health change and every failed request, each with an ISO 8601 time and
 * name "weir". `level` is the config's log.level (default info); a reload
 * may change it on the logger weir made (`logger.level = ...`). Library
 * users pass their own pino logger, kept as it is whatever the config says,
 * or `false` for silence.
 */
export function createLogger(option: Logger | false | undefined, level: LogLevel = 'info'): Logger {
  if (option === false) return pino({ enabled: false });
  if (option) return option;
  return pino({ base: { name: 'weir' }, level, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: true }));
}

import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * weir logs one JSON line per event to stderr: start, stop, every backend
 * health change and every failed request. Library users pass their own pino
 * logger, or `false` for silence.
 */
export function createLogger(option: Logger | false | undefined): Logger {
  if (option === false) return pino({ enabled: false });
  if (option) return option;
  return pino({ base: { name: 'weir' } }, pino.destination({ fd: 2, sync: true }));
}

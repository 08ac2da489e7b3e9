// Every reload, whatever asked for it (SIGHUP, the admin API, --watch), is
// counted, logged and kept as the last, the same way in a single weir and
// in a worker group's primary.

import { ConfigError, formatConfigIssue } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from './metrics.ts';

export interface ReloadOutcome {
  at: number;
  result: 'success' | 'failure';
  message?: string;
}

export class ReloadHistory {
  /** The config generation served now: 1 at start, one more for each reload applied. */
  generation = 1;
  last: ReloadOutcome | undefined;
  readonly #metrics: Metrics;
  readonly #log: Logger;

  constructor(metrics: Metrics, log: Logger) {
    this.#metrics = metrics;
    this.#log = log;
  }

  /** Runs one reload and records how it went; rejects as `reload` does. */
  async record(reload: () => Promise<void>): Promise<void> {
    try {
      await reload();
      this.generation++;
      this.last = { at: Date.now(), result: 'success' };
      this.#metrics.reloaded(true, this.generation);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.last = { at: Date.now(), result: 'failure', message };
      this.#metrics.reloaded(false, this.generation);
      const fields = error instanceof ConfigError ? { issues: error.issues.map(formatConfigIssue) } : { err: error };
      this.#log.error(fields, `reload failed, keeping the running config: ${message}`);
      throw error;
    }
  }
}

import { startWeir, type Weir } from '../../src/weir.ts';
import { captureLog } from './log.ts';

/** weir on 127.0.0.1 and an ephemeral port, silent, from a config object. */
export function startTestWeir(config: Record<string, unknown>): Promise<Weir> {
  return startWeir({ config, listen: { host: '127.0.0.1', port: 0 }, logger: false, drainTimeoutMs: 2_000 });
}

/** weir on 127.0.0.1 and an ephemeral port, from a config object, with its log lines readable by the test. */
export async function startWatchedWeir(config: Record<string, unknown>): Promise<{ weir: Weir; lines: Array<Record<string, unknown>> }> {
  const { logger, lines } = captureLog();
  const weir = await startWeir({ config, listen: { host: '127.0.0.1', port: 0 }, logger, drainTimeoutMs: 2_000 });
  return { weir, lines };
}

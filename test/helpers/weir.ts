import { startWeir, type Weir } from '../../src/weir.ts';
import { startBackend, type BackendHandler, type TestBackend } from './backends.ts';
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

/** A weir whose routes send to service "app", and that service's one backend. */
export interface WeirOnApp {
  backend: TestBackend;
  weir: Weir;
  lines: Array<Record<string, unknown>>;
  /** Closes weir, then the backend. */
  close(): Promise<void>;
}

/** Starts a backend named "app" (answering with `handler` if given) and a watched weir with `config` plus the service "app" on it. */
export async function startWeirOnApp(config: Record<string, unknown>, handler?: BackendHandler): Promise<WeirOnApp> {
  const backend = await startBackend('app', handler);
  const { weir, lines } = await startWatchedWeir({ ...config, services: { app: { servers: [backend.address] } } });
  return {
    backend,
    weir,
    lines,
    close: async () => {
      await weir.close();
      await backend.close();
    },
  };
}

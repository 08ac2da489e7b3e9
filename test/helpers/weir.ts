import { startWeir, type Weir } from '../../src/weir.ts';

/** weir on 127.0.0.1 and an ephemeral port, silent, from a config object. */
export function startTestWeir(config: Record<string, unknown>): Promise<Weir> {
  return startWeir({ config, listen: { host: '127.0.0.1', port: 0 }, logger: false, drainTimeoutMs: 2_000 });
}

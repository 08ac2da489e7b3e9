// A real AdminContext for tests, built from the same objects weir runs on
// (loader, compiled runtime, backend registry, health checkers, apply step)
// but without the proxy's listener. It is also a sketch of what weir.ts
// wires: drain and enable act on the live Backend in the registry, so they
// survive reloads; reload applies whole or rejects with a ConfigError.

import { explainRequest } from '../runtime/explain.ts';
import { loadConfigObject } from '../config/load.ts';
import { createLogger, type Logger } from '../log.ts';
import { RateLimitStores } from '../ratelimit/stores.ts';
import { commitRuntime, prepareHealthChecks, stopHealthChecks, type LiveState } from '../runtime/apply.ts';
import { compileRuntime, type Runtime } from '../runtime/compile.ts';
import type { Backend } from '../upstream/backend.ts';
import type { ActiveHealthChecker } from '../upstream/health/active-checker.ts';
import { BackendRegistry } from '../upstream/registry.ts';
import { backendControls, type AdminContext, type ReloadOutcome } from './context.ts';
import { RecentRefusals } from './recent-refusals.ts';
import { RouteStats } from './route-stats.ts';

export const FIXED_METRICS = '# HELP weir_up Whether weir is up.\n# TYPE weir_up gauge\nweir_up 1\n';

export interface LiveAdminContext {
  context: AdminContext;
  live: LiveState;
  routeStats: RouteStats;
  /** What recentRefusals() lists: an observer for a driver, or add() directly. */
  refusals: RecentRefusals;
  /** The config the next reload() reads (as the file would be re-read). */
  setConfig(config: Record<string, unknown>): void;
  /** The backend of this service with this label in the live runtime. */
  backend(service: string, address: string): Backend | undefined;
  close(): Promise<void>;
}

export async function liveAdminContext(
  config: Record<string, unknown>,
  options: { token?: string; log?: Logger } = {},
): Promise<LiveAdminContext> {
  const log = options.log ?? createLogger(false);
  const live: LiveState = { registry: new BackendRegistry(), stores: new RateLimitStores(), log, drainTimeoutMs: 1_000 };
  const routeStats = new RouteStats();
  const refusals = new RecentRefusals();
  let source = config;
  let generation = 1;
  let lastReload: ReloadOutcome | undefined;

  let runtime: Runtime = compileRuntime(loadConfigObject(source), live.registry, live.stores, log);
  let configText = JSON.stringify(source, null, 2);
  let checkers: ActiveHealthChecker[] = await prepareHealthChecks(runtime, log);
  commitRuntime(runtime, live);

  const backend = (service: string, address: string): Backend | undefined =>
    runtime.services.get(service)?.backends.find((candidate) => candidate.label === address);

  const context: AdminContext = {
    version: '0.0.0-test',
    startedAt: Date.now(),
    configSource: () => runtime.config.source,
    configText: () => configText,
    tls: () => [],
    generation: () => generation,
    lastReload: () => lastReload,
    runtime: () => runtime,
    async reload() {
      try {
        const next = compileRuntime(loadConfigObject(source), live.registry, live.stores, log);
        const nextCheckers = await prepareHealthChecks(next, log);
        commitRuntime(next, live);
        const previous = checkers;
        runtime = next;
        checkers = nextCheckers;
        await stopHealthChecks(previous);
        generation++;
        configText = JSON.stringify(source, null, 2);
        lastReload = { at: Date.now(), result: 'success' };
      } catch (error) {
        lastReload = { at: Date.now(), result: 'failure', message: error instanceof Error ? error.message : String(error) };
        throw error;
      }
    },
    ...backendControls(() => runtime),
    explain: (request) => explainRequest(runtime.config, request),
    metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', text: FIXED_METRICS }),
    recentRefusals: () => refusals.list(),
    routeStats: () => routeStats.snapshot(),
    token: options.token,
  };

  return {
    context,
    live,
    routeStats,
    refusals,
    setConfig(next) {
      source = next;
    },
    backend,
    async close() {
      await stopHealthChecks(checkers);
      await live.stores.close();
    },
  };
}

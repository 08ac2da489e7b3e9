// Applying a compiled runtime: the live side of a config. Compiling
// (compile.ts) touches nothing live; this is where backends take their new
// settings, health checks start and stop, rate-limit stores are kept or
// dropped. Everything here happens after the last step that can fail, so a
// reload either applies whole or changes nothing.

import type { Logger } from '../log.ts';
import type { RateLimitStores } from '../ratelimit/stores.ts';
import { applyBackendSettings } from '../upstream/backend-settings.ts';
import { ActiveHealthChecker } from '../upstream/health/active-checker.ts';
import type { Backend } from '../upstream/backend.ts';
import type { BackendRegistry } from '../upstream/registry.ts';
import type { Runtime } from './compile.ts';

export interface LiveState {
  registry: BackendRegistry;
  stores: RateLimitStores;
  log: Logger;
  /** How long requests and tunnels on a backend a reload removed may go on before they are cut. */
  drainTimeoutMs: number;
}

/**
 * Starts the runtime's health checks and waits for their first round, so
 * that who is up is known before the runtime serves. Nothing else changes:
 * the checkers are handed to commitRuntime(), or stopped if the runtime is
 * given up.
 */
export async function prepareHealthChecks(runtime: Runtime, log: Logger): Promise<ActiveHealthChecker[]> {
  const checkers: ActiveHealthChecker[] = [];
  for (const service of runtime.services.values()) {
    const { healthCheck } = service.config;
    if (healthCheck) checkers.push(new ActiveHealthChecker(service.name, service.backends, healthCheck, log));
  }
  await Promise.all(checkers.map((checker) => checker.start()));
  return checkers;
}

/** Makes `runtime` the live one's state: backend settings, backends without active checks, rate-limit stores. Cannot fail. */
export function commitRuntime(runtime: Runtime, live: LiveState): void {
  const removed = applyBackendSettings(live.registry, runtime.backendSettings);
  for (const backend of removed) retire(backend, live);
  for (const service of runtime.services.values()) {
    if (service.config.healthCheck) continue;
    // A backend a removed health check had marked down would stay down forever.
    for (const backend of service.backends) backend.stopActiveChecks('no active health checks configured (taken as up)');
  }
  const { config } = runtime;
  live.stores.retain([...config.defaults.rateLimits, ...config.routes.flatMap((route) => route.rateLimits)]);
}

/**
 * A backend the new config no longer has: requests and tunnels on it (a
 * WebSocket, a server-sent event stream) may finish until the drain
 * deadline; whatever is still open then is cut. Those on backends the new
 * config keeps are not touched.
 */
function retire(backend: Backend, live: LiveState): void {
  if (backend.inflight === 0) return;
  const timer = setTimeout(() => {
    const cut = backend.cutOpen();
    if (cut > 0) {
      live.log.info(
        { service: backend.service, backend: backend.label, cut },
        `closed ${cut} connection(s) still open on ${backend.label}, which a reload removed from service "${backend.service}", after ${live.drainTimeoutMs}ms`,
      );
    }
  }, live.drainTimeoutMs);
  timer.unref();
}

export async function stopHealthChecks(checkers: readonly ActiveHealthChecker[]): Promise<void> {
  await Promise.all(checkers.map((checker) => checker.stop()));
}

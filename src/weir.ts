import { loadConfigFile, loadConfigObject } from './config/load.ts';
import type { Address, WeirConfig } from './config/types.ts';
import { createLogger, type Logger } from './log.ts';
import { createProxyHandlers } from './proxy/handler.ts';
import { RefusalCounter } from './proxy/refusals.ts';
import { Transport } from './proxy/transport.ts';
import { RateLimitStores } from './ratelimit/stores.ts';
import { compileRuntime, type Runtime } from './runtime/compile.ts';
import { listenHttp } from './server/http-listener.ts';
import { ActiveHealthChecker } from './upstream/health/active-checker.ts';
import { BackendRegistry } from './upstream/registry.ts';

export interface WeirOptions {
  /** A path to a YAML file (either form), or the config as an object (either form, as parsed YAML would give). */
  config: string | Record<string, unknown>;
  /** Overrides the config's listen address. */
  listen?: Address;
  /** A pino logger, or false for silence. Default: JSON lines on stderr. */
  logger?: Logger | false;
  /** How long close() waits for in-flight requests before cutting them. Default 10 s. */
  drainTimeoutMs?: number;
}

/** A running load balancer. */
export interface Weir {
  /** The address weir listens on (with the real port when the config asked for port 0). */
  readonly address: Address;
  /** "http://host:port" for that address. */
  readonly url: string;
  /** The runtime requests are served from now. */
  runtime(): Runtime;
  /** How many requests each rule refused (firewall and rate limits), by the rule's name as logged. */
  refusals(): Record<string, number>;
  /** Loads a new config (same forms as startWeir) and swaps it in; in-flight requests finish on the old one. The listen address does not change. */
  reload(config: string | Record<string, unknown>): Promise<void>;
  /** Stops accepting, drains, stops health checks, closes backend connections. */
  close(): Promise<void>;
}

/**
 * Starts a load balancer. Resolves once the first round of health checks is
 * done and the listener accepts connections; rejects (with a ConfigError for
 * a bad config) if it cannot start. Once started, nothing it does throws
 * into the caller's event loop: failures are answered and logged.
 */
export async function startWeir(options: WeirOptions): Promise<Weir> {
  const log = createLogger(options.logger);
  const registry = new BackendRegistry();
  const transport = new Transport();
  const config = await loadConfig(options.config);
  // Like the registry, the rate limit buckets (and Redis connections) outlive reloads.
  const stores = new RateLimitStores();
  const refusals = new RefusalCounter();

  let runtime = compileRuntime(config, registry, stores, log);
  let checkers = await startHealthChecks(runtime, log);
  const handlers = createProxyHandlers(() => runtime, transport, log, refusals);
  const listen = options.listen ?? config.listen;
  let listener;
  try {
    // PROXY protocol is the listener's, so like the address it stays as first configured.
    listener = await listenHttp(listen, handlers, log, { proxyProtocol: config.proxyProtocol });
  } catch (error) {
    await Promise.all(checkers.map((checker) => checker.stop()));
    await transport.close();
    await stores.close();
    throw error;
  }
  const { address } = listener;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const url = `http://${host}:${address.port}`;
  log.info({ listen: url, routes: config.routes.length, services: config.services.size, source: config.source }, `weir listening on ${url}`);

  let closing: Promise<void> | undefined;
  return {
    address,
    url,
    runtime: () => runtime,
    refusals: () => refusals.snapshot(),
    async reload(next) {
      const nextConfig = await loadConfig(next);
      const nextRuntime = compileRuntime(nextConfig, registry, stores, log);
      const nextCheckers = await startHealthChecks(nextRuntime, log);
      const previous = checkers;
      runtime = nextRuntime;
      checkers = nextCheckers;
      stores.retain([...nextConfig.defaults.rateLimits, ...nextConfig.routes.flatMap((route) => route.rateLimits)]);
      await Promise.all(previous.map((checker) => checker.stop()));
      log.info({ routes: nextConfig.routes.length, services: nextConfig.services.size, source: nextConfig.source }, 'config reloaded');
    },
    close() {
      closing ??= (async () => {
        log.info({}, 'weir stopping: draining in-flight requests');
        await listener.drain(options.drainTimeoutMs ?? 10_000);
        await Promise.all(checkers.map((checker) => checker.stop()));
        await transport.close();
        await stores.close();
        log.info({}, 'weir stopped');
      })();
      return closing;
    },
  };
}

async function loadConfig(config: WeirOptions['config']): Promise<WeirConfig> {
  return typeof config === 'string' ? loadConfigFile(config) : loadConfigObject(config);
}

async function startHealthChecks(runtime: Runtime, log: Logger): Promise<ActiveHealthChecker[]> {
  const checkers: ActiveHealthChecker[] = [];
  for (const service of runtime.services.values()) {
    const { healthCheck } = service.config;
    if (healthCheck) checkers.push(new ActiveHealthChecker(service.name, service.backends, healthCheck, log));
  }
  // The first round decides who is up before any traffic arrives.
  await Promise.all(checkers.map((checker) => checker.start()));
  return checkers;
}

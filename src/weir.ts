import { loadConfigFile, loadConfigObject } from './config/load.ts';
import type { Address, WeirConfig } from './config/types.ts';
import { createLogger, type Logger } from './log.ts';
import { RateLimitStores } from './ratelimit/stores.ts';
import { commitRuntime, prepareHealthChecks, stopHealthChecks, type LiveState } from './runtime/apply.ts';
import { compileRuntime, type Runtime } from './runtime/compile.ts';
import { Driver } from './runtime/driver.ts';
import { RefusalCounter } from './runtime/refusals.ts';
import { listenHttp, type ClientSettings, type HttpListener } from './server/http-listener.ts';
import { Transport } from './upstream/client/transport.ts';
import type { ActiveHealthChecker } from './upstream/health/active-checker.ts';
import { BackendRegistry } from './upstream/registry.ts';

export interface WeirOptions {
  /** A path to a YAML file (either form), or the config as an object (either form, as parsed YAML would give). */
  config: string | Record<string, unknown>;
  /** Overrides the config's listen address, on start and on every reload. */
  listen?: Address;
  /** A pino logger, or false for silence. Default: JSON lines on stderr. */
  logger?: Logger | false;
  /** How long close() waits for in-flight requests before cutting them. Default 10 s. */
  drainTimeoutMs?: number;
}

/** A running load balancer. */
export interface Weir {
  /** The address weir listens on (with the real port when the config asked for port 0). A reload may change it. */
  readonly address: Address;
  /** "http://host:port" for that address. */
  readonly url: string;
  /** The runtime requests are served from now. */
  runtime(): Runtime;
  /** How many requests each rule refused (firewall and rate limits), by the rule's name as logged. */
  refusals(): Record<string, number>;
  /**
   * Loads a new config (same forms as startWeir) and applies it whole, or
   * rejects and changes nothing. In-flight requests finish on the old one.
   * A changed listen address (or proxy_protocol) is bound before anything
   * else changes; the old listener then drains.
   */
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
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const live: LiveState = { registry: new BackendRegistry(), stores: new RateLimitStores(), log, drainTimeoutMs };
  const transport = new Transport();
  const refusals = new RefusalCounter();
  const listenOf = (config: WeirConfig): Address => options.listen ?? config.listen;

  let runtime!: Runtime;
  let checkers: ActiveHealthChecker[];
  let listener: HttpListener;
  // The driver reads the runtime once per request, so a reload swaps one reference.
  const driver = new Driver({ runtime: () => runtime, transport, log, refusals });
  try {
    const config = await loadConfig(options.config);
    runtime = compileRuntime(config, live.registry, live.stores, log);
    checkers = await prepareHealthChecks(runtime, log);
    commitRuntime(runtime, live);
    try {
      listener = await listenHttp(listenOf(config), driver, clientSettings(config), log, { proxyProtocol: config.proxyProtocol });
    } catch (error) {
      await stopHealthChecks(checkers);
      throw error;
    }
  } catch (error) {
    await transport.close();
    await live.stores.close();
    throw error;
  }
  log.info({ listen: urlOf(listener.address), routes: runtime.config.routes.length, services: runtime.config.services.size, source: runtime.config.source }, `weir listening on ${urlOf(listener.address)}`);

  let closing: Promise<void> | undefined;
  let reloading: Promise<void> = Promise.resolve();

  async function reload(next: string | Record<string, unknown>): Promise<void> {
    if (closing) throw new Error('weir is closed; there is nothing to reload');
    const nextConfig = await loadConfig(next);
    const nextRuntime = compileRuntime(nextConfig, live.registry, live.stores, log);
    const current = runtime.config;
    const rebind =
      !sameAddress(listenOf(nextConfig), listenOf(current)) || nextConfig.proxyProtocol !== current.proxyProtocol;
    // The one step that can fail comes first: until the new port is bound, nothing has changed.
    const nextListener = rebind
      ? await listenHttp(listenOf(nextConfig), driver, clientSettings(nextConfig), log, { proxyProtocol: nextConfig.proxyProtocol })
      : undefined;
    const nextCheckers = await prepareHealthChecks(nextRuntime, log);
    if (closing) {
      await stopHealthChecks(nextCheckers);
      await nextListener?.drain(0);
      throw new Error('weir closed during the reload');
    }
    commitRuntime(nextRuntime, live);
    runtime = nextRuntime;
    const previousCheckers = checkers;
    checkers = nextCheckers;
    const previousListener = nextListener ? listener : undefined;
    if (nextListener) listener = nextListener;
    else listener.configure(clientSettings(nextConfig));
    await stopHealthChecks(previousCheckers);
    log.info(
      { routes: nextConfig.routes.length, services: nextConfig.services.size, source: nextConfig.source, ...(previousListener && { listen: urlOf(listener.address) }) },
      previousListener ? `config reloaded; now listening on ${urlOf(listener.address)}` : 'config reloaded',
    );
    // Connections to the old address finish what they are doing.
    if (previousListener) void previousListener.drain(drainTimeoutMs);
  }

  return {
    get address() {
      return listener.address;
    },
    get url() {
      return urlOf(listener.address);
    },
    runtime: () => runtime,
    refusals: () => refusals.snapshot(),
    reload(next) {
      // One reload at a time, in the order asked.
      const result = reloading.then(() => reload(next));
      reloading = result.catch(() => undefined);
      return result;
    },
    close() {
      closing ??= (async () => {
        log.info({}, 'weir stopping: draining in-flight requests');
        await reloading;
        await listener.drain(drainTimeoutMs);
        await stopHealthChecks(checkers);
        await transport.close();
        await live.stores.close();
        log.info({}, 'weir stopped');
      })();
      return closing;
    },
  };
}

async function loadConfig(config: WeirOptions['config']): Promise<WeirConfig> {
  return typeof config === 'string' ? loadConfigFile(config) : loadConfigObject(config);
}

function clientSettings(config: WeirConfig): ClientSettings {
  return {
    maxConnections: config.limits.clientConnections,
    pipelinedRequests: config.limits.pipelinedRequests,
    headerTimeoutMs: config.clientTimeouts.headerMs,
    keepAliveMs: config.clientTimeouts.keepAliveMs,
  };
}

function sameAddress(a: Address, b: Address): boolean {
  return a.host === b.host && a.port === b.port;
}

function urlOf(address: Address): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `http://${host}:${address.port}`;
}

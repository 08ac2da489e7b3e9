import { readFile } from 'node:fs/promises';
import { backendControls, type AdminContext } from './admin/context.ts';
import { RecentRefusals } from './admin/recent-refusals.ts';
import { RouteStats } from './admin/route-stats.ts';
import { startAdmin, type AdminServer } from './admin/server.ts';
import type { Address, ListenerConfig, WeirConfig } from './config/types.ts';
import { AccessLogSlot } from './observe/access-log.ts';
import { Metrics } from './observe/metrics.ts';
import { ReloadHistory } from './observe/reload-history.ts';
import { explainLive } from './runtime/explain.ts';
import { certificateLines, requestHost } from './tls/tls-report.ts';
import { VERSION } from './version.ts';
import { createLogger, type Logger } from './log.ts';
import { RateLimitStores } from './ratelimit/stores.ts';
import { commitRuntime, prepareHealthChecks, stopHealthChecks, type LiveState } from './runtime/apply.ts';
import { compileRuntime, type Runtime } from './runtime/compile.ts';
import { Driver } from './runtime/driver.ts';
import { RefusalCounter } from './runtime/refusals.ts';
import type { ClientSettings } from './server/http-listener.ts';
import { Listeners, type ListenerCommon, type PreparedListeners } from './server/listeners.ts';
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
  /** The address of the first listener (with the real port when the config asked for port 0). A reload may change it. */
  readonly address: Address;
  /** "http://host:port" (or https://) for that address. */
  readonly url: string;
  /** Every listener's URL, in config order: https:// for TLS listeners. */
  readonly urls: string[];
  /** Where the admin API listens, when the config has one. */
  readonly adminAddress: Address | undefined;
  /** The Prometheus text of /metrics. */
  metrics(): Promise<string>;
  /** Reopens the access log file (after logrotate moved it): what SIGUSR1 does. */
  reopenLogs(): void;
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
export function startWeir(options: WeirOptions): Promise<Weir> {
  return startInstance(options);
}

/** A config loaded and checked, and its text as written (for GET /api/config). */
export interface LoadedConfig {
  config: WeirConfig;
  text: string;
}

/**
 * What is different in a worker of a group (`weir start --workers`,
 * src/cluster/): the primary runs the active health checks and the admin
 * API, and owns the backends' state. A weir on its own leaves all of it at
 * the defaults.
 */
export interface InstanceRole {
  /** The backends: in a worker, replicas whose state the primary owns. */
  registry?: BackendRegistry;
  /** The rate-limit buckets: in a worker, ones that count what they give out for the other workers. */
  stores?: RateLimitStores;
  /** Whether active health checks run here. Default true. */
  activeHealthChecks?: boolean;
  /** Whether the config's admin API is served here. Default true. */
  admin?: boolean;
  /** Bind the listen addresses with SO_REUSEPORT, beside the other workers' sockets. Default false. */
  reusePort?: boolean;
  /** Whether ACME certificates are obtained here. Default true. */
  acme?: boolean;
  /** Called right after each config is committed (at start too), before the listener opens at start. */
  committed?: () => void;
  /** A worker's start, reload and stop lines are debug: the primary says each once for the group. Default info. */
  lifecycleLevel?: 'info' | 'debug';
}

/** A reload with every step that can fail done (the config compiled, a new address bound, files opened): nothing live has changed until commit(). */
export interface PreparedReload {
  /** Where weir listens once it is committed. */
  readonly address: Address;
  /** Applies it: cannot fail. */
  commit(): Promise<void>;
  /** Gives it up, undoing what prepare opened. */
  cancel(): Promise<void>;
}

/** A running weir, with what a worker of a group needs of it beyond Weir. */
export interface WeirInstance extends Weir {
  /** The first half of reload(): for a reload that a group applies in all workers or none. */
  prepare(loaded: LoadedConfig): Promise<PreparedReload>;
  /** The metrics this process keeps (its own requests). */
  readonly ownMetrics: Metrics;
  readonly routeStats: RouteStats;
  readonly recentRefusals: RecentRefusals;
  readonly registry: BackendRegistry;
  /** Requests in flight to backends, and client connections open, now. */
  inflight(): number;
  clientConnections(): number;
}

/** startWeir(), in the role of a worker of a group when `role` says so; `loaded` instead of reading options.config. */
export async function startInstance(options: WeirOptions & { loaded?: LoadedConfig }, role: InstanceRole = {}): Promise<WeirInstance> {
  const ownLogger = options.logger === undefined;
  const log = createLogger(options.logger);
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const live: LiveState = { registry: role.registry ?? new BackendRegistry(), stores: role.stores ?? new RateLimitStores(), log, drainTimeoutMs };
  const activeChecks = role.activeHealthChecks ?? true;
  const serveAdmin = role.admin ?? true;
  const listenerCommon = (config: WeirConfig): ListenerCommon => ({ settings: clientSettings(config), proxyProtocol: config.proxyProtocol, reusePort: role.reusePort === true });
  const lifecycle = (fields: object, message: string): void => (role.lifecycleLevel === 'debug' ? log.debug(fields, message) : log.info(fields, message));
  const healthChecks = (next: Runtime): Promise<ActiveHealthChecker[]> => (activeChecks ? prepareHealthChecks(next, log) : Promise.resolve([]));
  const transport = new Transport();
  const refusals = new RefusalCounter();
  // options.listen moves the first listener.
  const listenersOf = (config: WeirConfig): ListenerConfig[] =>
    options.listen ? config.listeners.map((listener, index) => (index === 0 ? { ...listener, address: options.listen! } : listener)) : config.listeners;

  let runtime!: Runtime;
  let checkers: ActiveHealthChecker[] = [];
  let admin: AdminServer | undefined;
  let configText = '';

  // The log phase's observers and the metrics outlive reloads, like the backends.
  const accessLog = new AccessLogSlot(log);
  const routeStats = new RouteStats();
  const recentRefusals = new RecentRefusals();
  const metrics: Metrics = new Metrics({
    backends: () => live.registry.backends(),
    inflight: (): number => driver.gate.inFlight,
    clientConnections: () => listeners.connections(),
    refusals: () => refusals.snapshot(),
    tls: () => listeners.tls(),
  });
  const reloads = new ReloadHistory(metrics, log);
  // The driver reads the runtime once per request, so a reload swaps one reference.
  const driver: Driver = new Driver({ runtime: () => runtime, transport, log, refusals, observers: [metrics, accessLog, routeStats, recentRefusals], events: metrics });
  const listeners = new Listeners(driver, { log, drainTimeoutMs, acme: role.acme ?? true });
  const context = adminContext();

  try {
    const loaded = options.loaded ?? (await loadConfig(options.config));
    const config = loaded.config;
    if (ownLogger) log.level = config.log.level;
    runtime = compileRuntime(config, live.registry, live.stores, log);
    warnInsecureBackends(config, log);
    const logChange = await accessLog.prepare(config.accessLog);
    checkers = await healthChecks(runtime);
    commitRuntime(runtime, live);
    role.committed?.();
    await logChange.commit();
    configText = loaded.text;
    (await listeners.prepare(listenersOf(config), listenerCommon(config))).commit();
    if (config.admin && serveAdmin) admin = await startAdmin(config.admin.listen, context, log);
  } catch (error) {
    await listeners.drain(0);
    await stopHealthChecks(checkers);
    await accessLog.close();
    metrics.close();
    await transport.close();
    await live.stores.close();
    throw error;
  }
  const { config } = runtime;
  // Kept once closed too: weir.url still names where it listened.
  let lastUrls: string[] = [];
  let lastAddress = listeners.listeners[0]!.address;
  const urls = (): string[] => {
    const open = listeners.listeners;
    if (open.length > 0) {
      lastUrls = open.map((listener) => urlOf(listener.address, listener.secure));
      lastAddress = open[0]!.address;
    }
    return lastUrls;
  };
  lifecycle(
    { listen: urls()[0], ...(urls().length > 1 && { listeners: urls() }), ...(admin && { admin: urlOf(admin.address) }), routes: config.routes.length, services: config.services.size, source: config.source },
    `weir listening on ${urls().join(', ')}`,
  );

  let closing: Promise<void> | undefined;
  let reloading: Promise<void> = Promise.resolve();

  /** Compile, then every step that can fail (binding, opening files), then commit whole. */
  async function reload(next: string | Record<string, unknown>): Promise<void> {
    if (closing) throw new Error('weir is closed; there is nothing to reload');
    const prepared = await prepare(await loadConfig(next));
    await prepared.commit();
  }

  /** Every step of a reload that can fail; what it opened is closed again by cancel(), and nothing live changes before commit(). */
  async function prepare(loaded: LoadedConfig): Promise<PreparedReload> {
    if (closing) throw new Error('weir is closed; there is nothing to reload');
    const nextConfig = loaded.config;
    const nextRuntime = compileRuntime(nextConfig, live.registry, live.stores, log);
    warnInsecureBackends(nextConfig, log);
    const current = runtime.config;
    const adminMoves = !sameAddress(nextConfig.admin?.listen, current.admin?.listen);
    // Until everything that can fail has succeeded, nothing live has changed.
    const opened: Array<() => Promise<void>> = [];
    let nextListeners;
    let nextAdmin: AdminServer | undefined;
    let logChange;
    let nextCheckers: ActiveHealthChecker[] = [];
    try {
      const prepared = await listeners.prepare(listenersOf(nextConfig), listenerCommon(nextConfig));
      nextListeners = prepared;
      opened.push(() => prepared.cancel());
      if (adminMoves && nextConfig.admin && serveAdmin) {
        if (admin && current.admin?.listen.port === nextConfig.admin.listen.port) {
          // One port cannot be bound twice (127.0.0.1:9901 to 0.0.0.0:9901): the old listener goes first.
          await admin.close();
          admin = undefined;
        }
        nextAdmin = await startAdmin(nextConfig.admin.listen, context, log);
        const started = nextAdmin;
        opened.push(() => started.close());
      }
      logChange = await accessLog.prepare(nextConfig.accessLog);
      nextCheckers = await healthChecks(nextRuntime);
      if (closing) throw new Error('weir closed during the reload');
    } catch (error) {
      await Promise.all(opened.map((undo) => undo()));
      await logChange?.cancel();
      await stopHealthChecks(nextCheckers);
      throw error;
    }
    const change = logChange;
    const preparedListeners = nextListeners;
    let settled = false;
    return {
      get address() {
        urls();
        return lastAddress;
      },
      async commit() {
        if (settled) return;
        settled = true;
        await commit(loaded, nextRuntime, preparedListeners, nextAdmin, change, nextCheckers, adminMoves);
      },
      async cancel() {
        if (settled) return;
        settled = true;
        await Promise.all(opened.map((undo) => undo()));
        await change.cancel();
        await stopHealthChecks(nextCheckers);
      },
    };
  }

  async function commit(
    loaded: LoadedConfig,
    nextRuntime: Runtime,
    nextListeners: PreparedListeners,
    nextAdmin: AdminServer | undefined,
    logChange: Awaited<ReturnType<AccessLogSlot['prepare']>>,
    nextCheckers: ActiveHealthChecker[],
    adminMoves: boolean,
  ): Promise<void> {
    const nextConfig = loaded.config;
    commitRuntime(nextRuntime, live);
    role.committed?.();
    runtime = nextRuntime;
    configText = loaded.text;
    if (ownLogger) log.level = nextConfig.log.level;
    await logChange.commit();
    const previousCheckers = checkers;
    checkers = nextCheckers;
    const urlsBefore = urls().join(', ');
    nextListeners.commit();
    const urlsAfter = urls().join(', ');
    if (adminMoves) {
      await admin?.close();
      admin = nextAdmin;
    }
    await stopHealthChecks(previousCheckers);
    const moved = urlsAfter !== urlsBefore;
    lifecycle(
      { routes: nextConfig.routes.length, services: nextConfig.services.size, source: nextConfig.source, ...(moved && { listen: urls()[0], ...(urls().length > 1 && { listeners: urls() }) }) },
      moved ? `config reloaded; now listening on ${urlsAfter}` : 'config reloaded',
    );
  }

  /** Every reload, whatever asked for it (SIGHUP, the admin API, --watch), is counted, logged and kept as the last. */
  function reloadAndRecord(next: string | Record<string, unknown>): Promise<void> {
    // One reload at a time, in the order asked.
    const result = reloading.then(() => reloads.record(() => reload(next)));
    reloading = result.catch(() => undefined);
    return result;
  }

  function adminContext(): AdminContext {
    return {
      version: VERSION,
      startedAt: Date.now(),
      configSource: () => runtime.config.source,
      configText: () => configText,
      generation: () => reloads.generation,
      lastReload: () => reloads.last,
      runtime: () => runtime,
      reload: () =>
        typeof options.config === 'string'
          ? reloadAndRecord(options.config)
          : Promise.reject(new Error('this weir was started from a config object, not a file: there is no file to read again')),
      ...backendControls(() => runtime),
      explain: async (request) => {
        const host = requestHost(request.url, request.headers);
        const tls = host === undefined ? [] : certificateLines(listeners.certificateFor(host));
        return [explainLive(runtime, request), ...tls].join('\n');
      },
      tls: () => listeners.tls(),
      metrics: async () => ({ contentType: metrics.contentType, text: await metrics.render() }),
      recentRefusals: () => recentRefusals.list(),
      routeStats: () => routeStats.snapshot(),
      get token() {
        return runtime.config.admin?.token;
      },
    };
  }

  return {
    prepare,
    ownMetrics: metrics,
    routeStats,
    recentRefusals,
    registry: live.registry,
    inflight: () => driver.gate.inFlight,
    clientConnections: () => listeners.connections(),
    get address() {
      urls();
      return lastAddress;
    },
    get url() {
      return urls()[0]!;
    },
    get urls() {
      return urls();
    },
    get adminAddress() {
      return admin?.address;
    },
    runtime: () => runtime,
    refusals: () => refusals.snapshot(),
    metrics: () => metrics.render(),
    reopenLogs: () => accessLog.reopen(),
    reload: reloadAndRecord,
    close() {
      closing ??= (async () => {
        lifecycle({}, 'weir stopping: draining in-flight requests');
        await reloading;
        await listeners.drain(drainTimeoutMs);
        await admin?.close();
        await stopHealthChecks(checkers);
        await transport.close();
        await live.stores.close();
        await accessLog.close();
        metrics.close();
        lifecycle({}, 'weir stopped');
      })();
      return closing;
    },
  };
}

/** The config, and its text as written, for the admin API's GET /api/config (environment variables not filled in). */
export async function loadConfig(config: WeirOptions['config']): Promise<LoadedConfig> {
  // Loaded on first use: a worker of a group gets its config already
  // validated from the primary and never needs the YAML parser or the
  // schema, which are some 30 MiB of its resident memory.
  const { loadConfigFile, loadConfigObject } = await import('./config/load.ts');
  if (typeof config !== 'string') return { config: loadConfigObject(config), text: JSON.stringify(config, null, 2) };
  const loaded = await loadConfigFile(config);
  const text = await readFile(config, 'utf8').catch(() => '');
  return { config: loaded, text };
}

/** insecure_skip_verify is allowed only when written, and said aloud every time a config with it is loaded. */
function warnInsecureBackends(config: WeirConfig, log: Logger): void {
  for (const service of config.services.values()) {
    if (service.tls?.insecureSkipVerify) {
      log.warn({ service: service.name }, `service "${service.name}": tls.insecure_skip_verify is on; its servers' certificates are not verified, so anyone between weir and them can read and change the traffic`);
    }
  }
}

function clientSettings(config: WeirConfig): ClientSettings {
  return {
    maxConnections: config.limits.clientConnections,
    pipelinedRequests: config.limits.pipelinedRequests,
    headerTimeoutMs: config.clientTimeouts.headerMs,
    keepAliveMs: config.clientTimeouts.keepAliveMs,
    http2MaxStreams: config.limits.http2Streams,
    http2MaxHeaderListBytes: config.limits.http2HeaderListBytes,
  };
}

function sameAddress(a: Address | undefined, b: Address | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.host === b.host && a.port === b.port);
}

function urlOf(address: Address, secure = false): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${secure ? 'https' : 'http'}://${host}:${address.port}`;
}

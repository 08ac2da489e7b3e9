// The primary of a worker group (`weir start --workers N`): it serves no
// requests. It loads and validates the config, owns every backend's state
// (active health checks run here; passive health decides here from what the
// workers report), serves the admin API and metrics of the whole group, and
// starts, replaces, reloads and stops the workers.
//
// How state flows:
//
//   config       the primary validates and compiles it, then sends it to every
//                worker: a reload is prepared in all of them (each compiles,
//                binds a new address, opens files) and committed only when all
//                have prepared; one that cannot is reported and the others cancel.
//   backends     the primary's Backend objects are the only owners of health,
//                ejections and drains. Every change is sent to every worker
//                (the whole list, coalesced per turn of the event loop), whose
//                backends mirror it. A worker's passive health sends each failed
//                request (and the first success after failures) to the primary.
//   rate limits  each worker decides at once from its own buckets, and every
//                25 ms tells the others (through the primary) how many tokens it
//                took per key; they take those from their own buckets. No
//                request waits for a message; the group overshoots a limit by
//                at most about 25 ms of the other workers' traffic, then pays it back.
//   metrics      on a scrape the primary asks every worker for its counters and
//                adds them up; a worker that exited keeps counting with its last
//                answer, so totals never go down. The admin API's load, traffic
//                and refusals come from a report each worker sends every second.
//
// Each worker binds the listen address itself with SO_REUSEPORT (Linux):
// the kernel spreads connections, and no connection passes through the
// primary. Elsewhere, Node's cluster module shares the primary's socket.

import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import os from 'node:os';
import { backendControls, type AdminContext, type WorkerInfo } from '../admin/context.ts';
import { startAdmin, type AdminServer } from '../admin/server.ts';
import { workerExecArgv } from '../heap-flags.ts';
import type { Address, WeirConfig } from '../config/types.ts';
import { createLogger } from '../log.ts';
import { Metrics, sumCounters, type CountersData, type GroupMetrics, type MetricsSnapshot } from '../observe/metrics.ts';
import { ReloadHistory } from '../observe/reload-history.ts';
import { RateLimitStores } from '../ratelimit/stores.ts';
import { commitRuntime, prepareHealthChecks, stopHealthChecks, type LiveState } from '../runtime/apply.ts';
import { compileRuntime, type Runtime } from '../runtime/compile.ts';
import { certificateLines, configCertificatesFor, configTlsViews, requestHost } from '../tls/tls-report.ts';
import { explainLive } from '../runtime/explain.ts';
import type { BackendStateSnapshot } from '../upstream/backend.ts';
import type { ActiveHealthChecker } from '../upstream/health/active-checker.ts';
import { BackendRegistry } from '../upstream/registry.ts';
import { VERSION } from '../version.ts';
import { loadConfig, type LoadedConfig } from '../weir.ts';
import { backendLoad, mergeRefusals, mergeRouteTraffic } from './merge.ts';
import { isMessage, type FromWorker, type ToWorker } from './messages.ts';
import { WORKER_MAIN } from './worker.ts';

export interface GroupOptions {
  /** The config file; reloads read it again. */
  file: string;
  /** Worker processes, 2 or more (1 is a weir on its own: startWeir()). */
  workers: number;
  /** Overrides the config's listen address, on start and on every reload. */
  listen?: Address;
  /** How long stopping waits for in-flight requests. Default 10 s. */
  drainTimeoutMs?: number;
  /** Each worker binds with SO_REUSEPORT (default on Linux), or they share the primary's socket (Node's cluster round robin). */
  reusePort?: boolean;
}

/** A running group: what `weir start` needs of it. */
export interface WeirGroup {
  readonly address: Address;
  readonly url: string;
  readonly adminAddress: Address | undefined;
  /** Reads the file again and applies it in every worker, or in none. */
  reload(): Promise<void>;
  /** SIGUSR1: every worker opens its access log file again. */
  reopenLogs(): void;
  /** Drains every worker, then stops. */
  close(): Promise<void>;
}

/** `workers: auto` is one per CPU this process may use. */
export function workerCount(workers: number | 'auto'): number {
  return workers === 'auto' ? os.availableParallelism() : workers;
}

/** A worker has this long to start (load the code, compile, bind). */
const START_TIMEOUT_MS = 30_000;
/** A worker has this long to prepare or commit a reload. */
const RELOAD_TIMEOUT_MS = 15_000;
/** A worker has this long to answer a metrics scrape; its last answer is used otherwise. */
const STATS_TIMEOUT_MS = 1_000;
/** A worker that lived less than this before exiting is replaced after a growing pause, up to the most. */
const STABLE_MS = 10_000;
const MAX_RESTART_PAUSE_MS = 10_000;

/** One worker process, and what the primary knows of it. */
class WorkerProcess {
  readonly slot: number;
  readonly worker: Worker;
  readonly startedAt = Date.now();
  readonly started = performance.now();
  ready = false;
  exited = false;
  readonly gone: Promise<void>;
  report: Extract<FromWorker, { type: 'report' }> | undefined;
  stats: MetricsSnapshot | undefined;
  readonly #listeners = new Set<(message: FromWorker | 'exit') => void>();

  constructor(slot: number, worker: Worker) {
    this.slot = slot;
    this.worker = worker;
    worker.on('message', (message: unknown) => {
      if (!isMessage<FromWorker>(message)) return;
      if (message.type === 'report') this.report = message.refusals === undefined ? { ...message, refusals: this.report?.refusals } : message;
      for (const listener of this.#listeners) listener(message);
    });
    this.gone = new Promise((resolve) =>
      worker.once('exit', () => {
        this.exited = true;
        for (const listener of this.#listeners) listener('exit');
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.worker.process.pid ?? 0;
  }

  on(listener: (message: FromWorker | 'exit') => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  send(message: ToWorker): void {
    if (this.exited || !this.worker.isConnected()) return;
    try {
      this.worker.send(message);
    } catch {
      // The channel closed under us: the exit handler deals with the worker.
    }
  }

  /** The first message `pick` takes (returns something for), within the time; rejects when the worker exits first or the time runs out. */
  expect<R>(pick: (message: FromWorker) => R | undefined, timeoutMs: number, what: string): Promise<R> {
    return new Promise((resolve, reject) => {
      if (this.exited) {
        reject(new WorkerGone(`worker ${this.slot} exited before ${what}`));
        return;
      }
      const timer = setTimeout(() => {
        off();
        reject(new Error(`worker ${this.slot} (pid ${this.pid}) did not ${what} within ${timeoutMs}ms`));
      }, timeoutMs);
      const off = this.on((message) => {
        if (message === 'exit') {
          clearTimeout(timer);
          off();
          reject(new WorkerGone(`worker ${this.slot} (pid ${this.pid}) exited before it could ${what}`));
          return;
        }
        const picked = pick(message);
        if (picked === undefined) return;
        clearTimeout(timer);
        off();
        resolve(picked);
      });
    });
  }
}

/** A worker exited while the primary waited for it: not a failure of what was asked, but the worker's (it is replaced). */
class WorkerGone extends Error {}

/**
 * Starts the primary and its workers. Resolves once every worker listens and
 * the admin API (if any) is up; rejects (ConfigError for a bad config) if any
 * of that fails, with every worker stopped.
 */
export async function startGroup(options: GroupOptions): Promise<WeirGroup> {
  const log = createLogger(undefined);
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const reusePort = options.reusePort ?? process.platform === 'linux';
  let broadcastQueued = false;
  const registry = new BackendRegistry({ onChange: () => queueBroadcast() });
  // The primary compiles configs (to validate them, and for its Backend objects) but serves nothing: no Redis client.
  const live: LiveState = { registry, stores: new RateLimitStores({ connectRedis: false }), log, drainTimeoutMs };
  const workers = new Map<number, WorkerProcess>();
  const restartPauses = new Map<number, number>();
  let restarts = 0;
  let retired: CountersData | undefined;
  let statsRequest = 0;
  let attempt = 0;
  let expiry: NodeJS.Timeout | undefined;

  let loaded!: LoadedConfig;
  let runtime!: Runtime;
  let checkers: ActiveHealthChecker[] = [];
  let admin: AdminServer | undefined;
  /** The listen address as configured (the command line's, or the file's), and the one workers bind (its port chosen when it is 0). */
  let configured!: Address;
  let target!: Address;
  let actual!: Address;
  let closing: Promise<void> | undefined;
  // Reloads and worker starts, one at a time: a worker starts with the config committed last, and every reload reaches every worker.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const result = queue.then(task);
    queue = result.catch(() => undefined);
    return result;
  };

  const metrics = new Metrics({
    backends: () => registry.backends(),
    inflight: () => 0,
    clientConnections: () => 0,
    refusals: () => ({}),
    // The workers hold the listeners; their certificates are the config's files.
    tls: () => (runtime ? configTlsViews(runtime.config) : []),
    group: groupMetrics,
  });
  const reloads = new ReloadHistory(metrics, log);
  const context = adminContext();

  cluster.setupPrimary({ exec: WORKER_MAIN, execArgv: workerExecArgv(), args: [], serialization: 'advanced' });

  try {
    loaded = await loadConfig(options.file);
    refuseWhatWorkersCannotShare(loaded.config);
    log.level = loaded.config.log.level;
    runtime = compileRuntime(loaded.config, registry, live.stores, log);
    checkers = await prepareHealthChecks(runtime, log);
    commitRuntime(runtime, live);
    configured = options.listen ?? loaded.config.listen;
    const reservation = await reserve(configured);
    target = reservation?.address ?? configured;
    try {
      const addresses = await Promise.all(Array.from({ length: options.workers }, (_, i) => startWorker(i + 1)));
      actual = addresses[0]!;
    } finally {
      await reservation?.release();
    }
    if (loaded.config.admin) admin = await startAdmin(loaded.config.admin.listen, context, log);
  } catch (error) {
    await stopWorkers(2_000);
    await stopHealthChecks(checkers);
    await admin?.close();
    metrics.close();
    await live.stores.close();
    throw error;
  }
  const { config } = runtime;
  log.info(
    { listen: urlOf(actual), ...(admin && { admin: urlOf(admin.address) }), routes: config.routes.length, services: config.services.size, source: config.source, workers: options.workers, pids: [...workers.values()].map((w) => w.pid) },
    `weir listening on ${urlOf(actual)} with ${options.workers} workers`,
  );

  // ---- Workers ----

  function snapshots(): BackendStateSnapshot[] {
    return [...registry.backends()].map((backend) => backend.snapshot());
  }

  /** The config as workers get it: the first listener at the address the group binds (its port chosen when it was 0). */
  function workerConfig(config: WeirConfig, listen: Address): WeirConfig {
    return { ...config, listen, listeners: config.listeners.map((listener, index) => (index === 0 ? { ...listener, address: listen } : listener)) };
  }

  /** Forks the worker of `slot`, sends it the config in force, and waits until it listens. */
  async function startWorker(slot: number): Promise<Address> {
    const worker = new WorkerProcess(slot, cluster.fork({ WEIR_WORKER_SLOT: String(slot) }));
    workers.set(slot, worker);
    worker.worker.on('message', (message: unknown) => {
      if (isMessage<FromWorker>(message)) onMessage(worker, message);
    });
    void worker.gone.then(() => exited(worker));
    worker.send({ type: 'start', slot, generation: reloads.generation, config: workerConfig(loaded.config, target), text: loaded.text, reusePort, drainTimeoutMs, backends: snapshots() });
    const answer = await worker.expect(
      (message) => (message.type === 'started' || message.type === 'start-failed' ? message : undefined),
      START_TIMEOUT_MS,
      'start',
    );
    if (answer.type === 'start-failed') throw new Error(`worker ${slot} could not start: ${answer.message}`);
    worker.ready = true;
    log.debug({ worker: slot, pid: worker.pid, listen: urlOf(answer.address) }, `worker ${slot} (pid ${worker.pid}) started`);
    return answer.address;
  }

  function exited(worker: WorkerProcess): void {
    const { slot } = worker;
    if (workers.get(slot) === worker) workers.delete(slot);
    // Its counters at the last scrape stay in the totals.
    if (worker.stats) retired = sumCounters(retired ? [retired, worker.stats.counters] : [worker.stats.counters]);
    if (closing || !worker.ready) return;
    const { exitCode, signalCode } = worker.worker.process;
    const lived = performance.now() - worker.started;
    const pause = lived >= STABLE_MS ? 0 : Math.min(MAX_RESTART_PAUSE_MS, Math.max(100, 2 * (restartPauses.get(slot) ?? 50)));
    restartPauses.set(slot, pause);
    log.warn(
      { worker: slot, pid: worker.pid, code: exitCode, signal: signalCode, restartInMs: pause },
      `worker ${slot} (pid ${worker.pid}) exited (${signalCode ? `signal ${signalCode}` : `code ${exitCode}`}); starting another in its place${pause > 0 ? ` in ${pause}ms` : ''}`,
    );
    replace(slot, pause);
  }

  function replace(slot: number, pauseMs: number): void {
    const timer = setTimeout(() => {
      void serially(async () => {
        if (closing || workers.has(slot)) return;
        restarts++;
        const started = await startWorker(slot);
        const worker = workers.get(slot)!;
        log.info({ worker: slot, pid: worker.pid, listen: urlOf(started) }, `worker ${slot} (pid ${worker.pid}) started in place of the one that exited`);
      }).catch((error: unknown) => {
        if (closing) return;
        const pause = Math.min(MAX_RESTART_PAUSE_MS, 2 * (restartPauses.get(slot) ?? 100));
        restartPauses.set(slot, pause);
        log.error({ worker: slot, err: error }, `worker ${slot} could not be started again (${error instanceof Error ? error.message : String(error)}); trying again in ${pause}ms`);
        workers.get(slot)?.worker.process.kill('SIGKILL');
        workers.delete(slot);
        replace(slot, pause);
      });
    }, pauseMs);
    timer.unref();
  }

  function onMessage(worker: WorkerProcess, message: FromWorker): void {
    switch (message.type) {
      case 'passive': {
        const service = runtime.services.get(message.service);
        const backend = registry.get(message.service, message.address);
        if (!service?.passiveHealth || !backend || !service.backends.includes(backend)) return;
        if (message.failed) service.passiveHealth.failed(backend, message.detail, performance.now());
        else service.passiveHealth.succeeded(backend);
        return;
      }
      case 'rate':
        for (const other of workers.values()) if (other !== worker) other.send({ type: 'rate', counts: message.counts });
        return;
      default:
        return;
    }
  }

  /** Every worker gets the backends' state after a change, once per turn of the event loop whatever the number of changes. */
  function queueBroadcast(): void {
    if (broadcastQueued) return;
    broadcastQueued = true;
    setImmediate(() => {
      broadcastQueued = false;
      const backends = snapshots();
      for (const worker of workers.values()) worker.send({ type: 'backends', backends });
      scheduleExpiry();
    });
  }

  /** The primary ends ejections when their time is up (the workers do too, by their own clock), so its view and history say so. */
  function scheduleExpiry(): void {
    clearTimeout(expiry);
    let next = Infinity;
    for (const backend of registry.backends()) if (backend.ejectedUntil > 0) next = Math.min(next, backend.ejectedUntil);
    if (next === Infinity) return;
    expiry = setTimeout(() => {
      const now = performance.now();
      for (const backend of registry.backends()) backend.expireEjection(now);
      scheduleExpiry();
    }, Math.max(0, next - performance.now()) + 1);
    expiry.unref();
  }

  /**
   * With SO_REUSEPORT each worker binds the port itself, so a port 0 is
   * chosen first: a socket of the primary's holds it (no one else can take
   * it) until the workers are bound. Nobody knows the port yet, so no
   * client connects to that socket meanwhile.
   */
  async function reserve(listen: Address): Promise<{ address: Address; release(): Promise<void> } | undefined> {
    if (!reusePort || listen.port !== 0) return undefined;
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: listen.host, port: 0, reusePort: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as net.AddressInfo;
    return { address: { host: listen.host, port }, release: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  async function stopWorkers(deadlineMs: number): Promise<void> {
    const all = [...workers.values()];
    for (const worker of all) worker.send({ type: 'stop' });
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref());
    await Promise.race([Promise.all(all.map((worker) => worker.gone)), deadline]);
    for (const worker of all) if (!worker.exited) worker.worker.process.kill('SIGKILL');
    await Promise.all(all.map((worker) => worker.gone));
  }

  // ---- Reloads: in every worker or in none ----

  async function reload(): Promise<void> {
    if (closing) throw new Error('weir is closed; there is nothing to reload');
    const next = await loadConfig(options.file);
    refuseWhatWorkersCannotShare(next.config);
    const nextRuntime = compileRuntime(next.config, registry, live.stores, log);
    const current = runtime.config;
    const nextConfigured = options.listen ?? next.config.listen;
    const rebind = !sameAddress(nextConfigured, configured);
    const adminMoves = !sameAddress(next.config.admin?.listen, current.admin?.listen);
    if (next.config.workers !== current.workers) {
      log.warn({ workers: next.config.workers ?? 1 }, 'workers: a changed number of workers takes effect when weir starts again');
    }
    const opened: Array<() => Promise<void>> = [];
    let nextAdmin: AdminServer | undefined;
    let nextCheckers: ActiveHealthChecker[] = [];
    let nextTarget = target;
    const generationTried = ++attempt;
    const participants = [...workers.values()].filter((worker) => worker.ready && !worker.exited);
    let addresses: Address[] | undefined;
    try {
      if (adminMoves && next.config.admin) {
        if (admin && current.admin?.listen.port === next.config.admin.listen.port) {
          await admin.close();
          admin = undefined;
        }
        nextAdmin = await startAdmin(next.config.admin.listen, context, log);
        const started = nextAdmin;
        opened.push(() => started.close());
      }
      nextCheckers = await prepareHealthChecks(nextRuntime, log);
      const reservation = rebind ? await reserve(nextConfigured) : undefined;
      nextTarget = rebind ? (reservation?.address ?? nextConfigured) : target;
      try {
        const answers = await Promise.allSettled(participants.map((worker) => prepareOn(worker, generationTried, workerConfig(next.config, nextTarget), next.text)));
        const failed = answers.flatMap((answer, i) =>
          answer.status === 'rejected' && !(answer.reason instanceof WorkerGone) ? [`worker ${participants[i]!.slot}: ${answer.reason instanceof Error ? answer.reason.message : String(answer.reason)}`] : [],
        );
        addresses = answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value] : []));
        if (failed.length > 0) throw new Error(`not every worker could apply the config, so none does: ${failed.join('; ')}`);
      } finally {
        await reservation?.release();
      }
      if (closing) throw new Error('weir closed during the reload');
    } catch (error) {
      for (const worker of participants) worker.send({ type: 'cancel', generation: generationTried });
      await Promise.all(opened.map((undo) => undo()));
      await stopHealthChecks(nextCheckers);
      throw error;
    }

    // Every worker has prepared: commit here, then in each of them.
    commitRuntime(nextRuntime, live);
    runtime = nextRuntime;
    loaded = next;
    configured = nextConfigured;
    target = nextTarget;
    if (addresses?.[0]) actual = addresses[0];
    log.level = next.config.log.level;
    const previousCheckers = checkers;
    checkers = nextCheckers;
    if (adminMoves) {
      await admin?.close();
      admin = nextAdmin;
    }
    await stopHealthChecks(previousCheckers);
    const backends = snapshots();
    for (const worker of participants) worker.send({ type: 'commit', generation: generationTried, backends });
    await Promise.all(
      participants.map((worker) =>
        worker.expect((message) => (message.type === 'committed' && message.generation === generationTried ? true : undefined), RELOAD_TIMEOUT_MS, 'commit the reload').catch((error: unknown) => {
          if (error instanceof WorkerGone) return;
          // It could not take the config every other worker has: one that starts in its place will.
          log.error({ worker: worker.slot, err: error }, `worker ${worker.slot} did not commit the reload; replacing it`);
          worker.worker.process.kill('SIGKILL');
        }),
      ),
    );
    log.info(
      { routes: next.config.routes.length, services: next.config.services.size, source: next.config.source, workers: participants.length, ...(rebind && { listen: urlOf(actual) }) },
      rebind ? `config reloaded in every worker; now listening on ${urlOf(actual)}` : 'config reloaded in every worker',
    );
  }

  async function prepareOn(worker: WorkerProcess, generationTried: number, config: WeirConfig, text: string): Promise<Address> {
    worker.send({ type: 'prepare', generation: generationTried, config, text });
    const answer = await worker.expect(
      (message) => ((message.type === 'prepared' || message.type === 'prepare-failed') && message.generation === generationTried ? message : undefined),
      RELOAD_TIMEOUT_MS,
      'prepare the reload',
    );
    if (answer.type === 'prepare-failed') throw new Error(answer.message);
    return answer.address;
  }

  /** Every reload, whatever asked for it (SIGHUP, the admin API, --watch), is counted, logged and kept as the last. */
  function reloadAndRecord(): Promise<void> {
    return serially(() => reloads.record(reload));
  }

  // ---- Metrics and the admin API of the whole group ----

  async function groupMetrics(): Promise<GroupMetrics> {
    const ready = [...workers.values()].filter((worker) => worker.ready && !worker.exited);
    await Promise.all(
      ready.map(async (worker) => {
        const request = ++statsRequest;
        worker.send({ type: 'stats', request });
        try {
          worker.stats = await worker.expect((message) => (message.type === 'stats' && message.request === request ? message.stats : undefined), STATS_TIMEOUT_MS, 'answer a metrics scrape');
        } catch (error) {
          // Its last answer stands in (its counters only ever grow).
          log.warn({ worker: worker.slot, err: error }, `metrics: ${error instanceof Error ? error.message : String(error)}`);
        }
      }),
    );
    const live = ready.flatMap((worker) => (worker.stats ? [worker.stats] : []));
    return { live, retired, workers: ready.length, restarts };
  }

  function reports(): Array<NonNullable<WorkerProcess['report']>> {
    return [...workers.values()].flatMap((worker) => (worker.report && !worker.exited ? [worker.report] : []));
  }

  function adminContext(): AdminContext {
    return {
      version: VERSION,
      startedAt: Date.now(),
      configSource: () => runtime.config.source,
      configText: () => loaded.text,
      generation: () => reloads.generation,
      lastReload: () => reloads.last,
      runtime: () => runtime,
      reload: reloadAndRecord,
      ...backendControls(() => runtime),
      explain: async (request) => {
        const host = requestHost(request.url, request.headers);
        const tls = host === undefined ? [] : certificateLines(configCertificatesFor(runtime.config, host));
        return [explainLive(runtime, request), ...tls].join('\n');
      },
      tls: () => configTlsViews(runtime.config),
      metrics: async () => ({ contentType: metrics.contentType, text: await metrics.render() }),
      recentRefusals: () => mergeRefusals(reports().map((report) => report.refusals ?? [])),
      routeStats: () => mergeRouteTraffic(reports().map((report) => report.routes)),
      get token() {
        return runtime.config.admin?.token;
      },
      group: {
        workers: (): WorkerInfo[] =>
          [...workers.values()].filter((worker) => worker.ready && !worker.exited).map((worker) => ({ slot: worker.slot, pid: worker.pid, startedAt: worker.startedAt })).sort((a, b) => a.slot - b.slot),
        restarts: () => restarts,
        load: (backend) => backendLoad(reports().map((report) => report.load), backend.service, backend.label),
      },
    };
  }

  return {
    get address() {
      return actual;
    },
    get url() {
      return urlOf(actual);
    },
    get adminAddress() {
      return admin?.address;
    },
    reload: reloadAndRecord,
    reopenLogs() {
      for (const worker of workers.values()) worker.send({ type: 'reopen-logs' });
    },
    close() {
      closing ??= (async () => {
        log.info({}, 'weir stopping: draining in-flight requests in every worker');
        await queue;
        // A worker drains for drainTimeoutMs at most; past that and a margin, it is ended.
        await stopWorkers(drainTimeoutMs + 5_000);
        await admin?.close();
        await stopHealthChecks(checkers);
        clearTimeout(expiry);
        metrics.close();
        await live.stores.close();
        log.info({}, 'weir stopped');
      })();
      return closing;
    },
  };
}

function sameAddress(a: Address | undefined, b: Address | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.host === b.host && a.port === b.port);
}

function urlOf(address: Address): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `http://${host}:${address.port}`;
}

/**
 * What a group cannot do yet: bind a second listener on port 0 (each worker
 * would get a port of its own), or run ACME (one account and one order for
 * all workers, with the challenge answered by whichever worker the CA reaches).
 */
function refuseWhatWorkersCannotShare(config: WeirConfig): void {
  const freePort = config.listeners.findIndex((listener, index) => index > 0 && listener.address.port === 0);
  if (freePort !== -1) throw new Error(`listeners[${freePort}]: port 0 needs a single process; with workers, give every listener but the first a port`);
  const acme = config.listeners.findIndex((listener) => listener.tls?.acme !== undefined);
  if (acme !== -1) throw new Error(`listeners[${acme}].tls.acme: ACME certificates need a single process for now; run weir without --workers, or use certificate files`);
}

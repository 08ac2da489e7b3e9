// A worker of a group (`weir start --workers N`): a weir that serves the
// listen address on a socket of its own, with the config the primary sends
// and the backends' state the primary owns. It runs no active health checks
// and no admin API (the primary does); its passive health reports to the
// primary, its rate limits share their counts with the other workers
// through the primary, and it answers the primary's questions about its
// metrics. The primary starts it with cluster.fork(); this module is then
// the process's entry point.

import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../log.ts';
import { RateLimitStores } from '../ratelimit/stores.ts';
import type { Backend, BackendStateSnapshot, RemoteStateOwner } from '../upstream/backend.ts';
import { BackendRegistry } from '../upstream/registry.ts';
import { startInstance, type PreparedReload, type WeirInstance } from '../weir.ts';
import { isMessage, type BackendLoad, type FromWorker, type ToWorker } from './messages.ts';

/** This file, as the workers' entry point (a .ts in the sources, a .js once built). */
export const WORKER_MAIN = fileURLToPath(import.meta.url);

/** How often a worker tells the others (through the primary) the tokens it took: the most a group's limit can overshoot is about this long of the others' traffic. */
export const RATE_SYNC_MS = 25;
/** How often a worker reports its load, route traffic and refusals for the admin API. */
export const REPORT_MS = 1_000;

function send(message: FromWorker): void {
  if (process.connected) process.send?.(message);
}

/** Runs this process as a worker until the primary stops it, a signal does, or the primary is gone. */
export function runWorker(): void {
  const slot = Number(process.env.WEIR_WORKER_SLOT ?? cluster.worker?.id ?? 0);
  const log: Logger = createLogger(undefined).child({ worker: slot });
  // The backends' state as the primary last sent it: applied to the backends now and after every commit.
  let backends: BackendStateSnapshot[] = [];
  const owner: RemoteStateOwner = {
    passiveFailure: (backend: Backend, detail: string) => send({ type: 'passive', service: backend.service, address: backend.address, failed: true, detail }),
    passiveSuccess: (backend: Backend) => send({ type: 'passive', service: backend.service, address: backend.address, failed: false, detail: '' }),
  };
  const registry = new BackendRegistry({ owner });
  const stores = new RateLimitStores({ countTakes: true });
  const mirror = (): void => {
    const now = performance.now();
    for (const state of backends) registry.get(state.service, { host: state.host, port: state.port })?.mirror(state, now);
  };

  let instance: WeirInstance | undefined;
  let prepared: { generation: number; reload: PreparedReload; level: string } | undefined;
  let timers: NodeJS.Timeout[] = [];
  let stopping: Promise<void> | undefined;
  let lastRefusal: unknown;

  const stop = (code: number): Promise<void> => {
    stopping ??= (async () => {
      for (const timer of timers) clearInterval(timer);
      await prepared?.reload.cancel();
      await instance?.close();
      await stores.close();
      process.exitCode = code;
      // The channel keeps the process alive: letting go of it lets the process end.
      if (process.connected) process.disconnect();
    })();
    return stopping;
  };

  function report(): void {
    if (!instance) return;
    const load: BackendLoad[] = [];
    for (const backend of instance.registry.backends()) {
      load.push({ service: backend.service, backend: backend.label, inflight: backend.inflight, latencyMs: backend.latency.value });
    }
    const refusals = instance.recentRefusals.list();
    const newest = refusals.at(-1);
    const changed = newest !== lastRefusal;
    lastRefusal = newest;
    send({ type: 'report', load, routes: instance.routeStats.snapshot(), refusals: changed ? refusals : undefined });
  }

  async function handle(message: ToWorker): Promise<void> {
    switch (message.type) {
      case 'start': {
        log.level = message.config.log.level;
        backends = message.backends;
        try {
          instance = await startInstance(
            { config: message.config.source, loaded: { config: message.config, text: message.text }, logger: log, drainTimeoutMs: message.drainTimeoutMs },
            { registry, stores, activeHealthChecks: false, admin: false, reusePort: message.reusePort, committed: mirror, lifecycleLevel: 'debug' },
          );
        } catch (error) {
          send({ type: 'start-failed', message: error instanceof Error ? error.message : String(error) });
          await stop(1);
          return;
        }
        log.debug({ listen: instance.url, pid: process.pid }, `worker ${slot} (pid ${process.pid}) serving ${instance.url}`);
        send({ type: 'started', address: instance.address });
        timers = [
          setInterval(() => {
            const counts = stores.takeCounts();
            if (counts.length > 0) send({ type: 'rate', counts });
          }, RATE_SYNC_MS),
          setInterval(report, REPORT_MS),
        ];
        for (const timer of timers) timer.unref();
        return;
      }
      case 'prepare': {
        if (!instance) return;
        try {
          const reload = await instance.prepare({ config: message.config, text: message.text });
          prepared = { generation: message.generation, reload, level: message.config.log.level };
          send({ type: 'prepared', generation: message.generation, address: reload.address });
        } catch (error) {
          send({ type: 'prepare-failed', generation: message.generation, message: error instanceof Error ? error.message : String(error) });
        }
        return;
      }
      case 'commit': {
        if (prepared?.generation !== message.generation) return;
        const { reload, level } = prepared;
        prepared = undefined;
        backends = message.backends;
        log.level = level;
        await reload.commit();
        send({ type: 'committed', generation: message.generation });
        return;
      }
      case 'cancel': {
        if (prepared?.generation !== message.generation) return;
        const { reload } = prepared;
        prepared = undefined;
        await reload.cancel();
        return;
      }
      case 'backends':
        backends = message.backends;
        mirror();
        return;
      case 'rate':
        stores.debit(message.counts, performance.now());
        return;
      case 'stats':
        if (instance) send({ type: 'stats', request: message.request, stats: await instance.ownMetrics.snapshot() });
        return;
      case 'reopen-logs':
        instance?.reopenLogs();
        return;
      case 'stop':
        await stop(0);
        return;
    }
  }

  // One message at a time, in order: a commit never overtakes its prepare.
  let queue = Promise.resolve();
  process.on('message', (message: unknown) => {
    if (!isMessage<ToWorker>(message)) return;
    queue = queue.then(() => handle(message)).catch((error: unknown) => log.error({ err: error }, `worker ${slot}: ${error instanceof Error ? error.message : String(error)}`));
  });
  // The primary is gone (killed): no one owns the backends' state any more, and no one would replace this worker.
  process.on('disconnect', () => void stop(stopping ? 0 : 1));
  // A signal to the whole process group (Ctrl-C, systemd's control-group stop) drains this worker too.
  const onStop = (): void => void stop(0);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  // Reloads and log reopening come from the primary. SIGHUP must not end a
  // worker (a closed terminal sends it to the group), nor SIGUSR1 start its debugger.
  process.on('SIGHUP', () => undefined);
  process.on('SIGUSR1', () => undefined);
}

if (import.meta.main && cluster.isWorker) runWorker();

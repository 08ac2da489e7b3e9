// Prometheus metrics, in the text exposition format (version 0.0.4).
//
// Kept by hand rather than with prom-client: recording one request is a few
// map lookups and additions here, 0.07 µs for its four series, where
// prom-client 15 took 0.72 µs for one labelled counter and one histogram and
// 1.07 µs for the same four series (1e6 requests, best of 3, Node 24); and it
// adds no dependency. What exists anyway is read
// when Prometheus scrapes instead of being copied on every change: backend
// states and ejections from the live backends, refusals from their counter,
// requests in flight and client connections from the listener.
//
// Label values come from the config (route, service and backend names, rate
// limit ids, refusal rules) and from the status, so the number of series is
// bounded by the config, never by the traffic.

import { readdir, readFile } from 'node:fs/promises';
import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import type { RequestObserver, RequestRecord } from '../runtime/exchange.ts';
import type { Backend, BackendState } from '../upstream/backend.ts';
import type { TlsListenerView } from '../tls/tls-report.ts';
import { reportedStatus } from './status.ts';

/** What the metrics read when they are scraped: the live state they do not copy. */
export interface MetricSources {
  /** Every live backend (BackendRegistry.backends()). */
  backends(): Iterable<Backend>;
  /** Requests in flight to backends (the driver's UpstreamGate.inFlight). */
  inflight(): number;
  /** Client connections open now. */
  clientConnections(): number;
  /** How often each rule refused a request (RefusalCounter.snapshot()). */
  refusals(): Record<string, number>;
  /** The TLS listeners: certificates and ACME state. Absent: none. */
  tls?(): TlsListenerView[];
  /**
   * In a worker group's primary: the workers' figures, counted in with this
   * process's own (which serves no requests there). Absent: this process alone.
   */
  group?(): Promise<GroupMetrics>;
}

/** A histogram as plain data: per-bucket counts (not cumulative, +Inf last), sum and count. */
export interface HistogramData {
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/** One process's counters as plain data: what a worker of a group sends its primary, and what is rendered. */
export interface CountersData {
  readonly routes: ReadonlyArray<{
    readonly route: string;
    readonly duration: HistogramData;
    readonly bytes: number;
    readonly byService: ReadonlyArray<{ readonly service: string; readonly codes: ReadonlyArray<readonly [code: number, count: number]> }>;
  }>;
  readonly upstream: ReadonlyArray<{ readonly service: string; readonly backend: string; readonly histogram: HistogramData }>;
  readonly retries: ReadonlyArray<readonly [service: string, count: number]>;
  readonly budgetExhausted: ReadonlyArray<readonly [service: string, count: number]>;
  readonly rateLimits: ReadonlyArray<readonly [limit: string, allowed: number, denied: number]>;
  readonly refusals: ReadonlyArray<readonly [reason: string, count: number]>;
  /** CPU seconds, user and system: a counter too. */
  readonly cpuUserSeconds: number;
  readonly cpuSystemSeconds: number;
}

/** One process's gauges of itself, as plain data. */
export interface ProcessData {
  readonly residentBytes: number;
  readonly heapTotalBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
  readonly openFds: number | undefined;
  readonly maxFds: number | undefined;
  /** Seconds. */
  readonly lag: number;
  readonly loop: { readonly mean: number; readonly max: number; readonly p50: number; readonly p99: number };
}

/** Everything one process of a group measures, as plain data (a worker's answer to its primary). */
export interface MetricsSnapshot {
  readonly counters: CountersData;
  readonly inflight: number;
  readonly clientConnections: number;
  /** Requests in flight per backend: [service, backend label, count]. */
  readonly backendInflight: ReadonlyArray<readonly [service: string, backend: string, count: number]>;
  readonly process: ProcessData;
}

/** What a group's primary counts in (MetricSources.group). */
export interface GroupMetrics {
  /** The running workers' snapshots. */
  readonly live: readonly MetricsSnapshot[];
  /** The counters of workers that have exited, summed, so that no total goes down when one dies. */
  readonly retired: CountersData | undefined;
  /** Workers running now, and how many were started to replace one that exited. */
  readonly workers: number;
  readonly restarts: number;
}

export interface MetricsOptions {
  /** The generation of the config in force at start. Default 1. */
  generation?: number;
  /** Date.now(), for tests. */
  now?: () => number;
}

/** Upper bounds, in seconds, of the request and upstream duration buckets. */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** How often the event loop delay monitor's timer fires, in ms. */
const EVENT_LOOP_RESOLUTION_MS = 10;

const BACKEND_STATES: readonly BackendState[] = ['unchecked', 'up', 'down', 'ejected', 'draining'];

/** A counter cell, mutated in place so that counting is one lookup. */
interface Cell {
  value: number;
}

class Histogram {
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** What is kept per route: its duration histogram, its bytes, and its requests by service and status. */
interface RouteSeries {
  readonly duration: Histogram;
  readonly bytes: Cell;
  readonly byService: Map<string, Map<number, Cell>>;
}

export class Metrics implements RequestObserver {
  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';

  readonly #sources: MetricSources;
  readonly #now: () => number;
  readonly #routes = new Map<string, RouteSeries>();
  /** service → backend → time at the backend. */
  readonly #upstream = new Map<string, Map<string, Histogram>>();
  readonly #retries = new Map<string, Cell>();
  readonly #budgetExhausted = new Map<string, Cell>();
  readonly #rateLimits = new Map<string, { allowed: number; denied: number }>();
  readonly #reloads = { success: 0, failure: 0 };
  #lastReloadSuccessful = true;
  #lastReloadAt: number;
  #generation: number;
  readonly #startedAt: number;
  readonly #eventLoop: ELDHistogram;

  constructor(sources: MetricSources, options: MetricsOptions = {}) {
    this.#sources = sources;
    this.#now = options.now ?? Date.now;
    this.#generation = options.generation ?? 1;
    this.#lastReloadAt = this.#now();
    this.#startedAt = performance.timeOrigin;
    this.#eventLoop = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    this.#eventLoop.enable();
  }

  // ---- Recording: on the hot path, a few lookups each ----

  /** The log phase: one finished request (a tunnel once it closed). */
  requestFinished(record: RequestRecord, status: number, bytesSent: number, durationMs: number): void {
    const route = record.route ?? '';
    const service = record.service ?? '';
    const code = reportedStatus(status);
    let series = this.#routes.get(route);
    if (series === undefined) {
      series = { duration: new Histogram(DURATION_BUCKETS), bytes: { value: 0 }, byService: new Map() };
      this.#routes.set(route, series);
    }
    let codes = series.byService.get(service);
    if (codes === undefined) {
      codes = new Map();
      series.byService.set(service, codes);
    }
    const cell = codes.get(code);
    if (cell === undefined) codes.set(code, { value: 1 });
    else cell.value++;
    series.bytes.value += bytesSent;

    // A tunnel's duration is how long it stayed open, not a latency.
    if (code === 101) return;
    series.duration.observe(durationMs / 1000);
    const backend = record.backend;
    if (backend === undefined) return;
    let backends = this.#upstream.get(service);
    if (backends === undefined) {
      backends = new Map();
      this.#upstream.set(service, backends);
    }
    let upstream = backends.get(backend);
    if (upstream === undefined) {
      upstream = new Histogram(DURATION_BUCKETS);
      backends.set(backend, upstream);
    }
    upstream.observe(upstreamMsOf(record, durationMs) / 1000);
  }

  /** A failed attempt was retried on another backend of `service`. */
  retried(service: string): void {
    increment(this.#retries, service);
  }

  /** A retry was wanted but `service`'s retry budget was spent. */
  retryBudgetExhausted(service: string): void {
    increment(this.#budgetExhausted, service);
  }

  /** A rate limit (its id, like "routes[0].rate_limit") let a request through or refused it. */
  rateLimitDecision(limitId: string, allowed: boolean): void {
    let counts = this.#rateLimits.get(limitId);
    if (counts === undefined) {
      counts = { allowed: 0, denied: 0 };
      this.#rateLimits.set(limitId, counts);
    }
    if (allowed) counts.allowed++;
    else counts.denied++;
  }

  /** A reload was tried; on success `generation` is the config now in force. */
  reloaded(success: boolean, generation: number): void {
    this.#lastReloadSuccessful = success;
    if (!success) {
      this.#reloads.failure++;
      return;
    }
    this.#reloads.success++;
    this.#lastReloadAt = this.#now();
    this.#generation = generation;
  }

  /** Stops the event loop delay monitor. */
  close(): void {
    this.#eventLoop.disable();
  }

  // ---- For a worker group ----

  /** This process's counters as plain data (refusals and CPU time included). */
  counters(): CountersData {
    const cpu = process.cpuUsage();
    return {
      routes: [...this.#routes].map(([route, series]) => ({
        route,
        duration: histogramData(series.duration),
        bytes: series.bytes.value,
        byService: [...series.byService].map(([service, codes]) => ({ service, codes: [...codes].map(([code, cell]) => [code, cell.value] as const) })),
      })),
      upstream: [...this.#upstream].flatMap(([service, backends]) => [...backends].map(([backend, histogram]) => ({ service, backend, histogram: histogramData(histogram) }))),
      retries: [...this.#retries].map(([service, cell]) => [service, cell.value] as const),
      budgetExhausted: [...this.#budgetExhausted].map(([service, cell]) => [service, cell.value] as const),
      rateLimits: [...this.#rateLimits].map(([limit, counts]) => [limit, counts.allowed, counts.denied] as const),
      refusals: Object.entries(this.#sources.refusals()),
      cpuUserSeconds: cpu.user / 1e6,
      cpuSystemSeconds: cpu.system / 1e6,
    };
  }

  /** Everything this process measures, as plain data: what a worker sends its group's primary. */
  async snapshot(): Promise<MetricsSnapshot> {
    const backendInflight: Array<readonly [string, string, number]> = [];
    for (const backend of this.#sources.backends()) backendInflight.push([backend.service, backend.label, backend.inflight]);
    return {
      counters: this.counters(),
      inflight: this.#sources.inflight(),
      clientConnections: this.#sources.clientConnections(),
      backendInflight,
      process: await this.#processData(),
    };
  }

  // ---- Scraping ----

  /** Every metric in the text exposition format: this process's, or a group's when the sources have one. */
  async render(): Promise<string> {
    const out = new Exposition();
    const group = await this.#sources.group?.();
    const own = await this.#snapshotOfSelf();
    const all = group ? [own, ...group.live] : [own];
    const counters = group ? sumCounters([...all.map((one) => one.counters), ...(group.retired ? [group.retired] : [])]) : own.counters;
    this.#renderRequests(out, counters, all);
    this.#renderBackends(out, all);
    this.#renderLimits(out, counters);
    this.#renderConfig(out);
    this.#renderTls(out);
    if (group) this.#renderGroup(out, group);
    this.#renderProcess(out, counters, all);
    return out.text();
  }

  /** Like snapshot(), for render(): the backends' in-flight counts are read from the live backends there. */
  async #snapshotOfSelf(): Promise<MetricsSnapshot> {
    return { counters: this.counters(), inflight: this.#sources.inflight(), clientConnections: this.#sources.clientConnections(), backendInflight: [], process: await this.#processData() };
  }

  #renderRequests(out: Exposition, counters: CountersData, all: readonly MetricsSnapshot[]): void {
    out.family('weir_requests_total', 'counter', 'Requests finished, by route, service and status (499: the client closed the connection before any answer).');
    for (const { route, byService } of counters.routes) {
      for (const { service, codes } of byService) {
        for (const [code, count] of codes) out.sample('weir_requests_total', `route="${escape(route)}",service="${escape(service)}",code="${code}"`, count);
      }
    }
    out.family('weir_request_duration_seconds', 'histogram', 'Time from a request\'s arrival to the end of its answer, by route (tunnels not included).');
    for (const { route, duration } of counters.routes) out.histogram('weir_request_duration_seconds', `route="${escape(route)}"`, duration);
    out.family('weir_upstream_duration_seconds', 'histogram', 'Time of a request at the backend that answered it, by service and backend (tunnels not included).');
    for (const { service, backend, histogram } of counters.upstream) out.histogram('weir_upstream_duration_seconds', `service="${escape(service)}",backend="${escape(backend)}"`, histogram);
    out.family('weir_response_body_bytes_total', 'counter', 'Body bytes sent to clients (tunnels: bytes from the backend), by route.');
    for (const { route, bytes } of counters.routes) out.sample('weir_response_body_bytes_total', `route="${escape(route)}"`, bytes);
    out.family('weir_inflight_requests', 'gauge', 'Requests in flight to backends now.');
    out.sample('weir_inflight_requests', '', sum(all, (one) => one.inflight));
    out.family('weir_client_connections', 'gauge', 'Client connections open now.');
    out.sample('weir_client_connections', '', sum(all, (one) => one.clientConnections));
  }

  #renderBackends(out: Exposition, all: readonly MetricsSnapshot[]): void {
    // Requests in flight per backend: this process's backends, and the workers' when it is a group's primary.
    const elsewhere = new Map<string, number>();
    for (const one of all) {
      for (const [service, backend, count] of one.backendInflight) {
        const labels = `service="${escape(service)}",backend="${escape(backend)}"`;
        elsewhere.set(labels, (elsewhere.get(labels) ?? 0) + count);
      }
    }
    const backends = new Map<string, Backend>();
    for (const backend of this.#sources.backends()) {
      const labels = `service="${escape(backend.service)}",backend="${escape(backend.label)}"`;
      if (!backends.has(labels)) backends.set(labels, backend);
    }
    const now = performance.now();
    const states = new Map([...backends].map(([labels, backend]) => [labels, backend.stateAt(now)]));
    out.family('weir_backend_up', 'gauge', 'Whether the backend takes new requests: 1 when unchecked or up, 0 when down, ejected or draining.');
    for (const [labels, state] of states) out.sample('weir_backend_up', labels, state === 'up' || state === 'unchecked' ? 1 : 0);
    out.family('weir_backend_state', 'gauge', 'The backend\'s state: 1 for the one it is in, 0 for the others.');
    for (const [labels, state] of states) {
      for (const candidate of BACKEND_STATES) out.sample('weir_backend_state', `${labels},state="${candidate}"`, candidate === state ? 1 : 0);
    }
    out.family('weir_backend_inflight_requests', 'gauge', 'Requests sent to the backend whose response has not finished.');
    for (const [labels, backend] of backends) out.sample('weir_backend_inflight_requests', labels, backend.inflight + (elsewhere.get(labels) ?? 0));
    out.family('weir_ejections_total', 'counter', 'Times passive health ejected the backend.');
    for (const [labels, backend] of backends) out.sample('weir_ejections_total', labels, backend.ejections);
  }

  #renderLimits(out: Exposition, counters: CountersData): void {
    out.family('weir_retries_total', 'counter', 'Failed attempts retried on another backend, by service.');
    for (const [service, count] of counters.retries) out.sample('weir_retries_total', `service="${escape(service)}"`, count);
    out.family('weir_retry_budget_exhausted_total', 'counter', 'Retries not made because the service\'s retry budget was spent.');
    for (const [service, count] of counters.budgetExhausted) out.sample('weir_retry_budget_exhausted_total', `service="${escape(service)}"`, count);
    out.family('weir_rate_limit_decisions_total', 'counter', 'Rate limit decisions, by limit (where it is written) and decision.');
    for (const [limit, allowed, denied] of counters.rateLimits) {
      out.sample('weir_rate_limit_decisions_total', `limit="${escape(limit)}",decision="allowed"`, allowed);
      out.sample('weir_rate_limit_decisions_total', `limit="${escape(limit)}",decision="denied"`, denied);
    }
    out.family('weir_refusals_total', 'counter', 'Requests refused by a firewall rule or rate limit, by the rule as the log names it.');
    for (const [reason, count] of counters.refusals) out.sample('weir_refusals_total', `reason="${escape(reason)}"`, count);
  }

  #renderTls(out: Exposition): void {
    const listeners = this.#sources.tls?.() ?? [];
    if (listeners.length === 0) return;
    out.family('weir_tls_certificate_expiry_timestamp_seconds', 'gauge', 'When each certificate in service expires, in seconds since the epoch, by listener, its first name and where it came from (file or acme).');
    for (const { address, certificates } of listeners) {
      for (const certificate of certificates) {
        const labels = `listener="${escape(address)}",name="${escape(certificate.names[0] ?? '')}",source="${certificate.source}"`;
        out.sample('weir_tls_certificate_expiry_timestamp_seconds', labels, Math.floor(Date.parse(certificate.notAfter) / 1000));
      }
    }
    const acme = listeners.filter((listener) => listener.acme !== undefined);
    if (acme.length === 0) return;
    out.family('weir_acme_failures_total', 'counter', 'ACME attempts (obtaining or renewing a certificate) that failed, by listener.');
    for (const { address, acme: status } of acme) out.sample('weir_acme_failures_total', `listener="${escape(address)}"`, status!.renewalsFailed);
    out.family('weir_acme_failing', 'gauge', 'Whether the last ACME attempt of the listener failed (1) and a retry is pending.');
    for (const { address, acme: status } of acme) out.sample('weir_acme_failing', `listener="${escape(address)}"`, status!.state === 'failing' ? 1 : 0);
  }

  #renderGroup(out: Exposition, group: GroupMetrics): void {
    out.family('weir_workers', 'gauge', 'Worker processes running (weir start --workers).');
    out.sample('weir_workers', '', group.workers);
    out.family('weir_worker_restarts_total', 'counter', 'Worker processes started to replace one that exited.');
    out.sample('weir_worker_restarts_total', '', group.restarts);
  }

  #renderConfig(out: Exposition): void {
    out.family('weir_config_reloads_total', 'counter', 'Config reloads tried, by result.');
    out.sample('weir_config_reloads_total', 'result="success"', this.#reloads.success);
    out.sample('weir_config_reloads_total', 'result="failure"', this.#reloads.failure);
    out.family('weir_config_last_reload_successful', 'gauge', 'Whether the last reload tried succeeded (1 before any).');
    out.sample('weir_config_last_reload_successful', '', this.#lastReloadSuccessful ? 1 : 0);
    out.family('weir_config_last_reload_timestamp_seconds', 'gauge', 'When the config in force was loaded (at start or by the last successful reload), in seconds since the epoch.');
    out.sample('weir_config_last_reload_timestamp_seconds', '', this.#lastReloadAt / 1000);
    out.family('weir_config_generation', 'gauge', 'The generation of the config in force: 1 at start, one more per successful reload.');
    out.sample('weir_config_generation', '', this.#generation);
  }

  /** This process's own gauges (the event loop delay since the previous call). */
  async #processData(): Promise<ProcessData> {
    const lag = await eventLoopLag();
    const memory = process.memoryUsage();
    const fds = await openFds();
    const delay = this.#eventLoop;
    // The monitor's figures since the previous scrape. It times the whole
    // interval of its timer, so the timer's own resolution is taken off.
    const seconds = (ns: number): number => (delay.count === 0 || !Number.isFinite(ns) ? 0 : Math.max(0, ns - EVENT_LOOP_RESOLUTION_MS * 1e6) / 1e9);
    const loop = { mean: seconds(delay.mean), max: seconds(delay.max), p50: seconds(delay.percentile(50)), p99: seconds(delay.percentile(99)) };
    delay.reset();
    return {
      residentBytes: memory.rss,
      heapTotalBytes: memory.heapTotal,
      heapUsedBytes: memory.heapUsed,
      externalBytes: memory.external,
      openFds: fds?.open,
      maxFds: fds?.max,
      lag,
      loop,
    };
  }

  /** CPU time and memory: this process's, or a group's summed (event loop figures: the worst process's). */
  #renderProcess(out: Exposition, counters: CountersData, all: readonly MetricsSnapshot[]): void {
    const own = all[0]!.process;
    const processes = all.map((one) => one.process);
    out.family('process_cpu_user_seconds_total', 'counter', 'User CPU time spent, in seconds.');
    out.sample('process_cpu_user_seconds_total', '', counters.cpuUserSeconds);
    out.family('process_cpu_system_seconds_total', 'counter', 'System CPU time spent, in seconds.');
    out.sample('process_cpu_system_seconds_total', '', counters.cpuSystemSeconds);
    out.family('process_cpu_seconds_total', 'counter', 'User and system CPU time spent, in seconds.');
    out.sample('process_cpu_seconds_total', '', counters.cpuUserSeconds + counters.cpuSystemSeconds);
    out.family('process_start_time_seconds', 'gauge', 'When the process started, in seconds since the epoch.');
    out.sample('process_start_time_seconds', '', Math.round(this.#startedAt) / 1000);
    out.family('process_resident_memory_bytes', 'gauge', 'Resident memory size, in bytes.');
    out.sample('process_resident_memory_bytes', '', sum(processes, (one) => one.residentBytes));
    if (own.openFds !== undefined) {
      out.family('process_open_fds', 'gauge', 'Open file descriptors.');
      out.sample('process_open_fds', '', sum(processes, (one) => one.openFds ?? 0));
      if (own.maxFds !== undefined) {
        out.family('process_max_fds', 'gauge', 'The most file descriptors the process may open.');
        out.sample('process_max_fds', '', own.maxFds);
      }
    }
    out.family('nodejs_heap_size_total_bytes', 'gauge', 'V8 heap size, in bytes.');
    out.sample('nodejs_heap_size_total_bytes', '', sum(processes, (one) => one.heapTotalBytes));
    out.family('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap used, in bytes.');
    out.sample('nodejs_heap_size_used_bytes', '', sum(processes, (one) => one.heapUsedBytes));
    out.family('nodejs_external_memory_bytes', 'gauge', 'Memory of C++ objects bound to JavaScript objects (buffers among them), in bytes.');
    out.sample('nodejs_external_memory_bytes', '', sum(processes, (one) => one.externalBytes));
    out.family('nodejs_eventloop_lag_seconds', 'gauge', 'How late a callback queued at scrape time ran, in seconds.');
    out.sample('nodejs_eventloop_lag_seconds', '', most(processes, (one) => one.lag));
    for (const [name, help, key] of [
      ['nodejs_eventloop_lag_mean_seconds', 'Mean event loop delay since the last scrape, in seconds.', 'mean'],
      ['nodejs_eventloop_lag_max_seconds', 'Longest event loop delay since the last scrape, in seconds.', 'max'],
      ['nodejs_eventloop_lag_p50_seconds', 'Median event loop delay since the last scrape, in seconds.', 'p50'],
      ['nodejs_eventloop_lag_p99_seconds', '99th percentile of the event loop delay since the last scrape, in seconds.', 'p99'],
    ] as const) {
      out.family(name, 'gauge', help);
      out.sample(name, '', most(processes, (one) => one.loop[key]));
    }
    out.family('nodejs_version_info', 'gauge', 'The Node.js version weir runs on.');
    const [major, minor, patch] = process.versions.node.split('.');
    out.sample('nodejs_version_info', `version="${process.version}",major="${major}",minor="${minor}",patch="${patch}"`, 1);
  }
}

function histogramData(histogram: Histogram): HistogramData {
  return { counts: [...histogram.counts], sum: histogram.sum, count: histogram.count };
}

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += value(item);
  return total;
}

function most<T>(items: readonly T[], value: (item: T) => number): number {
  let highest = 0;
  for (const item of items) highest = Math.max(highest, value(item));
  return highest;
}

/** Several processes' counters as one: the same series added up. */
export function sumCounters(all: readonly CountersData[]): CountersData {
  const routes = new Map<string, { counts: number[]; sum: number; count: number; bytes: number; byService: Map<string, Map<number, number>> }>();
  const upstream = new Map<string, { service: string; backend: string; counts: number[]; sum: number; count: number }>();
  const retries = new Map<string, number>();
  const budgetExhausted = new Map<string, number>();
  const rateLimits = new Map<string, [number, number]>();
  const refusals = new Map<string, number>();
  let cpuUserSeconds = 0;
  let cpuSystemSeconds = 0;
  const add = (into: number[], from: readonly number[]): void => {
    for (let i = 0; i < from.length; i++) into[i] = (into[i] ?? 0) + from[i]!;
  };
  for (const counters of all) {
    for (const { route, duration, bytes, byService } of counters.routes) {
      let entry = routes.get(route);
      if (!entry) routes.set(route, (entry = { counts: [], sum: 0, count: 0, bytes: 0, byService: new Map() }));
      add(entry.counts, duration.counts);
      entry.sum += duration.sum;
      entry.count += duration.count;
      entry.bytes += bytes;
      for (const { service, codes } of byService) {
        let byCode = entry.byService.get(service);
        if (!byCode) entry.byService.set(service, (byCode = new Map()));
        for (const [code, count] of codes) byCode.set(code, (byCode.get(code) ?? 0) + count);
      }
    }
    for (const { service, backend, histogram } of counters.upstream) {
      const key = `${service}\u0000${backend}`;
      let entry = upstream.get(key);
      if (!entry) upstream.set(key, (entry = { service, backend, counts: [], sum: 0, count: 0 }));
      add(entry.counts, histogram.counts);
      entry.sum += histogram.sum;
      entry.count += histogram.count;
    }
    for (const [service, count] of counters.retries) retries.set(service, (retries.get(service) ?? 0) + count);
    for (const [service, count] of counters.budgetExhausted) budgetExhausted.set(service, (budgetExhausted.get(service) ?? 0) + count);
    for (const [limit, allowed, denied] of counters.rateLimits) {
      const entry = rateLimits.get(limit) ?? [0, 0];
      rateLimits.set(limit, [entry[0] + allowed, entry[1] + denied]);
    }
    for (const [reason, count] of counters.refusals) refusals.set(reason, (refusals.get(reason) ?? 0) + count);
    cpuUserSeconds += counters.cpuUserSeconds;
    cpuSystemSeconds += counters.cpuSystemSeconds;
  }
  return {
    routes: [...routes].map(([route, entry]) => ({
      route,
      duration: { counts: entry.counts, sum: entry.sum, count: entry.count },
      bytes: entry.bytes,
      byService: [...entry.byService].map(([service, codes]) => ({ service, codes: [...codes] })),
    })),
    upstream: [...upstream.values()].map(({ service, backend, counts, sum, count }) => ({ service, backend, histogram: { counts, sum, count } })),
    retries: [...retries],
    budgetExhausted: [...budgetExhausted],
    rateLimits: [...rateLimits].map(([limit, [allowed, denied]]) => [limit, allowed, denied] as const),
    refusals: [...refusals],
    cpuUserSeconds,
    cpuSystemSeconds,
  };
}

/** How long, in ms, the request spent at its backend: record.upstreamMs once the forwarding phase fills it in, the whole duration until then. */
function upstreamMsOf(record: RequestRecord, durationMs: number): number {
  if (record.upstreamMs !== undefined) return record.upstreamMs;
  return durationMs;
}

function increment(cells: Map<string, Cell>, key: string): void {
  const cell = cells.get(key);
  if (cell === undefined) cells.set(key, { value: 1 });
  else cell.value++;
}

/** A label value as the exposition format wants it: backslash, double quote and line feed escaped. */
function escape(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

/** The text format's number: integers as they are, +Inf, -Inf and NaN spelled out. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

class Exposition {
  readonly #lines: string[] = [];

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.#lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, labels: string, value: number): void {
    this.#lines.push(labels === '' ? `${name} ${formatValue(value)}` : `${name}{${labels}} ${formatValue(value)}`);
  }

  histogram(name: string, labels: string, histogram: HistogramData): void {
    const prefix = labels === '' ? '' : `${labels},`;
    let cumulative = 0;
    DURATION_BUCKETS.forEach((bound, i) => {
      cumulative += histogram.counts[i] ?? 0;
      this.#lines.push(`${name}_bucket{${prefix}le="${bound}"} ${cumulative}`);
    });
    this.#lines.push(`${name}_bucket{${prefix}le="+Inf"} ${histogram.count}`);
    this.sample(`${name}_sum`, labels, histogram.sum);
    this.sample(`${name}_count`, labels, histogram.count);
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

/** How late a callback queued now runs, in seconds. */
function eventLoopLag(): Promise<number> {
  const queued = process.hrtime.bigint();
  return new Promise((resolve) => setImmediate(() => resolve(Number(process.hrtime.bigint() - queued) / 1e9)));
}

/** Open and allowed file descriptors, where /proc tells (Linux); undefined elsewhere. */
async function openFds(): Promise<{ open: number; max: number | undefined } | undefined> {
  try {
    const open = (await readdir('/proc/self/fd')).length;
    let max: number | undefined;
    try {
      const limits = await readFile('/proc/self/limits', 'utf8');
      const match = /^Max open files\s+(\d+)/m.exec(limits);
      if (match) max = Number(match[1]);
    } catch {
      // No limits file: the open count alone.
    }
    return { open, max };
  } catch {
    return undefined;
  }
}

// Medians over rounds and the markdown tables, ratios relative to nginx.

import type { UploadResult } from './upload.ts';
import type { WrkResult } from './wrk.ts';

/**
 * `rules`: the rule-cost scenario, where a run's `lb` is the rule variant (bench/rules.ts);
 * `observe`: the observability-cost scenario, where it is "off" or "on" (bench/observe-cost.ts).
 */
export type WrkScenario = 'throughput' | 'memory256' | 'rules' | 'observe';

export interface WrkRun {
  round: number;
  lb: string;
  scenario: WrkScenario;
  wrk?: WrkResult;
  peakRssBytes?: number;
  /** LB CPU use while wrk ran, in cores (1.0 = one core fully busy). */
  cpuCores?: number;
  /** CPU used meanwhile by processes the harness did not start, in cores (procfs.ts OtherLoad). */
  otherCores?: number;
  /** The observability scenario's "on" runs: the access log read back and the /metrics scrapes. */
  observe?: ObserveFigures;
  error?: string;
}

export interface UploadRun {
  round: number;
  lb: string;
  result?: UploadResult;
  peakRssBytes?: number;
  cpuCores?: number;
  error?: string;
}

export interface WrkSummary {
  lb: string;
  rounds: number;
  failed: number;
  requestsPerSec: number;
  minRps: number;
  maxRps: number;
  p50Ms?: number;
  p99Ms?: number;
  peakRssBytes: number;
  cpuCores: number;
  /** Socket errors plus non-2xx/3xx answers, summed over the rounds. */
  errors: number;
}

export interface UploadSummary {
  lb: string;
  rounds: number;
  failed: number;
  durationS: number;
  mbPerS: number;
  peakRssBytes: number;
  cpuCores: number;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function defined<T>(values: Array<T | undefined>): T[] {
  return values.filter((v): v is T => v !== undefined);
}

export function summarizeWrk(runs: WrkRun[], lb: string, scenario: WrkScenario): WrkSummary | undefined {
  const mine = runs.filter((r) => r.lb === lb && r.scenario === scenario);
  const ok = mine.filter((r) => r.wrk !== undefined);
  if (ok.length === 0) return undefined;
  const wrk = ok.map((r) => r.wrk as WrkResult);
  const rps = wrk.map((w) => w.requestsPerSec);
  const p50 = defined(wrk.map((w) => w.p50Ms));
  const p99 = defined(wrk.map((w) => w.p99Ms));
  return {
    lb,
    rounds: ok.length,
    failed: mine.length - ok.length,
    requestsPerSec: median(rps),
    minRps: Math.min(...rps),
    maxRps: Math.max(...rps),
    p50Ms: p50.length > 0 ? median(p50) : undefined,
    p99Ms: p99.length > 0 ? median(p99) : undefined,
    peakRssBytes: median(defined(ok.map((r) => r.peakRssBytes))),
    cpuCores: median(defined(ok.map((r) => r.cpuCores))),
    errors: wrk.reduce((s, w) => s + w.socketErrors + w.non2xx3xx, 0),
  };
}

export function summarizeUpload(runs: UploadRun[], lb: string): UploadSummary | undefined {
  const mine = runs.filter((r) => r.lb === lb);
  const ok = mine.filter((r) => r.result !== undefined);
  if (ok.length === 0) return undefined;
  const results = ok.map((r) => r.result as UploadResult);
  return {
    lb,
    rounds: ok.length,
    failed: mine.length - ok.length,
    durationS: median(results.map((r) => r.durationS)),
    mbPerS: median(results.map((r) => r.mbPerS)),
    peakRssBytes: median(defined(ok.map((r) => r.peakRssBytes))),
    cpuCores: median(defined(ok.map((r) => r.cpuCores))),
  };
}

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmtMs = (n: number | undefined): string => (n === undefined ? '–' : `${n.toFixed(2)} ms`);
export const fmtMiB = (bytes: number): string => (Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : '–');
export const fmtRatio = (value: number | undefined, reference: number | undefined): string =>
  value === undefined || reference === undefined || !(reference > 0) ? '–' : `${(value / reference).toFixed(2)}×`;
export const fmtCores = (n: number): string => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : '–');

function failures(failed: number, rounds: number): string {
  return failed > 0 ? ` (${failed} of ${rounds + failed} rounds failed)` : '';
}

/** `startRss`: each load balancer's resident memory right after it started, for the "RSS at start" column. */
export function wrkTable(
  summaries: WrkSummary[],
  missing: Map<string, string>,
  lbs: string[],
  startRss: Record<string, number> = {},
): string {
  const ref = summaries.find((s) => s.lb === 'nginx');
  const lines = [
    '| LB | req/s | × nginx | p50 | p99 | p99 × nginx | peak RSS | LB CPU | errors | req/s min–max | RSS at start |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const lb of lbs) {
    const s = summaries.find((x) => x.lb === lb);
    if (!s) {
      lines.push(`| ${lb} | ${missing.get(lb) ?? 'no result'} | | | | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${lb}${failures(s.failed, s.rounds)} | ${fmtInt(s.requestsPerSec)} | ${fmtRatio(s.requestsPerSec, ref?.requestsPerSec)} | ` +
        `${fmtMs(s.p50Ms)} | ${fmtMs(s.p99Ms)} | ${fmtRatio(s.p99Ms, ref?.p99Ms)} | ${fmtMiB(s.peakRssBytes)} | ` +
        `${fmtCores(s.cpuCores)} | ${fmtInt(s.errors)} | ${fmtInt(s.minRps)}–${fmtInt(s.maxRps)} | ` +
        `${fmtMiB(startRss[lb] ?? Number.NaN)} |`,
    );
  }
  return lines.join('\n');
}

/** `labels` renames rows (the client-to-sink baseline); `startRss` as in wrkTable. */
export function uploadTable(
  summaries: UploadSummary[],
  missing: Map<string, string>,
  lbs: string[],
  startRss: Record<string, number> = {},
  labels: Record<string, string> = {},
): string {
  const ref = summaries.find((s) => s.lb === 'nginx');
  const lines = [
    '| LB | duration | MB/s | × nginx | peak RSS | LB CPU | RSS at start |',
    '| --- | --: | --: | --: | --: | --: | --: |',
  ];
  for (const lb of lbs) {
    const s = summaries.find((x) => x.lb === lb);
    const label = labels[lb] ?? lb;
    if (!s) {
      lines.push(`| ${label} | ${missing.get(lb) ?? 'no result'} | | | | | |`);
      continue;
    }
    lines.push(
      `| ${label}${failures(s.failed, s.rounds)} | ${s.durationS.toFixed(2)} s | ${s.mbPerS.toFixed(0)} | ` +
        `${fmtRatio(s.mbPerS, ref?.mbPerS)} | ${fmtMiB(s.peakRssBytes)} | ${fmtCores(s.cpuCores)} | ` +
        `${fmtMiB(startRss[lb] ?? Number.NaN)} |`,
    );
  }
  return lines.join('\n');
}

// What the observability cost scenario (observe-cost.ts) adds to a run, kept here
// beside WrkRun so that the report and the scenario do not import each other.

/** The access log of one "on" run. */
export interface AccessLogFigures {
  /** Lines written from the measured run's start until the file was still after it. */
  lines: number;
  /** Bytes written in the same span. */
  bytes: number;
  /** Requests wrk counted in the run. */
  requests: number;
  /** wrk's connections: the most requests that can be in flight when it stops. */
  inFlight: number;
  /** lines / wrk's duration. */
  linesPerSec: number;
  /** The file's size after the run: the readiness probe, the warm-up and the run. */
  fileBytes: number;
  /** Why the lines do not account for the requests (or are not access log lines); undefined when they do. */
  problem?: string;
}

/** The scrapes of /metrics during one "on" instance's warm-up and run. */
export interface ScrapeFigures {
  scrapes: number;
  failed: number;
  /** Median and longest time of a successful scrape, ms. */
  medianMs: number;
  maxMs: number;
  /** Size of the last successful answer. */
  bodyBytes: number;
  /** The first failure, when any. */
  firstError?: string;
}

/** Everything the observability scenario adds to a wrk run of "on". */
export interface ObserveFigures {
  accessLog?: AccessLogFigures;
  scrapes?: ScrapeFigures;
}

// Medians over rounds and the markdown tables, ratios relative to nginx.

import type { UploadResult } from './upload.ts';
import type { WrkResult } from './wrk.ts';

/**
 * `rules`: the rule-cost scenario, where a run's `lb` is the rule variant (bench/rules.ts);
 * `observe`: the observability-cost scenario, where it is "off" or "on" (bench/observe-cost.ts);
 * `workers64`, `workers256`: the workers scenario at 64 and 256 connections, where it is the
 * row's label, "nginx-2", "haproxy-2", "weir-2" (and "nginx-1" with --workers-only) (bench/workers.ts).
 */
export type WrkScenario = 'throughput' | 'memory256' | 'rules' | 'observe' | 'workers64' | 'workers256';

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

// --- Targets ---------------------------------------------------------------
// The issue's targets for weir, each checked against this run's figures.

export type TargetStatus = 'met' | 'not met' | 'not measured';

export interface Target {
  /** What the target asks, as the report's list says it. */
  goal: string;
  status: TargetStatus;
  /** The figures behind the status, or why there are none. */
  figures: string;
}

export interface TargetInput {
  /** The throughput table's summaries (64 connections); empty when it did not run. */
  throughput: WrkSummary[];
  /** The 256-connection table's summaries; empty when it did not run. */
  memory256: WrkSummary[];
  /** The upload table's summaries and the body size; undefined when it did not run. */
  upload?: { summaries: UploadSummary[]; bytes: number };
  /** weir's backend-failure run: its counts, or why it has none; undefined when the scenario did not run. */
  weirFault?: { requests: number; failed: number } | string;
}

export const TARGET_RATIO_64 = 0.6;
export const TARGET_P99_FACTOR = 2;
/** weir's ratio at 256 connections may be this much below HAProxy's. */
export const TARGET_256_TOLERANCE = 0.1;
export const TARGET_UPLOAD_BYTES = 2 ** 30;
export const TARGET_PEAK_RSS_BYTES = 120 * 2 ** 20;

function verdict(ok: boolean): TargetStatus {
  return ok ? 'met' : 'not met';
}

/** "weir, nginx" → why a comparison has no figures. */
function absent(scenario: string, names: string[], summaries: WrkSummary[]): string | undefined {
  if (summaries.length === 0) return `the ${scenario} table did not run`;
  const gone = names.filter((n) => !summaries.some((s) => s.lb === n));
  return gone.length > 0 ? `no ${gone.join(' or ')} figure in the ${scenario} table` : undefined;
}

function sizeText(bytes: number): string {
  return bytes >= 2 ** 30 ? `${bytes / 2 ** 30} GiB` : `${bytes / 2 ** 20} MiB`;
}

/** The six targets of the issue, in its order. */
export function targets(input: TargetInput): Target[] {
  const find = (list: WrkSummary[], lb: string) => list.find((s) => s.lb === lb);
  const out: Target[] = [];

  const goal1 = `one weir process ≥ ${TARGET_RATIO_64}× nginx-1's req/s at 64 connections`;
  const why1 = absent('throughput', ['weir', 'nginx'], input.throughput);
  const weir64 = find(input.throughput, 'weir');
  const nginx64 = find(input.throughput, 'nginx');
  if (why1 || !weir64 || !nginx64) out.push({ goal: goal1, status: 'not measured', figures: why1 ?? '' });
  else {
    const ratio = weir64.requestsPerSec / nginx64.requestsPerSec;
    out.push({
      goal: goal1,
      status: verdict(ratio >= TARGET_RATIO_64),
      figures: `${ratio.toFixed(2)}× (${fmtInt(weir64.requestsPerSec)} against ${fmtInt(nginx64.requestsPerSec)} req/s)`,
    });
  }

  const goal2 = `weir's p99 at 64 connections ≤ ${TARGET_P99_FACTOR}× nginx's`;
  if (why1 || !weir64 || !nginx64) out.push({ goal: goal2, status: 'not measured', figures: why1 ?? '' });
  else if (weir64.p99Ms === undefined || nginx64.p99Ms === undefined || !(nginx64.p99Ms > 0)) {
    out.push({ goal: goal2, status: 'not measured', figures: 'wrk gave no p99' });
  } else {
    const factor = weir64.p99Ms / nginx64.p99Ms;
    out.push({
      goal: goal2,
      status: verdict(factor <= TARGET_P99_FACTOR),
      figures: `${factor.toFixed(2)}× (${fmtMs(weir64.p99Ms)} against ${fmtMs(nginx64.p99Ms)})`,
    });
  }

  const goal3 = `weir's req/s ratio to nginx at 256 connections ≥ HAProxy's, or within ${TARGET_256_TOLERANCE * 100}% of it`;
  const why3 = absent('256-connection', ['weir', 'haproxy', 'nginx'], input.memory256);
  const weir256 = find(input.memory256, 'weir');
  const haproxy256 = find(input.memory256, 'haproxy');
  const nginx256 = find(input.memory256, 'nginx');
  if (why3 || !weir256 || !haproxy256 || !nginx256) out.push({ goal: goal3, status: 'not measured', figures: why3 ?? '' });
  else {
    const weirRatio = weir256.requestsPerSec / nginx256.requestsPerSec;
    const haRatio = haproxy256.requestsPerSec / nginx256.requestsPerSec;
    out.push({
      goal: goal3,
      status: verdict(weirRatio >= haRatio * (1 - TARGET_256_TOLERANCE)),
      figures: `weir ${weirRatio.toFixed(2)}×, HAProxy ${haRatio.toFixed(2)}× (weir at ${((100 * weirRatio) / haRatio).toFixed(0)}% of HAProxy's)`,
    });
  }

  const goal4 = `the ${sizeText(TARGET_UPLOAD_BYTES)} upload through weir at least as fast as through nginx`;
  const weirUp = input.upload?.summaries.find((s) => s.lb === 'weir');
  const nginxUp = input.upload?.summaries.find((s) => s.lb === 'nginx');
  if (!input.upload) out.push({ goal: goal4, status: 'not measured', figures: 'the upload did not run' });
  else if (!weirUp || !nginxUp) {
    out.push({ goal: goal4, status: 'not measured', figures: `no ${!weirUp ? 'weir' : 'nginx'} figure in the upload table` });
  } else {
    const size = input.upload.bytes === TARGET_UPLOAD_BYTES ? '' : `; ${sizeText(input.upload.bytes)} in this run, not ${sizeText(TARGET_UPLOAD_BYTES)}`;
    out.push({
      goal: goal4,
      status: verdict(weirUp.mbPerS >= nginxUp.mbPerS),
      figures: `${fmtRatio(weirUp.mbPerS, nginxUp.mbPerS)} (${weirUp.mbPerS.toFixed(0)} against ${nginxUp.mbPerS.toFixed(0)} MB/s${size})`,
    });
  }

  const goal5 = 'no failed request through weir in the backend-failure scenario';
  const fault = input.weirFault;
  if (fault === undefined) out.push({ goal: goal5, status: 'not measured', figures: 'the backend-failure scenario did not run' });
  else if (typeof fault === 'string') out.push({ goal: goal5, status: 'not measured', figures: fault });
  else {
    out.push({
      goal: goal5,
      status: verdict(fault.failed === 0),
      figures: `${fmtInt(fault.failed)} failed of ${fmtInt(fault.requests)}`,
    });
  }

  const goal6 = `weir's peak RSS at 256 connections ≤ ${fmtMiB(TARGET_PEAK_RSS_BYTES)}`;
  const why6 = absent('256-connection', ['weir'], input.memory256);
  if (why6 || !weir256 || !Number.isFinite(weir256.peakRssBytes)) {
    out.push({ goal: goal6, status: 'not measured', figures: why6 ?? 'no RSS sample' });
  } else {
    out.push({ goal: goal6, status: verdict(weir256.peakRssBytes <= TARGET_PEAK_RSS_BYTES), figures: fmtMiB(weir256.peakRssBytes) });
  }
  return out;
}

/** The report's closing "Targets" list; `informational`: figures the issue sets no target for, listed after the targets. */
export function targetsSection(list: Target[], informational: string[] = []): string[] {
  const mark: Record<TargetStatus, string> = { met: '**met**', 'not met': '**not met**', 'not measured': 'not measured' };
  return [
    '## Targets',
    '',
    ...list.map((t, i) => `${i + 1}. ${t.goal}: ${mark[t.status]}${t.figures ? ` — ${t.figures}` : ''}`),
    ...(informational.length > 0 ? ['', ...informational.map((line) => `- ${line}`)] : []),
    '',
    'Computed from this run\'s medians; "not measured" when this run did not produce the figures.',
    '',
  ];
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

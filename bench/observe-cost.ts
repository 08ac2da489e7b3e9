// The "observability cost" scenario: weir as in the throughput table ("off":
// no access log, no admin listener) against weir writing its access log to a
// file and serving Prometheus metrics on an admin listener that is scraped
// once per second ("on"). The metrics are recorded in both (weir always
// records them; the admin listener only serves them), so "on" adds the
// access log, the admin listener and the scrapes. The target: at most 10%
// fewer requests per second with it on.
//
// The comparison reuses the rule-cost scenario's machinery (rule-cost.ts,
// run.ts pairedRounds): fresh processes every round, every "on" run next to
// an "off" run and divided by it, weir pinned to a CPU of its own. What is
// its own: the access log is read back after each run, and the lines written
// while wrk ran must account for every request wrk counted (none dropped),
// plus at most the requests in flight when wrk stopped.

import type { AccessLogFigures, ObserveFigures, ScrapeFigures } from './report.ts';
import { createReadStream, openSync, readSync, closeSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import { weirYaml } from './configs.ts';
import type { Upstream } from './configs.ts';
import type { CpuPlan } from './pinning.ts';
import { fmtCores, fmtInt, fmtMiB, fmtMs, fmtRatio, median } from './report.ts';
import type { WrkRun, WrkSummary } from './report.ts';
import { cpuPerRequest, fmtRatios, maxOtherLoad, OTHER_LOAD_LIMIT, pairedCaveats, pairedRatios, pinningText } from './rule-cost.ts';

export type { AccessLogFigures, ObserveFigures, ScrapeFigures } from './report.ts';

export const OBSERVE_VARIANTS = ['off', 'on'] as const;
export type ObserveVariant = (typeof OBSERVE_VARIANTS)[number];
/** The variant every other one is divided by. */
export const OBSERVE_BASELINE: ObserveVariant = 'off';

export const OBSERVE_LABELS: Record<ObserveVariant, string> = {
  off: 'off: no access log, no admin listener',
  on: 'on: access log to a file, admin listener, /metrics scraped every 1 s',
};

/** The acceptance criterion: the access log (and metrics) cost at most this share of the requests per second. */
export const OBSERVE_COST_TARGET = 0.1;
export const SCRAPE_INTERVAL_MS = 1000;
export const SCRAPE_TIMEOUT_MS = 2000;
/** A metric every scrape must contain: the answer is weir's metrics, not some other 200. */
export const SCRAPE_MUST_CONTAIN = 'weir_requests_total';

/**
 * weir's config for a variant: the throughput table's (configs.ts weirYaml),
 * and for "on" an access log to `accessLogPath` (every request, the
 * defaults) and the admin listener on a port the kernel picks.
 */
export function observeYaml(port: number, upstreams: Upstream[], variant: ObserveVariant, accessLogPath: string): string {
  const base = weirYaml(port, upstreams);
  if (variant === 'off') return base;
  return `${base}access_log: { path: ${JSON.stringify(accessLogPath)} }\nadmin: { listen: 127.0.0.1:0 }\n`;
}

/**
 * The admin API's URL from weir's own log (JSON lines on stderr): the first
 * line with an "admin" field, as weir logs it when the listener is up. With
 * `listen: 127.0.0.1:0` this is the only place the port is told.
 */
export function adminUrlFromLog(text: string): string | undefined {
  for (const line of text.split('\n')) {
    if (!line.includes('"admin"')) continue;
    try {
      const entry = JSON.parse(line) as { admin?: unknown };
      if (typeof entry.admin === 'string' && /^https?:\/\//.test(entry.admin)) return entry.admin;
    } catch {
      // Not a JSON line (a Node warning, say).
    }
  }
  return undefined;
}

/** Polls weir's log file for the admin URL, for at most timeoutMs (pino may write the line a moment after the listener answers). */
export async function waitForAdminUrl(logFile: string, timeoutMs = 5000): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(logFile, 'utf8');
    } catch {
      // Not there yet.
    }
    const url = adminUrlFromLog(text);
    if (url !== undefined || Date.now() >= deadline) return url;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Newline bytes in `bytes`. */
export function countNewlines(bytes: Uint8Array): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let count = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) count++;
  return count;
}

/** Lines (newlines) in bytes [start, end) of a file, read as a stream (a 10 s run writes tens of MB). */
export async function countLinesInRange(file: string, start: number, end: number): Promise<number> {
  if (end <= start) return 0;
  let count = 0;
  for await (const chunk of createReadStream(file, { start, end: end - 1, highWaterMark: 1 << 20 })) count += countNewlines(chunk as Buffer);
  return count;
}

/** The last complete line before byte `end` of a file (at most the 16 KiB before it), without its newline. */
export function lastLineBefore(file: string, end: number): string {
  const length = Math.min(end, 16 * 1024);
  const buf = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, length, end - length);
  } finally {
    closeSync(fd);
  }
  const text = buf.toString('utf8').replace(/\n$/, '');
  return text.slice(text.lastIndexOf('\n') + 1);
}

export function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * The file's size once it stopped growing for `quietMs` (weir hands its lines
 * to the file once per turn of the event loop and writes them asynchronously,
 * so the last requests' lines land a moment after wrk stopped); the last size
 * seen after `timeoutMs`.
 */
export async function settledSize(file: string, quietMs = 300, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let size = fileSize(file);
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    const now = fileSize(file);
    if (now !== size) {
      size = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      break;
    }
  }
  return size;
}

/**
 * Whether the lines weir wrote while wrk ran account for wrk's requests:
 * every request wrk counted was answered, so it has its line, and at most
 * `inFlight` more (wrk's connections: the requests under way when wrk
 * stopped, which weir logs when they end). Fewer lines than requests means
 * the access log dropped lines. Undefined when the count is right.
 */
export function lineCountProblem(lines: number, requests: number, inFlight: number): string | undefined {
  if (lines < requests) {
    return `${fmtInt(requests - lines)} line(s) missing: ${fmtInt(lines)} lines for the ${fmtInt(requests)} requests wrk counted (the access log dropped lines)`;
  }
  if (lines > requests + inFlight) {
    return (
      `${fmtInt(lines - requests - inFlight)} line(s) too many: ${fmtInt(lines)} lines for the ${fmtInt(requests)} requests wrk counted ` +
      `plus at most ${inFlight} in flight when it stopped`
    );
  }
  return undefined;
}


/** Reads the access log of one run back: bytes [before, after) were written while wrk ran (and just after). */
export async function accessLogFigures(
  file: string,
  before: number,
  after: number,
  wrk: { requests: number; durationS: number },
  inFlight: number,
): Promise<AccessLogFigures> {
  const lines = await countLinesInRange(file, before, after);
  let problem = lineCountProblem(lines, wrk.requests, inFlight);
  if (!problem && lines > 0) {
    const last = lastLineBefore(file, after);
    try {
      const entry = JSON.parse(last) as { status?: unknown };
      if (typeof entry.status !== 'number') problem = `the last line has no status: ${last.slice(0, 200)}`;
    } catch {
      problem = `the last line is not JSON: ${last.slice(0, 200)}`;
    }
  }
  return {
    lines,
    bytes: after - before,
    requests: wrk.requests,
    inFlight,
    linesPerSec: wrk.durationS > 0 ? lines / wrk.durationS : Number.NaN,
    fileBytes: after,
    ...(problem && { problem }),
  };
}



function scrapeOnce(url: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: SCRAPE_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', reject);
      res.once('end', () => {
        const body = Buffer.concat(chunks);
        if (res.statusCode !== 200) reject(new Error(`GET ${url} answered ${res.statusCode}`));
        else if (!body.includes(SCRAPE_MUST_CONTAIN)) reject(new Error(`GET ${url} answered without ${SCRAPE_MUST_CONTAIN}`));
        else resolve({ ms: performance.now() - t0, bytes: body.length });
      });
    });
    req.once('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${SCRAPE_TIMEOUT_MS} ms`)));
    req.once('error', reject);
  });
}

/**
 * GET /metrics once per interval, as a Prometheus server would (a new
 * connection each time, one scrape at a time: the next starts an interval
 * after the previous one started, or when it ended if it took longer).
 */
export class MetricsScraper {
  readonly #url: string;
  readonly #intervalMs: number;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  readonly #times: number[] = [];
  #failed = 0;
  #bodyBytes = 0;
  #firstError: string | undefined;

  constructor(url: string, intervalMs = SCRAPE_INTERVAL_MS) {
    this.#url = url;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const started = Date.now();
      try {
        const { ms, bytes } = await scrapeOnce(this.#url);
        this.#times.push(ms);
        this.#bodyBytes = bytes;
      } catch (err) {
        this.#failed++;
        this.#firstError ??= err instanceof Error ? err.message : String(err);
      }
      const wait = started + this.#intervalMs - Date.now();
      if (this.#running && wait > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    }
  }

  /** Stops (the scrape under way, if any, is awaited) and returns the figures. Safe to call twice. */
  async stop(): Promise<ScrapeFigures> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    return {
      scrapes: this.#times.length + this.#failed,
      failed: this.#failed,
      medianMs: median(this.#times),
      maxMs: this.#times.length > 0 ? Math.max(...this.#times) : Number.NaN,
      bodyBytes: this.#bodyBytes,
      ...(this.#firstError !== undefined && { firstError: this.#firstError }),
    };
  }
}

/** Why one run's observability figures void the comparison; undefined when they do not. */
export function observeRunProblem(figures: ObserveFigures | undefined): string | undefined {
  const problems: string[] = [];
  if (!figures?.accessLog) problems.push('the access log was not read back');
  else if (figures.accessLog.problem) problems.push(`access log: ${figures.accessLog.problem}`);
  if (!figures?.scrapes) problems.push('/metrics was not scraped');
  else if (figures.scrapes.failed > 0) {
    problems.push(`${figures.scrapes.failed} of ${figures.scrapes.scrapes} scrapes of /metrics failed (${figures.scrapes.firstError ?? '?'})`);
  } else if (figures.scrapes.scrapes === 0) problems.push('no scrape of /metrics finished');
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** Why a run does not count when wrk saw socket errors or non-2xx/3xx answers; undefined otherwise. */
export function observeErrorsText(socketErrors: number, non2xx3xx: number): string | undefined {
  if (socketErrors + non2xx3xx === 0) return undefined;
  return `${non2xx3xx} non-2xx/3xx answers and ${socketErrors} socket errors: weir failed requests, so these figures do not measure the access log`;
}

/** The access log over the "on" runs: medians, the line counts' excess over wrk's requests, and the problems. */
export interface AccessLogSummary {
  runs: number;
  linesPerSec: number;
  /** Bytes written during a measured run, median. */
  bytesPerRun: number;
  bytesPerLine: number;
  /** The file at the end of a run (probe, warm-up and run), median. */
  fileBytes: number;
  /** lines - wrk's requests, lowest and highest over the runs. */
  excessMin: number;
  excessMax: number;
  inFlight: number;
  requests: number;
  lines: number;
  problems: string[];
}

export function summarizeAccessLog(runs: readonly WrkRun[], variant = 'on'): AccessLogSummary | undefined {
  const logs = runs.filter((r) => r.scenario === 'observe' && r.lb === variant).flatMap((r) => r.observe?.accessLog ?? []);
  if (logs.length === 0) return undefined;
  const excess = logs.map((l) => l.lines - l.requests);
  return {
    runs: logs.length,
    linesPerSec: median(logs.map((l) => l.linesPerSec)),
    bytesPerRun: median(logs.map((l) => l.bytes)),
    bytesPerLine: median(logs.filter((l) => l.lines > 0).map((l) => l.bytes / l.lines)),
    fileBytes: median(logs.map((l) => l.fileBytes)),
    excessMin: Math.min(...excess),
    excessMax: Math.max(...excess),
    inFlight: Math.max(...logs.map((l) => l.inFlight)),
    requests: logs.reduce((s, l) => s + l.requests, 0),
    lines: logs.reduce((s, l) => s + l.lines, 0),
    problems: logs.flatMap((l) => l.problem ?? []),
  };
}

function summarizeScrapes(runs: readonly WrkRun[], variant = 'on'): { scrapes: number; failed: number; medianMs: number; bodyBytes: number } | undefined {
  const all = runs.filter((r) => r.scenario === 'observe' && r.lb === variant).flatMap((r) => r.observe?.scrapes ?? []);
  if (all.length === 0) return undefined;
  return {
    scrapes: all.reduce((s, x) => s + x.scrapes, 0),
    failed: all.reduce((s, x) => s + x.failed, 0),
    medianMs: median(all.flatMap((x) => (Number.isFinite(x.medianMs) ? [x.medianMs] : []))),
    bodyBytes: median(all.map((x) => x.bodyBytes)),
  };
}

const fmtBytes = (n: number): string => (n >= 2 ** 20 ? fmtMiB(n) : `${(n / 1024).toFixed(1)} KiB`);
const signed = (n: number): string => `${n >= 0 ? '+' : ''}${fmtInt(n)}`;

/** The markdown table: one row per variant; the access log and scrape columns for "on". */
export function observeTable(
  summaries: WrkSummary[],
  runs: readonly WrkRun[],
  missing: Map<string, string>,
  startRss: Record<string, number> = {},
): string {
  const ref = summaries.find((s) => s.lb === OBSERVE_BASELINE);
  const lines = [
    '| weir | req/s | × off | × off, paired runs: median (min–max) | p50 | p99 | peak RSS | RSS at start | LB CPU | CPU per request | errors | req/s min–max | ' +
      'access log lines/s | access log file after a run (written during the run, per line) | lines − wrk requests (min–max) | /metrics scrapes ok/all (median time) | other processes\' CPU (max) |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const variant of OBSERVE_VARIANTS) {
    const label = OBSERVE_LABELS[variant];
    const s = summaries.find((x) => x.lb === variant);
    if (!s) {
      lines.push(`| ${label} | ${missing.get(variant) ?? 'no result'} |${' |'.repeat(15)}`);
      continue;
    }
    const failed = s.failed > 0 ? ` (${s.failed} of ${s.rounds + s.failed} rounds failed)` : '';
    const paired = variant === OBSERVE_BASELINE ? '1.00×' : fmtRatios(pairedRatios(runs, variant, 'observe', OBSERVE_BASELINE));
    const log = summarizeAccessLog(runs, variant);
    const scrapes = summarizeScrapes(runs, variant);
    const logCols = log
      ? `${fmtInt(log.linesPerSec)} | ${fmtBytes(log.fileBytes)} (${fmtBytes(log.bytesPerRun)}, ${log.bytesPerLine.toFixed(0)} B) | ${signed(log.excessMin)}–${signed(log.excessMax)} (≤ +${log.inFlight} in flight)`
      : '– | – | –';
    const scrapeCol = scrapes
      ? `${fmtInt(scrapes.scrapes - scrapes.failed)}/${fmtInt(scrapes.scrapes)} (${fmtMs(Number.isFinite(scrapes.medianMs) ? scrapes.medianMs : undefined)}, ${fmtBytes(scrapes.bodyBytes)})`
      : '–';
    lines.push(
      `| ${label}${failed} | ${fmtInt(s.requestsPerSec)} | ${fmtRatio(s.requestsPerSec, ref?.requestsPerSec)} | ${paired} | ` +
        `${fmtMs(s.p50Ms)} | ${fmtMs(s.p99Ms)} | ${fmtMiB(s.peakRssBytes)} | ${fmtMiB(startRss[variant] ?? Number.NaN)} | ` +
        `${fmtCores(s.cpuCores)} | ${cpuPerRequest(s)} | ${fmtInt(s.errors)} | ${fmtInt(s.minRps)}–${fmtInt(s.maxRps)} | ` +
        `${logCols} | ${scrapeCol} | ${fmtCores(maxOtherLoad(runs, variant, 'observe') ?? Number.NaN)} |`,
    );
  }
  return lines.join('\n');
}

export interface ObserveVerdict {
  /** Requests per second with the access log and metrics on over off: the median of the paired ratios. */
  ratio: number;
  ratioOfMedians: number;
  paired: number[];
  slowdown: number;
  met: boolean;
  /** False when either side saw failed requests, an "on" run's access log missed lines, or a scrape failed. */
  valid: boolean;
  /** What made it not valid. */
  problems: string[];
  disturbedRuns: number;
  /** The paired ratios of the pairs in which neither run shared the machine with other processes. */
  quietPaired: number[];
  text: string;
}

/**
 * The paired ratios left when the runs during which other processes used
 * more than OTHER_LOAD_LIMIT are set aside: on a shared machine, the pairs
 * to read first.
 */
export function quietPairedRatios(runs: readonly WrkRun[]): number[] {
  const quiet = runs.filter((r) => r.scenario !== 'observe' || (r.otherCores ?? 0) <= OTHER_LOAD_LIMIT);
  return pairedRatios(quiet, 'on', 'observe', OBSERVE_BASELINE);
}

export function observeVerdict(summaries: WrkSummary[], runs: readonly WrkRun[]): ObserveVerdict | undefined {
  const off = summaries.find((s) => s.lb === 'off');
  const on = summaries.find((s) => s.lb === 'on');
  const paired = pairedRatios(runs, 'on', 'observe', OBSERVE_BASELINE);
  if (!off || !on || !(off.requestsPerSec > 0) || paired.length === 0) return undefined;
  const ratio = median(paired);
  const slowdown = 1 - ratio;
  const problems: string[] = [];
  if (off.errors + on.errors > 0) problems.push(`wrk saw ${fmtInt(off.errors + on.errors)} failed requests (errors column)`);
  for (const r of runs) {
    if (r.scenario !== 'observe' || r.lb !== 'on' || !r.wrk) continue;
    const problem = observeRunProblem(r.observe);
    if (problem) problems.push(`round ${r.round}: ${problem}`);
  }
  const valid = problems.length === 0;
  const met = valid && slowdown <= OBSERVE_COST_TARGET;
  const change = `${(Math.abs(slowdown) * 100).toFixed(1)}% ${slowdown >= 0 ? 'fewer' : 'more'}`;
  const each = paired.map((r) => r.toFixed(2)).join(', ');
  const { disturbedRuns, text: caveats } = pairedCaveats(runs, 'observe', OBSERVE_VARIANTS, paired.length);
  const quietPaired = quietPairedRatios(runs);
  const quietText =
    disturbedRuns === 0
      ? ''
      : quietPaired.length === 0
        ? ' No pair ran on a quiet machine.'
        : ` The ${quietPaired.length} pair(s) in which neither run shared the machine: ${fmtRatios(quietPaired)}.`;
  const log = summarizeAccessLog(runs);
  const logText = log
    ? ` The access log wrote ${fmtInt(log.linesPerSec)} lines/s (${fmtBytes(log.bytesPerRun)} per run, ${log.bytesPerLine.toFixed(0)} bytes a line; ` +
      `the file ${fmtBytes(log.fileBytes)} after a run with the probe and the warm-up); ` +
      `over the ${log.runs} run(s) ${fmtInt(log.lines)} lines for the ${fmtInt(log.requests)} requests wrk counted, ` +
      `${signed(log.excessMin)} to ${signed(log.excessMax)} per run (requests in flight when wrk stopped, at most ${log.inFlight})` +
      (log.problems.length === 0 ? ': no line dropped.' : '.')
    : '';
  const text = valid
    ? `Access log and metrics on: ${ratio.toFixed(2)}× the requests per second of off (median of the paired runs' ratios ${each}), ` +
      `${change}; target: at most ${OBSERVE_COST_TARGET * 100}% fewer: **${met ? 'met' : 'NOT met'}**.${logText}${caveats}${quietText}`
    : `**Not valid**: ${problems.join('; ')}; so the ratio ${ratio.toFixed(2)}× does not measure the access log and metrics.${logText}`;
  return { ratio, ratioOfMedians: on.requestsPerSec / off.requestsPerSec, paired, slowdown, met, valid, problems, disturbedRuns, quietPaired, text };
}

export interface ObserveReport {
  /** The load, after "Observability cost: ...". */
  title: string;
  summaries: WrkSummary[];
  runs: readonly WrkRun[];
  missing: Map<string, string>;
  startRss: Record<string, number> | undefined;
  pinning: CpuPlan | string | undefined;
  /** Where the access log files were written (the run's temp dir). */
  logDir: string;
}

/** The report's section: the table, the verdict and how it was measured. */
export function observeSection(r: ObserveReport): string[] {
  return [
    `## Observability cost: weir without and with the access log and the admin listener, ${r.title}`,
    '',
    observeTable(r.summaries, r.runs, r.missing, r.startRss),
    '',
    observeVerdict(r.summaries, r.runs)?.text ?? 'No verdict: the "off" or the "on" instance has no result.',
    '',
    '"off" is the throughput table\'s weir; "on" adds `access_log: { path: <file> }` (one JSON line per request, every request) ' +
      `and \`admin: { listen: 127.0.0.1:0 }\`, and GET /metrics is scraped every ${SCRAPE_INTERVAL_MS / 1000} s during its warm-up and run ` +
      '(weir records the metrics in both; "on" serves them). Each row is its own weir process on the same backends, started afresh every ' +
      'round and warmed up for at least 5 s; in each round "on" runs right next to "off"; ' +
      `${pinningText(r.pinning)}. \`paired\` divides each "on" run's req/s by the "off" run next to it; the verdict takes its median. ` +
      `The access log (a new file per round under ${r.logDir}) is read back after each run: the lines written from wrk's start until the ` +
      'file was still again must be at least the requests wrk counted (else lines were dropped) and at most that plus wrk\'s connections.',
    '',
  ];
}

// The "rule cost" scenario (issue 4): weir with no rules against weir with the
// typical rule set of bench/rules.ts, each its own process on the main
// scenario's backends, under the throughput table's wrk load. The answer is
// relative (requests per second with the rules over without), and on a small
// shared machine the noise is larger than the answer, so: every run of a rule
// set sits right next to a no-rules run and is divided by it (pairedRatios),
// every round starts fresh processes (two weir processes with the same config
// can differ by several percent for their whole life), weir runs on a CPU of
// its own (pinning.ts), other processes' CPU use is
// recorded per run, and the rules' own code is also timed in process, without
// the network's noise (rule-micro.ts). With --rules-breakdown one instance per
// kind of rule joins them.

import http from 'node:http';
import { fmtCores, fmtInt, fmtMiB, fmtMs, fmtRatio, median } from './report.ts';
import type { WrkRun, WrkScenario, WrkSummary } from './report.ts';
import {
  HEADER_RULES,
  headerRuleCount,
  PATH_REJECT,
  RATE_LIMIT,
  REJECT_ENTRIES,
  rejectedRanges,
  RULE_VARIANTS,
  VARIANT_LABELS,
  variantDefaults,
} from './rules.ts';
import type { CpuPlan } from './pinning.ts';
import type { MicroResult } from './rule-micro.ts';
import type { RuleVariant } from './rules.ts';

/** Issue 4's acceptance criterion: the typical rule set costs at most this share of the requests per second. */
export const RULE_COST_TARGET = 0.15;
/** Other processes using more than this (in cores) during a run make its figures suspect. */
export const OTHER_LOAD_LIMIT = 0.1;
/** Below this many paired runs the verdict says it is thin: one pair was seen 15-20% off on the README's machine. */
export const ENOUGH_PAIRS = 5;

export function ruleCostVariants(breakdown: boolean): RuleVariant[] {
  return breakdown ? [...RULE_VARIANTS] : ['none', 'all'];
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
}

function get(url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`no answer from ${url} within 2 s`)));
    req.once('error', reject);
  });
}

/**
 * Asks the running instance whether its rules are in force, so that a config
 * weir read differently than meant cannot pass as "rules cost nothing". The
 * address rules cannot be tried from 127.0.0.1 (which must pass); the unit
 * test covers those against weir's own planner.
 */
export async function checkRulesApply(url: string, variant: RuleVariant): Promise<string | undefined> {
  const root = await get(url);
  if (root.status !== 200) return `GET / answered ${root.status}, not 200`;
  if (variant === 'all' || variant === 'headers') {
    if (root.headers['x-frame-options'] !== 'DENY') return 'GET / came back without the X-Frame-Options the response rules set';
    if (root.headers.server !== undefined) return `GET / came back with Server: ${root.headers.server}, which the response rules remove`;
  }
  if (variant === 'all' || variant === 'path_reject') {
    const admin = await get(new URL('/admin', url).href);
    if (admin.status !== 403) return `GET /admin answered ${admin.status}, not the 403 of path_reject`;
  }
  return undefined;
}

/** Why a run does not count, when wrk saw any socket error or non-2xx/3xx answer; undefined otherwise. */
export function refusedText(socketErrors: number, non2xx3xx: number): string | undefined {
  if (socketErrors + non2xx3xx === 0) return undefined;
  return (
    `${non2xx3xx} non-2xx/3xx answers and ${socketErrors} socket errors: a rule refused requests (the rate limit?) ` +
    'or weir failed, so these figures do not measure what the rules cost'
  );
}

/**
 * The order of the runs in round `round` (1-based): every variant next to a
 * run of the `baseline` of its own (no rules; the observability scenario's
 * "off"), which goes first in odd rounds and second in even ones; the
 * variants' order rotates from round to round.
 */
export function roundSchedule<V extends string>(variants: readonly V[], round: number, baseline: string = 'none'): V[] {
  const base = baseline as V;
  const others = variants.filter((v) => v !== base);
  const k = others.length === 0 ? 0 : (round - 1) % others.length;
  const rotated = [...others.slice(k), ...others.slice(0, k)];
  return rotated.flatMap((v): V[] => (round % 2 === 1 ? [base, v] : [v, base]));
}

/**
 * Each run of `variant` over the `baseline` run(s) right before and after it
 * in the same round of `scenario` (their mean when both are). On a shared
 * virtual machine the speed of everything drifts by tens of percent within a
 * minute; neighbouring runs share most of that drift, so their ratio cancels
 * it where the ratio of the medians over rounds does not. `runs` in the
 * order they ran.
 */
export function pairedRatios(runs: readonly WrkRun[], variant: string, scenario: WrkScenario = 'rules', baseline = 'none'): number[] {
  const mine = runs.filter((r) => r.scenario === scenario);
  return mine.flatMap((run, i) => {
    const rps = run.wrk?.requestsPerSec;
    if (run.lb !== variant || rps === undefined) return [];
    const base = [mine[i - 1], mine[i + 1]]
      .filter((n) => n !== undefined && n.round === run.round && n.lb === baseline)
      .flatMap((n) => n?.wrk?.requestsPerSec ?? []);
    if (base.length === 0) return [];
    const mean = base.reduce((a, b) => a + b, 0) / base.length;
    return mean > 0 ? [rps / mean] : [];
  });
}

export const fmtRatios = (ratios: number[]): string =>
  ratios.length === 0 ? '–' : `${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;

export function maxOtherLoad(runs: readonly WrkRun[], variant: string, scenario: WrkScenario = 'rules'): number | undefined {
  const loads = runs.filter((r) => r.scenario === scenario && r.lb === variant && r.otherCores !== undefined).map((r) => r.otherCores as number);
  return loads.length > 0 ? Math.max(...loads) : undefined;
}

export function cpuPerRequest(s: WrkSummary): string {
  const us = cpuPerRequestUs(s);
  return us === undefined ? '–' : `${us.toFixed(1)} µs`;
}

/**
 * The markdown table, one row per variant: `× no rules` is the ratio of the
 * medians, `paired` the median (and range) of pairedRatios. `startRss` by variant.
 */
export function ruleCostTable(
  summaries: WrkSummary[],
  runs: readonly WrkRun[],
  missing: Map<string, string>,
  variants: readonly RuleVariant[],
  startRss: Record<string, number> = {},
): string {
  const ref = summaries.find((s) => s.lb === 'none');
  const lines = [
    '| weir config | req/s | × no rules | × no rules, paired runs: median (min–max) | p50 | p99 | peak RSS | RSS at start | LB CPU | CPU per request | errors | req/s min–max | other processes\' CPU (max) |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const variant of variants) {
    const label = VARIANT_LABELS[variant];
    const s = summaries.find((x) => x.lb === variant);
    if (!s) {
      lines.push(`| ${label} | ${missing.get(variant) ?? 'no result'} | | | | | | | | | | | |`);
      continue;
    }
    const failed = s.failed > 0 ? ` (${s.failed} of ${s.rounds + s.failed} rounds failed)` : '';
    const paired = variant === 'none' ? '1.00×' : fmtRatios(pairedRatios(runs, variant));
    lines.push(
      `| ${label}${failed} | ${fmtInt(s.requestsPerSec)} | ${fmtRatio(s.requestsPerSec, ref?.requestsPerSec)} | ${paired} | ` +
        `${fmtMs(s.p50Ms)} | ${fmtMs(s.p99Ms)} | ${fmtMiB(s.peakRssBytes)} | ${fmtMiB(startRss[variant] ?? Number.NaN)} | ` +
        `${fmtCores(s.cpuCores)} | ${cpuPerRequest(s)} | ${fmtInt(s.errors)} | ${fmtInt(s.minRps)}–${fmtInt(s.maxRps)} | ` +
        `${fmtCores(maxOtherLoad(runs, variant) ?? Number.NaN)} |`,
    );
  }
  return lines.join('\n');
}

export interface RuleCostVerdict {
  /** Requests per second with the typical rule set over without: the median of the paired ratios. */
  ratio: number;
  /** The ratio of the medians over rounds, for comparison (it carries the machine's drift). */
  ratioOfMedians: number;
  paired: number[];
  /** 1 - ratio: the share of requests per second the rules cost (negative: the noise came out the other way). */
  slowdown: number;
  met: boolean;
  /** False when either side saw failed requests. */
  valid: boolean;
  /** Runs of either side during which other processes used more than OTHER_LOAD_LIMIT. */
  disturbedRuns: number;
  text: string;
}

/**
 * What weakens a paired comparison, as sentences to append to its verdict:
 * runs of `variants` in `scenario` that shared the machine with other
 * processes, and fewer than ENOUGH_PAIRS paired runs.
 */
export function pairedCaveats(
  runs: readonly WrkRun[],
  scenario: WrkScenario,
  variants: readonly string[],
  pairs: number,
): { disturbedRuns: number; text: string } {
  const disturbedRuns = runs.filter((r) => r.scenario === scenario && variants.includes(r.lb) && (r.otherCores ?? 0) > OTHER_LOAD_LIMIT).length;
  const disturbed =
    disturbedRuns > 0
      ? ` ${disturbedRuns} run(s) shared the machine with other processes (over ${OTHER_LOAD_LIMIT * 100}% of a CPU): ` +
        're-run on a quiet machine before trusting the ratio.'
      : '';
  const thin =
    pairs < ENOUGH_PAIRS
      ? ` Only ${pairs} paired run(s): one pair can be 15-20% off on a shared machine; ` +
        `use at least ${ENOUGH_PAIRS} rounds (--rounds 10 --duration 5s) before trusting the ratio.`
      : '';
  return { disturbedRuns, text: `${disturbed}${thin}` };
}

export function ruleCostVerdict(summaries: WrkSummary[], runs: readonly WrkRun[]): RuleCostVerdict | undefined {
  const none = summaries.find((s) => s.lb === 'none');
  const all = summaries.find((s) => s.lb === 'all');
  const paired = pairedRatios(runs, 'all');
  if (!none || !all || !(none.requestsPerSec > 0) || paired.length === 0) return undefined;
  const ratio = median(paired);
  const slowdown = 1 - ratio;
  const valid = none.errors === 0 && all.errors === 0;
  const met = valid && slowdown <= RULE_COST_TARGET;
  const change = `${(Math.abs(slowdown) * 100).toFixed(1)}% ${slowdown >= 0 ? 'fewer' : 'more'}`;
  const each = paired.map((r) => r.toFixed(2)).join(', ');
  const { disturbedRuns, text: caveats } = pairedCaveats(runs, 'rules', ['none', 'all'], paired.length);
  const text = valid
    ? `The typical rule set: ${ratio.toFixed(2)}× the requests per second of no rules (median of the paired runs' ratios ${each}), ` +
      `${change}; target: at most ${RULE_COST_TARGET * 100}% fewer: **${met ? 'met' : 'NOT met'}**.${caveats}`
    : `**Not valid**: wrk saw failed or refused requests (errors column), so the ratio ${ratio.toFixed(2)}× does not measure the rules.`;
  return { ratio, ratioOfMedians: all.requestsPerSec / none.requestsPerSec, paired, slowdown, met, valid, disturbedRuns, text };
}

/** The rule set in words, from the same data the instances run, for the report. */
export function describeRuleSet(): string {
  const defaults = variantDefaults('all');
  const ranges = rejectedRanges();
  const v6 = ranges.filter((r) => r.includes(':')).length;
  const req = HEADER_RULES.request_headers;
  const res = HEADER_RULES.response_headers;
  const n = (o: object) => Object.keys(o).length;
  return (
    `Typical rule set (bench/rules.ts), in \`defaults\`: ${headerRuleCount(defaults)} header rules ` +
    `(request: ${n(req.set) + n(req.add)} set/add, ${req.remove.length} removed; ` +
    `response: ${n(res.set) + n(res.add)} set/add, ${res.remove.length} removed), ` +
    `a firewall ip_reject of ${fmtInt(REJECT_ENTRIES)} CIDR ranges (${fmtInt(REJECT_ENTRIES - v6)} IPv4 /24s, ${fmtInt(v6)} IPv6 /48s, ` +
    `none holding wrk's 127.0.0.1), ${PATH_REJECT.length} path_reject rules and a local rate limit per ${RATE_LIMIT.key} ` +
    `(${RATE_LIMIT.rate}, burst ${fmtInt(RATE_LIMIT.burst)}: checked on every request, never reached).`
  );
}

/**
 * The in-process table (rule-micro.ts): nanoseconds per request of the rules'
 * own code, the difference to no rules, and that difference as a share of
 * what a request cost weir's CPU without rules under load (`noneCpuPerRequestUs`).
 */
export function microTable(results: readonly MicroResult[], noneCpuPerRequestUs: number | undefined): string {
  const base = results.find((r) => r.variant === 'none')?.nsPerRequest;
  const lines = [
    '| weir config | rule-dependent work per request | over no rules | share of a request\'s CPU without rules |',
    '| --- | --: | --: | --: |',
  ];
  for (const r of results) {
    const extra = base === undefined ? undefined : r.nsPerRequest - base;
    const share = extra !== undefined && noneCpuPerRequestUs !== undefined && noneCpuPerRequestUs > 0 ? `${((extra / 1000 / noneCpuPerRequestUs) * 100).toFixed(1)}%` : '–';
    lines.push(
      `| ${VARIANT_LABELS[r.variant]} | ${(r.nsPerRequest / 1000).toFixed(2)} µs | ` +
        `${extra === undefined ? '–' : `${extra >= 0 ? '+' : ''}${(extra / 1000).toFixed(2)} µs`} | ${share} |`,
    );
  }
  return lines.join('\n');
}

/** CPU time per request of a summary, in microseconds. */
export function cpuPerRequestUs(s: WrkSummary | undefined): number | undefined {
  return s && Number.isFinite(s.cpuCores) && s.requestsPerSec > 0 ? (s.cpuCores * 1e6) / s.requestsPerSec : undefined;
}

export function pinningText(pinning: CpuPlan | string | undefined): string {
  if (pinning === undefined) return 'unpinned';
  if (typeof pinning === 'string') return `${pinning} (expect noise)`;
  return `weir pinned to CPU ${pinning.lb}, wrk and the backends to CPU ${pinning.rest} (taskset; see bench/pinning.ts for why)`;
}

export interface RuleCostReport {
  /** The load, after "Rule cost: ...". */
  title: string;
  variants: readonly RuleVariant[];
  summaries: WrkSummary[];
  runs: readonly WrkRun[];
  missing: Map<string, string>;
  startRss: Record<string, number> | undefined;
  pinning: CpuPlan | string | undefined;
  micro: MicroResult[] | string | undefined;
}

/** The report's section: the load table, the verdict, how it was measured, and the in-process table. */
export function ruleCostSection(r: RuleCostReport): string[] {
  return [
    `## Rule cost: weir without and with a typical rule set, ${r.title}`,
    '',
    ruleCostTable(r.summaries, r.runs, r.missing, r.variants, r.startRss),
    '',
    ruleCostVerdict(r.summaries, r.runs)?.text ?? 'No verdict: the no-rules or the rule-set instance has no result.',
    '',
    `${describeRuleSet()} Each row is its own weir process on the same backends, started afresh every round (RSS at ` +
      'start: the median over rounds) and warmed up for at least 5 s; in each round every variant runs right next to a no-rules run; ' +
      `${pinningText(r.pinning)}. \`× no rules\` is the ratio of the ` +
      "medians; `paired` divides each run's req/s by the no-rules run next to it, so that the machine's drift from one " +
      'minute to the next cancels; the verdict takes its median. CPU per request is the LB CPU over req/s.',
    '',
    "### The rules' own code per request, in process (bench/rule-micro.ts)",
    '',
    typeof r.micro === 'string' || r.micro === undefined
      ? `No figures: ${r.micro ?? 'not run'}.`
      : microTable(r.micro, cpuPerRequestUs(r.summaries.find((s) => s.lb === 'none'))),
    '',
    "Planning wrk's GET / (route, firewall, request headers), checking the rate limit and editing the backend's response " +
      'headers, repeated in one process with no I/O, median of 9 interleaved batches. Left out: the extra header bytes ' +
      "through Node's HTTP server and the upstream client, and a larger heap; the load runs above include them.",
    '',
  ];
}

// The workers scenario: nginx with `worker_processes 2`, HAProxy with
// `nbthread 2` and `weir start --workers 2` (a primary and worker processes
// sharing the listening port) under the throughput tables' load, after them,
// against the same backends; each compared with nginx with one worker (the
// main table's nginx) and with nginx with two. Its table, and the check that
// no worker outlives its primary. See "Workers" in bench/README.md.

import { readdirSync, readFileSync } from 'node:fs';
import type { LbName } from './lbs.ts';
import { processTree } from './procfs.ts';
import { fmtCores, fmtInt, fmtMiB, fmtMs, fmtRatio } from './report.ts';
import type { WrkSummary } from './report.ts';

/** The load balancers with a workers row (http-proxy has no multi-process mode of its own). */
export const WORKER_LBS = ['nginx', 'haproxy', 'weir'] as const satisfies readonly LbName[];
export type WorkerLb = (typeof WORKER_LBS)[number];
/** Worker processes (nginx, weir) or threads (HAProxy) per load balancer. */
export const WORKERS = 2;
/** The row of nginx with one worker, the reference of the `× nginx-1` column. */
export const NGINX_1 = 'nginx-1';
/** The row of nginx with WORKERS workers, the reference of the `× nginx-2` column. */
export const NGINX_N = `nginx-${WORKERS}`;
/** wrk's connections and the scenario name of each run's record. */
export const WORKERS_LOADS = [
  { scenario: 'workers64', connections: 64 },
  { scenario: 'workers256', connections: 256 },
] as const;

/** A row's label in the runs and the table: "nginx-2", "haproxy-2", "weir-2". */
export function workersLabel(name: WorkerLb): string {
  return `${name}-${WORKERS}`;
}

/** How each row was configured, for the table. */
export function rowTitle(label: string): string {
  const [name, n] = label.split('-') as [string, string | undefined];
  switch (name) {
    case 'nginx':
      return `nginx, \`worker_processes ${n ?? '?'}\``;
    case 'haproxy':
      return `HAProxy, \`nbthread ${n ?? '?'}\``;
    case 'weir':
      return `weir, \`--workers ${n ?? '?'}\``;
    default:
      return label;
  }
}

export interface WorkersTableInput {
  /** The rows' summaries at this connection count, `lb` being the row's label. */
  summaries: WrkSummary[];
  /** nginx with one worker at the same connection count (the main table's, or measured beside the rows with --workers-only). */
  nginx1?: WrkSummary;
  /** Where nginx-1's figures come from, for its row: "main table", "measured in these rounds". */
  nginx1Source: string;
  /** The rows in order (labels), nginx-1 excluded: it always comes first. */
  rows: string[];
  /** Rows without figures, with the reason. */
  missing: Map<string, string>;
  /** Resident memory of each row's process tree once it answered, by label. */
  startRss: Record<string, number>;
  /** CPUs of the machine, for the share of the machine each used. */
  nproc: number;
}

/** One of the scenario's two tables (64 or 256 connections). */
export function workersTable(input: WorkersTableInput): string {
  const { summaries, nginx1, nproc } = input;
  const nginxN = summaries.find((s) => s.lb === NGINX_N);
  const lines = [
    `| LB | req/s | × nginx-1 | × nginx-${WORKERS} | p50 | p99 | p99 × nginx-1 | peak RSS (all processes) | CPU (all processes) | of the machine (${nproc} CPUs) | errors | req/s min–max | RSS at start |`,
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  const row = (title: string, s: WrkSummary, rssAtStart: number): string => {
    const failed = s.failed > 0 ? ` (${s.failed} of ${s.rounds + s.failed} rounds failed)` : '';
    return (
      `| ${title}${failed} | ${fmtInt(s.requestsPerSec)} | ${fmtRatio(s.requestsPerSec, nginx1?.requestsPerSec)} | ` +
      `${fmtRatio(s.requestsPerSec, nginxN?.requestsPerSec)} | ${fmtMs(s.p50Ms)} | ${fmtMs(s.p99Ms)} | ` +
      `${fmtRatio(s.p99Ms, nginx1?.p99Ms)} | ${fmtMiB(s.peakRssBytes)} | ${fmtCores(s.cpuCores)} | ` +
      `${fmtCores(s.cpuCores / nproc)} | ${fmtInt(s.errors)} | ${fmtInt(s.minRps)}–${fmtInt(s.maxRps)} | ${fmtMiB(rssAtStart)} |`
    );
  };
  const empty = (title: string, why: string) => `| ${title} | ${why} | | | | | | | | | | | |`;
  const title1 = `${rowTitle(NGINX_1)} (${input.nginx1Source})`;
  lines.push(nginx1 ? row(title1, nginx1, input.startRss[NGINX_1] ?? Number.NaN) : empty(title1, input.missing.get(NGINX_1) ?? 'not measured'));
  for (const label of input.rows) {
    const s = summaries.find((x) => x.lb === label);
    lines.push(s ? row(rowTitle(label), s, input.startRss[label] ?? Number.NaN) : empty(rowTitle(label), input.missing.get(label) ?? 'no result'));
  }
  return lines.join('\n');
}

/** What follows the tables: what the columns are, and why two workers cannot double anything on a small machine. */
export function workersExplanation(nproc: number, nginx1Source: 'main' | 'here'): string[] {
  const reference =
    nginx1Source === 'main'
      ? "nginx with one worker from this run's throughput table (64 connections) and 256-connection table"
      : 'nginx with one worker, measured in the same rounds as the rows below it (--workers-only: the main tables did not run)';
  const small =
    nproc <= 4
      ? `On this ${nproc}-CPU machine wrk (${WORKERS} threads) and the backend nginx run on the same ${nproc} CPUs as the load ` +
        `balancer, so a ${WORKERS}-worker row cannot show a ${WORKERS}× gain over one worker: what the load balancer gains in ` +
        'CPU, wrk and the backend lose.'
      : `wrk (${WORKERS} threads) and the backend nginx run on the same ${nproc} CPUs as the load balancer.`;
  return [
    `\`× nginx-1\` is the ratio to ${reference}; \`× nginx-${WORKERS}\` to nginx with \`worker_processes ${WORKERS}\`. ` +
      `Peak RSS and CPU are summed over each one's process tree (nginx's master and ${WORKERS} workers, HAProxy's one ` +
      `process with ${WORKERS} threads, weir's primary and its workers); CPU 100% = one CPU busy the whole run, and ` +
      `"of the machine" is that over all ${nproc} CPUs.`,
    '',
    `${small} The CPU columns say how much of the machine each load balancer took.`,
  ];
}

// --- Workers that outlive their primary -------------------------------------
// weir's workers are its children: stopping the primary (SIGTERM, by its pid)
// must end them too. Should one be left, the harness finds it (by the pid and
// start time it had in the tree, or by the run's unique config path on its
// command line) and ends it by its pid, and the report says so.

export interface ProcId {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot): a reused pid has another. */
  startTicks: string;
}

/** State and start time of a process, from /proc/<pid>/stat; undefined when it is gone. */
function statOf(pid: number): { state: string; startTicks: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": fields[0] is field 3 (state), so field 22 is fields[19].
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', startTicks: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** The descendants of `root` right now (root excluded), with their start times. */
export function snapshotDescendants(root: number): ProcId[] {
  return processTree(root)
    .slice(1)
    .flatMap((pid) => {
      const stat = statOf(pid);
      return stat ? [{ pid, startTicks: stat.startTicks }] : [];
    });
}

/** Those of `snapshot` still running (the same pid with the same start time, not a zombie). */
export function stillRunning(snapshot: ProcId[]): ProcId[] {
  return snapshot.filter((p) => {
    const stat = statOf(p.pid);
    return stat !== undefined && stat.state !== 'Z' && stat.startTicks === p.startTicks;
  });
}

/** Processes whose command line contains `marker` (a path unique to this run), not zombies, this process excluded. */
export function processesWith(marker: string): ProcId[] {
  const out: ProcId[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmdline.split('\0').some((arg) => arg.includes(marker))) continue;
    const stat = statOf(pid);
    if (stat && stat.state !== 'Z') out.push({ pid, startTicks: stat.startTicks });
  }
  return out;
}

/**
 * Waits up to `graceMs` for the given processes to end by themselves, then
 * SIGKILLs (by pid) those still running. Returns the pids it had to kill.
 */
export async function endLeftovers(candidates: ProcId[], graceMs = 2000): Promise<number[]> {
  const deadline = Date.now() + graceMs;
  let left = stillRunning(candidates);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = stillRunning(left);
  }
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // ended meanwhile
    }
  }
  return left.map((p) => p.pid);
}

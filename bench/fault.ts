// The "backend failure under load" scenario: each load balancer, configured for
// failover as its manual recommends, in front of three backend processes
// (bench/fault-backend.ts); under a constant load backend 2 is killed with
// SIGKILL at 2 s and started again on the same port at half the run. Counted:
// every request and every failed one by kind and by phase, and how many
// requests the restarted backend 2 got (traffic came back). See bench/README.md.

import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Upstream } from './configs.ts';
import { runLoad } from './fault-load.ts';
import type { LoadResult } from './fault-load.ts';
import { startLb } from './lbs.ts';
import type { Context, LbName, Running } from './lbs.ts';
import { freePort, isAlive, logTail, startProcess, stopProcess, waitForHttp } from './processes.ts';
import type { Managed } from './processes.ts';

export const FAULT_CONCURRENCY = 32;
export const FAULT_KILL_AT_MS = 2000;
export const FAULT_REQUEST_TIMEOUT_MS = 5000;
/** The backend that is killed and restarted (1-based, as in the report). */
export const FAULT_VICTIM = 2;
const BACKENDS = 3;
/** Load balancers the scenario is not run for, and why. */
export const FAULT_NOT_RUN: Partial<Record<LbName, string>> = {
  'http-proxy': 'not run: http-proxy has no health checks or retries, so there is no failover to configure',
};

export interface FaultPlan {
  durationMs: number;
  killAtMs: number;
  restartAtMs: number;
  concurrency: number;
  requestTimeoutMs: number;
}

export function faultPlan(durationS: number): FaultPlan {
  return {
    durationMs: durationS * 1000,
    killAtMs: FAULT_KILL_AT_MS,
    restartAtMs: (durationS * 1000) / 2,
    concurrency: FAULT_CONCURRENCY,
    requestTimeoutMs: FAULT_REQUEST_TIMEOUT_MS,
  };
}

export interface FaultPhases {
  /** Failed requests that ended before backend 2 was killed (should be none). */
  beforeKill: number;
  /** From the kill until the restarted backend 2 answered its health check directly. */
  outage: number;
  /** From then to the end. */
  afterRestart: number;
}

export interface FaultRun {
  lb: string;
  /** Ms after the load started: when SIGKILL was sent, when the new process was spawned, when it answered /healthcheck. */
  killedAtMs?: number;
  restartedAtMs?: number;
  backAtMs?: number;
  /** Whether every backend had answered through the load balancer before the load started. */
  allBackendsServedBeforeLoad?: boolean;
  load?: Omit<LoadResult, 'failureTimesMs'>;
  phases?: FaultPhases;
  /** First and last failure, ms after the start. */
  firstFailureMs?: number;
  lastFailureMs?: number;
  /** Requests the restarted backend 2 received, and when the first arrived (ms after it was back). */
  victimAfterRestart?: { requests: number; firstAfterBackMs?: number };
  /** GET / counted by each backend at the end (backend 2: its restarted process only). */
  backendRequests?: Array<number | undefined>;
  error?: string;
}

export function splitPhases(failureTimesMs: number[], killedAtMs: number, backAtMs: number): FaultPhases {
  const phases: FaultPhases = { beforeKill: 0, outage: 0, afterRestart: 0 };
  for (const t of failureTimesMs) {
    if (t < killedAtMs) phases.beforeKill++;
    else if (t < backAtMs) phases.outage++;
    else phases.afterRestart++;
  }
  return phases;
}

interface Count {
  requests: number;
  firstAt: number | null;
}

function getCount(port: number): Promise<Count | undefined> {
  return new Promise((resolve) => {
    const req = http.get(`http://127.0.0.1:${port}/__count`, { agent: false, timeout: 2000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => (text += s));
      res.once('end', () => {
        try {
          resolve(JSON.parse(text) as Count);
        } catch {
          resolve(undefined);
        }
      });
      res.once('error', () => resolve(undefined));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
  });
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', () => resolve(0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startBackend(ctx: Context, dir: string, index: number, port: number): Promise<Managed> {
  const script = path.join(ctx.repoRoot, 'bench', 'fault-backend.ts');
  const proc = await startProcess(
    `fault backend ${index}`,
    ctx.nodeBin,
    [script, String(port), String(index)],
    path.join(dir, `backend-${index}.log`),
    { cwd: ctx.repoRoot },
  );
  try {
    await waitForHttp(proc, `http://127.0.0.1:${port}/healthcheck`, ctx.readyTimeoutMs);
  } catch (err) {
    await stopProcess(proc, 2000);
    throw err;
  }
  return proc;
}

/** Sends GET / through the load balancer until every backend has counted one (the LB sees all three up). */
async function primeBackends(lbUrl: string, ports: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (let i = 0; i < ports.length; i++) await getStatus(lbUrl);
    const counts = await Promise.all(ports.map(getCount));
    if (counts.every((c) => c !== undefined && c.requests > 0)) return true;
    await sleep(200);
  }
  return false;
}

export interface FaultHooks {
  log: (message: string) => void;
  /** Called with the load balancer once it runs (e.g. to record its resident memory). */
  onStarted?: (lb: Running) => void;
}

/**
 * One load balancer through the scenario. Throws only when the load balancer
 * did not start (the caller skips it); other problems end up in `error`.
 */
export async function runFaultScenario(name: LbName, plan: FaultPlan, ctx: Context, hooks: FaultHooks): Promise<FaultRun> {
  const { log } = hooks;
  const dir = path.join(ctx.tmp, `fault-backends-${name}`);
  mkdirSync(dir, { recursive: true });
  const ports: number[] = [];
  for (let i = 0; i < BACKENDS; i++) ports.push(await freePort());
  const backends: Managed[] = [];
  let lb: Running | undefined;
  const run: FaultRun = { lb: name };
  try {
    for (const [i, port] of ports.entries()) backends.push(await startBackend(ctx, dir, i + 1, port));
    const upstreams: Upstream[] = ports.map((port) => ({ host: '127.0.0.1', port }));
    lb = await startLb(name, 'fault', upstreams, ctx, 'failover');
    hooks.onStarted?.(lb);
    log(`${name} (fault) ready on ${lb.url} (pid ${lb.proc.pid}); backends on ${ports.join(', ')}`);
    run.allBackendsServedBeforeLoad = await primeBackends(lb.url, ports, 10_000);
    if (!run.allBackendsServedBeforeLoad) log(`  ${name}: not every backend answered through it before the load (see the JSON)`);

    const victimIndex = FAULT_VICTIM - 1;
    const victimPort = ports[victimIndex] as number;
    let victim = backends[victimIndex] as Managed;
    const start = Date.now();
    let actionError: string | undefined;
    const kill = sleep(plan.killAtMs).then(() => {
      run.killedAtMs = Date.now() - start;
      victim.child.kill('SIGKILL'); // by the pid of the process this harness spawned
      log(`  ${name}: backend ${FAULT_VICTIM} (pid ${victim.pid}) killed at ${(run.killedAtMs / 1000).toFixed(2)} s`);
    });
    const restart = kill
      .then(() => victim.exited)
      .then(() => sleep(Math.max(0, plan.restartAtMs - (Date.now() - start))))
      .then(async () => {
        run.restartedAtMs = Date.now() - start;
        victim = await startBackend(ctx, dir, FAULT_VICTIM, victimPort);
        backends[victimIndex] = victim;
        run.backAtMs = Date.now() - start;
        log(
          `  ${name}: backend ${FAULT_VICTIM} restarted at ${(run.restartedAtMs / 1000).toFixed(2)} s ` +
            `(pid ${victim.pid}), answering from ${(run.backAtMs / 1000).toFixed(2)} s`,
        );
      })
      .catch((err: unknown) => {
        actionError = `restarting backend ${FAULT_VICTIM} failed: ${err instanceof Error ? err.message : String(err)}`;
      });
    const load = await runLoad({
      url: lb.url,
      concurrency: plan.concurrency,
      durationMs: plan.durationMs,
      timeoutMs: plan.requestTimeoutMs,
    });
    await restart;

    const { failureTimesMs, ...rest } = load;
    run.load = rest;
    // The timers started a moment before the client's clock; put both on the client's.
    const offset = start - load.startedAt;
    if (run.killedAtMs !== undefined) run.killedAtMs += offset;
    if (run.restartedAtMs !== undefined) run.restartedAtMs += offset;
    if (run.backAtMs !== undefined) run.backAtMs += offset;
    run.phases = splitPhases(failureTimesMs, run.killedAtMs ?? Infinity, run.backAtMs ?? Infinity);
    run.firstFailureMs = failureTimesMs.length > 0 ? Math.min(...failureTimesMs) : undefined;
    run.lastFailureMs = failureTimesMs.length > 0 ? Math.max(...failureTimesMs) : undefined;

    const counts = await Promise.all(ports.map(getCount));
    run.backendRequests = counts.map((c) => c?.requests);
    const victimCount = counts[victimIndex];
    if (victimCount && run.backAtMs !== undefined) {
      const backAtEpoch = load.startedAt + run.backAtMs;
      run.victimAfterRestart = {
        requests: victimCount.requests,
        firstAfterBackMs: victimCount.firstAt === null ? undefined : Math.max(0, victimCount.firstAt - backAtEpoch),
      };
    }
    if (!isAlive(lb.proc)) {
      run.error = `${name} is no longer running (${lb.proc.exitInfo ?? 'unknown'})\n${logTail(lb.proc)}`;
    } else if (actionError) {
      run.error = actionError;
    }
    const p = run.phases;
    log(
      `  ${name}: ${load.requests} requests, ${load.failed} failed ` +
        `(before kill ${p.beforeKill}, outage ${p.outage}, after restart ${p.afterRestart})` +
        (load.failed > 0 ? ` by kind ${JSON.stringify(load.byKind)}` : '') +
        `; backend ${FAULT_VICTIM} got ${run.victimAfterRestart?.requests ?? '?'} after its restart` +
        (run.error ? `; ERROR: ${run.error}` : ''),
    );
    return run;
  } finally {
    await Promise.all([...(lb ? [lb.proc] : []), ...backends].map((p) => stopProcess(p, 15_000)));
  }
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtS = (ms: number | undefined): string => (ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`);

export function formatKinds(byKind: Record<string, number>): string {
  const entries = Object.entries(byKind).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length === 0 ? '–' : entries.map(([k, n]) => `${k}: ${fmtInt(n)}`).join(', ');
}

/** The markdown table; `missing` gives the reason for a load balancer without a run. */
export function faultTable(runs: FaultRun[], missing: Map<string, string>, lbs: string[]): string {
  const lines = [
    `| LB | requests | failed | failed % | failed by kind | backend ${FAULT_VICTIM} requests after restart | ` +
      'failed before kill / outage / after restart | first–last failure |',
    '| --- | --: | --: | --: | --- | --: | --: | --: |',
  ];
  for (const lb of lbs) {
    const run = runs.find((r) => r.lb === lb);
    if (!run?.load || !run.phases) {
      const why = missing.get(lb) ?? run?.error?.split('\n')[0] ?? 'no result';
      lines.push(`| ${lb} | ${why} | | | | | | |`);
      continue;
    }
    const { load, phases } = run;
    const pct = load.requests > 0 ? `${((100 * load.failed) / load.requests).toFixed(3)}%` : '–';
    const v = run.victimAfterRestart;
    const victim =
      v === undefined
        ? 'unknown'
        : v.requests === 0
          ? '0 (no traffic came back)'
          : `${fmtInt(v.requests)} (first ${fmtS(v.firstAfterBackMs)} after it was up)`;
    const when = load.failed > 0 ? `${fmtS(run.firstFailureMs)}–${fmtS(run.lastFailureMs)}` : '–';
    const flag = run.error ? ` (error: ${run.error.split('\n')[0]})` : '';
    lines.push(
      `| ${lb}${flag} | ${fmtInt(load.requests)} | ${fmtInt(load.failed)} | ${pct} | ${formatKinds(load.byKind)} | ` +
        `${victim} | ${phases.beforeKill} / ${phases.outage} / ${phases.afterRestart} | ${when} |`,
    );
  }
  return lines.join('\n');
}

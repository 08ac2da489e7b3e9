// Resident memory and CPU time of a process tree, read from /proc (Linux only).
// A load balancer is measured as its whole tree: nginx's master plus worker,
// a Node process plus anything it might fork.

import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_S = 100; // USER_HZ; 100 on every Linux configuration in practice

interface StatLine {
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** cutime + cstime: children that have exited and been waited for, in clock ticks. */
  reapedChildrenTicks: number;
}

function readStat(pid: number): StatLine | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is parenthesised and may itself contain spaces or ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
    return {
      ppid: Number(fields[1]),
      cpuTicks: Number(fields[11]) + Number(fields[12]),
      reapedChildrenTicks: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return undefined;
  }
}

/** The pid and all of its descendants that exist right now. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    const list = children.get(stat.ppid);
    if (list) list.push(pid);
    else children.set(stat.ppid, [pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** VmRSS in bytes, or 0 if the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Summed VmRSS of the pid and its descendants, in bytes. */
export function treeRssBytes(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + rssBytes(pid), 0);
}

/** Total CPU seconds (user + system) used so far by the given processes. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readStat(pid)?.cpuTicks ?? 0;
  return ticks / CLOCK_TICKS_PER_S;
}

/** Ticks the machine's CPUs spent in user and system mode since boot (the "cpu" line of /proc/stat). */
function machineBusyTicks(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/) ?? [];
  // cpu user nice system idle ...
  return Number(fields[1]) + Number(fields[2]) + Number(fields[3]);
}

/** Ticks used by this harness, its exited children (wrk runs) and its live descendants (load balancers, backends). */
function ownTicks(): number {
  const self = readStat(process.pid);
  const descendants = processTree(process.pid).slice(1);
  return (self ? self.cpuTicks + self.reapedChildrenTicks : 0) + cpuSeconds(descendants) * CLOCK_TICKS_PER_S;
}

/**
 * CPU that processes this harness did not start used meanwhile: another job on
 * the machine (a test suite, a build) slows a load balancer in a way no
 * number of rounds averages out, so a run records it. Roughly: kernel
 * threads working for the harness's own traffic count as other, so a quiet
 * machine reads a few percent of a core.
 */
export class OtherLoad {
  private readonly machine = machineBusyTicks();
  private readonly own = ownTicks();
  private readonly startTime = process.hrtime.bigint();

  /** In cores (1.0 = one CPU busy all the time). */
  stop(): number {
    const wallS = Number(process.hrtime.bigint() - this.startTime) / 1e9;
    const other = machineBusyTicks() - this.machine - (ownTicks() - this.own);
    return wallS > 0 ? Math.max(0, other / CLOCK_TICKS_PER_S / wallS) : 0;
  }
}

export interface Sample {
  /** Highest summed VmRSS of the tree seen while sampling, in bytes. */
  peakRssBytes: number;
  /** CPU time the tree used per second of wall time while sampling (1.0 = one full core). */
  cpuCores: number;
}

/**
 * Samples the tree's summed VmRSS every intervalMs (the tree itself is re-read
 * every second, so a worker that restarts is still counted) until stop().
 */
export class TreeSampler {
  private readonly root: number;
  private pids: number[];
  private peak = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly startCpu: number;
  private readonly startTime = process.hrtime.bigint();

  constructor(root: number, intervalMs = 100) {
    this.root = root;
    this.pids = processTree(root);
    this.startCpu = cpuSeconds(this.pids);
    this.sample();
    this.timers.push(setInterval(() => this.sample(), intervalMs));
    this.timers.push(setInterval(() => (this.pids = processTree(this.root)), 1000));
  }

  private sample(): void {
    let total = 0;
    for (const pid of this.pids) total += rssBytes(pid);
    if (total > this.peak) this.peak = total;
  }

  stop(): Sample {
    for (const t of this.timers) clearInterval(t);
    this.sample();
    const pids = processTree(this.root);
    const wallS = Number(process.hrtime.bigint() - this.startTime) / 1e9;
    const cpu = cpuSeconds(pids) - this.startCpu;
    return { peakRssBytes: this.peak, cpuCores: wallS > 0 ? cpu / wallS : 0 };
  }
}

/** What a process tree used while a measurement ran, and what the rest of the machine did meanwhile. */
export interface SampledCost {
  peakRssBytes: number;
  cpuCores: number;
  /** Cores busy outside this benchmark's own processes. */
  otherCores: number;
}

/** Runs `work` while sampling the tree of `pid`; a failure of `work` comes back as `error`, the cost is measured either way. */
export async function whileSampling<T>(pid: number, work: () => Promise<T>): Promise<{ cost: SampledCost; result?: T; error?: unknown }> {
  const sampler = new TreeSampler(pid);
  const other = new OtherLoad();
  let result: T | undefined;
  let error: unknown;
  let failed = false;
  try {
    result = await work();
  } catch (caught) {
    failed = true;
    error = caught;
  }
  const sample = sampler.stop();
  const cost = { peakRssBytes: sample.peakRssBytes, cpuCores: sample.cpuCores, otherCores: other.stop() };
  return failed ? { cost, error } : { cost, result: result as T };
}

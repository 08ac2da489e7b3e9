// CPU pinning for the rule-cost scenario. On the 2-vCPU virtual machine of the
// README, where the scheduler happens to put weir, wrk and the backend moves
// weir's throughput by up to half from one 5 s run to the next (a wake-up
// across vCPUs costs the hypervisor much more than one on the same vCPU, and
// the guest cannot see that time as stolen). weir without rules measured
// 5,600-11,600 req/s over 8 runs unpinned and 10,500-12,600 pinned, a few
// minutes later. The host's own noise remains (the paired ratios of
// rule-cost.ts deal with that); pinning removes the part the guest causes.
// weir gets the last CPU to itself; wrk and the backend share the others.

import { spawnSync } from 'node:child_process';
import { processTree } from './procfs.ts';

export interface CpuPlan {
  /** taskset CPU list for weir. */
  lb: string;
  /** taskset CPU list for wrk and the backends. */
  rest: string;
}

/** "0-3,6" → [0, 1, 2, 3, 6]; [] for text that is not a CPU list. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return [];
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** Undefined below two CPUs: there is nothing to keep apart. */
export function cpuPlan(cpus: readonly number[]): CpuPlan | undefined {
  if (cpus.length < 2) return undefined;
  return { lb: String(cpus.at(-1)), rest: cpus.slice(0, -1).join(',') };
}

/** The CPUs this process may run on, from taskset; undefined without taskset. */
export function allowedCpus(): number[] | undefined {
  const r = spawnSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const m = /list:\s*(\S+)/.exec(r.stdout ?? '');
  return m ? parseCpuList(m[1] as string) : undefined;
}

/**
 * Pins every thread of `pid` and of its descendants (a process this harness
 * started: nginx's master and worker, Node with its helper threads) to `cpus`.
 * Returns what went wrong, or undefined.
 */
export function pinTree(pid: number, cpus: string): string | undefined {
  for (const p of processTree(pid)) {
    const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(p)], { encoding: 'utf8' });
    if (r.status !== 0) return `taskset -a -p -c ${cpus} ${p}: ${(r.stderr ?? '').trim() || `exit ${r.status}`}`;
  }
  return undefined;
}

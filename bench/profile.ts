// A small reader for V8's .cpuprofile JSON (what `node --cpu-prof` writes):
// self time per function, summed over every node of the call tree that runs it.
// Usage on its own: node bench/profile.ts <file.cpuprofile> [top=25]

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface FunctionTime {
  functionName: string;
  /** url:line:column (1-based), or '' for V8's pseudo-entries such as (garbage collector). */
  location: string;
  selfMs: number;
  /** Share of the profile's total sampled time, 0..1. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Time in (idle): the process waiting in epoll with nothing to do. */
  idleMs: number;
  functions: FunctionTime[];
}

function frameKey(f: CallFrame): string {
  return `${f.functionName}\u0000${f.url}\u0000${f.lineNumber}\u0000${f.columnNumber}`;
}

function shortUrl(url: string, root: string): string {
  let u = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (u.startsWith(root + path.sep)) u = u.slice(root.length + 1);
  return u;
}

/**
 * Self time per function. Each sample is charged the time until the next sample
 * (the last one: until endTime), which is how DevTools attributes time; without
 * samples, hitCount times the mean sampling interval is used instead.
 */
export function summarizeProfile(profile: CpuProfile, root = process.cwd()): ProfileSummary {
  const byNode = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const selfUsByNode = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    let t = profile.startTime;
    const times = deltas.map((d) => (t += d));
    for (let i = 0; i < samples.length; i++) {
      const next = i + 1 < times.length ? (times[i + 1] as number) : profile.endTime;
      const dur = Math.max(0, next - (times[i] as number));
      const id = samples[i] as number;
      selfUsByNode.set(id, (selfUsByNode.get(id) ?? 0) + dur);
    }
  } else {
    const hits = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
    const interval = hits > 0 ? (profile.endTime - profile.startTime) / hits : 0;
    for (const n of profile.nodes) selfUsByNode.set(n.id, (n.hitCount ?? 0) * interval);
  }

  const byFunction = new Map<string, { frame: CallFrame; us: number }>();
  let totalUs = 0;
  for (const [id, us] of selfUsByNode) {
    const node = byNode.get(id);
    if (!node || us === 0) continue;
    totalUs += us;
    const key = frameKey(node.callFrame);
    const entry = byFunction.get(key);
    if (entry) entry.us += us;
    else byFunction.set(key, { frame: node.callFrame, us });
  }

  let idleUs = 0;
  const functions: FunctionTime[] = [];
  for (const { frame, us } of byFunction.values()) {
    if (frame.functionName === '(idle)') idleUs += us;
    const location = frame.url
      ? `${shortUrl(frame.url, root)}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`
      : '';
    functions.push({
      functionName: frame.functionName || '(anonymous)',
      location,
      selfMs: us / 1000,
      share: totalUs > 0 ? us / totalUs : 0,
    });
  }
  functions.sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, functions };
}

/** The top `count` functions by self time as a markdown table. */
export function formatTopFunctions(summary: ProfileSummary, count = 25): string {
  const busyMs = summary.totalMs - summary.idleMs;
  const lines = [
    `sampled ${(summary.totalMs / 1000).toFixed(1)} s, of which ${(summary.idleMs / 1000).toFixed(1)} s idle; ` +
      `"% busy" excludes (idle)`,
    '',
    '| # | self ms | % total | % busy | function | location |',
    '| --: | --: | --: | --: | --- | --- |',
  ];
  summary.functions.slice(0, count).forEach((f, i) => {
    const busy = f.functionName === '(idle)' || busyMs <= 0 ? '' : `${((f.selfMs / busyMs) * 100).toFixed(1)}`;
    lines.push(
      `| ${i + 1} | ${f.selfMs.toFixed(1)} | ${(f.share * 100).toFixed(1)} | ${busy} | ` +
        `\`${f.functionName}\` | ${f.location} |`,
    );
  });
  return lines.join('\n');
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/profile.ts <file.cpuprofile> [top=25]');
    process.exit(2);
  }
  console.log(formatTopFunctions(summarizeProfile(readProfile(file)), Number(process.argv[3] ?? 25)));
}

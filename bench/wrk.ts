// Running wrk and reading its text report.

import { runCommand } from './processes.ts';

export interface WrkResult {
  requests: number;
  durationS: number;
  requestsPerSec: number;
  /** Latency percentiles in milliseconds, from `--latency`; undefined without it. */
  p50Ms?: number;
  p75Ms?: number;
  p90Ms?: number;
  p99Ms?: number;
  /** connect + read + write + timeout socket errors. */
  socketErrors: number;
  timeouts: number;
  non2xx3xx: number;
}

const TIME_UNITS_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "812.00us" | "1.23ms" | "2.00s" | "1.50m" → milliseconds. */
export function parseWrkTime(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`unrecognised wrk time: ${JSON.stringify(text)}`);
  return Number(m[1]) * (TIME_UNITS_MS[m[2] as string] as number);
}

/** Parses the report wrk prints on stdout. Throws if the essential lines are missing. */
export function parseWrkOutput(output: string): WrkResult {
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),/m.exec(output);
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  if (!total || !rps) throw new Error(`cannot parse wrk output:\n${output}`);
  const result: WrkResult = {
    requests: Number(total[1]),
    durationS: parseWrkTime(`${total[2]}${total[3]}`) / 1000,
    requestsPerSec: Number(rps[1]),
    socketErrors: 0,
    timeouts: 0,
    non2xx3xx: 0,
  };
  // "  Latency Distribution" is followed by one "     50%    1.10ms" line per percentile.
  const lines = output.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'Latency Distribution');
  if (start >= 0) {
    for (const line of lines.slice(start + 1)) {
      const m = /^\s*(\d+(?:\.\d+)?)%\s+(\S+)\s*$/.exec(line);
      if (!m) break;
      const ms = parseWrkTime(m[2] as string);
      if (m[1] === '50') result.p50Ms = ms;
      else if (m[1] === '75') result.p75Ms = ms;
      else if (m[1] === '90') result.p90Ms = ms;
      else if (m[1] === '99') result.p99Ms = ms;
    }
  }
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  if (errors) {
    const [connect, read, write, timeout] = errors.slice(1).map(Number) as [number, number, number, number];
    result.socketErrors = connect + read + write + timeout;
    result.timeouts = timeout;
  }
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  if (non2xx) result.non2xx3xx = Number(non2xx[1]);
  return result;
}

export interface WrkOptions {
  url: string;
  threads: number;
  connections: number;
  durationS: number;
  latency: boolean;
  /** A taskset CPU list to run wrk on (the rule-cost scenario pins it, see pinning.ts). */
  cpus?: string;
}

export function wrkArgs(o: WrkOptions): string[] {
  const args = [`-t${o.threads}`, `-c${o.connections}`, `-d${o.durationS}s`, '--timeout', '5s'];
  if (o.latency) args.push('--latency');
  args.push(o.url);
  return args;
}

/** Runs wrk (bounded: killed 30 s after its duration) and returns the parsed report plus the raw text. */
export async function runWrk(o: WrkOptions): Promise<WrkResult & { raw: string }> {
  const [command, args] = o.cpus === undefined ? ['wrk', wrkArgs(o)] : ['taskset', ['-c', o.cpus, 'wrk', ...wrkArgs(o)]];
  const { code, output } = await runCommand(command, args, (o.durationS + 30) * 1000);
  if (code !== 0) throw new Error(`wrk exited with code ${code}:\n${output}`);
  return { ...parseWrkOutput(output), raw: output };
}

// The tools the benchmark needs (installed with apt-get when running as root)
// and a description of the machine for the top of the report.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

const TOOLS: Array<{ command: string; pkg: string }> = [
  { command: 'wrk', pkg: 'wrk' },
  { command: 'nginx', pkg: 'nginx' },
  { command: 'haproxy', pkg: 'haproxy' },
  // The TLS row: HTTP/2 load and full handshakes.
  { command: 'h2load', pkg: 'nghttp2-client' },
  { command: 'openssl', pkg: 'openssl' },
];

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Makes sure wrk, nginx, haproxy, h2load and openssl are installed. Returns an error message
 * (what to install) when they are missing and cannot be installed here.
 */
export function ensureTools(): string | undefined {
  let missing = TOOLS.filter((t) => !onPath(t.command));
  if (missing.length === 0) return undefined;
  const pkgs = missing.map((t) => t.pkg);
  if (process.getuid?.() === 0 && onPath('apt-get')) {
    console.log(`installing ${pkgs.join(' ')} with apt-get ...`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const first = spawnSync('apt-get', ['install', '-y', ...pkgs], { stdio: 'inherit', env });
    if (first.status !== 0) {
      // The package lists may be missing or stale on a fresh machine.
      spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
      spawnSync('apt-get', ['install', '-y', ...pkgs], { stdio: 'inherit', env });
    }
    missing = TOOLS.filter((t) => !onPath(t.command));
    if (missing.length === 0) return undefined;
  }
  return (
    `missing: ${missing.map((t) => t.command).join(', ')}. ` +
    `Install them first, e.g. on Debian/Ubuntu: sudo apt-get install -y ${missing.map((t) => t.pkg).join(' ')}`
  );
}

function firstLine(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  return text.split('\n')[0]?.trim() || '(unknown)';
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  nginx: string;
  haproxy: string;
  wrk: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine skews results. */
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? '(unknown)';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = (m[1] as string).trim();
  } catch {
    // keep os.cpus()'s answer
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    nginx: firstLine('nginx', ['-v']),
    haproxy: firstLine('haproxy', ['-v']),
    wrk: firstLine('wrk', ['-v']),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function formatMachine(m: MachineInfo): string {
  return [
    `- CPUs: ${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.kernel}`,
    `- Node ${m.node}`,
    `- ${m.nginx}`,
    `- ${m.haproxy}`,
    `- ${m.wrk}`,
    `- load average at start: ${m.loadAverage.join(', ')}` +
      ((m.loadAverage[0] ?? 0) > 0.5 ? ' (the machine is not idle: expect noise)' : ''),
  ].join('\n');
}

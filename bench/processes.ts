// Child processes of the benchmark: spawning with logs to a file, stopping by pid
// (never by name), readiness polling, free ports. Every process started here is
// registered, so stopAll() (called from finally blocks and the SIGINT handler)
// ends exactly the processes this harness started and nothing else.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

export interface Managed {
  name: string;
  pid: number;
  child: ChildProcess;
  /** File receiving the process's stdout and stderr. */
  logFile: string;
  /** Resolves with a description ("exit code 1", "signal SIGTERM") once the process has ended. */
  exited: Promise<string>;
  /** Set once the process has ended. */
  exitInfo?: string;
}

const running = new Set<Managed>();

export interface StartOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts `command args` with stdout and stderr appended to `logFile` (no pipes, so a chatty child never blocks). */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  logFile: string,
  opts: StartOptions = {},
): Promise<Managed> {
  const fd = openSync(logFile, 'a');
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: ['ignore', fd, fd],
      });
    } catch (err) {
      closeSync(fd);
      reject(err as Error);
      return;
    }
    child.once('error', (err) => {
      closeSync(fd);
      reject(new Error(`${name}: cannot start ${command}: ${err.message}`));
    });
    child.once('spawn', () => {
      closeSync(fd);
      resolve(track(name, child, logFile));
    });
  });
}

/** Registers a spawned child so that stopAll() and killAllNow() reach it. */
function track(name: string, child: ChildProcess, logFile: string): Managed {
  let onExit: (info: string) => void = () => {};
  const exited = new Promise<string>((r) => (onExit = r));
  const managed: Managed = { name, pid: child.pid ?? -1, child, logFile, exited };
  child.once('exit', (code, signal) => {
    managed.exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
    running.delete(managed);
    onExit(managed.exitInfo);
  });
  running.add(managed);
  return managed;
}

/** Runs a command to completion, capturing stdout+stderr, killing it (by pid) after timeoutMs. */
export function runCommand(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let managed: Managed | undefined;
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('spawn', () => (managed = track(command, child, '')));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (managed) running.delete(managed);
      resolve({ code, output });
    });
  });
}

function alive(p: Managed): boolean {
  return p.exitInfo === undefined && p.child.exitCode === null && p.child.signalCode === null;
}

/** SIGTERM, then SIGKILL after graceMs. Only ever signals the pid this harness spawned. */
export async function stopProcess(p: Managed, graceMs = 5000): Promise<void> {
  if (!alive(p)) return;
  p.child.kill('SIGTERM');
  const timedOut = await Promise.race([
    p.exited.then(() => false),
    new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref()),
  ]);
  if (timedOut && alive(p)) {
    p.child.kill('SIGKILL');
    await p.exited;
  }
}

export async function stopAll(graceMs = 5000): Promise<void> {
  await Promise.all([...running].map((p) => stopProcess(p, graceMs)));
}

/** Last resort from a synchronous 'exit' handler: SIGKILL whatever is still registered. */
export function killAllNow(): void {
  for (const p of running) if (alive(p)) p.child.kill('SIGKILL');
}

/** Asks the kernel for a free port on 127.0.0.1 (released again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function getStatus(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', () => resolve(0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

/**
 * Polls GET url until it answers 200, for at most timeoutMs. Fails early if the
 * process exits. The error message includes the tail of the process log.
 */
export async function waitForHttp(p: Managed, url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    if (!alive(p)) {
      throw new Error(`${p.name} exited (${p.exitInfo ?? 'unknown'}) before answering ${url}\n${logTail(p)}`);
    }
    last = await getStatus(url, 1000);
    if (last === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seen = last === 0 ? 'no answer' : `last status ${last}`;
  throw new Error(`${p.name} did not answer 200 on ${url} within ${timeoutMs} ms (${seen})\n${logTail(p)}`);
}

/** The start and the end of the process log (a Node error has its message at the top, its stack below). */
export function logTail(p: Managed, head = 6, tail = 12): string {
  if (!p.logFile) return '';
  try {
    const text = readFileSync(p.logFile, 'utf8').trimEnd();
    if (!text) return `  (log ${p.logFile} is empty)`;
    let lines = text.split('\n');
    if (lines.length > head + tail + 1) {
      lines = [...lines.slice(0, head), `... (${lines.length - head - tail} more lines in ${p.logFile})`, ...lines.slice(-tail)];
    }
    return lines.map((l) => `  | ${l}`).join('\n');
  } catch {
    return '';
  }
}

export function isAlive(p: Managed): boolean {
  return alive(p);
}

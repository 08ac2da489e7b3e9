import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort } from './backends.ts';

/** From PATH; Debian's redis-server package puts it in /usr/bin, and .ci/run installs it. */
const REDIS_SERVER = 'redis-server';

export interface TestRedis {
  /** "redis://127.0.0.1:PORT" */
  readonly url: string;
  readonly port: number;
  /** The running server's process id. */
  readonly pid: number | undefined;
  /** Stops the server this helper started (SIGTERM, then SIGKILL after a bound). Safe to call twice. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop(), or stopping it first), with no data. */
  restart(): Promise<void>;
}

/**
 * A real redis-server on 127.0.0.1 and a free port, without persistence, in a
 * working directory of its own, ready (it answered PING) when this resolves.
 * redis-server cannot pick an ephemeral port itself, so a port is taken from
 * the kernel, released and given to it; if another process grabs it in
 * between, the start is tried again on another port.
 */
export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-redis-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await closedPort();
    try {
      let child = await launch(port, dir);
      const stopChild = async (): Promise<void> => {
        await terminate(child);
      };
      const redis: TestRedis = {
        url: `redis://127.0.0.1:${port}`,
        port,
        get pid() {
          return child.exitCode === null && child.signalCode === null ? child.pid : undefined;
        },
        async stop() {
          await stopChild();
          rmSync(dir, { recursive: true, force: true });
        },
        async restart() {
          await stopChild();
          child = await launch(port, dir);
        },
      };
      return redis;
    } catch (error) {
      lastError = error;
      if (!String(error).includes('Address already in use')) break;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`could not start redis-server: ${String(lastError)}`);
}

/** Starts redis-server on `port` and resolves once it answers PING; rejects with its output if it exits or stays silent. */
async function launch(port: number, dir: string, timeoutMs = 5_000): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', ''],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`redis-server could not be run (is the redis-server package installed?): ${error.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`redis-server on port ${port} exited (${code ?? signal}) before answering PING:\n${output}`)));
  });
  exited.catch(() => undefined);
  // A test process that dies without its after() hooks must not leave a server behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));

  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if ((await Promise.race([ping(port), exited])) && child.exitCode === null) return child;
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs}ms:\n${output}`);
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 20)), exited]);
    }
  } catch (error) {
    await terminate(child);
    throw error;
  }
}

/** Whether something on 127.0.0.1:port answers PING with PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

/** Ends the process this helper started, by its pid: SIGTERM, then SIGKILL if it has not exited within the bound. */
async function terminate(child: ChildProcess, timeoutMs = 5_000): Promise<void> {
  // Without a pid it never ran, and may never emit 'exit'.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  // A test may have paused it (SIGSTOP) to play a Redis that hangs.
  child.kill('SIGCONT');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

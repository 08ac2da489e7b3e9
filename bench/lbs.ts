// Starting the backends and the four load balancers, each as its own process
// with its config, log and pid file in its own directory under the run's temp dir.

import { mkdirSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import {
  backendNginxConf,
  faultHaproxyCfg,
  faultNginxLbConf,
  faultWeirYaml,
  haproxyCfg,
  nginxLbConf,
  weirTlsYaml,
  weirYaml,
} from './configs.ts';
import type { TlsFiles, Upstream } from './configs.ts';
import { freePort, isAlive, logTail, startProcess, stopProcess, waitForHttp } from './processes.ts';
import type { Managed } from './processes.ts';

export const LB_NAMES = ['nginx', 'haproxy', 'http-proxy', 'weir'] as const;
export type LbName = (typeof LB_NAMES)[number];

export interface Context {
  /** The run's temp dir (mkdtemp). */
  tmp: string;
  /** Repository root, the working directory of weir and the Node scripts. */
  repoRoot: string;
  /** The Node binary running this harness (Node 24 when started through npm run bench). */
  nodeBin: string;
  /** When set, weir runs with --cpu-prof and writes its profile under this dir. */
  profileDir?: string;
  readyTimeoutMs: number;
}

export interface Running {
  name: string;
  url: string;
  port: number;
  proc: Managed;
}

function instanceDir(ctx: Context, name: string): string {
  const dir = path.join(ctx.tmp, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Starts the process and waits until GET / through it answers 200 (over TLS
 * with `scheme` https); stops it again if that fails.
 */
async function startAndWait(
  name: string,
  port: number,
  command: string,
  args: string[],
  dir: string,
  ctx: Context,
  scheme: 'http' | 'https' = 'http',
): Promise<Running> {
  const proc = await startProcess(name, command, args, path.join(dir, 'output.log'), { cwd: ctx.repoRoot });
  const url = `${scheme}://127.0.0.1:${port}/`;
  try {
    await (scheme === 'https' ? waitForHttps : waitForHttp)(proc, url, ctx.readyTimeoutMs);
  } catch (err) {
    await stopProcess(proc, 2000);
    throw err;
  }
  return { name, url, port, proc };
}

function nginxArgs(dir: string, conf: string): string[] {
  const file = path.join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  // -e: the error log used before the config is read (default: a system path).
  return ['-p', dir, '-c', file, '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'];
}

/** One nginx process serving "hello from backend N" on two ports. */
export async function startBackends(ctx: Context): Promise<{ proc: Running; upstreams: Upstream[] }> {
  const ports = [await freePort(), await freePort()];
  const dir = instanceDir(ctx, 'backends');
  const args = nginxArgs(dir, backendNginxConf(dir, ports));
  const proc = await startAndWait('backend nginx', ports[0] as number, 'nginx', args, dir, ctx);
  await waitForHttp(proc.proc, `http://127.0.0.1:${ports[1]}/`, ctx.readyTimeoutMs);
  return { proc, upstreams: ports.map((port) => ({ host: '127.0.0.1', port })) };
}

/** The Node sink that discards upload bodies. */
export async function startSink(ctx: Context): Promise<{ proc: Running; upstreams: Upstream[] }> {
  const port = await freePort();
  const dir = instanceDir(ctx, 'upload-sink');
  const script = path.join(ctx.repoRoot, 'bench', 'upload-sink.ts');
  const proc = await startAndWait('upload sink', port, ctx.nodeBin, [script, String(port)], dir, ctx);
  return { proc, upstreams: [{ host: '127.0.0.1', port }] };
}

/**
 * Which configuration: `plain` is the throughput and upload one (round robin,
 * nothing else); `failover` adds each load balancer's health checks and
 * retries for the backend-failure scenario (not available for http-proxy).
 */
export type LbConfig = 'plain' | 'failover';

/**
 * Starts one load balancer in front of `upstreams`. `instance` names the
 * directory ("nginx-main", "weir-upload") and the process in messages.
 * `workers` above 1 (the workers scenario, plain config only): nginx
 * `worker_processes`, HAProxy `nbthread`, `weir start --workers`.
 */
export async function startLb(
  name: LbName,
  instance: string,
  upstreams: Upstream[],
  ctx: Context,
  config: LbConfig = 'plain',
  workers = 1,
): Promise<Running> {
  const port = await freePort();
  const label = `${name} (${instance})`;
  const dir = instanceDir(ctx, `${name}-${instance}`);
  const failover = config === 'failover';
  if (workers !== 1 && (failover || name === 'http-proxy')) {
    throw new Error(`${name}: ${workers} workers only in the plain config of nginx, HAProxy and weir`);
  }
  switch (name) {
    case 'nginx': {
      const conf = failover ? faultNginxLbConf(dir, port, upstreams) : nginxLbConf(dir, port, upstreams, workers);
      return startAndWait(label, port, 'nginx', nginxArgs(dir, conf), dir, ctx);
    }
    case 'haproxy': {
      const cfg = path.join(dir, 'haproxy.cfg');
      writeFileSync(cfg, failover ? faultHaproxyCfg(port, upstreams) : haproxyCfg(port, upstreams, workers));
      return startAndWait(label, port, 'haproxy', ['-f', cfg, '-db'], dir, ctx);
    }
    case 'http-proxy': {
      if (failover) throw new Error('http-proxy has no health checks or retries to configure for failover');
      const script = path.join(ctx.repoRoot, 'bench', 'http-proxy-lb.ts');
      const targets = upstreams.map((u) => `${u.host}:${u.port}`);
      return startAndWait(label, port, ctx.nodeBin, [script, String(port), ...targets], dir, ctx);
    }
    case 'weir': {
      const yaml = failover ? faultWeirYaml(port, upstreams) : weirYaml(port, upstreams);
      return launchWeir(label, port, dir, yaml, instance, ctx, workers === 1 ? [] : ['--workers', String(workers)]);
    }
  }
}

/** The TLS scenario's load balancers (http-proxy has none). */
export const TLS_LBS = ['nginx', 'haproxy', 'weir'] as const satisfies readonly LbName[];
export type TlsLbName = (typeof TLS_LBS)[number];

/**
 * One load balancer with the plain config of the throughput tables, but
 * terminating TLS with `tls` (HTTP/2 offered by ALPN); ready once GET / over
 * TLS answers 200. `nginxVersion`: `nginx -v`'s text, which decides how its
 * HTTP/2 is switched on.
 */
export async function startTlsLb(
  name: TlsLbName,
  upstreams: Upstream[],
  ctx: Context,
  tls: TlsFiles,
  nginxVersion: string,
): Promise<Running> {
  const port = await freePort();
  const label = `${name} (tls)`;
  const dir = instanceDir(ctx, `${name}-tls`);
  switch (name) {
    case 'nginx': {
      const conf = nginxLbConf(dir, port, upstreams, 1, { files: tls, nginxVersion });
      return startAndWait(label, port, 'nginx', nginxArgs(dir, conf), dir, ctx, 'https');
    }
    case 'haproxy': {
      const cfg = path.join(dir, 'haproxy.cfg');
      writeFileSync(cfg, haproxyCfg(port, upstreams, 1, tls));
      return startAndWait(label, port, 'haproxy', ['-f', cfg, '-db'], dir, ctx, 'https');
    }
    case 'weir':
      return launchWeir(label, port, dir, weirTlsYaml(port, upstreams, tls), 'tls', ctx, [], 'https');
  }
}

/** GET url over TLS (the certificate not checked: the bench made it) → status, 0 when there was no answer. */
function getStatusTls(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(url, { agent: false, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', () => resolve(0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

/** waitForHttp (processes.ts) over TLS. */
async function waitForHttps(p: Managed, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    if (!isAlive(p)) throw new Error(`${p.name} exited (${p.exitInfo ?? 'unknown'}) before answering ${url}\n${logTail(p)}`);
    last = await getStatusTls(url, 1000);
    if (last === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seen = last === 0 ? 'no answer over TLS' : `last status ${last}`;
  throw new Error(`${p.name} did not answer 200 on ${url} within ${timeoutMs} ms (${seen})\n${logTail(p)}`);
}

/** weir with a config of the caller's: `yaml` gets the port it must listen on. Directory and profile as startLb's. */
export async function startWeirWith(instance: string, yaml: (port: number) => string, ctx: Context): Promise<Running> {
  const port = await freePort();
  return launchWeir(`weir (${instance})`, port, instanceDir(ctx, `weir-${instance}`), yaml(port), instance, ctx);
}

/**
 * `node bin/weir.js start -c <dir>/weir.yaml`, then `startArgs`. With
 * `--workers` not under the profiler: the workers would inherit --cpu-prof and
 * each write a profile of its own into the instance's directory.
 */
function launchWeir(
  label: string,
  port: number,
  dir: string,
  yaml: string,
  instance: string,
  ctx: Context,
  startArgs: string[] = [],
  scheme: 'http' | 'https' = 'http',
): Promise<Running> {
  const cfg = path.join(dir, 'weir.yaml');
  writeFileSync(cfg, yaml);
  const args: string[] = [];
  if (ctx.profileDir && startArgs.length === 0) {
    const profDir = path.join(ctx.profileDir, instance);
    mkdirSync(profDir, { recursive: true });
    args.push('--cpu-prof', '--cpu-prof-dir', profDir);
  }
  args.push(path.join(ctx.repoRoot, 'bin', 'weir.js'), 'start', '-c', cfg, ...startArgs);
  return startAndWait(label, port, ctx.nodeBin, args, dir, ctx, scheme);
}

/** A run's error when its load balancer is gone: its exit and the head and tail of its log. */
export function deadError(lb: Running, what = 'is no longer running'): string {
  return `${lb.name} ${what} (${lb.proc.exitInfo ?? 'unknown'})\n${logTail(lb.proc)}`;
}

// A real ACME CA for tests: Debian's pebble, with pebble-challtestsrv as its
// DNS server answering every A query with 127.0.0.1, so any name a test asks
// a certificate for is validated on 127.0.0.1:httpPort, where the test
// answers HTTP-01 itself. Everything listens on 127.0.0.1 and free ports;
// pebble's own HTTPS certificate comes from a throwaway CertAuthority whose
// certificate (caPath) a client must trust. stop() and start() take pebble
// down and bring it back on the same ports (a new pebble: new roots, no
// accounts), to play a CA that is away.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort } from './backends.ts';
import { CertAuthority } from './certs.ts';

/** From PATH; Debian's pebble package puts both in /usr/bin, and .ci/run installs it. */
const PEBBLE = 'pebble';
const CHALLTESTSRV = 'pebble-challtestsrv';

export interface TestPebble {
  /** "https://127.0.0.1:PORT/dir" */
  readonly directoryUrl: string;
  /** The CA certificate (PEM file) that signed pebble's HTTPS certificate: what acme.ca names. */
  readonly caPath: string;
  /** Where pebble fetches HTTP-01 challenges (on 127.0.0.1, whatever the name). */
  readonly httpPort: number;
  /** Pebble's process id while it runs. */
  readonly pid: number | undefined;
  /** The intermediate certificate pebble issues from (PEM; new at every start). */
  intermediateCertificate(): Promise<string>;
  /** Stops pebble and its DNS server (SIGTERM, then SIGKILL after a bound). Safe to call twice. */
  stop(): Promise<void>;
  /** Starts them again on the same ports, after stop(). */
  start(): Promise<void>;
  /** Stops everything and removes the temporary directory. */
  close(): Promise<void>;
}

interface Ports {
  acme: number;
  management: number;
  dns: number;
  dnsManagement: number;
  tlsAlpn: number;
}

/**
 * Pebble and pebble-challtestsrv, ready (the directory answers) when this
 * resolves. `httpPort` is where the test serves HTTP-01 answers. The ports
 * are taken from the kernel and released for the programs to bind; if one
 * was grabbed in between, the start is tried again with others.
 */
export async function startPebble(options: { httpPort: number }): Promise<TestPebble> {
  const authority = new CertAuthority('weir test CA for pebble');
  const served = authority.issue({ names: ['localhost', 'IP:127.0.0.1'], file: 'pebble' });
  const dir = mkdtempSync(join(tmpdir(), 'weir-pebble-'));
  const cleanup = (): void => {
    authority.close();
    rmSync(dir, { recursive: true, force: true });
  };
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const ports: Ports = {
      acme: await closedPort(),
      management: await closedPort(),
      dns: await closedPort(),
      dnsManagement: await closedPort(),
      tlsAlpn: await closedPort(),
    };
    const configPath = join(dir, 'pebble-config.json');
    writeFileSync(configPath, JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${ports.acme}`,
        managementListenAddress: `127.0.0.1:${ports.management}`,
        certificate: served.certPath,
        privateKey: served.keyPath,
        httpPort: options.httpPort,
        tlsPort: ports.tlsAlpn,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }, null, 2));
    let children: ChildProcess[] = [];
    const launchAll = async (): Promise<void> => {
      const dns = await launchChalltestsrv(ports);
      try {
        children = [dns, await launchPebble(configPath, ports, authority.caCert)];
      } catch (error) {
        await terminate(dns);
        throw error;
      }
    };
    const stopAll = async (): Promise<void> => {
      await Promise.all(children.map((child) => terminate(child)));
      children = [];
    };
    try {
      await launchAll();
    } catch (error) {
      lastError = error;
      if (String(error).includes('address already in use')) continue;
      break;
    }
    return {
      directoryUrl: `https://127.0.0.1:${ports.acme}/dir`,
      caPath: authority.caPath,
      httpPort: options.httpPort,
      get pid() {
        const pebble = children[1];
        return pebble && pebble.exitCode === null && pebble.signalCode === null ? pebble.pid : undefined;
      },
      intermediateCertificate: () => httpsGet(`https://127.0.0.1:${ports.management}/intermediates/0`, authority.caCert),
      stop: stopAll,
      async start() {
        await stopAll();
        await launchAll();
      },
      async close() {
        await stopAll();
        cleanup();
      },
    };
  }
  cleanup();
  throw new Error(`could not start pebble: ${String(lastError)}`);
}

/** The DNS server, resolved once its DNS port accepts TCP connections. */
async function launchChalltestsrv(ports: Ports): Promise<ChildProcess> {
  const child = spawnWatched(CHALLTESTSRV, [
    '-defaultIPv4', '127.0.0.1',
    '-defaultIPv6', '',
    '-dns01', `127.0.0.1:${ports.dns}`,
    '-management', `127.0.0.1:${ports.dnsManagement}`,
    '-http01', '',
    '-https01', '',
    '-tlsalpn01', '',
  ], {});
  await untilReady(child, () => canConnect(ports.dns), `${CHALLTESTSRV} (DNS on 127.0.0.1:${ports.dns})`);
  return child.process;
}

/** Pebble, resolved once its directory answers over HTTPS. */
async function launchPebble(configPath: string, ports: Ports, caCert: string): Promise<ChildProcess> {
  const child = spawnWatched(PEBBLE, ['-config', configPath, '-dnsserver', `127.0.0.1:${ports.dns}`], {
    // No random 0-15 s sleeps before validating; no good nonce refused as bad.
    PEBBLE_VA_NOSLEEP: '1',
    PEBBLE_WFE_NONCEREJECT: '0',
  });
  const directory = `https://127.0.0.1:${ports.acme}/dir`;
  await untilReady(child, () => httpsGet(directory, caCert).then(() => true, () => false), `${PEBBLE} (${directory})`);
  return child.process;
}

interface WatchedChild {
  process: ChildProcess;
  output: () => string;
  /** Rejects when the process exits (or cannot be run), with its output. */
  exited: Promise<never>;
}

function spawnWatched(command: string, args: string[], env: Record<string, string>): WatchedChild {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`${command} could not be run (is the pebble package installed?): ${error.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`${command} exited (${code ?? signal}) before it was ready:\n${output}`)));
  });
  exited.catch(() => undefined);
  // A test process that dies without its after() hooks must not leave a server behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  return { process: child, output: () => output, exited };
}

/** Polls `ready` (each probe bounded) until true; rejects with the output if the process exits or the bound passes. */
async function untilReady(child: WatchedChild, ready: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (await Promise.race([ready(), child.exited])) return;
      if (Date.now() > deadline) throw new Error(`${what} was not ready within ${timeoutMs} ms:\n${child.output()}`);
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 25)), child.exited]);
    }
  } catch (error) {
    await terminate(child.process);
    throw error;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** GET over HTTPS trusting `ca`; the body, or a rejection for anything but 200. */
function httpsGet(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, timeout: 2_000, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url}: ${response.statusCode}`))));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url}: no answer within 2 s`)));
    request.on('error', reject);
  });
}

/** Ends a process this helper started, by its pid: SIGTERM, then SIGKILL if it has not exited within the bound. */
async function terminate(child: ChildProcess, timeoutMs = 5_000): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

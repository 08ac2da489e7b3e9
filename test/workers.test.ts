// `weir start --workers 2`: a primary and two worker processes serving one
// port, each test against real processes and real backends on 127.0.0.1.
// The workers share the port (each its own SO_REUSEPORT socket), get the heap
// flags, and are reloaded all or none; a worker killed with -9 under load is
// replaced and costs only its own requests; the backends' state (active
// checks, passive ejections, drains) comes from the primary to every worker;
// a local rate limit holds for the group as one; metrics and the admin API
// count the whole group; SIGTERM drains every worker and exits 0.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import http from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import http2 from 'node:http2';
import { closedPort, startBackend, type TestBackend } from './helpers/backends.ts';
import { CertAuthority } from './helpers/certs.ts';
import { spawnCli, type RunningCli } from './helpers/cli.ts';
import { eventually, send } from './helpers/client.ts';
import { loadAgainstLimit } from './helpers/rate-load.ts';

/** CPU time (user + system, clock ticks) of a process, from /proc. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Status {
  generation: number;
  last_reload: { result: string; message: string | null } | null;
  workers?: { running: Array<{ slot: number; pid: number }>; restarts: number };
}

interface ServicesView {
  services: Array<{ name: string; backends: Array<{ address: string; state: string; reason: string; inflight: number }> }>;
}

/** A group started by `weir start -c FILE --workers 2`, and what it printed on start. */
class Group {
  readonly process: RunningCli;
  url = '';
  admin = '';

  constructor(file: string, extra: string[] = [], env: NodeJS.ProcessEnv = process.env) {
    this.process = spawnCli(['start', '-c', file, '--workers', '2', ...extra], undefined, env);
  }

  async started(): Promise<this> {
    const [, url, admin] = await this.process.waitFor(/"listen":"(http:\/\/[^"]+)","admin":"(http:\/\/[^"]+)"/, 30_000);
    this.url = url!;
    this.admin = admin!;
    return this;
  }

  async status(): Promise<Status> {
    return JSON.parse((await send(`${this.admin}/api/status`)).body) as Status;
  }

  async pids(): Promise<number[]> {
    return (await this.status()).workers!.running.map((worker) => worker.pid);
  }

  async backendState(service: string, address: string): Promise<string | undefined> {
    const { services } = JSON.parse((await send(`${this.admin}/api/services`)).body) as ServicesView;
    return services.find((entry) => entry.name === service)?.backends.find((backend) => backend.address === address)?.state;
  }

  async stop(): Promise<number | null> {
    if (this.process.child.exitCode === null) this.process.child.kill('SIGTERM');
    return this.process.exited;
  }
}

/** `count` requests, each on a connection of its own (so the kernel spreads them over the workers), `parallel` at a time. */
async function burst(url: string, count: number, parallel = 8): Promise<Array<{ status: number; backend: string | undefined; headers: http.IncomingHttpHeaders }>> {
  const replies: Array<{ status: number; backend: string | undefined; headers: http.IncomingHttpHeaders }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next++;
        const reply = await send(url);
        replies.push({ status: reply.status, backend: reply.headers['x-backend'] as string | undefined, headers: reply.headers });
      }
    }),
  );
  return replies;
}

describe('weir start --workers 2', () => {
  let dir: string;
  let a: TestBackend;
  let b: TestBackend;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weir-workers-'));
    a = await startBackend('a');
    b = await startBackend('b');
  });

  after(async () => {
    await Promise.all([a.close(), b.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  describe('one port, every worker, reloads to all or none, a worker killed under load', () => {
    let file: string;
    let group: Group;

    const config = (extra: string[] = []): string =>
      [
        'listen: 127.0.0.1:0',
        'admin: { listen: "127.0.0.1:0" }',
        ...extra,
        'routes:',
        '  - name: app',
        '    path: /',
        '    service: app',
        '    response_headers: { set: { X-Gen: "${GEN:-one}" } }',
        'services:',
        `  app: { servers: [${a.address}, ${b.address}] }`,
        '',
      ].join('\n');

    before(async () => {
      file = join(dir, 'group.yaml');
      await writeFile(file, config());
      group = new Group(file);
      await group.started();
    });

    after(async () => {
      await group.stop();
    });

    it('runs two workers, with the heap flags, that both serve the port', async () => {
      const pids = await group.pids();
      assert.equal(pids.length, 2);
      for (const pid of pids) {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        assert.ok(argv.includes('--max-semi-space-size=16') && argv.includes('--heap-growing-percent=50'), `worker ${pid} runs with the heap flags: ${argv.join(' ')}`);
      }
      const ticks = pids.map(cpuTicks);
      const replies = await burst(`${group.url}/spread`, 600);
      assert.ok(replies.every((reply) => reply.status === 200));
      // Each worker did real work: some tens of ms of CPU each (a tick is 10 ms).
      pids.forEach((pid, i) => assert.ok(cpuTicks(pid) - ticks[i]! >= 3, `worker ${pid} served part of 600 connections (CPU ticks ${ticks[i]} → ${cpuTicks(pid)})`));
    });

    it('reloads every worker on SIGHUP, and a config one worker cannot apply changes none', async () => {
      const start = (await group.status()).generation;
      await writeFile(file, config().replace('${GEN:-one}', 'two'));
      group.process.child.kill('SIGHUP');
      await group.process.waitFor(/config reloaded in every worker/);
      const replies = await burst(`${group.url}/r`, 60);
      assert.deepEqual(new Set(replies.map((reply) => reply.headers['x-gen'])), new Set(['two']));
      assert.equal((await group.status()).generation, start + 1);

      // The primary accepts this file, but no worker can open its access log (a directory): no worker takes it.
      await writeFile(file, config([`access_log: { path: ${JSON.stringify(dir)} }`]).replace('${GEN:-one}', 'three'));
      const refused = await send(`${group.admin}/api/reload`, { method: 'POST' });
      assert.equal(refused.status, 500, refused.body);
      assert.match(refused.body, /not every worker could apply the config, so none does/);
      const after = await burst(`${group.url}/r`, 60);
      assert.deepEqual(new Set(after.map((reply) => reply.headers['x-gen'])), new Set(['two']));
      const status = await group.status();
      assert.equal(status.generation, start + 1);
      assert.equal(status.last_reload?.result, 'failure');
      await writeFile(file, config());
    });

    it('kill -9 of one worker under load: the other keeps serving, a new one takes its place, and only requests on the dead worker fail', async () => {
      const [victim, survivor] = await group.pids();
      const openedAt = new WeakMap<Socket, number>();
      let deathReported = Infinity;
      let ok = 0;
      const failures: Array<{ error: string; openedBefore: boolean }> = [];
      let running = true;
      const agents = Array.from({ length: 8 }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
      const clients = agents.map(async (agent) => {
        while (running) {
          await new Promise<void>((resolve) => {
            const req = http.get(`${group.url}/load`, { agent }, (res) => {
              res.resume();
              res.on('end', () => {
                if (res.statusCode === 200) ok++;
                else failures.push({ error: `status ${res.statusCode}`, openedBefore: false });
                resolve();
              });
            });
            req.on('socket', (socket: Socket) => {
              if (!openedAt.has(socket)) openedAt.set(socket, performance.now());
            });
            req.on('error', (error) => {
              const opened = req.socket ? openedAt.get(req.socket) : undefined;
              failures.push({ error: error.message, openedBefore: opened === undefined || opened < deathReported });
              resolve();
            });
          });
        }
      });
      try {
        await eventually('load through both workers', () => ok > 200);
        const ticks = cpuTicks(survivor!);
        process.kill(victim!, 'SIGKILL');
        await group.process.waitFor(new RegExp(`worker \\d \\(pid ${victim}\\) exited \\(signal SIGKILL\\)`));
        deathReported = performance.now();
        const atDeath = ok;
        await group.process.waitFor(/started in place of the one that exited/, 30_000);
        assert.ok(ok > atDeath, 'requests were answered while the killed worker was being replaced');
        assert.ok(cpuTicks(survivor!) > ticks, 'the other worker kept serving');
        const replaced = await group.pids();
        assert.equal(replaced.length, 2);
        assert.ok(replaced.includes(survivor!) && !replaced.includes(victim!), `the new worker has a new pid: ${replaced.join(', ')}`);
        const mark = ok;
        await eventually('more load after the replacement', () => ok > mark + 300, 10_000);
        assert.equal((await group.status()).workers?.restarts, 1);
      } finally {
        running = false;
        await Promise.all(clients);
        for (const agent of agents) agent.destroy();
      }
      // A connection the dead worker held may lose the one request it had in flight; nothing else fails.
      assert.ok(failures.length <= agents.length, `at most one failed request per client connection: ${JSON.stringify(failures)}`);
      assert.deepEqual(
        failures.filter((failure) => !failure.openedBefore),
        [],
        'no request failed on a connection opened after weir reported the death',
      );
      assert.ok(failures.every((failure) => !failure.error.startsWith('status')), `no failure was an HTTP error: ${JSON.stringify(failures)}`);
    });
  });

  it('a TLS listener with HTTP/2 is served by the group; ACME is refused for a group', async () => {
    const authority = new CertAuthority();
    try {
      const cert = authority.issue({ names: ['localhost'] });
      const tlsPort = await closedPort();
      const file = join(dir, 'tls.yaml');
      const config = (tls: string) =>
        [
          'listeners:',
          '  - address: 127.0.0.1:0',
          `  - address: 127.0.0.1:${tlsPort}`,
          `    tls: ${tls}`,
          'admin: { listen: "127.0.0.1:0" }',
          'routes:',
          '  - service: app',
          'services:',
          '  app:',
          `    servers: [${a.address}]`,
          '',
        ].join('\n');
      await writeFile(file, config(`{ certificates: [{ cert: ${cert.certPath}, key: ${cert.keyPath} }] }`));
      const group = await new Group(file).started();
      try {
        // A new connection each time, so the kernel spreads them over the workers.
        for (let i = 0; i < 10; i++) {
          const session = http2.connect(`https://localhost:${tlsPort}`, { ca: authority.caCert });
          try {
            const status = await new Promise<number>((resolve, reject) => {
              const stream = session.request({ ':path': '/' });
              let answered = 0;
              stream.on('response', (headers) => (answered = Number(headers[':status'])));
              stream.resume();
              stream.on('end', () => resolve(answered));
              stream.on('error', reject);
            });
            assert.equal(status, 200);
          } finally {
            session.close();
          }
        }
        assert.equal((await group.status()).workers!.running.length, 2);
      } finally {
        assert.equal(await group.stop(), 0);
      }
      await writeFile(file, config('{ acme: { email: ops@example.com } }').replace('  - service: app', '  - service: app\n    host: shop.example.com'));
      const refused = spawnCli(['start', '-c', file, '--workers', '2']);
      await refused.waitFor(/ACME certificates need a single process/, 15_000);
      assert.notEqual(await refused.exited, 0);
    } finally {
      authority.close();
    }
  });

  it('workers never load the YAML parser or the schema: the primary validates, they get the result', async () => {
    // A module hook in every process of the group (NODE_OPTIONS reaches the workers) notes which process resolves yaml or zod.
    const hook = join(dir, 'note-modules.mjs');
    const noted = join(dir, 'modules.log');
    await writeFile(
      hook,
      [
        "import { registerHooks } from 'node:module';",
        "import { appendFileSync } from 'node:fs';",
        'const seen = new Set();',
        'registerHooks({ resolve(specifier, context, next) {',
        '  const result = next(specifier, context);',
        '  const name = /node_modules\\/(yaml|zod)\\//.exec(result.url)?.[1];',
        `  if (name && !seen.has(name)) { seen.add(name); appendFileSync(${JSON.stringify(noted)}, process.pid + ' ' + name + '\\n'); }`,
        '  return result;',
        '} });',
        '',
      ].join('\n'),
    );
    const file = join(dir, 'modules.yaml');
    await writeFile(file, ['listen: 127.0.0.1:0', 'admin: { listen: "127.0.0.1:0" }', 'routes:', '  - { path: /, service: app }', 'services:', `  app: { servers: [${a.address}] }`, ''].join('\n'));
    const group = new Group(file, [], { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(hook).href}` });
    try {
      await group.started();
      assert.equal((await send(`${group.url}/`)).status, 200);
      const pids = await group.pids();
      const lines = (await readFile(noted, 'utf8')).trim().split('\n');
      // The primary's pid appears twice: before and after it relaunched itself with the heap flags.
      const loadedBy = (pid: number): string[] => [...new Set(lines.filter((line) => line.startsWith(`${pid} `)).map((line) => line.split(' ')[1]!))].sort();
      assert.deepEqual(loadedBy(group.process.child.pid!), ['yaml', 'zod'], 'the primary loads both (else the hook saw nothing)');
      for (const pid of pids) assert.deepEqual(loadedBy(pid), [], `worker ${pid} loaded none of them`);
    } finally {
      await group.stop();
    }
  });

  describe('backend state from the primary', () => {
    let group: Group;
    let flaky: TestBackend;
    let doomed: TestBackend;

    before(async () => {
      // flaky answers 500 to everything but its health check; doomed is stopped during a test.
      flaky = await startBackend('flaky', (req, res) => {
        req.resume();
        res.setHeader('x-backend', 'flaky');
        res.statusCode = req.url === '/healthcheck' ? 200 : 500;
        res.end('flaky');
      });
      doomed = await startBackend('doomed');
      const file = join(dir, 'state.yaml');
      await writeFile(
        file,
        [
          'listen: 127.0.0.1:0',
          'admin: { listen: "127.0.0.1:0" }',
          'routes:',
          '  - { name: passive, path: /passive, service: passive }',
          '  - { name: active, path: /active, service: active }',
          'services:',
          `  passive: { servers: [${a.address}, ${flaky.address}], retries: { attempts: 0 }, passive_health: { consecutive_failures: 4, base_ejection: 60s } }`,
          `  active: { servers: [${b.address}, ${doomed.address}], retries: { attempts: 0 }, passive_health: false, health_check: { interval: 200ms, timeout: 100ms, unhealthy_threshold: 1, healthy_threshold: 1 } }`,
          '',
        ].join('\n'),
      );
      group = new Group(file);
      await group.started();
    });

    after(async () => {
      await group.stop();
      await flaky.close();
      await doomed.close();
    });

    it('passive health counts failures over every worker, and the ejection reaches them all', async () => {
      const replies: Array<{ status: number; backend: string | undefined }> = [];
      // One request at a time, each on a connection of its own: the workers take turns at random.
      await eventually('flaky to be ejected', async () => {
        const reply = await send(`${group.url}/passive`);
        replies.push({ status: reply.status, backend: reply.headers['x-backend'] as string | undefined });
        return (await group.backendState('passive', flaky.address)) === 'ejected';
      }, 15_000);
      const failed = replies.filter((reply) => reply.status === 500).length;
      // 4 in a row over the group eject it (each worker counting alone would let through up to 2 × 4).
      assert.ok(failed >= 4 && failed <= 6, `flaky failed ${failed} requests before its ejection: ${JSON.stringify(replies)}`);
      // The primary decided; each worker hears of it one IPC hop later.
      await eventually('no worker sends requests to the ejected backend', async () => (await burst(`${group.url}/passive`, 80)).every((reply) => reply.status === 200 && reply.backend === 'a'), 2_000);
      const metrics = (await send(`${group.admin}/metrics`)).body;
      assert.match(metrics, new RegExp(`^weir_ejections_total\\{service="passive",backend="${flaky.address}"\\} 1$`, 'm'));
    });

    it('active health check results from the primary reach every worker', async () => {
      await eventually('doomed up', async () => (await group.backendState('active', doomed.address)) === 'up');
      await doomed.close();
      await eventually('doomed down', async () => (await group.backendState('active', doomed.address)) === 'down');
      await eventually('no worker sends requests to the backend that is down', async () => (await burst(`${group.url}/active`, 80)).every((reply) => reply.status === 200 && reply.backend === 'b'), 2_000);
    });

    it('a drain by the admin API reaches every worker', async () => {
      const drained = await send(`${group.admin}/api/services/passive/backends/${encodeURIComponent(a.address)}/drain`, { method: 'POST' });
      assert.equal(drained.status, 200, drained.body);
      // a drained and flaky ejected: the passive service has nothing left, in
      // every worker once the primary's message has reached it (one IPC hop).
      await eventually('every worker refuses the passive service', async () => (await burst(`${group.url}/passive`, 40)).every((reply) => reply.status === 503), 2_000);
      assert.equal((await send(`${group.admin}/api/services/passive/backends/${encodeURIComponent(a.address)}/enable`, { method: 'POST' })).status, 200);
      await eventually('a back in every worker', async () => (await burst(`${group.url}/passive`, 20)).every((reply) => reply.status === 200));
    });
  });

  describe('a local rate limit and the metrics, for the group as one', () => {
    const RATE = 50;
    const BURST = 50;
    let group: Group;

    before(async () => {
      const file = join(dir, 'limit.yaml');
      await writeFile(
        file,
        [
          'listen: 127.0.0.1:0',
          'admin: { listen: "127.0.0.1:0" }',
          'routes:',
          '  - { name: open, path: /open, service: app }',
          `  - { name: limited, path: /limited, service: app, rate_limit: { key: client_ip, rate: ${RATE}/s, burst: ${BURST} } }`,
          'services:',
          `  app: { servers: [${a.address}] }`,
          '',
        ].join('\n'),
      );
      group = new Group(file);
      await group.started();
    });

    after(async () => {
      await group.stop();
    });

    it('one client on many connections gets one limit in all, within 10%, not one per worker', async () => {
      const { allowed, limited, seconds } = await loadAgainstLimit(() => `${group.url}/limited`, 2_500);
      const expected = BURST + RATE * seconds;
      assert.ok(limited > 0, 'the load went past the limit');
      assert.ok(
        Math.abs(allowed - expected) <= expected * 0.1,
        `allowed ${allowed} of ${allowed + limited} in ${seconds.toFixed(2)} s; one limit for the group allows ${expected.toFixed(0)}, one per worker ${(2 * expected).toFixed(0)}`,
      );
      const metrics = (await send(`${group.admin}/metrics`)).body;
      const decided = (decision: string): number => Number(new RegExp(`^weir_rate_limit_decisions_total\\{limit="routes\\[1\\]\\.rate_limit",decision="${decision}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
      assert.equal(decided('allowed'), allowed);
      assert.equal(decided('denied'), limited);
    });

    it('metrics add up every worker, and keep counting a worker that died', async () => {
      const count = async (): Promise<number> => {
        const text = (await send(`${group.admin}/metrics`)).body;
        return [...text.matchAll(/^weir_requests_total\{route="open",service="app",code="200"\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
      };
      const before = await count();
      const replies = await burst(`${group.url}/open`, 300);
      assert.ok(replies.every((reply) => reply.status === 200));
      assert.equal(await count(), before + 300);
      const text = (await send(`${group.admin}/metrics`)).body;
      assert.match(text, /^weir_workers 2$/m);

      const [victim] = await group.pids();
      process.kill(victim!, 'SIGKILL');
      await group.process.waitFor(/started in place of the one that exited/, 30_000);
      assert.equal(await count(), before + 300, 'the requests the dead worker served are still counted');
      assert.match((await send(`${group.admin}/metrics`)).body, /^weir_worker_restarts_total 1$/m);
      const { services } = JSON.parse((await send(`${group.admin}/api/services`)).body) as ServicesView;
      assert.equal(services[0]!.backends[0]!.inflight, 0);
    });

    it('SIGTERM drains every worker and exits 0', async () => {
      const pids = await group.pids();
      assert.equal(await group.stop(), 0);
      for (const pid of pids) assert.ok(!alive(pid), `worker ${pid} is gone`);
    });
  });
});

// Backend pools: retries and what is never retried, passive health, backups,
// draining, stickiness, limits and queueing. Real backends on 127.0.0.1.
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, describe, it } from 'node:test';
import { closedPort, startBackend, type TestBackend } from './helpers/backends.ts';
import { eventually, send } from './helpers/client.ts';
import { startWatchedWeir } from './helpers/weir.ts';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const answer = (name: string, status = 200): Handler => (req, res) => {
  req.resume();
  req.on('end', () => {
    res.statusCode = status;
    res.setHeader('x-backend', name);
    res.end(`${name} ${req.method}`);
  });
};

describe('backend pools', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  async function backend(name: string, handler: Handler = answer(name)): Promise<TestBackend> {
    const started = await startBackend(name, handler);
    cleanup.push(() => started.close());
    return started;
  }

  async function weirWith(services: Record<string, unknown>, routes: unknown[] = [{ path: '/', service: 'app' }]) {
    const watched = await startWatchedWeir({ routes, services });
    cleanup.push(() => watched.weir.close());
    return watched;
  }

  it('retries a refused connection on another backend, for any method: the backend never saw it', async () => {
    const alive = await backend('alive');
    const { weir, lines } = await weirWith({
      app: { servers: [`127.0.0.1:${await closedPort()}`, alive.address], passive_health: false },
    });
    for (let i = 0; i < 6; i++) {
      const method = i % 2 === 0 ? 'GET' : 'POST';
      const reply = await send(`${weir.url}/x`, { method, body: method === 'POST' ? 'data' : undefined, headers: method === 'POST' ? { 'content-length': '4' } : {} });
      assert.equal(reply.status, 200, `${method} ${i}`);
      assert.equal(reply.body, `alive ${method}`);
    }
    assert.ok(lines.some((line) => /^retrying .* connect failed: ECONNREFUSED/.test(String(line.msg))));
  });

  it('never sends a POST that reached a backend to a second one, but retries a GET', async () => {
    const resetter = await backend('resetter', (req) => {
      req.resume();
      req.on('end', () => req.socket.destroy());
    });
    const good = await backend('good');
    const { weir } = await weirWith({ app: { servers: [resetter.address, good.address], passive_health: false } });
    // Round robin starts at the resetter.
    const post = await send(`${weir.url}/order`, { method: 'POST', body: 'once', headers: { 'content-length': '4' } });
    assert.equal(post.status, 502);
    assert.equal(good.seen.filter((r) => r.method === 'POST').length, 0, 'the POST reached a second backend');
    assert.equal(resetter.seen.filter((r) => r.method === 'POST').length, 1);
    for (let i = 0; i < 4; i++) assert.equal((await send(`${weir.url}/page`)).status, 200);
  });

  it('retries configured statuses for idempotent requests only', async () => {
    const busy = await backend('busy', answer('busy', 503));
    const good = await backend('good');
    const { weir } = await weirWith({ app: { servers: [busy.address, good.address], passive_health: false, retries: { on_statuses: [503] } } });
    for (let i = 0; i < 4; i++) assert.equal((await send(`${weir.url}/`)).body, 'good GET');
    const statuses = new Set<number>();
    for (let i = 0; i < 4; i++) statuses.add((await send(`${weir.url}/`, { method: 'POST', body: 'x', headers: { 'content-length': '1' } })).status);
    assert.deepEqual([...statuses].sort(), [200, 503], 'a POST is not retried on a 503');
  });

  it('never sends a PUT with a body twice, even on a retried status, while a GET without one is retried', async () => {
    // Both answer 503, a retried status, to everything, after reading the whole body.
    const received: Array<{ backend: string; method: string; body: string }> = [];
    const busy = (name: string): Handler => (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        received.push({ backend: name, method: req.method ?? '', body });
        res.statusCode = 503;
        res.setHeader('x-backend', name);
        res.end(`${name} busy`);
      });
    };
    const busy1 = await backend('busy-1', busy('busy-1'));
    const busy2 = await backend('busy-2', busy('busy-2'));
    const { weir, lines } = await weirWith({
      app: { servers: [busy1.address, busy2.address], passive_health: false, retries: { attempts: 2, on_statuses: [503] } },
    });

    // A PUT is idempotent, but its body is streamed, not kept: it cannot be
    // sent again (a resent PUT would arrive empty). First, while the retry
    // budget is whole.
    const put = await send(`${weir.url}/doc`, { method: 'PUT', body: 'version 2', headers: { 'content-length': '9' } });
    assert.equal(put.status, 503, 'the one answer the PUT got is passed on');
    assert.deepEqual(
      received.filter((r) => r.method === 'PUT').map((r) => r.body),
      ['version 2'],
      'the PUT reached exactly one backend, once, with its whole body',
    );
    assert.equal(busy1.seen.filter((r) => r.method === 'PUT').length + busy2.seen.filter((r) => r.method === 'PUT').length, 1, 'the backends saw one PUT between them');

    // Retries are on: a GET is tried on the other backend too.
    const get = await send(`${weir.url}/doc`);
    assert.equal(get.status, 503);
    const gets = received.filter((r) => r.method === 'GET');
    assert.deepEqual([...new Set(gets.map((r) => r.backend))].sort(), ['busy-1', 'busy-2'], 'the GET was not retried on the other backend');
    assert.ok(gets.length <= 3, `one GET and at most 2 retries, got ${gets.length} attempts`);
    assert.ok(lines.some((line) => /^retrying GET \/doc .*answered 503/.test(String(line.msg))), 'the retry is logged');
  });

  it('answers from another backend when one accepts and never answers, within the timeout plus one retry', async () => {
    const silent = await backend('silent', (req) => req.resume());
    const good = await backend('good');
    const { weir } = await weirWith({
      app: { servers: [silent.address, good.address], passive_health: false, timeouts: { response_headers: '300ms' } },
    });
    const started = Date.now();
    const replies = await Promise.all([send(`${weir.url}/a`), send(`${weir.url}/b`)]);
    assert.deepEqual(replies.map((r) => r.body), ['good GET', 'good GET']);
    assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started}ms`);
  });

  it('stops retrying when the retry budget is spent', async () => {
    const alive = await backend('alive');
    const { weir } = await weirWith({
      app: { servers: [`127.0.0.1:${await closedPort()}`, alive.address], passive_health: false, retries: { budget: 0, min_per_second: 0 } },
    });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await send(`${weir.url}/`)).status);
    assert.deepEqual(statuses.sort(), [200, 200, 502, 502]);
  });

  it('ejects a backend that answers 500 to everything, and never more than max_ejected_percent', async () => {
    const broken = await Promise.all([0, 1, 2].map((i) => backend(`broken-${i}`, answer(`broken-${i}`, 500))));
    const good = await backend('good');
    const { weir, lines } = await weirWith({
      app: {
        servers: [...broken.map((b) => b.address), good.address],
        retries: { attempts: 0 },
        passive_health: { consecutive_failures: 2, base_ejection: '1m', max_ejected_percent: 50 },
      },
    });
    for (let i = 0; i < 24; i++) await send(`${weir.url}/`);
    const ejected = lines.filter((line) => line.state === 'ejected').map((line) => line.backend);
    assert.equal(ejected.length, 2, `ejected: ${ejected.join(', ')}`);
    assert.ok(lines.some((line) => /max_ejected_percent 50% reached/.test(String(line.msg))));
    const after = new Set<string>();
    for (let i = 0; i < 8; i++) after.add(String((await send(`${weir.url}/`)).headers['x-backend']));
    assert.equal(after.size, 2, 'two backends remain: the good one and the broken one that may not be ejected');
    assert.ok(after.has('good'));
  });

  it('sends traffic to backups only while no primary is available', async () => {
    let primaryHealthy = false;
    const primary = await backend('primary', (req, res) => {
      req.resume();
      res.statusCode = req.url === '/healthcheck' && !primaryHealthy ? 500 : 200;
      res.setHeader('x-backend', 'primary');
      res.end();
    });
    const spare = await backend('spare');
    const { weir } = await weirWith({
      app: {
        servers: [primary.address, { address: spare.address, backup: true }],
        health_check: { interval: '100ms', timeout: '100ms', healthy_threshold: 1, unhealthy_threshold: 1 },
      },
    });
    assert.equal((await send(`${weir.url}/`)).headers['x-backend'], 'spare');
    primaryHealthy = true;
    await eventually('the primary to take over', async () => (await send(`${weir.url}/`)).headers['x-backend'] === 'primary');
    for (let i = 0; i < 4; i++) assert.equal((await send(`${weir.url}/`)).headers['x-backend'], 'primary');
  });

  it('sends nothing new to a server of weight 0 (drained)', async () => {
    const drained = await backend('drained');
    const active = await backend('active');
    const { weir } = await weirWith({ app: { servers: [{ address: drained.address, weight: 0 }, active.address] } });
    for (let i = 0; i < 6; i++) assert.equal((await send(`${weir.url}/`)).headers['x-backend'], 'active');
    assert.equal(drained.seen.length, 0);
  });

  it('keeps a client with the sticky cookie on its backend while it is available', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const { weir } = await weirWith({ app: { servers: [a.address, b.address], sticky: { cookie: 'lb' } } });
    const first = await send(`${weir.url}/`);
    const cookie = String(first.headers['set-cookie']?.[0] ?? '');
    assert.match(cookie, /^lb=[0-9a-z]+; Path=\/; HttpOnly; SameSite=Lax$/);
    const pair = cookie.split(';')[0]!;
    for (let i = 0; i < 6; i++) {
      assert.equal((await send(`${weir.url}/`, { headers: { cookie: `other=1; ${pair}` } })).headers['x-backend'], first.headers['x-backend']);
    }
  });

  it('holds requests beyond max_connections in the queue, and answers 503 with Retry-After past it', async () => {
    const releases: Array<() => void> = [];
    const slow = await backend('slow', (req, res) => {
      req.resume();
      releases.push(() => res.end(`done ${req.url}`));
    });
    // The queue's timeout is longer than the test waits for the refusal (3 s),
    // so a 503 seen here is "no room in the queue", never "waited too long".
    const { weir } = await weirWith({ app: { servers: [slow.address], max_connections: 1, queue: { size: 1, timeout: '10s' } } });
    const first = send(`${weir.url}/1`, { timeoutMs: 10_000 });
    await eventually('the first request to reach the backend', () => releases.length === 1);
    // Two more at once: the queue holds one, the other has no room anywhere.
    // Which of the two weir takes first is not the test's to decide, so
    // either may be the one queued.
    const paths = ['/2', '/3'];
    const others = paths.map((path) => send(`${weir.url}${path}`, { timeoutMs: 10_000 }));
    let timer: NodeJS.Timeout | undefined;
    const refused = await Promise.race([
      ...others.map((reply, index) => reply.then((answer) => ({ answer, index }))),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('neither /2 nor /3 was answered within 3 s while the backend and the queue were full')), 3_000);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(refused.answer.status, 503, `${paths[refused.index]!} was answered before any was released: ${refused.answer.body}`);
    assert.equal(refused.answer.headers['retry-after'], '1');
    assert.equal(releases.length, 1, 'max_connections 1: the queued request waits');
    releases[0]!();
    assert.equal((await first).body, 'done /1');
    await eventually('the queued request to reach the backend', () => releases.length === 2);
    releases[1]!();
    const queued = 1 - refused.index;
    assert.equal((await others[queued]!).body, `done ${paths[queued]!}`);
  });

  it('lets a route override the service timeouts', async () => {
    const slow = await backend('slow', (req, res) => {
      req.resume();
      setTimeout(() => res.end('late'), 400);
    });
    const { weir } = await weirWith(
      { app: { servers: [slow.address], retries: { attempts: 0 }, timeouts: { response_headers: '5s' } } },
      [
        { path: '/impatient', service: 'app', timeouts: { response_headers: '100ms' } },
        { path: '/', service: 'app' },
      ],
    );
    assert.equal((await send(`${weir.url}/impatient`)).status, 504);
    assert.equal((await send(`${weir.url}/patient`)).body, 'late');
  });
});

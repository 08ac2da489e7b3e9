// The admin API over real sockets on 127.0.0.1, against a real AdminContext
// built from the objects weir runs on (compiled runtime, backend registry,
// health checkers, apply step) and real backends. Metrics are a fixed text:
// the admin server only passes them on.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startAdmin, type AdminServer } from '../src/admin/server.ts';
import { FIXED_METRICS, liveAdminContext, type LiveAdminContext } from '../src/admin/context.fixtures.ts';
import type { AdminContext } from '../src/admin/context.ts';
import { createLogger } from '../src/log.ts';
import { startBackend, type TestBackend } from './helpers/backends.ts';
import { send, type Reply, type SendOptions } from './helpers/client.ts';

const TOKEN = 's3cret-token';

describe('admin API', () => {
  let a: TestBackend;
  let b: TestBackend;
  let live: LiveAdminContext;
  /** No token configured: on loopback, everything is open to local processes. */
  let open: AdminServer;
  /** A token configured: reading is open on loopback, changing needs the token. */
  let guarded: AdminServer;
  const config = (): Record<string, unknown> => ({
    routes: [
      { name: 'api', host: 'api.example.com', path: '/api', strip_prefix: true, methods: ['GET', 'POST'], service: 'app', firewall: { ip_reject: ['10.0.0.0/8'] } },
      { name: 'old', path: '/old', redirect: { to: 'https://example.com/new', status: 301 } },
      { name: 'ping', path_exact: '/ping', respond: { status: 200, body: 'pong' } },
    ],
    services: { app: { servers: [a.address, b.address], health_check: { interval: '1m' } } },
  });

  before(async () => {
    a = await startBackend('a');
    b = await startBackend('b');
    live = await liveAdminContext(config());
    const log = createLogger(false);
    open = await startAdmin({ host: '127.0.0.1', port: 0 }, live.context, log, { eventPeriodMs: 200, maxEventClients: 2 });
    guarded = await startAdmin({ host: '127.0.0.1', port: 0 }, { ...live.context, token: TOKEN }, log, { eventPeriodMs: 200 });
  });

  after(async () => {
    await open?.close();
    await guarded?.close();
    await live?.close();
    await a?.close();
    await b?.close();
  });

  const at = (server: AdminServer, path: string, options?: SendOptions): Promise<Reply> => send(`http://127.0.0.1:${server.address.port}${path}`, options);
  const json = (reply: Reply): Record<string, unknown> => {
    assert.match(String(reply.headers['content-type']), /^application\/json/);
    return JSON.parse(reply.body) as Record<string, unknown>;
  };
  const post = (server: AdminServer, path: string, headers: Record<string, string> = {}): Promise<Reply> => at(server, path, { method: 'POST', headers });

  it('GET /api/status: version, uptime, config source, generation, last reload', async () => {
    const reply = await at(open, '/api/status');
    assert.equal(reply.status, 200);
    const { uptime_seconds: uptime, ...rest } = json(reply);
    assert.deepEqual(rest, { version: '0.0.0-test', config_source: '<object>', generation: 1, last_reload: null });
    assert.ok(typeof uptime === 'number' && uptime >= 0 && uptime < 60);
    assert.equal(reply.headers['cache-control'], 'no-store');
  });

  it('GET /api/routes: each route with its match, action and rules', async () => {
    const { routes } = json(await at(open, '/api/routes')) as { routes: Array<Record<string, unknown>> };
    assert.deepEqual(routes[0], {
      name: 'api',
      host: 'api.example.com',
      path: { kind: 'prefix', value: '/api' },
      methods: ['GET', 'POST'],
      action: { kind: 'service', service: 'app' },
      rules: ['firewall: ip_reject 1', 'strip_prefix /api'],
    });
    assert.deepEqual(routes[1]!.action, { kind: 'redirect', status: 301, to: 'https://example.com/new' });
    assert.deepEqual(routes[2]!.action, { kind: 'respond', status: 200 });
    assert.deepEqual(routes[2]!.path, { kind: 'exact', value: '/ping' });
    assert.equal(routes[2]!.host, null);
  });

  it('GET /api/services: each backend with its state, reason, history and counters', async () => {
    const { services } = json(await at(open, '/api/services')) as { services: Array<Record<string, unknown>> };
    assert.equal(services.length, 1);
    const app = services[0]!;
    assert.equal(app.name, 'app');
    assert.equal(app.balance, 'round_robin');
    assert.match((app.health_check as { summary: string }).summary, /^GET \/healthcheck every 60s \(timeout \d+s\); down after 3 failures, up after 2 passes$/);
    const backends = app.backends as Array<Record<string, unknown>>;
    assert.deepEqual(
      backends.map((backend) => backend.address),
      [a.address, b.address],
    );
    const first = backends[0]!;
    assert.equal(first.state, 'up');
    assert.match(String(first.reason), /^first check: /);
    assert.match(String(first.since), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(Object.keys(first).sort(), ['address', 'backup', 'drained', 'ejections', 'history', 'inflight', 'latency_ms', 'reason', 'since', 'state', 'weight']);
    assert.deepEqual((first.history as Array<Record<string, unknown>>).map((change) => change.state), ['up']);
    assert.equal(first.inflight, 0);
    assert.equal(first.weight, 1);
    assert.equal(first.drained, false);
  });

  it('GET /metrics: the Prometheus text as the context renders it', async () => {
    const reply = await at(open, '/metrics');
    assert.equal(reply.status, 200);
    assert.equal(reply.body, FIXED_METRICS);
    assert.match(String(reply.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  });

  it('GET /api/explain: what weir would do, as `weir explain` prints it', async () => {
    const query = new URLSearchParams({ method: 'POST', url: 'http://api.example.com/api/users', client_ip: '192.0.2.7' });
    query.append('header', 'X-Trace: 1');
    query.append('header', 'Accept:text/plain');
    const reply = await at(open, `/api/explain?${query}`);
    assert.equal(reply.status, 200, reply.body);
    assert.match(String(reply.headers['content-type']), /^text\/plain/);
    assert.match(reply.body, /^request: {2}POST \/api\/users from 192\.0\.2\.7$/m);
    assert.match(reply.body, /^ {10}X-Trace: 1$/m);
    assert.match(reply.body, /^route: {4}api, because /m);
    assert.match(reply.body, /^ {10}POST \/users$/m);

    assert.equal((await at(open, '/api/explain')).status, 400);
    assert.match(String(json(await at(open, '/api/explain?url=/x&header=nocolon')).error), /not "Name: value"/);
    assert.match(String(json(await at(open, '/api/explain?url=/x&client_ip=nope')).error), /not an IP address/);
  });

  it('GET /api/config: the running config, for `weir plan --admin`; with a token it needs the token even on loopback', async () => {
    const reply = await at(open, '/api/config');
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^application\/yaml/);
    assert.deepEqual(JSON.parse(reply.body), config());
    assert.equal((await at(guarded, '/api/config')).status, 401);
    assert.equal((await at(guarded, '/api/config', { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  });

  it('GET /api/events: a snapshot at once, then one every period; beyond the cap, 503', async () => {
    const events = await readEvents(open, 2);
    const [first, second] = events as Array<Record<string, unknown>>;
    assert.deepEqual(Object.keys(first!).sort(), ['at', 'refusals', 'routes', 'services', 'status']);
    assert.equal((first!.services as Array<{ name: string }>)[0]!.name, 'app');
    assert.deepEqual(
      (first!.routes as Array<{ route: string }>).map((route) => route.route),
      ['api', 'old', 'ping'],
    );
    assert.ok(Date.parse(String(second!.at)) > Date.parse(String(first!.at)));

    // Two clients at once is this server's cap: a third is turned away.
    const held = [await openStream(open), await openStream(open)];
    try {
      const third = await at(open, '/api/events');
      assert.equal(third.status, 503);
      assert.equal(third.headers['retry-after'], '5');
    } finally {
      for (const stream of held) stream.destroy();
    }
  });

  it('route traffic and refusals appear in the snapshot', async () => {
    live.routeStats.record('ping', 200, 3);
    live.routeStats.record('ping', 503, 7);
    live.routeStats.record(undefined, 404, 1);
    live.refusals.add({ at: Date.now(), status: 403, reason: 'firewall: ip_reject 10.0.0.0/8', client: '10.1.2.3', url: '/api/x' });
    const [snapshot] = (await readEvents(open, 1)) as Array<{ routes: Array<Record<string, unknown>>; refusals: Array<Record<string, unknown>> }>;
    const ping = snapshot!.routes.find((route) => route.route === 'ping')!;
    assert.equal(ping.requests, 2);
    assert.equal(ping.error_rate, 0.5);
    assert.deepEqual(ping.latency_ms, { p50: 3, p95: 7, p99: 7 });
    assert.equal(ping.requests_per_second, 0.2);
    assert.equal(snapshot!.routes.at(-1)!.route, null, 'requests no route matched come last');
    assert.equal(snapshot!.refusals[0]!.reason, 'firewall: ip_reject 10.0.0.0/8');
  });

  it('drain and enable change the live backend, and a drain survives a reload that compiles a new runtime', async () => {
    const path = `/api/services/app/backends/${encodeURIComponent(a.address)}`;
    const backend = live.backend('app', a.address)!;

    const drained = await post(guarded, `${path}/drain`, { authorization: `Bearer ${TOKEN}` });
    assert.equal(drained.status, 200, drained.body);
    const body = json(drained) as { service: string; backend: Record<string, unknown> };
    assert.equal(body.service, 'app');
    assert.equal(body.backend.state, 'draining');
    assert.equal(body.backend.reason, 'drained by an operator (admin API)');
    assert.equal(body.backend.drained, true);
    assert.equal(backend.state, 'draining');

    const runtimeBefore = live.context.runtime();
    const reloaded = await post(guarded, '/api/reload', { authorization: `Bearer ${TOKEN}` });
    assert.equal(reloaded.status, 200, reloaded.body);
    assert.deepEqual(json(reloaded), { generation: 2 });
    assert.notEqual(live.context.runtime(), runtimeBefore, 'a new runtime is served');
    const after = live.backend('app', a.address)!;
    assert.equal(after, backend, 'the registry kept the Backend object');
    assert.equal(after.state, 'draining', 'the drain survived the reload');
    const status = json(await at(open, '/api/status')) as { generation: number; last_reload: { result: string; at: string } };
    assert.equal(status.generation, 2);
    assert.equal(status.last_reload.result, 'success');

    const enabled = await post(guarded, `${path}/enable`, { authorization: `Bearer ${TOKEN}` });
    assert.equal(enabled.status, 200);
    assert.equal((json(enabled) as { backend: { state: string } }).backend.state, 'up');
    assert.equal(backend.state, 'up');
  });

  it('drain or enable of an unknown service or backend: 404', async () => {
    assert.equal((await post(open, '/api/services/nope/backends/127.0.0.1:1/drain')).status, 404);
    const reply = await post(open, `/api/services/app/backends/${encodeURIComponent('127.0.0.1:1')}/enable`);
    assert.equal(reply.status, 404);
    assert.match(String(json(reply).error), /service "app" has no backend "127\.0\.0\.1:1"/);
    assert.equal((await post(open, '/api/services/app/backends/%E0%A4%A/drain')).status, 400, 'malformed percent-encoding');
  });

  it('POST /api/reload with an invalid config: 400 with the issues as `weir validate` prints them, and nothing changes', async () => {
    const runtimeBefore = live.context.runtime();
    const generation = live.context.generation();
    live.setConfig({ routes: [{ path: '/', service: 'missing' }], services: { app: { servers: ['nonsense'] } } });
    try {
      const reply = await post(open, '/api/reload');
      assert.equal(reply.status, 400);
      const body = json(reply) as { error: string; issues: string[] };
      assert.equal(body.error, 'the config is invalid; nothing changed');
      assert.ok(body.issues.length >= 2, reply.body);
      for (const line of body.issues) assert.match(line, /^<object>: \S/);
      assert.ok(body.issues.some((line) => line.includes('services.app.servers[0]')), reply.body);
      assert.equal(live.context.runtime(), runtimeBefore);
      assert.equal(live.context.generation(), generation);
      const status = json(await at(open, '/api/status')) as { last_reload: { result: string; message: string } };
      assert.equal(status.last_reload.result, 'failure');
    } finally {
      live.setConfig(config());
    }
  });

  it('with a token: reading is open on loopback; changing needs it (401 without, 403 wrong)', async () => {
    assert.equal((await at(guarded, '/api/services')).status, 200);
    const path = `/api/services/app/backends/${encodeURIComponent(b.address)}/drain`;
    const missing = await post(guarded, path);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers['www-authenticate'], 'Bearer realm="weir admin"');
    const wrong = await post(guarded, path, { authorization: 'Bearer s3cret-tokem' });
    assert.equal(wrong.status, 403);
    assert.equal((await post(guarded, path, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` })).status, 401);
    assert.equal((await post(guarded, '/api/reload')).status, 401);
    assert.equal(live.backend('app', b.address)!.state, 'up', 'nothing changed');
  });

  it('only POST changes anything: GET on a changing endpoint and POST on a reading one get 405 with Allow', async () => {
    const get = await at(open, `/api/services/app/backends/${encodeURIComponent(a.address)}/drain`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    assert.equal((await at(open, '/api/reload')).status, 405);
    const postStatus = await post(open, '/api/status');
    assert.equal(postStatus.status, 405);
    assert.equal(postStatus.headers.allow, 'GET, HEAD');
    assert.equal((await at(open, '/api/services', { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } })).status, 405);
    assert.equal(live.backend('app', a.address)!.state, 'up');
  });

  it('sends no CORS headers, on any answer', async () => {
    const replies = [
      await at(open, '/api/status', { headers: { origin: 'http://evil.example' } }),
      await at(open, '/', { headers: { origin: 'http://evil.example' } }),
      await at(open, '/api/services', { method: 'OPTIONS', headers: { origin: 'http://evil.example' } }),
      await at(open, '/nope'),
    ];
    for (const reply of replies) {
      assert.deepEqual(Object.keys(reply.headers).filter((name) => name.startsWith('access-control-')), []);
    }
    assert.equal(replies[3]!.status, 404);
    assert.match(String(json(replies[3]!).error), /no such endpoint/);
  });

  it('refuses a changing request from another origin, and any request naming a non-loopback Host (DNS rebinding)', async () => {
    const path = `/api/services/app/backends/${encodeURIComponent(a.address)}/drain`;
    const forged = await post(open, path, { origin: 'http://evil.example' });
    assert.equal(forged.status, 403);
    assert.match(String(json(forged).error), /another origin/);
    const rebound = await at(open, '/api/services', { headers: { host: 'evil.example:80' } });
    assert.equal(rebound.status, 403);
    assert.equal((await at(open, '/api/status', { headers: { host: 'localhost:1' } })).status, 200);
    assert.equal((await at(open, '/api/status', { headers: { host: '[::1]:1' } })).status, 200);
    assert.equal(live.backend('app', a.address)!.state, 'up');
  });

  it('ignores request bodies, and refuses large ones', async () => {
    assert.equal((await at(open, '/api/status', { method: 'POST', body: 'x' })).status, 405);
    const reply = await at(open, '/api/status', { headers: { 'content-length': String(100 * 1024) }, body: Buffer.alloc(100 * 1024) });
    assert.equal(reply.status, 413);
    assert.equal(reply.headers.connection, 'close');
    // A chunked body has no length up front: it is cut once past the limit, and the server goes on.
    await at(open, '/api/status', { body: Buffer.alloc(200 * 1024) }).catch(() => undefined);
    assert.equal((await at(open, '/api/status')).status, 200);
  });

  it('GET /: the dashboard, one page with nothing from elsewhere and a strict Content-Security-Policy', async () => {
    const reply = await at(guarded, '/');
    assert.equal(reply.status, 200, 'the page itself needs no token');
    assert.match(String(reply.headers['content-type']), /^text\/html/);
    const csp = String(reply.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
    assert.match(csp, /connect-src 'self'/);
    assert.doesNotMatch(reply.body, /(src|href)="(https?:)?\/\//);
    assert.match(reply.body, /<script>/);
  });

  it('refuses to listen off loopback without a token', async () => {
    const context: AdminContext = { ...live.context, token: undefined };
    await assert.rejects(startAdmin({ host: '0.0.0.0', port: 0 }, context, createLogger(false)), /admin\.listen 0\.0\.0\.0:0 is not a loopback address; set admin\.token/);
  });

  it('close() ends event streams and stops listening', async () => {
    const server = await startAdmin({ host: '127.0.0.1', port: 0 }, live.context, createLogger(false));
    const stream = await openStream(server);
    stream.resume();
    const ended = new Promise<void>((resolve) => stream.on('close', () => resolve()));
    const started = performance.now();
    await server.close();
    await ended;
    assert.ok(performance.now() - started < 1_000);
    await assert.rejects(at(server, '/api/status'), /ECONNREFUSED/);
  });
});

/** An open event stream, its head received. */
function openStream(server: AdminServer): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: server.address.port, path: '/api/events', agent: false }, (res) => {
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/event-stream/);
      resolve(res);
    });
    req.on('error', reject);
  });
}

/** The first `count` events of a new stream, parsed. */
async function readEvents(server: AdminServer, count: number): Promise<unknown[]> {
  const res = await openStream(server);
  return new Promise((resolve, reject) => {
    const events: unknown[] = [];
    let buffer = '';
    const timer = setTimeout(() => {
      res.destroy();
      reject(new Error(`only ${events.length} of ${count} events within 3 s`));
    }, 3_000);
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6));
        if (data.length) events.push(JSON.parse(data.join('\n')));
        if (events.length === count) {
          clearTimeout(timer);
          res.destroy();
          resolve(events);
          return;
        }
      }
    });
  });
}

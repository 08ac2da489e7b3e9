// Clients that try to bend the data path: smuggling through Upgrade,
// pipelining floods, requests that make weir blame a healthy backend,
// uploads that outlast a timer, and heads that are not HTTP/1.1 as it
// should be. Each test was written to fail on the data path before the
// driver with named phases.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Weir } from '../src/weir.ts';
import { startBackend, type TestBackend } from './helpers/backends.ts';
import { eventually, rawExchange, send } from './helpers/client.ts';
import { startWatchedWeir } from './helpers/weir.ts';

/** A backend that counts the requests for /flood it is working on at once, and the most it ever had. */
async function countingBackend(name: string, delayMs = 0): Promise<TestBackend & { peak(): number; reset(): void }> {
  let active = 0;
  let peak = 0;
  const backend = await startBackend(name, (req, res) => {
    const flood = req.url === '/flood';
    if (flood) {
      active++;
      peak = Math.max(peak, active);
    }
    req.resume();
    req.on('end', () =>
      setTimeout(() => {
        if (flood) active--;
        res.end(`${name} ${req.method} ${req.url}`);
      }, delayMs),
    );
  });
  return Object.assign(backend, { peak: () => peak, reset: () => (peak = 0) });
}

/** A TCP server that accepts and resets every connection, counting them. */
async function resettingServer(): Promise<{ address: string; connections(): number; close(): Promise<void> }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.once('data', () => socket.resetAndDestroy());
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { address: `127.0.0.1:${port}`, connections: () => connections, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('an Upgrade request cannot smuggle a second request past the rules', () => {
  let backend: TestBackend;
  let weir: Weir;
  before(async () => {
    // Speaks no WebSocket: answers an Upgrade request like any other.
    backend = await startBackend('plain');
    ({ weir } = await startWatchedWeir({
      defaults: { firewall: { path_reject: ['/admin'] } },
      routes: [{ path: '/', service: 'app' }],
      services: { app: { servers: [backend.address] } },
    }));
  });
  after(async () => {
    await weir.close();
    await backend.close();
  });

  it('a non-101 answer is an ordinary response; what follows never reaches the backend as a tunnel', async () => {
    backend.seen.length = 0;
    const answer = await rawExchange(
      weir.address.port,
      'GET /x HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n' +
        'GET /admin HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: close\r\n\r\n',
    );
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /plain GET \/x/);
    assert.deepEqual(
      backend.seen.map((seen) => seen.url),
      ['/x'],
      'the backend saw only the Upgrade request',
    );
    assert.doesNotMatch(answer, /plain GET \/admin/);
  });

  it('the Upgrade request itself meets the firewall', async () => {
    backend.seen.length = 0;
    const answer = await rawExchange(weir.address.port, 'GET /admin HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 403 /);
    assert.equal(backend.seen.length, 0);
  });
});

describe('pipelining', () => {
  let backend: Awaited<ReturnType<typeof countingBackend>>;
  let weir: Weir;
  before(async () => {
    backend = await countingBackend('app', 1);
    ({ weir } = await startWatchedWeir({
      routes: [{ path: '/', service: 'app' }],
      services: { app: { servers: [backend.address] } },
    }));
  });
  after(async () => {
    await weir.close();
    await backend.close();
  });

  it('2,000 pipelined requests on one connection: one upstream request at a time, and other clients are served meanwhile', async () => {
    backend.reset();
    const flood = rawExchange(weir.address.port, 'GET /flood HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(2_000), 20_000);
    const others = await Promise.all(Array.from({ length: 5 }, () => send(`${weir.url}/other`)));
    for (const other of others) assert.equal(other.status, 200);
    const answered = (await flood).match(/^HTTP\/1\.1 200 /gm)?.length ?? 0;
    assert.equal(backend.peak(), 1, `the backend had ${backend.peak()} of the flooding connection's requests at once`);
    assert.ok(answered >= 1 && answered <= 1 + 16, `the flooding connection got ${answered} answers: the one served and at most 16 waiting`);
  });

  it('60,000 pipelined requests: the connection is closed after the answers owed, and weir does not take in the rest', async () => {
    backend.reset();
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const answer = await rawExchange(weir.address.port, 'GET /flood HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(60_000), 10_000);
    const grownMiB = (process.memoryUsage().rss - before) / 2 ** 20;
    assert.ok((answer.match(/^HTTP\/1\.1 200 /gm)?.length ?? 0) <= 17);
    assert.ok(Date.now() - started < 5_000, `closed after ${Date.now() - started}ms`);
    // Taking in all 60,000 costs some 250 MiB of request objects.
    assert.ok(grownMiB < 120, `memory grew by ${grownMiB.toFixed(0)} MiB`);
    assert.equal(backend.peak(), 1);
  });

  it('a client that waits for its answers gets every one, in order', async () => {
    const answer = await rawExchange(
      weir.address.port,
      'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    assert.deepEqual(answer.match(/app GET \/\d/g), ['app GET /1', 'app GET /2', 'app GET /3']);
  });
});

describe('retries', () => {
  for (const pool of [1, 2, 3]) {
    it(`never exceed retries.attempts with ${pool} server(s) that reset every request`, async () => {
      const servers = await Promise.all(Array.from({ length: pool }, () => resettingServer()));
      const { weir } = await startWatchedWeir({
        routes: [{ path: '/', service: 'app' }],
        services: { app: { servers: servers.map((s) => s.address), retries: { attempts: 2 }, passive_health: false } },
      });
      try {
        assert.equal((await send(`${weir.url}/x`)).status, 502);
        const tries = servers.reduce((sum, s) => sum + s.connections(), 0);
        assert.equal(tries, 3, 'one try and two retries');
      } finally {
        await weir.close();
        await Promise.all(servers.map((s) => s.close()));
      }
    });
  }

  it('round robin: a retry does not move the next first attempt back to a dead server', async () => {
    const dead = await resettingServer();
    const live = await startBackend('live');
    const { weir } = await startWatchedWeir({
      routes: [{ path: '/', service: 'app' }],
      services: { app: { servers: [dead.address, live.address], retries: { attempts: 1 }, passive_health: false } },
    });
    try {
      for (let i = 0; i < 10; i++) assert.equal((await send(`${weir.url}/x`)).status, 200);
      assert.equal(dead.connections(), 5, 'the dead server gets every other first attempt, not all ten');
    } finally {
      await weir.close();
      await Promise.all([dead.close(), live.close()]);
    }
  });
});

describe('failures a client causes are not charged to a backend', () => {
  let backend: TestBackend;
  let weir: Weir;
  let lines: Array<Record<string, unknown>>;
  before(async () => {
    backend = await startBackend('app', (req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    ({ weir, lines } = await startWatchedWeir({
      client_timeouts: { body_idle: '300ms' },
      routes: [{ path: '/', service: 'app' }],
      services: {
        app: {
          servers: [backend.address],
          passive_health: { consecutive_failures: 1 },
          retries: { attempts: 2, min_per_second: 1, budget: 0 },
          timeouts: { response_headers: '500ms' },
        },
      },
    }));
  });
  after(async () => {
    await weir.close();
    await backend.close();
  });

  function backendState(): string {
    return weir.runtime().services.get('app')!.backends[0]!.state;
  }

  it('two Host headers: 400, and no backend sees the request', async () => {
    backend.seen.length = 0;
    const answer = await rawExchange(weir.address.port, 'GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.equal(backend.seen.length, 0);
    assert.equal(backendState(), 'unchecked');
  });

  it('an upload that stops: 408 owned by the client; the backend stays in and no retry is spent', async () => {
    const retriesBefore = lines.filter((line) => /^retrying/.test(String(line.msg))).length;
    const answer = await rawExchange(weir.address.port, 'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nonly part of it', 5_000);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    const logged = lines.find((line) => line.status === 408);
    assert.equal(logged?.owner, 'client');
    assert.equal(backendState(), 'unchecked');
    assert.equal(lines.filter((line) => /^retrying/.test(String(line.msg))).length, retriesBefore);
    assert.equal((await send(`${weir.url}/after`)).status, 200);
  });

  it('Expect: 100-continue and then no body: 408 for the client, never 504 for the backend', async () => {
    const answer = await rawExchange(weir.address.port, 'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n', 5_000);
    assert.match(answer, /HTTP\/1\.1 408 /);
    assert.doesNotMatch(answer, /504/);
    assert.equal(backendState(), 'unchecked');
  });
});

describe('the response_headers timer starts once the request body is sent', () => {
  it('a 200 KB upload at 50 KB/s with response_headers: 2s gets 200', async () => {
    const backend = await startBackend('sink', (req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => res.end(String(bytes)));
    });
    const { weir } = await startWatchedWeir({
      routes: [{ path: '/', service: 'app' }],
      services: { app: { servers: [backend.address], timeouts: { response_headers: '2s' } } },
    });
    try {
      const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(`${weir.url}/upload`, { method: 'POST', headers: { 'content-length': String(200 * 1024) }, agent: false });
        req.on('error', reject);
        req.on('response', (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        let sent = 0;
        const tick = setInterval(() => {
          // 5 KB every 100 ms: 50 KB/s, about 4 s for the whole body.
          req.write(Buffer.alloc(5 * 1024));
          sent += 5 * 1024;
          if (sent >= 200 * 1024) {
            clearInterval(tick);
            req.end();
          }
        }, 100);
      });
      assert.deepEqual(status, { status: 200, body: String(200 * 1024) });
    } finally {
      await weir.close();
      await backend.close();
    }
  });
});

describe('heads that are not what HTTP/1.1 allows', () => {
  let backend: TestBackend;
  let weir: Weir;
  before(async () => {
    backend = await startBackend('app');
    ({ weir } = await startWatchedWeir({
      defaults: { firewall: { path_reject: ['/admin'] } },
      routes: [
        { path: '/trace', methods: ['GET', 'TRACE'], service: 'app' },
        { path: '/', service: 'app' },
      ],
      services: { app: { servers: [backend.address] } },
    }));
  });
  after(async () => {
    await weir.close();
    await backend.close();
  });

  const cases: Array<[string, string, RegExp]> = [
    ['HTTP/2.0 on the HTTP/1.1 port', 'GET / HTTP/2.0\r\nHost: a\r\nConnection: close\r\n\r\n', /^HTTP\/1\.1 505 /],
    ['an encoded NUL in the path', 'GET /admin%00 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', /^HTTP\/1\.1 400 /],
    ['a Host with userinfo', 'GET / HTTP/1.1\r\nHost: a@evil\r\nConnection: close\r\n\r\n', /^HTTP\/1\.1 400 /],
    ['a Host that is not UTF-8', 'GET / HTTP/1.1\r\nHost: \xff\xfe.example\r\nConnection: close\r\n\r\n', /^HTTP\/1\.1 400 /],
    ['TRACE on a route that does not list it', 'TRACE / HTTP/1.1\r\nHost: a\r\nCookie: secret=1\r\nConnection: close\r\n\r\n', /^HTTP\/1\.1 405 /],
  ];
  for (const [what, request, expected] of cases) {
    it(`${what}: refused, and no backend sees it`, async () => {
      backend.seen.length = 0;
      const answer = await rawExchange(weir.address.port, request);
      assert.match(answer, expected);
      assert.equal(backend.seen.length, 0);
    });
  }

  it('TRACE passes where the route lists it in methods', async () => {
    const answer = await rawExchange(weir.address.port, 'TRACE /trace HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 200 /);
  });
});

describe('limits', () => {
  it('upstream_requests: past the limit, 503 with Retry-After', async () => {
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let arrived = 0;
    const backend = await startBackend('slow', (req, res) => {
      arrived++;
      void held.then(() => res.end('done'));
    });
    const { weir } = await startWatchedWeir({
      limits: { upstream_requests: 2 },
      routes: [{ path: '/', service: 'app' }],
      services: { app: { servers: [backend.address] } },
    });
    try {
      const first = [send(`${weir.url}/1`), send(`${weir.url}/2`)];
      await eventually('two requests at the backend', () => arrived === 2);
      const third = await send(`${weir.url}/3`);
      assert.equal(third.status, 503);
      assert.equal(third.headers['retry-after'], '1');
      release?.();
      for (const reply of await Promise.all(first)) assert.equal(reply.status, 200);
    } finally {
      release?.();
      await weir.close();
      await backend.close();
    }
  });

  it('client_connections: a connection past the limit is closed at once', async () => {
    const backend = await startBackend('app');
    const { weir } = await startWatchedWeir({
      limits: { client_connections: 2 },
      routes: [{ path: '/', service: 'app' }],
      services: { app: { servers: [backend.address] } },
    });
    const open: net.Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const socket = net.connect(weir.address.port, '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        open.push(socket);
      }
      const answer = await rawExchange(weir.address.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      assert.equal(answer, '', 'the third connection was closed without an answer');
      open.pop()?.destroy();
      await eventually('a freed slot to serve again', async () => /^HTTP\/1\.1 200 /.test(await rawExchange(weir.address.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')));
    } finally {
      for (const socket of open) socket.destroy();
      await weir.close();
      await backend.close();
    }
  });
});

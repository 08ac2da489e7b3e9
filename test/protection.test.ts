// The firewall, trusted proxies and local rate limits end to end. Client
// addresses come from binding test clients to other loopback addresses.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startBackend, type BackendHandler, type TestBackend } from './helpers/backends.ts';
import { rawExchange, send } from './helpers/client.ts';
import { startWeirOnApp } from './helpers/weir.ts';
import { startWeir, type Weir } from '../src/weir.ts';

function rawGet(weir: Weir, path: string, method = 'GET'): Promise<string> {
  return rawExchange(weir.address.port, `${method} ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
}

describe('firewall', () => {
  let backend: TestBackend;
  let weir: Weir;
  let lines: Array<Record<string, unknown>>;
  let close: () => Promise<void>;
  before(async () => {
    ({ backend, weir, lines, close } = await startWeirOnApp(
      {
        defaults: { firewall: { path_reject: ['/admin', '/**/*.php', { regex: '\\.(env|git)(/|$)' }] } },
        routes: [
          { path: '/private', firewall: { ip_allow: ['127.0.0.3', '10.0.0.0/8'] }, service: 'app' },
          { path: '/limited', firewall: { methods: ['GET', 'HEAD'], max_url_length: 64, max_header_size: '1k', max_body_size: 100 }, service: 'app' },
          { firewall: { ip_reject: ['127.0.0.2', '2001:db8::/32', '::ffff:127.0.0.4'] }, service: 'app' },
        ],
      },
    ));
  });
  after(() => close());

  it('path_reject cannot be bypassed by another spelling of the path', async () => {
    const before = backend.seen.length;
    const spellings = [
      '/admin',
      '/admin/users',
      '/ADMIN/users',
      '/Admin',
      '/%61dmin',
      '/%2561dmin',
      // Encoded three times: a backend that decodes as long as escapes remain reads /admin.
      '/%252561dmin',
      '//admin',
      '/x/../admin',
      '/x/%2e%2e/admin',
      '/./admin',
      '/admin%2Fusers',
      '/admin;jsessionid=1',
      // Only cutting every segment's ;params leaves /x/../admin, and /x/index.php.
      '/x;a/../admin;b',
      '/x;a/index.php;b',
      '/x\\..\\admin',
      '/x%5C..%5Cadmin',
      '/a/b/index.php',
      '/index.PHP',
      '/app/.env',
      '/app/%2EGIT/config',
    ];
    for (const path of spellings) {
      assert.match(await rawGet(weir, path), /^HTTP\/1\.1 403/, path);
    }
    assert.equal(backend.seen.length, before, 'none reached the backend');
    assert.match(await rawGet(weir, '/administrator'), /^HTTP\/1\.1 200/);
    assert.match(await rawGet(weir, '/php/info'), /^HTTP\/1\.1 200/);
  });

  it('each refusal is counted and logged once, naming the rule', async () => {
    const rule = 'firewall: defaults: path_reject /admin';
    const counted = weir.refusals()[rule] ?? 0;
    const logged = lines.filter((line) => line.reason === rule).length;
    assert.equal(counted, logged);
    await send(`${weir.url}/admin/x`);
    assert.equal(weir.refusals()[rule], counted + 1);
    const entries = lines.filter((line) => line.reason === rule);
    assert.equal(entries.length, logged + 1);
    assert.equal(entries.at(-1)?.status, 403);
    assert.equal(entries.at(-1)?.client, '127.0.0.1');
  });

  it('ip_reject refuses by source address, IPv4-mapped rules included', async () => {
    assert.equal((await send(`${weir.url}/x`, { localAddress: '127.0.0.2' })).status, 403);
    assert.equal((await send(`${weir.url}/x`, { localAddress: '127.0.0.4' })).status, 403);
    assert.equal((await send(`${weir.url}/x`, { localAddress: '127.0.0.5' })).status, 200);
  });

  it('ip_allow lets only listed clients through', async () => {
    assert.equal((await send(`${weir.url}/private`, { localAddress: '127.0.0.3' })).status, 200);
    assert.equal((await send(`${weir.url}/private`)).status, 403);
  });

  it('an X-Forwarded-For from an untrusted peer is ignored and overwritten', async () => {
    const spoofed = await send(`${weir.url}/private`, { headers: { 'X-Forwarded-For': '10.1.2.3' } });
    assert.equal(spoofed.status, 403, 'a spoofed allowed address does not get in');
    const passed = await send(`${weir.url}/x`, { localAddress: '127.0.0.5', headers: { 'X-Forwarded-For': '127.0.0.2', 'X-Forwarded-Host': 'evil', 'X-Forwarded-Proto': 'https' } });
    assert.equal(passed.status, 200, 'a spoofed rejected address does not get refused');
    const seen = backend.seen.at(-1);
    assert.equal(seen?.headers['x-forwarded-for'], '127.0.0.5');
    assert.equal(seen?.headers['x-forwarded-host'], seen?.headers.host);
    assert.equal(seen?.headers['x-forwarded-proto'], 'http');
  });

  it('methods: others get 405 with Allow; a lower-case method is not a method', async () => {
    const post = await send(`${weir.url}/limited`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    assert.match(await rawGet(weir, '/limited', 'get'), /^HTTP\/1\.1 400/);
    assert.match(await rawGet(weir, '/limited', 'GeT'), /^HTTP\/1\.1 400/);
  });

  it('limits: 414 for a long URL, 431 for a large head', async () => {
    assert.equal((await send(`${weir.url}/limited?${'a'.repeat(40)}`)).status, 200);
    assert.equal((await send(`${weir.url}/limited?${'a'.repeat(60)}`)).status, 414);
    assert.equal((await send(`${weir.url}/limited`, { headers: { 'X-Big': 'b'.repeat(1100) } })).status, 431);
  });
});

describe('max_body_size while streaming', () => {
  let weir: Weir;
  let bodies: number[];
  let close: () => Promise<void>;
  before(async () => {
    bodies = [];
    const countBody: BackendHandler = (req, res) => {
      let size = 0;
      req.on('data', (chunk: Buffer) => (size += chunk.length));
      req.on('end', () => {
        bodies.push(size);
        res.end(`got ${size}`);
      });
      req.on('error', () => undefined);
    };
    ({ weir, close } = await startWeirOnApp({ routes: [{ firewall: { max_body_size: '1k' }, service: 'app' }] }, countBody));
  });
  after(() => close());

  it('a declared Content-Length over the limit gets 413 before the backend is asked', async () => {
    const reply = await send(`${weir.url}/up`, { method: 'POST', body: Buffer.alloc(1025) });
    assert.equal(reply.status, 413);
    assert.equal((await send(`${weir.url}/up`, { method: 'POST', body: Buffer.alloc(1024) })).body, 'got 1024');
  });

  it('a chunked body is cut off at the limit: 413, and the backend never gets it whole', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${weir.url}/up`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      // 4 KiB in 512-byte chunks: the limit is crossed on the third.
      for (let i = 0; i < 8; i++) req.write(Buffer.alloc(512));
      req.end();
    });
    assert.equal(status, 413);
    assert.ok(!bodies.includes(4096), 'the backend never received the whole body');
    const small = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${weir.url}/up`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end(Buffer.alloc(1000));
    });
    assert.equal(small, 'got 1000');
  });
});

describe('trusted proxies', () => {
  let backend: TestBackend;
  let weir: Weir;
  let close: () => Promise<void>;
  before(async () => {
    ({ backend, weir, close } = await startWeirOnApp(
      {
        trusted_proxies: ['127.0.0.3', '127.0.0.4', '10.0.0.0/8'],
        routes: [{ firewall: { ip_reject: ['203.0.113.9'] }, request_headers: { set: { 'X-Client': '${client_ip}' } }, service: 'app' }],
      },
    ));
  });
  after(() => close());

  it('from a trusted peer, the client is the rightmost untrusted X-Forwarded-For entry', async () => {
    const reply = await send(`${weir.url}/x`, { localAddress: '127.0.0.3', headers: { 'X-Forwarded-For': '198.51.100.1, 192.0.2.5, 10.1.1.1' } });
    assert.equal(reply.status, 200);
    const seen = backend.seen.at(-1);
    assert.equal(seen?.headers['x-client'], '192.0.2.5');
    assert.equal(seen?.headers['x-forwarded-for'], '198.51.100.1, 192.0.2.5, 10.1.1.1, 127.0.0.3');
  });

  it('the firewall judges the real client behind the proxies', async () => {
    assert.equal((await send(`${weir.url}/x`, { localAddress: '127.0.0.4', headers: { 'X-Forwarded-For': '203.0.113.9' } })).status, 403);
    assert.equal((await send(`${weir.url}/x`, { localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '203.0.113.9' } })).status, 200);
    assert.equal(backend.seen.at(-1)?.headers['x-client'], '127.0.0.2');
  });
});

describe('rate limits in one process', () => {
  let weir: Weir;
  let lines: Array<Record<string, unknown>>;
  let close: () => Promise<void>;
  before(async () => {
    ({ weir, lines, close } = await startWeirOnApp(
      {
        routes: [
          { path: '/per-ip', rate_limit: { rate: '1/m', burst: 3 }, service: 'app' },
          { path: '/per-key', rate_limit: { key: ['header:X-Api-Key', 'route'], rate: '1/h', burst: 1 }, service: 'app' },
        ],
      },
    ));
  });
  after(() => close());

  it('over the burst: 429 with Retry-After and the RateLimit headers; each client has its own bucket', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await send(`${weir.url}/per-ip`, { localAddress: '127.0.0.6' })).status, 200);
    const limited = await send(`${weir.url}/per-ip`, { localAddress: '127.0.0.6' });
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.match(String(limited.headers['ratelimit-policy']), /;q=1;w=60;weir-burst=3$/);
    assert.match(String(limited.headers.ratelimit), /;r=0;t=\d+$/);
    assert.equal((await send(`${weir.url}/per-ip`, { localAddress: '127.0.0.7' })).status, 200);
    const logged = lines.filter((line) => line.status === 429);
    assert.equal(logged.length, 1);
    assert.equal(weir.refusals()['rate_limit routes[0].rate_limit'], 1);
  });

  it('a key of several parts: each API key has its own bucket', async () => {
    assert.equal((await send(`${weir.url}/per-key`, { headers: { 'X-Api-Key': 'a' } })).status, 200);
    assert.equal((await send(`${weir.url}/per-key`, { headers: { 'X-Api-Key': 'a' } })).status, 429);
    assert.equal((await send(`${weir.url}/per-key`, { headers: { 'X-Api-Key': 'b' } })).status, 200);
  });
});

describe('IPv6 and IPv4-mapped clients', () => {
  let backend: TestBackend;
  let mapped: Weir;
  let v6: Weir;
  before(async () => {
    backend = await startBackend('app');
    const config = {
      routes: [{ firewall: { ip_reject: ['127.0.0.2', '::1/128'] }, request_headers: { set: { 'X-Client': '${client_ip}' } }, service: 'app' }],
      services: { app: { servers: [backend.address] } },
    };
    // A dual-stack socket: IPv4 clients arrive as ::ffff:127.0.0.x.
    mapped = await startWeir({ config, listen: { host: '::ffff:127.0.0.1', port: 0 }, logger: false });
    v6 = await startWeir({ config, listen: { host: '::1', port: 0 }, logger: false });
  });
  after(async () => {
    await mapped.close();
    await v6.close();
    await backend.close();
  });

  it('an IPv4 client on an IPv6 socket is judged and named as its IPv4 address', async () => {
    const url = `http://127.0.0.1:${mapped.address.port}`;
    assert.equal((await send(`${url}/x`, { localAddress: '127.0.0.2' })).status, 403);
    assert.equal((await send(`${url}/x`, { localAddress: '127.0.0.3' })).status, 200);
    assert.equal(backend.seen.at(-1)?.headers['x-client'], '127.0.0.3');
    assert.equal(backend.seen.at(-1)?.headers['x-forwarded-for'], '127.0.0.3');
  });

  it('IPv6 rules refuse IPv6 clients', async () => {
    assert.equal((await send(`${v6.url}/x`)).status, 403);
  });
});

describe('PROXY protocol through weir', () => {
  let backend: TestBackend;
  let weir: Weir;
  let close: () => Promise<void>;
  before(async () => {
    ({ backend, weir, close } = await startWeirOnApp(
      {
        proxy_protocol: true,
        trusted_proxies: ['127.0.0.1'],
        routes: [{ firewall: { ip_reject: ['203.0.113.66'] }, request_headers: { set: { 'X-Client': '${client_ip}' } }, service: 'app' }],
      },
    ));
  });
  after(() => close());

  function viaProxy(source: string, localAddress = '127.0.0.1'): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port: weir.address.port, host: '127.0.0.1', localAddress });
      const chunks: Buffer[] = [];
      socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
      socket.on('connect', () => socket.write(`PROXY TCP4 ${source} 127.0.0.1 40000 80\r\nGET /p HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    });
  }

  it('from a trusted proxy, the PROXY header names the client for the rules and the backend', async () => {
    assert.match(await viaProxy('203.0.113.7'), /^HTTP\/1\.1 200/);
    assert.equal(backend.seen.at(-1)?.headers['x-client'], '203.0.113.7');
    assert.equal(backend.seen.at(-1)?.headers['x-forwarded-for'], '203.0.113.7');
    assert.match(await viaProxy('203.0.113.66'), /^HTTP\/1\.1 403/);
  });

  it('from any other peer, the header is read but not believed', async () => {
    assert.match(await viaProxy('203.0.113.66', '127.0.0.2'), /^HTTP\/1\.1 200/);
    assert.equal(backend.seen.at(-1)?.headers['x-client'], '127.0.0.2');
  });

  it('a connection without the header is closed at once, unanswered, and nothing is forwarded', async () => {
    const before = backend.seen.length;
    // Bounded well below weir's 5 s wait for a slow PROXY header: only a
    // close because the bytes are not a PROXY header resolves in time; a
    // connection left open rejects, it does not count as closed.
    const received = await rawExchange(weir.address.port, 'GET /p HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', 2_000);
    assert.equal(received, '', 'weir answered a connection that sent no PROXY header');
    assert.equal(backend.seen.length, before, 'the request reached the backend');
  });
});

// The course's own test scenarios ("Creating an HTTP Load Balancer in
// Python"), against real backends on 127.0.0.1 and real requests through
// weir, with the course's config form.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Weir } from '../src/weir.ts';
import { closedPort, startBackend, type BackendHandler, type TestBackend } from './helpers/backends.ts';
import { send } from './helpers/client.ts';
import { startTestWeir } from './helpers/weir.ts';

/** The course's demo apps: "This is the mango application." on every path, "This is V2" on /v2. */
function courseApp(name: string): BackendHandler {
  return (req, res) => {
    req.resume();
    if (req.url === '/healthcheck') return void res.end('ok');
    const path = (req.url ?? '/').split('?')[0];
    res.setHeader('x-backend', name);
    if (path === '/v2') return void res.end('This is V2');
    res.end(`This is the ${name.split('-')[0]} application.`);
  };
}

describe('the course scenarios', () => {
  let weir: Weir;
  const backends: TestBackend[] = [];
  let mango: TestBackend[];
  let apple: TestBackend[];
  /** An apple server that answers requests but fails its health check: down from the first round. */
  let sick: TestBackend;

  before(async () => {
    mango = [await startBackend('mango-1', courseApp('mango-1')), await startBackend('mango-2', courseApp('mango-2'))];
    apple = [await startBackend('apple-1', courseApp('apple-1')), await startBackend('apple-2', courseApp('apple-2'))];
    sick = await startBackend('apple-sick', (req, res) => {
      req.resume();
      if (req.url === '/healthcheck') {
        res.statusCode = 500;
        return void res.end('sick');
      }
      courseApp('apple-sick')(req, res);
    });
    backends.push(...mango, ...apple, sick);
    const down = [`127.0.0.1:${await closedPort()}`, `127.0.0.1:${await closedPort()}`, `127.0.0.1:${await closedPort()}`];
    weir = await startTestWeir({
      hosts: [
        {
          host: 'www.mango.com',
          header_rules: { add: { MyCustomHeader: 'Test' }, remove: { Host: 'www.mango.com' } },
          param_rules: { add: { MyCustomParam: 'Test' }, remove: { RemoveMe: 'Remove' } },
          rewrite_rules: { replace: { v1: 'v2' } },
          firewall_rules: { ip_reject: ['127.0.0.2', '127.0.0.3'] },
          servers: mango.map((b) => b.address),
        },
        {
          host: 'www.apple.com',
          header_rules: { remove: { Host: 'www.apple.com' } },
          firewall_rules: { path_reject: ['/messages', '/apps'] },
          servers: [...apple.map((b) => b.address), sick.address, down[0]],
        },
        { host: 'www.orange.com', servers: [down[1], down[2]] },
      ],
      paths: [
        { path: '/mango', servers: mango.map((b) => b.address) },
        { path: '/apple', servers: [...apple.map((b) => b.address), down[0]] },
        { path: '/orange', servers: [down[1], down[2]] },
      ],
    });
  });
  after(async () => {
    await weir.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  it('routes by host: mango', async () => {
    const reply = await send(`${weir.url}/`, { headers: { Host: 'www.mango.com' } });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'This is the mango application.');
  });

  it('routes by host: apple', async () => {
    const reply = await send(`${weir.url}/`, { headers: { Host: 'www.apple.com' } });
    assert.equal(reply.body, 'This is the apple application.');
  });

  it('answers 404 Not Found for an unknown host', async () => {
    const reply = await send(`${weir.url}/`, { headers: { Host: 'www.notmango.com' } });
    assert.equal(reply.status, 404);
    assert.equal(reply.body, 'Not Found');
  });

  it('routes by path, forwarding the rest of the path', async () => {
    const reply = await send(`${weir.url}/mango`, { headers: { Host: 'lb.test' } });
    assert.equal(reply.body, 'This is the mango application.');
    const apple = await send(`${weir.url}/apple/v2`, { headers: { Host: 'lb.test' } });
    assert.equal(apple.body, 'This is V2');
  });

  it('answers 404 for an unknown path, and /mangox is not /mango', async () => {
    assert.equal((await send(`${weir.url}/notmango`)).status, 404);
    assert.equal((await send(`${weir.url}/mangox`)).status, 404);
  });

  it('rewrites the path (v1 to v2)', async () => {
    const reply = await send(`${weir.url}/v1`, { headers: { Host: 'www.mango.com' } });
    assert.equal(reply.body, 'This is V2');
  });

  it('adds and removes headers: the backend gets MyCustomHeader and its own address as Host', async () => {
    for (const backend of mango) backend.seen.length = 0;
    await send(`${weir.url}/`, { headers: { Host: 'www.mango.com' } });
    const seen = [...mango[0]!.seen, ...mango[1]!.seen];
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.headers.mycustomheader, 'Test');
    assert.match(seen[0]!.headers.host ?? '', /^127\.0\.0\.1:\d+$/);
  });

  it('adds and removes query parameters', async () => {
    for (const backend of mango) backend.seen.length = 0;
    await send(`${weir.url}/?RemoveMe=Remove&keep=1`, { headers: { Host: 'www.mango.com' } });
    const urls = [...mango[0]!.seen, ...mango[1]!.seen].map((r) => r.url);
    assert.deepEqual(urls, ['/?keep=1&MyCustomParam=Test']);
  });

  it('rejects a client IP on the firewall list with 403 Forbidden', async () => {
    const reply = await send(`${weir.url}/`, { headers: { Host: 'www.mango.com' }, localAddress: '127.0.0.2' });
    assert.equal(reply.status, 403);
    assert.equal(reply.body, 'Forbidden');
  });

  it('accepts a client IP not on the list', async () => {
    const reply = await send(`${weir.url}/`, { headers: { Host: 'www.mango.com' }, localAddress: '127.0.0.4' });
    assert.equal(reply.status, 200);
  });

  it('rejects a path on the firewall list with 403, however it is spelled', async () => {
    for (const path of ['/messages', '/messages/1', '/%6Dessages', '//messages', '/pictures/../messages', '/./apps']) {
      const reply = await send(`${weir.url}${path}`, { headers: { Host: 'www.apple.com' } });
      assert.equal(reply.status, 403, `${path} should be refused`);
    }
  });

  it('accepts a path not on the list', async () => {
    const reply = await send(`${weir.url}/pictures`, { headers: { Host: 'www.apple.com' } });
    assert.equal(reply.status, 200);
  });

  it('answers 503 "No backend servers available." when every server is down', async () => {
    const reply = await send(`${weir.url}/`, { headers: { Host: 'www.orange.com' } });
    assert.equal(reply.status, 503);
    assert.equal(reply.body, 'No backend servers available.');
    assert.equal((await send(`${weir.url}/orange`)).status, 503);
  });

  it('never sends traffic to a server whose health check fails', async () => {
    // A refused connection to the closed port would be retried and still end
    // in 200, so the 200s alone prove nothing: the sick server answers
    // requests, and must not have been asked any.
    sick.seen.length = 0;
    for (let i = 0; i < 12; i++) {
      const reply = await send(`${weir.url}/`, { headers: { Host: 'www.apple.com' } });
      assert.equal(reply.status, 200, `request ${i}`);
      assert.match(String(reply.headers['x-backend']), /^apple-[12]$/, `request ${i} answered by ${String(reply.headers['x-backend'])}`);
    }
    assert.deepEqual(sick.seen, [], 'the server whose health check fails was sent requests');
  });

  it('spreads one-at-a-time requests over all healthy servers (least connections, ties in turn)', async () => {
    const names = new Set<string>();
    for (let i = 0; i < 4; i++) names.add(String((await send(`${weir.url}/`, { headers: { Host: 'www.apple.com' } })).headers['x-backend']));
    assert.deepEqual([...names].sort(), ['apple-1', 'apple-2']);
  });
});

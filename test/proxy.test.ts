// The data path: forwarding headers, hop-by-hop rules, bodies in both
// directions with backpressure, streaming, trailers, bodiless answers,
// 100-continue and upgrades. Real backends, real sockets, 127.0.0.1.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Weir } from '../src/weir.ts';
import { startBackend, type TestBackend } from './helpers/backends.ts';
import { eventually, rawExchange, send } from './helpers/client.ts';
import { startTestWeir } from './helpers/weir.ts';

const MB = 1024 * 1024;

describe('the data path', () => {
  let weir: Weir;
  let port: number;
  let echo: TestBackend;
  let special: TestBackend;
  /** Lets tests hand the special backend a handler per path. */
  const routes = new Map<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>();

  before(async () => {
    echo = await startBackend('echo');
    special = await startBackend('special', (req, res) => {
      const handler = routes.get((req.url ?? '').split('?')[0]!);
      if (handler) handler(req, res);
      else res.end('no handler');
    });
    special.server.on('upgrade', (req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (data: Buffer) => socket.write(`echo:${data.toString()}`));
      socket.on('error', () => undefined);
      socket.on('end', () => socket.destroy());
    });
    weir = await startTestWeir({
      routes: [
        { path: '/special', strip_prefix: true, service: 'special' },
        { path: '/', service: 'echo' },
      ],
      services: {
        echo: { servers: [echo.address] },
        special: { servers: [special.address] },
      },
    });
    port = weir.address.port;
  });
  after(async () => {
    await weir.close();
    await Promise.all([echo.close(), special.close()]);
  });

  it('forwards Host as sent, sets X-Forwarded-For (a client that is no trusted proxy cannot add to it), -Proto, -Host and Via', async () => {
    echo.seen.length = 0;
    await send(`${weir.url}/x`, { headers: { Host: 'shop.example', 'X-Forwarded-For': '203.0.113.9', Via: '1.0 edge' } });
    const [seen] = echo.seen;
    assert.equal(seen?.headers.host, 'shop.example');
    assert.equal(seen?.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen?.headers['x-forwarded-proto'], 'http');
    assert.equal(seen?.headers['x-forwarded-host'], 'shop.example');
    assert.equal(seen?.headers.via, '1.0 edge, 1.1 weir');
  });

  it('removes hop-by-hop headers and the headers Connection names, in both directions', async () => {
    routes.set('/hop', (req, res) => {
      const body = JSON.stringify(req.headers);
      res.writeHead(200, { Connection: 'X-Internal', 'X-Internal': 'secret', 'Keep-Alive': 'timeout=9', 'X-Public': 'yes', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    const answer = await rawExchange(
      port,
      'GET /special/hop HTTP/1.1\r\nHost: a\r\nConnection: close, X-Client-Secret\r\nX-Client-Secret: s\r\nKeep-Alive: 300\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\n\r\n',
    );
    const [head, body] = answer.split('\r\n\r\n');
    const seen = JSON.parse(body ?? '{}') as Record<string, string>;
    for (const name of ['x-client-secret', 'keep-alive', 'te', 'proxy-connection']) assert.equal(seen[name], undefined, `backend saw ${name}`);
    assert.match(head ?? '', /x-public: yes/i);
    assert.doesNotMatch(head ?? '', /x-internal|keep-alive: timeout=9/i);
    assert.match(head ?? '', /via: 1\.1 weir/i);
  });

  it('forwards the client path with its own encoding when no rule changes it', async () => {
    echo.seen.length = 0;
    await rawExchange(port, 'GET /a%20b/%7Efoo//x?q=%41 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(echo.seen[0]?.url, '/a%20b/%7Efoo//x?q=%41');
  });

  it('passes every method, with bodies, and the backend status and headers', async () => {
    routes.set('/method', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(req.method === 'POST' ? 201 : 200, { 'x-method': req.method });
        res.end(`${req.method}:${Buffer.concat(chunks).toString()}`);
      });
    });
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const hasBody = !['GET', 'OPTIONS'].includes(method);
      // Node's client frames a DELETE body only when told its length.
      const headers: Record<string, string> = hasBody ? { 'content-length': '7' } : {};
      const reply = await send(`${weir.url}/special/method`, { method, headers, body: hasBody ? 'payload' : undefined });
      assert.equal(reply.status, method === 'POST' ? 201 : 200);
      assert.equal(reply.headers['x-method'], method);
      assert.equal(reply.body, `${method}:${hasBody ? 'payload' : ''}`);
    }
  });

  it('answers HEAD, 204 and 304 without a body', async () => {
    routes.set('/empty', (req, res) => {
      const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
      if (status === 200) res.setHeader('content-length', '5');
      res.writeHead(status);
      res.end(status === 200 && req.method !== 'HEAD' ? 'hello' : undefined);
    });
    const head = await send(`${weir.url}/special/empty`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '5');
    assert.equal(head.body, '');
    assert.equal((await send(`${weir.url}/special/empty?status=204`)).status, 204);
    assert.equal((await send(`${weir.url}/special/empty?status=304`)).status, 304);
    // A keep-alive connection must still be usable after bodiless answers.
    const raw = await rawExchange(port, 'HEAD /special/empty HTTP/1.1\r\nHost: a\r\n\r\nGET /special/empty HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(raw.match(/HTTP\/1\.1 200/g)?.length, 2);
    assert.ok(raw.endsWith('hello'));
  });

  it('streams a chunked response and delivers each event as it is produced (server-sent events)', async () => {
    let sendSecond: (() => void) | undefined;
    routes.set('/events', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      sendSecond = () => res.end('data: second\n\n');
    });
    const req = http.get(`${weir.url}/special/events`, { agent: false });
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    assert.equal(res.headers['content-type'], 'text/event-stream');
    const [first] = (await once(res, 'data')) as [Buffer];
    assert.equal(first.toString(), 'data: first\n\n', 'the first event arrived while the backend still holds the response open');
    sendSecond?.();
    const [second] = (await once(res, 'data')) as [Buffer];
    assert.equal(second.toString(), 'data: second\n\n');
  });

  it('passes response trailers', async () => {
    routes.set('/trailers', (_req, res) => {
      res.writeHead(200, { Trailer: 'x-checksum' });
      res.write('body');
      res.addTrailers({ 'x-checksum': 'abc123' });
      res.end();
    });
    const req = http.get(`${weir.url}/special/trailers`, { agent: false });
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    res.resume();
    await once(res, 'end');
    assert.equal(res.trailers['x-checksum'], 'abc123');
  });

  it('answers Expect: 100-continue and forwards the body', async () => {
    routes.set('/upload', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.end(`got ${Buffer.concat(chunks).length} bytes, expect=${req.headers.expect ?? 'none'}`));
    });
    const req = http.request(`${weir.url}/special/upload`, { method: 'POST', agent: false, headers: { Expect: '100-continue', 'Content-Length': '11' } });
    await once(req, 'continue');
    req.end('hello world');
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    let body = '';
    for await (const chunk of res) body += String(chunk);
    assert.equal(body, 'got 11 bytes, expect=none');
  });

  it('applies backpressure to a download: a client that does not read stops the backend writing', async () => {
    let written = 0;
    let backendBlocked: (() => void) | undefined;
    const blocked = new Promise<void>((resolve) => (backendBlocked = resolve));
    routes.set('/big', (_req, res) => {
      const chunk = Buffer.alloc(64 * 1024);
      const pump = (): void => {
        while (written < 128 * MB) {
          written += chunk.length;
          if (!res.write(chunk)) {
            backendBlocked?.();
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const req = http.get(`${weir.url}/special/big`, { agent: false });
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    res.pause();
    await blocked;
    // Give the pipeline time to fill every buffer it has, then check it stopped.
    await eventually('the backend to stop writing', async () => {
      const before = written;
      await new Promise((resolve) => setTimeout(resolve, 100));
      return written === before;
    });
    assert.ok(written < 64 * MB, `the backend wrote ${written / MB} MB to a client that read nothing`);
    let received = 0;
    res.on('data', (c: Buffer) => (received += c.length));
    res.resume();
    await once(res, 'end');
    assert.equal(received, 128 * MB);
  });

  it('applies backpressure to an upload: a backend that does not read stops the client writing', async () => {
    let release: (() => void) | undefined;
    let received = 0;
    routes.set('/slow-sink', (req, res) => {
      req.pause();
      release = () => {
        req.on('data', (c: Buffer) => (received += c.length));
        req.on('end', () => res.end(`received ${received}`));
        req.resume();
      };
    });
    const req = http.request(`${weir.url}/special/slow-sink`, { method: 'POST', agent: false });
    const chunk = Buffer.alloc(64 * 1024);
    let sent = 0;
    await eventually('the upload to block', () => {
      while (req.write(chunk)) {
        sent += chunk.length;
        if (sent > 128 * MB) return true;
      }
      sent += chunk.length;
      return true;
    });
    await eventually('the backend to get the request', () => release !== undefined);
    // Once blocked, the client may only write again after a drain, which cannot come while the backend reads nothing.
    const drained = await Promise.race([once(req, 'drain').then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 300))]);
    assert.equal(drained, false, 'the upload drained although the backend read nothing');
    assert.ok(sent < 64 * MB, `the client pushed ${sent / MB} MB into a backend that read nothing`);
    release?.();
    req.end();
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    let body = '';
    for await (const c of res) body += String(c);
    assert.equal(body, `received ${sent}`);
  });

  it('tunnels an Upgrade request both ways', async () => {
    const req = http.request(`${weir.url}/special/ws`, { agent: false, headers: { Connection: 'Upgrade', Upgrade: 'echo' } });
    req.end();
    const [res, socket] = (await once(req, 'upgrade')) as [http.IncomingMessage, Socket];
    assert.equal(res.statusCode, 101);
    socket.write('ping');
    const [data] = (await once(socket, 'data')) as [Buffer];
    assert.equal(data.toString(), 'echo:ping');
    socket.destroy();
  });
});

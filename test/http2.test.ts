// HTTP/2 on weir's client side: h2c by prior knowledge on a plain listener,
// with the same requests the driver gets over HTTP/1.1, and the protections
// every HTTP/2 server needs, each attacked with raw frames while another
// client shows it is still served.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { ClientAnswer } from '../src/http/client-answer.ts';
import type { IncomingRequest } from '../src/runtime/exchange.ts';
import { listenHttp, type ClientSettings, type HttpListener, type ListenOptions, type RequestServer } from '../src/server/http-listener.ts';
import type { Weir } from '../src/weir.ts';
import { startBackend, type TestBackend } from './helpers/backends.ts';
import { CertAuthority } from './helpers/certs.ts';
import { eventually, send } from './helpers/client.ts';
import {
  continuationFrame,
  ErrorCode,
  frame,
  Flags,
  FrameType,
  h2Connect,
  h2Request,
  hpackLiterals,
  pingFrame,
  PREFACE,
  RawH2Connection,
  requestHeaders,
  rstCodeOf,
  rstStreamFrame,
  Setting,
  settingsFrame,
} from './helpers/h2-frames.ts';
import { captureLog } from './helpers/log.ts';
import { startWatchedWeir } from './helpers/weir.ts';

const execFileAsync = promisify(execFile);

const SETTINGS: ClientSettings = { maxConnections: 1000, pipelinedRequests: 16, headerTimeoutMs: 10_000, keepAliveMs: 30_000 };

/**
 * A stand-in for the driver that answers what it saw of each request as
 * JSON, after reading the whole body. /hold/... waits until release(), and
 * /trailers ends with trailers.
 */
class EchoServer implements RequestServer {
  readonly seen: IncomingRequest[] = [];
  /** Requests whose client went away before their answer was complete. */
  gone = 0;
  readonly #held: Array<() => void> = [];

  serve(request: IncomingRequest, answer: ClientAnswer): void {
    this.seen.push(request);
    answer.onClientGone(() => this.gone++);
    let bodyBytes = 0;
    request.body.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    request.body.on('end', () => {
      const reply = (): void => {
        const body = JSON.stringify({
          method: request.method,
          url: request.url,
          version: request.httpVersionMajor,
          rawHeaders: request.rawHeaders,
          hasBody: request.hasBody ?? null,
          bodyBytes,
          secure: request.secure ?? false,
          proxySource: request.proxySource ?? null,
          upgrade: request.upgrade?.protocol ?? null,
        });
        answer.writeHead(200, undefined, ['content-type', 'application/json', 'connection', 'keep-alive', 'x-repeated', 'a', 'x-repeated', 'b']);
        answer.write(Buffer.from(body));
        answer.end(undefined, request.url === '/trailers' ? [['x-checksum', String(bodyBytes)]] : undefined);
      };
      if (request.url.startsWith('/hold')) this.#held.push(reply);
      else reply();
    });
  }

  get held(): number {
    return this.#held.length;
  }

  release(): void {
    for (const reply of this.#held.splice(0)) reply();
  }
}

async function listen(requests: RequestServer, settings: Partial<ClientSettings> = {}, options: ListenOptions = {}): Promise<{ listener: HttpListener; port: number; lines: Array<Record<string, unknown>> }> {
  const { logger, lines } = captureLog();
  const listener = await listenHttp({ host: '127.0.0.1', port: 0 }, requests, { ...SETTINGS, ...settings }, logger, { http2: true, ...options });
  return { listener, port: listener.address.port, lines };
}

/** Another client, on a connection of its own: served while (and after) an attack runs. */
async function assertOthersServed(port: number): Promise<void> {
  const session = await h2Connect(port);
  try {
    const reply = await h2Request(session, { ':path': '/other' });
    assert.equal(reply.status, 200, 'another HTTP/2 client is served');
  } finally {
    session.close();
  }
  const plain = await send(`http://127.0.0.1:${port}/other`);
  assert.equal(plain.status, 200, 'another HTTP/1.1 client is served');
}

describe('h2c by prior knowledge on a plain listener', () => {
  const echo = new EchoServer();
  let listener: HttpListener;
  let port: number;
  before(async () => ({ listener, port } = await listen(echo)));
  after(() => listener.drain(1_000));

  it('serves curl over HTTP/2 with prior knowledge and over HTTP/1.1 on the same port', async () => {
    const h2 = await execFileAsync('curl', ['-sS', '--max-time', '5', '--http2-prior-knowledge', '-w', '\n%{http_version}', `http://127.0.0.1:${port}/via-h2c?x=1`]);
    const [h2Body, h2Version] = h2.stdout.split('\n');
    assert.equal(h2Version, '2');
    assert.deepEqual(JSON.parse(h2Body!).version, 2);
    const h1 = await execFileAsync('curl', ['-sS', '--max-time', '5', '--http1.1', '-w', '\n%{http_version}', `http://127.0.0.1:${port}/via-h1`]);
    const [h1Body, h1Version] = h1.stdout.split('\n');
    assert.equal(h1Version, '1.1');
    assert.equal(JSON.parse(h1Body!).version, 1);
  });

  it('hands the driver the request an HTTP/1.1 client would have sent: Host from :authority, one cookie field, no pseudo-headers', async () => {
    const session = await h2Connect(port);
    const reply = await h2Request(session, { ':path': '/look?a=b', cookie: ['a=1', 'b=2'], 'x-custom': 'yes' });
    session.close();
    const seen = JSON.parse(reply.body) as { method: string; url: string; rawHeaders: string[]; hasBody: boolean };
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, '/look?a=b');
    assert.equal(seen.hasBody, false);
    assert.deepEqual(seen.rawHeaders.slice(0, 2), ['host', `127.0.0.1:${port}`]);
    assert.ok(!seen.rawHeaders.some((name, i) => i % 2 === 0 && name.startsWith(':')), 'no pseudo-header');
    const cookies = seen.rawHeaders.filter((_, i) => i > 0 && seen.rawHeaders[i - 1] === 'cookie');
    assert.deepEqual(cookies, ['a=1; b=2']);
    // Connection-specific answer headers never go out on HTTP/2; repeated ones do.
    assert.equal(reply.headers.connection, undefined);
    assert.deepEqual(reply.headers['x-repeated'], 'a, b');
  });

  it('streams a request body through, and sends trailers after the answer', async () => {
    const session = await h2Connect(port);
    // 1 MiB: sixteen times the stream's initial flow-control window, so it has to flow as weir reads it.
    const reply = await h2Request(session, { ':method': 'POST', ':path': '/trailers' }, Buffer.alloc(1024 * 1024, 'x'));
    session.close();
    const seen = JSON.parse(reply.body) as { bodyBytes: number; hasBody: boolean };
    assert.equal(seen.hasBody, true);
    assert.equal(seen.bodyBytes, 1024 * 1024);
    assert.equal(reply.trailers?.['x-checksum'], String(1024 * 1024));
  });

  it('serves "Upgrade: h2c" over HTTP/1.1 as an ordinary request, and a WebSocket upgrade as an upgrade', async () => {
    const h2cUpgrade = await send(`http://127.0.0.1:${port}/upgrade-me`, { headers: { connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAAQCAAAAAAIAAAAA' } });
    assert.equal(h2cUpgrade.status, 200);
    assert.equal(JSON.parse(h2cUpgrade.body).upgrade, null, 'not an upgrade');
    const websocket = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c, websocket\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(websocket, /"upgrade":"websocket"/, 'upgraded, with h2c left out of the protocols');
  });

  it('answers 100 concurrent streams on one connection', async () => {
    const session = await h2Connect(port);
    const replies = Promise.all(Array.from({ length: 100 }, (_, i) => h2Request(session, { ':path': `/hold/${i}` }, undefined, 10_000)));
    await eventually('100 streams held at once', () => echo.held === 100);
    echo.release();
    const done = await replies;
    session.close();
    assert.deepEqual(new Set(done.map((r) => r.status)), new Set([200]));
    assert.equal(new Set(done.map((r) => (JSON.parse(r.body) as { url: string }).url)).size, 100);
  });
});

describe('HTTP/2 protections', () => {
  const echo = new EchoServer();
  let listener: HttpListener;
  let port: number;
  let lines: Array<Record<string, unknown>>;
  before(async () => ({ listener, port, lines } = await listen(echo, { headerTimeoutMs: 600, keepAliveMs: 600 })));
  after(() => listener.drain(1_000));

  it('refuses a stream over the concurrent limit with REFUSED_STREAM, and serves the 100 before it', async () => {
    // Before the client has acknowledged weir's SETTINGS, going over the
    // limit may be a race of its own: the stream alone is refused (retryable).
    const raw = await RawH2Connection.open(port, { ackSettings: false });
    for (let id = 1; id <= 201; id += 2) raw.send(requestHeaders(id, { path: `/hold/raw-${id}` }));
    const refused = await raw.waitFor('RST_STREAM on stream 201', (f) => f.type === FrameType.RST_STREAM && f.streamId === 201);
    assert.equal(rstCodeOf(refused), ErrorCode.REFUSED_STREAM);
    await eventually('100 streams held', () => echo.held === 100);
    await assertOthersServed(port);
    echo.release();
    await raw.waitFor('answers to the 100 streams', () => raw.frames.filter((f) => f.type === FrameType.DATA && (f.flags & Flags.END_STREAM) !== 0).length === 100);
    raw.close();
  });

  it('ends a connection that goes over the concurrent limit it has acknowledged (GOAWAY PROTOCOL_ERROR)', async () => {
    const goneBefore = echo.gone;
    const raw = await RawH2Connection.open(port);
    for (let id = 1; id <= 201; id += 2) raw.send(requestHeaders(id, { path: `/hold/raw-${id}` }));
    const goaway = await raw.goaway();
    assert.equal(goaway.code, ErrorCode.PROTOCOL_ERROR);
    await raw.waitClosed('the connection ended');
    await eventually('the 100 streams it had open abandoned', () => echo.gone - goneBefore === 100);
    echo.release();
    await assertOthersServed(port);
  });

  it('resets a stream whose header list is over 32 KiB (ENHANCE_YOUR_CALM) and serves the next one on the same connection', async () => {
    const raw = await RawH2Connection.open(port);
    const block = hpackLiterals([[':method', 'GET'], [':scheme', 'http'], [':authority', 'a'], [':path', '/big'], ['x-big', 'a'.repeat(40_000)]]);
    const parts: Buffer[] = [];
    for (let i = 0; i < block.length; i += 16_000) parts.push(block.subarray(i, i + 16_000));
    raw.send(frame(FrameType.HEADERS, Flags.END_STREAM, 1, parts[0]!), ...parts.slice(1).map((part, i) => continuationFrame(1, part, i === parts.length - 2)));
    raw.send(requestHeaders(3, { path: '/after-big' }));
    const reset = await raw.waitFor('RST_STREAM on stream 1', (f) => f.type === FrameType.RST_STREAM && f.streamId === 1);
    assert.equal(rstCodeOf(reset), ErrorCode.ENHANCE_YOUR_CALM);
    await raw.waitFor('an answer on stream 3', (f) => f.type === FrameType.HEADERS && f.streamId === 3);
    assert.ok(!echo.seen.some((r) => r.url === '/big'), 'the oversized request never reached the driver');
    raw.close();
  });

  it('ends a connection that resets streams as fast as it opens them (rapid reset), and abandons what was started', async () => {
    const servedBefore = echo.seen.length;
    const goneBefore = echo.gone;
    const raw = await RawH2Connection.open(port);
    let sent = 0;
    for (let id = 1; sent < 50_000 && !raw.isClosed; id += 2) {
      raw.send(requestHeaders(id, { path: '/hold/reset', endStream: false }), rstStreamFrame(id));
      sent++;
      if (sent % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await raw.waitClosed('the server ending the connection');
    const served = echo.seen.length - servedBefore;
    assert.ok(sent < 50_000, `the connection was ended after ${sent} resets`);
    assert.ok(served < 1_000, `${served} of ${sent} reset streams reached the driver`);
    await eventually('every stream that reached the driver told it the client left', () => echo.gone - goneBefore === served);
    await assertOthersServed(port);
  });

  it('ends a connection that sends CONTINUATION frames without end', async () => {
    const raw = await RawH2Connection.open(port);
    raw.send(requestHeaders(1, { endHeaders: false }));
    let sent = 0;
    while (!raw.isClosed && sent < 100_000) {
      raw.send(continuationFrame(1, hpackLiterals([[`x-c${sent}`, 'v']])));
      sent++;
      if (sent % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await raw.waitClosed('the server ending the connection');
    assert.ok(sent < 100_000, `ended after ${sent} CONTINUATION frames`);
    await assertOthersServed(port);
  });

  it('ends a connection that floods PINGs and SETTINGS without reading the acknowledgements', async () => {
    for (const flood of [() => pingFrame(), () => settingsFrame()]) {
      const raw = await RawH2Connection.open(port, { ackSettings: false });
      raw.socket.pause();
      let sent = 0;
      while (!raw.isClosed && sent < 500_000) {
        raw.send(flood(), flood(), flood(), flood(), flood(), flood(), flood(), flood(), flood(), flood());
        sent += 10;
        if (sent % 1_000 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      raw.socket.resume();
      await raw.waitClosed('the server ending the flooding connection');
      await assertOthersServed(port);
    }
    assert.ok(lines.some((line) => /Flooding was detected/.test(String(line.msg))), 'the reason is logged');
  });

  it('ends a connection that sends malformed requests in a loop (each reset with PROTOCOL_ERROR)', async () => {
    const raw = await RawH2Connection.open(port);
    let sent = 0;
    // A connection-specific field makes an HTTP/2 request malformed (RFC 9113 section 8.2.2).
    while (!raw.isClosed && sent < 10_000) {
      raw.send(requestHeaders(1 + 2 * sent, { extra: [['connection', 'close']] }));
      sent++;
      if (sent % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await raw.waitClosed('the server ending the connection');
    assert.ok(sent < 10_000, `ended after ${sent} malformed requests`);
    await assertOthersServed(port);
  });

  it('ends a connection whose header block stops arriving, after client_timeouts.header', async () => {
    const raw = await RawH2Connection.open(port);
    const started = performance.now();
    raw.send(requestHeaders(1, { endHeaders: false, path: '/never' }));
    const goaway = await raw.goaway(5_000);
    await raw.waitClosed('the server closing the connection');
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 600, `not before the timeout (${Math.round(elapsed)}ms)`);
    assert.equal(goaway.code, ErrorCode.NO_ERROR);
    assert.ok(lines.some((line) => /header block of stream 1 not complete within 600ms/.test(String(line.msg))));
    await assertOthersServed(port);
  });

  it('ends a connection with no stream open after client_timeouts.keep_alive, not one with a stream in progress', async () => {
    const idle = await RawH2Connection.open(port);
    const busy = await h2Connect(port);
    const held = h2Request(busy, { ':path': '/hold/long' }, undefined, 10_000);
    await eventually('the long request held', () => echo.seen.some((r) => r.url === '/hold/long'));
    const goaway = await idle.goaway(5_000);
    assert.equal(goaway.code, ErrorCode.NO_ERROR);
    await idle.waitClosed('the idle connection closed');
    assert.equal(busy.closed || busy.destroyed, false, 'the connection with a stream open stays');
    echo.release();
    assert.equal((await held).status, 200);
    busy.close();
  });

  it('ends a plain connection that sends nothing to tell its protocol by, after client_timeouts.header', async () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('PRI * HTTP/2.0\r\n');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the half-sent preface is still open after 5s')), 5_000);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  });
});

describe('HTTP/2 with PROXY protocol, connection limits, reload and drain', () => {
  it('announces the stream and header limits in SETTINGS, and a reload\'s new ones to new connections', async () => {
    const { listener, port } = await listen(new EchoServer());
    try {
      const settingsOf = async (): Promise<Map<number, number>> => {
        const raw = await RawH2Connection.open(port);
        const f = await raw.waitFor('SETTINGS', (x) => x.type === FrameType.SETTINGS && (x.flags & Flags.ACK) === 0);
        raw.close();
        const values = new Map<number, number>();
        for (let i = 0; i + 6 <= f.payload.length; i += 6) values.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
        return values;
      };
      const before = await settingsOf();
      assert.equal(before.get(Setting.MAX_CONCURRENT_STREAMS), 100);
      assert.equal(before.get(Setting.MAX_HEADER_LIST_SIZE), 32 * 1024);
      assert.notEqual(before.get(Setting.ENABLE_CONNECT_PROTOCOL), 1, 'no extended CONNECT');
      listener.configure({ ...SETTINGS, http2MaxStreams: 10, http2MaxHeaderListBytes: 8 * 1024 });
      const after = await settingsOf();
      assert.equal(after.get(Setting.MAX_CONCURRENT_STREAMS), 10);
      assert.equal(after.get(Setting.MAX_HEADER_LIST_SIZE), 8 * 1024);
    } finally {
      await listener.drain(1_000);
    }
  });


  it('reads the PROXY header before the HTTP/2 preface', async () => {
    const echo = new EchoServer();
    const { listener, port } = await listen(echo, {}, { proxyProtocol: true });
    try {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('connect', resolve));
      // One write: the header, the preface, SETTINGS and a request, as a balancer may pass them on.
      socket.write(Buffer.concat([Buffer.from('PROXY TCP4 198.51.100.7 10.0.0.1 40000 80\r\n'), PREFACE, settingsFrame(), requestHeaders(1, { path: '/behind-a-balancer' })]));
      await eventually('the request served', () => echo.seen.length === 1);
      assert.equal(echo.seen[0]!.proxySource, '198.51.100.7');
      assert.equal(echo.seen[0]!.httpVersionMajor, 2);
      socket.destroy();
    } finally {
      await listener.drain(1_000);
    }
  });

  it('counts HTTP/2 and HTTP/1.1 connections against one client connection limit', async () => {
    const echo = new EchoServer();
    const { listener, port } = await listen(echo, { maxConnections: 2 });
    try {
      const h2 = await h2Connect(port);
      const h1 = net.connect(port, '127.0.0.1');
      h1.on('error', () => undefined);
      await new Promise((resolve) => h1.once('connect', resolve));
      await eventually('two connections counted', () => listener.connections() === 2);
      const third = await RawH2Connection.open(port, { preface: false });
      third.send(PREFACE, settingsFrame());
      await third.waitClosed('the third connection refused');
      assert.equal((await h2Request(h2, { ':path': '/still-served' })).status, 200);
      h2.close();
      h1.destroy();
    } finally {
      await listener.drain(1_000);
    }
  });

  it('drains with GOAWAY: a stream in flight finishes, a new one is refused, then the connection closes', async () => {
    const echo = new EchoServer();
    const { listener, port } = await listen(echo);
    const raw = await RawH2Connection.open(port);
    raw.send(requestHeaders(1, { path: '/hold/draining' }));
    await eventually('the request held', () => echo.held === 1);
    const drained = listener.drain(5_000);
    const goaway = await raw.goaway();
    assert.equal(goaway.code, ErrorCode.NO_ERROR);
    assert.equal(goaway.lastStreamId, 1);
    raw.send(requestHeaders(3, { path: '/too-late' }));
    echo.release();
    await raw.waitFor('the answer to stream 1', (f) => f.type === FrameType.DATA && f.streamId === 1 && (f.flags & Flags.END_STREAM) !== 0);
    await drained;
    await raw.waitClosed('the connection closed after the drain');
    assert.ok(!echo.seen.some((r) => r.url === '/too-late'), 'no stream after GOAWAY reached the driver');
  });
});

describe('HTTP/2 through weir: the same driver, the same rules', () => {
  let ca: CertAuthority;
  let backend: TestBackend;
  let weir: Weir;
  let h2cPort: number;
  let tlsPort: number;
  /** Requests the backend is working on now, and the held ones' answers. */
  let open = 0;
  const held: Array<() => void> = [];
  let firstChunk: (() => void) | undefined;

  before(async () => {
    ca = new CertAuthority();
    const site = ca.issue({ names: ['localhost', 'IP:127.0.0.1'] });
    backend = await startBackend('app', (req, res) => {
      open++;
      res.once('close', () => open--);
      const status = /^\/status\/(\d+)$/.exec(req.url ?? '')?.[1];
      if (status !== undefined) {
        req.resume();
        res.writeHead(Number(status), { 'content-type': 'text/plain', 'content-length': '5' });
        res.end(req.method === 'HEAD' || status === '204' || status === '304' ? undefined : 'hello');
        return;
      }
      if (req.url === '/trailers') {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
        res.write('part one, ');
        res.addTrailers({ 'x-checksum': 'abc123' });
        res.end('part two');
        return;
      }
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstChunk?.();
        bytes += chunk.length;
      });
      req.on('end', () => {
        const answer = (): void => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ url: req.url, bytes, headers: req.headers }));
        };
        if (req.url?.startsWith('/hold')) held.push(answer);
        else answer();
      });
    });
    ({ weir } = await startWatchedWeir({
      listeners: [
        { address: '127.0.0.1:0', http2: true },
        { address: '127.0.0.1:0', tls: { certificates: [{ cert: site.certPath, key: site.keyPath }] } },
      ],
      routes: [
        { path: '/admin', firewall: { path_reject: ['/admin'] }, service: 'app' },
        { path: '/limited', rate_limit: { rate: '1/m', burst: 2 }, service: 'app' },
        { path: '/small', firewall: { max_body_size: 1000 }, service: 'app' },
        { path: '/', service: 'app' },
      ],
      services: { app: { servers: [backend.address] } },
    }));
    [h2cPort, tlsPort] = weir.urls.map((url) => Number(new URL(url).port)) as [number, number];
    assert.match(weir.urls[1]!, /^https:/);
  });
  after(async () => {
    for (const answer of held.splice(0)) answer();
    await weir?.close();
    await backend?.close();
    ca?.close();
  });

  /** The status and body of one request over HTTP/2 (h2c, or TLS) and over HTTP/1.1. */
  async function overBoth(path: string): Promise<Array<{ status: number; body: string }>> {
    const h2c = await h2Connect(h2cPort);
    const overH2c = await h2Request(h2c, { ':path': path });
    h2c.close();
    const h2 = await h2Connect(tlsPort, { ca: ca.caCert });
    const overH2 = await h2Request(h2, { ':path': path });
    h2.close();
    const overH1 = await send(`http://127.0.0.1:${h2cPort}${path}`);
    return [overH2c, overH2, overH1].map((r) => ({ status: r.status, body: r.body }));
  }

  it('refuses by firewall the same way over HTTP/2 as over HTTP/1.1', async () => {
    const [h2c, h2, h1] = await overBoth('/admin/x');
    assert.equal(h1!.status, 403);
    assert.deepEqual(h2c, h1);
    assert.deepEqual(h2, h1);
  });

  it('rate limits HTTP/2 and HTTP/1.1 requests of one client together, refusing them the same way', async () => {
    const [h2c, h2, h1] = await overBoth('/limited');
    assert.deepEqual([h2c!.status, h2!.status, h1!.status], [200, 200, 429], 'burst 2: the third request of the client is refused, whatever its protocol');
    const [again] = await overBoth('/limited');
    assert.deepEqual(again, h1, 'refused over HTTP/2 as over HTTP/1.1');
  });

  it('refuses CONNECT over HTTP/2 with 501', async () => {
    const session = await h2Connect(h2cPort);
    const reply = await h2Request(session, { ':method': 'CONNECT', ':authority': 'example.com:443' });
    session.close();
    assert.equal(reply.status, 501);
    assert.match(reply.body, /Not Implemented/);
  });

  it('streams a POST body over HTTP/2 to the backend as it arrives, and forwards it as https from TLS', async () => {
    const session = await h2Connect(tlsPort, { ca: ca.caCert });
    const stream = session.request({ ':method': 'POST', ':path': '/upload' });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    const arrived = new Promise<void>((resolve) => (firstChunk = resolve));
    stream.write(Buffer.alloc(1000, 'a'));
    await arrived; // the backend has the first bytes before the client sent the rest
    firstChunk = undefined;
    stream.end(Buffer.alloc(512 * 1024, 'b'));
    await ended;
    session.close();
    const seen = JSON.parse(Buffer.concat(chunks).toString()) as { bytes: number; headers: Record<string, string> };
    assert.equal(seen.bytes, 1000 + 512 * 1024);
    assert.equal(seen.headers['transfer-encoding'], 'chunked', 'no length was declared: chunked to the HTTP/1.1 backend');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers.via, '2 weir');
    assert.equal(seen.headers.host, 'localhost:' + tlsPort);
  });

  it('answers HEAD, 204 and 304 without a body over HTTP/2', async () => {
    const session = await h2Connect(h2cPort);
    const head = await h2Request(session, { ':method': 'HEAD', ':path': '/status/200' });
    assert.deepEqual([head.status, head.headers['content-length'], head.body], [200, '5', '']);
    for (const status of [204, 304]) {
      const reply = await h2Request(session, { ':path': `/status/${status}` });
      assert.deepEqual([reply.status, reply.body], [status, '']);
    }
    assert.equal((await h2Request(session, { ':path': '/status/200' })).body, 'hello');
    session.close();
  });

  it('refuses a body over max_body_size with 413 on its stream alone: the connection serves the next request', async () => {
    const session = await h2Connect(h2cPort);
    const refused = await h2Request(session, { ':method': 'POST', ':path': '/small', 'content-length': '5000' }, Buffer.alloc(5000, 'x'));
    assert.equal(refused.status, 413);
    const next = await h2Request(session, { ':path': '/small' });
    assert.equal(next.status, 200);
    session.close();
  });

  it('passes the backend\'s response trailers to an HTTP/2 client', async () => {
    const session = await h2Connect(h2cPort);
    const reply = await h2Request(session, { ':path': '/trailers' });
    session.close();
    assert.equal(reply.body, 'part one, part two');
    assert.equal(reply.trailers?.['x-checksum'], 'abc123');
  });

  it('serves 100 concurrent streams of one connection at the backend at once', async () => {
    const session = await h2Connect(tlsPort, { ca: ca.caCert });
    const replies = Promise.all(Array.from({ length: 100 }, (_, i) => h2Request(session, { ':path': `/hold/${i}` }, undefined, 10_000)));
    await eventually('100 requests at the backend at once', () => held.length === 100);
    for (const answer of held.splice(0)) answer();
    const done = await replies;
    session.close();
    assert.deepEqual(new Set(done.map((r) => r.status)), new Set([200]));
  });

  it('abandons the upstream request of a stream the client resets, and of every stream of a rapid-reset flood', async () => {
    const raw = await RawH2Connection.open(h2cPort);
    raw.send(requestHeaders(1, { path: '/hold/one', authority: 'localhost' }));
    await eventually('the request at the backend', () => held.length === 1 && open === 1);
    raw.send(rstStreamFrame(1));
    await eventually('the backend request closed by weir', () => open === 0);
    held.splice(0);
    let id = 3;
    while (!raw.isClosed && id < 100_000) {
      raw.send(requestHeaders(id, { path: '/hold/flood', endStream: false }), rstStreamFrame(id));
      id += 2;
      if (id % 200 === 1) await new Promise((resolve) => setImmediate(resolve));
    }
    await raw.waitClosed('the flooding connection ended');
    await eventually('no request left open at the backend', () => open === 0);
    held.splice(0);
    const [h2c] = await overBoth('/after-the-flood');
    assert.equal(h2c!.status, 200);
  });
});

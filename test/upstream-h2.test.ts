// Backends spoken to in HTTP/2, end to end: h2c by prior knowledge and h2
// over TLS (ALPN). Requests share one session up to the backend's stream
// limit; bodies stream both ways; trailers come back; a GOAWAY mid-traffic
// costs no idempotent request; a backend that resets or dies is a 502.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CertAuthority, type IssuedCert } from './helpers/certs.ts';
import { eventually, send } from './helpers/client.ts';
import { startWatchedWeir } from './helpers/weir.ts';

type StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;

interface H2Backend {
  readonly port: number;
  readonly server: http2.Http2Server | http2.Http2SecureServer;
  /** Sessions weir opened to it. */
  readonly sessions: http2.ServerHttp2Session[];
  /** The headers of every stream it received, in order. */
  readonly requests: http2.IncomingHttpHeaders[];
  handler: StreamHandler;
  close(): Promise<void>;
}

/** By default: 200 with "h2 <method> <path>". */
const echo: StreamHandler = (stream, headers) => {
  stream.respond({ ':status': 200, 'content-type': 'text/plain' });
  stream.end(`h2 ${String(headers[':method'])} ${String(headers[':path'])}`);
};

/** A real HTTP/2 server on 127.0.0.1: h2c without `cert`, h2 over TLS (ALPN h2 only) with it. */
async function startH2Backend(options: { cert?: IssuedCert; settings?: http2.Settings } = {}): Promise<H2Backend> {
  const { cert, settings } = options;
  const server = cert === undefined ? http2.createServer({ settings }) : http2.createSecureServer({ cert: cert.cert, key: cert.key, settings });
  const backend: H2Backend = {
    port: 0,
    server,
    sessions: [],
    requests: [],
    handler: echo,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of backend.sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
  server.on('session', (session: http2.ServerHttp2Session) => {
    backend.sessions.push(session);
    session.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    // Refused and reset streams are part of these tests.
    stream.on('error', () => undefined);
    backend.requests.push(headers);
    backend.handler(stream, headers);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  Object.assign(backend, { port: (server.address() as AddressInfo).port });
  return backend;
}

/** A request on a fresh HTTP/1.1 connection to weir, with the trailers read too. */
function request(url: string, options: { method?: string; body?: Buffer[]; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders; trailers: NodeJS.Dict<string> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', agent: false, headers: options.headers, signal: AbortSignal.timeout(10_000) });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers, trailers: res.trailers }));
    });
    for (const chunk of options.body ?? []) req.write(chunk);
    req.end();
  });
}

describe('backends spoken to in HTTP/2', () => {
  let ca: CertAuthority;
  let cert: IssuedCert;
  const cleanup: Array<() => Promise<void> | void> = [];
  before(() => {
    ca = new CertAuthority('weir h2 CA');
    cert = ca.issue({ names: ['localhost', 'IP:127.0.0.1'] });
    cleanup.push(() => ca.close());
  });
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  async function weirOn(backend: H2Backend, protocol: 'h2' | 'h2c', service: Record<string, unknown> = {}) {
    const servers = [protocol === 'h2' ? `https://127.0.0.1:${backend.port}` : `127.0.0.1:${backend.port}`];
    const tls = protocol === 'h2' ? { tls: { ca: ca.caPath } } : {};
    const started = await startWatchedWeir({ routes: [{ path: '/', service: 'app' }], services: { app: { servers, protocol, ...tls, ...service } } });
    cleanup.push(() => started.weir.close());
    return started;
  }

  for (const protocol of ['h2c', 'h2'] as const) {
    describe(protocol, () => {
      async function backendAndWeir(service: Record<string, unknown> = {}, settings?: http2.Settings) {
        const backend = await startH2Backend({ cert: protocol === 'h2' ? cert : undefined, settings });
        cleanup.push(() => backend.close());
        return { backend, ...(await weirOn(backend, protocol, service)) };
      }

      it('carries 100 concurrent requests on one session, with :authority from Host and no connection-specific headers', async () => {
        const { backend, weir } = await backendAndWeir();
        // Answered only once all 100 are open at once: they must share the session concurrently.
        const waiting: Array<() => void> = [];
        backend.handler = (stream, headers) => {
          waiting.push(() => echo(stream, headers));
          if (waiting.length === 100) for (const answer of waiting) answer();
        };
        const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => request(`${weir.url}/n/${i}`, { headers: { host: 'api.example', connection: 'keep-alive', 'keep-alive': 'timeout=5' } })));
        assert.deepEqual(replies.map((r) => r.status), Array(100).fill(200));
        assert.deepEqual(new Set(replies.map((r) => r.body)), new Set(Array.from({ length: 100 }, (_, i) => `h2 GET /n/${i}`)));
        assert.equal(backend.sessions.length, 1, 'one session multiplexes them all');
        const first = backend.requests[0]!;
        assert.equal(first[':authority'], 'api.example');
        assert.equal(first[':scheme'], protocol === 'h2' ? 'https' : 'http');
        assert.equal(first['keep-alive'], undefined);
        assert.equal(first.connection, undefined);
      });

      it('opens another session when the backend\'s max concurrent streams are reached', async () => {
        const { backend, weir } = await backendAndWeir({}, { maxConcurrentStreams: 10 });
        // A first request, so that the backend's limit is known from its SETTINGS before the rush.
        assert.equal((await request(`${weir.url}/warm`)).status, 200);
        const waiting: Array<() => void> = [];
        backend.handler = (stream, headers) => {
          waiting.push(() => echo(stream, headers));
          if (waiting.length === 25) for (const answer of waiting) answer();
        };
        const replies = await Promise.all(Array.from({ length: 25 }, (_, i) => request(`${weir.url}/n/${i}`)));
        assert.deepEqual(replies.map((r) => r.status), Array(25).fill(200));
        assert.equal(backend.sessions.length, 3, '25 streams, 10 per session');
      });

      it('streams a POST body to the backend as it arrives, and its answer back', async () => {
        const { backend, weir } = await backendAndWeir();
        let firstChunkSeen!: () => void;
        const firstChunk = new Promise<void>((resolve) => (firstChunkSeen = resolve));
        backend.handler = (stream, headers) => {
          let bytes = 0;
          stream.on('data', (chunk: Buffer) => {
            if (bytes === 0) firstChunkSeen();
            bytes += chunk.length;
          });
          stream.on('end', () => {
            stream.respond({ ':status': 201 });
            stream.end(`${String(headers[':method'])} ${bytes} bytes, content-length ${String(headers['content-length'])}`);
          });
        };
        const req = http.request(`${weir.url}/upload`, { method: 'POST', agent: false });
        const replied = once(req, 'response') as Promise<[http.IncomingMessage]>;
        req.write(Buffer.alloc(64 * 1024, 1));
        // The first chunk reaches the backend while the client still holds the rest.
        await firstChunk;
        for (let i = 0; i < 31; i++) req.write(Buffer.alloc(64 * 1024, 2));
        req.end();
        const [res] = await replied;
        const chunks: Buffer[] = [];
        for await (const chunk of res) chunks.push(chunk as Buffer);
        assert.equal(res.statusCode, 201);
        assert.equal(Buffer.concat(chunks).toString(), `POST ${32 * 64 * 1024} bytes, content-length undefined`);

        const sized = await request(`${weir.url}/sized`, { method: 'PUT', body: [Buffer.from('hello')], headers: { 'content-length': '5' } });
        assert.equal(sized.body, 'PUT 5 bytes, content-length 5');
      });

      it('passes the response trailers on', async () => {
        const { backend, weir } = await backendAndWeir();
        backend.handler = (stream) => {
          stream.respond({ ':status': 200, trailer: 'x-checksum' }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': 'abc123' }));
          stream.end('body');
        };
        const reply = await request(`${weir.url}/t`, { headers: { te: 'trailers' } });
        assert.equal(reply.body, 'body');
        assert.equal(reply.trailers['x-checksum'], 'abc123');
      });

      it('loses no idempotent request to a GOAWAY mid-traffic: refused streams go out again on a new session', async () => {
        // No retries on other backends: the pool itself sends a refused stream again.
        const { backend, weir, lines } = await backendAndWeir({ retries: { attempts: 0 } });
        let seen = 0;
        backend.handler = (stream, headers) => {
          seen++;
          // Mid-traffic, the backend says it processes nothing after this stream, then closes once its streams are done.
          if (seen === 30) {
            stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id);
            stream.session!.close();
          }
          setImmediate(() => echo(stream, headers));
        };
        const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => request(`${weir.url}/g/${i}`)));
        assert.deepEqual(replies.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body}`), []);
        assert.ok(backend.sessions.length >= 2, 'a second session took the refused streams');
        assert.deepEqual(lines.filter((l) => Number(l.status) >= 500), []);
      });

      it('answers 502 when the backend resets a stream or dies under it', async () => {
        const { backend, weir, lines } = await backendAndWeir({ retries: { attempts: 0 } });
        backend.handler = (stream) => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        const reset = await request(`${weir.url}/reset`);
        assert.equal(reset.status, 502);
        assert.equal(lines.find((l) => l.status === 502)?.reason, 'backend reset the stream (INTERNAL_ERROR)');

        backend.handler = (stream) => stream.session!.socket.destroy();
        const died = await request(`${weir.url}/die`, { method: 'POST', body: [Buffer.from('x')] });
        assert.equal(died.status, 502);
        const reason = String(lines.filter((l) => l.status === 502).at(-1)?.reason);
        assert.match(reason, /^(backend closed the connection before responding|connection to the backend failed \(ECONNRESET\))$/);

        // After its head: the client's response is cut, not completed.
        backend.handler = (stream) => {
          stream.respond({ ':status': 200 });
          stream.write('partial', () => stream.session!.socket.destroy());
        };
        await assert.rejects(request(`${weir.url}/cut`), /aborted|socket hang up|ECONNRESET|premature/i);
        // And a new session serves the next request.
        backend.handler = echo;
        assert.equal((await request(`${weir.url}/again`)).status, 200);
      });

      it('checks health over HTTP/2', async () => {
        const { backend, weir } = await backendAndWeir({ health_check: { path: '/health', interval: '1m' } });
        const app = weir.runtime().services.get('app')!.backends[0]!;
        assert.equal(app.state, 'up', app.reason);
        assert.ok(backend.requests.some((h) => h[':path'] === '/health'), 'the check came as an HTTP/2 stream');
      });

      it('refuses an Upgrade request clearly: HTTP/2 backends cannot take it', async () => {
        const { backend, weir } = await backendAndWeir();
        const reply = await send(`${weir.url}/ws`, { headers: { connection: 'upgrade', upgrade: 'websocket' } });
        assert.equal(reply.status, 501);
        assert.equal(backend.requests.length, 0);
      });
    });
  }

  it('answers 502 naming ALPN when a TLS backend does not speak HTTP/2', async () => {
    const { default: https } = await import('node:https');
    const server = https.createServer({ cert: cert.cert, key: cert.key }, (_req, res) => res.end('http/1.1'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const { weir, lines } = await startWatchedWeir({
      routes: [{ path: '/', service: 'app' }],
      services: { app: { servers: [`https://127.0.0.1:${port}`], protocol: 'h2', tls: { ca: ca.caPath }, retries: { attempts: 0 } } },
    });
    cleanup.push(() => weir.close());
    assert.equal((await send(`${weir.url}/`)).status, 502);
    assert.match(String(lines.find((l) => l.status === 502)?.reason), /^TLS: backend does not speak HTTP\/2 \((it refused ALPN h2|ALPN agreed on no protocol, not h2)\)$/);
  });

  it('answers 502 saying so when an h2c server speaks only HTTP/1.1', async () => {
    const server = http.createServer((_req, res) => res.end('http/1.1'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const { weir, lines } = await startWatchedWeir({
      routes: [{ path: '/', service: 'app' }],
      services: { app: { servers: [`127.0.0.1:${port}`], protocol: 'h2c', retries: { attempts: 0 } } },
    });
    cleanup.push(() => weir.close());
    assert.equal((await send(`${weir.url}/`)).status, 502);
    assert.match(String(lines.find((l) => l.status === 502)?.reason), /^backend does not speak HTTP\/2 \(.* without sending SETTINGS\)$/);
  });

  it('closes a session left idle past the keep-alive time, without pinging it', async () => {
    const backend = await startH2Backend();
    cleanup.push(() => backend.close());
    const pings: number[] = [];
    const { weir } = await weirOn(backend, 'h2c');
    assert.equal((await request(`${weir.url}/once`)).status, 200);
    const session = backend.sessions[0]!;
    session.on('ping', () => pings.push(Date.now()));
    await eventually('the idle session to be closed by weir', () => session.closed || session.destroyed, 8_000);
    assert.deepEqual(pings, []);
  });
});

// A TLS listener: certificates chosen by SNI, HTTP/2 or HTTP/1.1 by ALPN,
// and everything HTTP/1.1 does on a plain listener (pipelining, 408, 400,
// keep-alive timeout, Upgrade tunnels, drain) done the same over TLS.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls, { type SecureContext } from 'node:tls';
import { promisify } from 'node:util';
import { SocketAnswer, type ClientAnswer } from '../src/http/client-answer.ts';
import type { IncomingRequest } from '../src/runtime/exchange.ts';
import { listenHttp, type ClientSettings, type HttpListener, type ListenOptions, type ListenTls, type RequestServer } from '../src/server/http-listener.ts';
import { CertAuthority, type IssuedCert } from './helpers/certs.ts';
import { eventually } from './helpers/client.ts';
import type { Weir } from '../src/weir.ts';
import { startBackend, type TestBackend } from './helpers/backends.ts';
import { h2Connect, h2Request } from './helpers/h2-frames.ts';
import { captureLog } from './helpers/log.ts';
import { startWatchedWeir } from './helpers/weir.ts';

const execFileAsync = promisify(execFile);

const SETTINGS: ClientSettings = { maxConnections: 1000, pipelinedRequests: 16, headerTimeoutMs: 10_000, keepAliveMs: 30_000 };

/** Answers what it saw as JSON; an Upgrade request gets a 101 and an echo of what follows on the connection. */
class EchoServer implements RequestServer {
  readonly seen: IncomingRequest[] = [];

  serve(request: IncomingRequest, answer: ClientAnswer): void {
    this.seen.push(request);
    if (request.upgrade && answer instanceof SocketAnswer) {
      answer.writeHead(101, 'Switching Protocols', ['connection', 'upgrade', 'upgrade', request.upgrade.protocol]);
      if (request.upgrade.head.length > 0) answer.socket.write(request.upgrade.head);
      answer.socket.pipe(answer.socket);
      return;
    }
    request.body.resume();
    request.body.on('end', () => {
      const body = JSON.stringify({ url: request.url, version: request.httpVersionMajor, secure: request.secure ?? false, proxySource: request.proxySource ?? null });
      answer.writeHead(200, undefined, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body))]);
      answer.end(body);
    });
  }
}

let ca: CertAuthority;
let site: IssuedCert;
let other: IssuedCert;
let contexts: Map<string, SecureContext>;
before(() => {
  ca = new CertAuthority();
  site = ca.issue({ names: ['localhost', 'IP:127.0.0.1'] });
  other = ca.issue({ names: ['other.test'] });
  contexts = new Map([
    ['localhost', tls.createSecureContext({ cert: site.cert, key: site.key })],
    ['other.test', tls.createSecureContext({ cert: other.cert, key: other.key })],
  ]);
});
after(() => ca.close());

/** SNI as weir's certificate store answers it: by name, the first certificate for any other name and for "" (no SNI). */
function certificates(minVersion: ListenTls['minVersion'] = 'TLSv1.2'): ListenTls {
  return {
    sniCallback: (servername, cb) => cb(null, contexts.get(servername) ?? contexts.get('localhost')),
    minVersion,
    ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384',
  };
}

async function listen(requests: RequestServer, settings: Partial<ClientSettings> = {}, options: ListenOptions = {}): Promise<{ listener: HttpListener; port: number; lines: Array<Record<string, unknown>> }> {
  const { logger, lines } = captureLog();
  const listener = await listenHttp({ host: '127.0.0.1', port: 0 }, requests, { ...SETTINGS, ...settings }, logger, { tls: certificates(), ...options });
  return { listener, port: listener.address.port, lines };
}

/** A TLS connection to the listener, offering `alpn`. */
async function connectTls(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.caCert, servername: 'localhost', ALPNProtocols: ['http/1.1'], ...options });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  return socket;
}

/** Everything the server sends on `socket` until it closes the connection (bounded). */
function readUntilClosed(socket: net.Socket | tls.TLSSocket, what: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`the server did not close the connection within ${timeoutMs}ms: ${what}; got ${JSON.stringify(text)}`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

async function curl(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('curl', ['-sS', '--max-time', '5', '--cacert', ca.caPath, ...args]);
  return stdout;
}

describe('a TLS listener', () => {
  const echo = new EchoServer();
  let listener: HttpListener;
  let port: number;
  before(async () => ({ listener, port } = await listen(echo, { headerTimeoutMs: 500, keepAliveMs: 500 })));
  after(() => listener.drain(1_000));

  it('says it is secure', () => {
    assert.equal(listener.secure, true);
  });

  it('answers curl over HTTP/2 and over HTTP/1.1, by ALPN, as https', async () => {
    const resolve = ['--resolve', `localhost:${port}:127.0.0.1`];
    const [h2Body, h2Version] = (await curl(['--http2', ...resolve, '-w', '\n%{http_version}', `https://localhost:${port}/by-h2`])).split('\n');
    assert.equal(h2Version, '2');
    assert.deepEqual(JSON.parse(h2Body!), { url: '/by-h2', version: 2, secure: true, proxySource: null });
    const [h1Body, h1Version] = (await curl(['--http1.1', ...resolve, '-w', '\n%{http_version}', `https://localhost:${port}/by-h1`])).split('\n');
    assert.equal(h1Version, '1.1');
    assert.deepEqual(JSON.parse(h1Body!), { url: '/by-h1', version: 1, secure: true, proxySource: null });
  });

  it('picks the certificate by SNI, and gives a client without SNI the default', async () => {
    const fingerprint = (issued: IssuedCert): string => new X509Certificate(issued.cert).fingerprint256;
    const named = await connectTls(port, { servername: 'other.test' });
    assert.equal(named.getPeerCertificate().fingerprint256, fingerprint(other));
    named.destroy();
    // An IP address sends no SNI.
    const bare = await connectTls(port, { servername: '', checkServerIdentity: () => undefined });
    assert.equal(bare.getPeerCertificate().fingerprint256, fingerprint(site));
    bare.destroy();
    // A client without ALPN speaks HTTP/1.1.
    const noAlpn = await connectTls(port, { ALPNProtocols: [] });
    noAlpn.write('GET /no-alpn HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    assert.match(await readUntilClosed(noAlpn, 'one request with Connection: close'), /^HTTP\/1\.1 200 [^]*"version":1/);
  });

  it('serves pipelined HTTP/1.1 requests over TLS in order', async () => {
    const socket = await connectTls(port);
    socket.write(['/p1', '/p2', '/p3'].map((path, i) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${i === 2 ? 'Connection: close\r\n' : ''}\r\n`).join(''));
    const text = await readUntilClosed(socket, 'three pipelined requests, the last with Connection: close');
    assert.deepEqual([...text.matchAll(/"url":"(\/p\d)"/g)].map((m) => m[1]), ['/p1', '/p2', '/p3']);
  });

  it('answers 400 to a malformed request and 408 to a head that does not finish, over TLS', async () => {
    const malformed = await connectTls(port);
    malformed.write('GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
    assert.match(await readUntilClosed(malformed, 'a 400'), /^HTTP\/1\.1 400 /);
    const slow = await connectTls(port);
    slow.write('GET / HTTP/1.1\r\nHost: local');
    assert.match(await readUntilClosed(slow, 'a 408 after client_timeouts.header', 5_000), /^HTTP\/1\.1 408 /);
  });

  it('closes an idle HTTP/1.1 keep-alive connection after client_timeouts.keep_alive, over TLS', async () => {
    const socket = await connectTls(port);
    socket.write('GET /once HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const text = await readUntilClosed(socket, 'the keep-alive timeout');
    assert.match(text, /^HTTP\/1\.1 200 /);
  });

  it('tunnels an Upgrade request over TLS (HTTP/1.1)', async () => {
    const socket = await connectTls(port);
    socket.write('GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await eventually('the 101', () => text.includes('\r\n\r\n'));
    assert.match(text, /^HTTP\/1\.1 101 /);
    socket.write('ping over the tunnel');
    await eventually('the echo through the tunnel', () => text.endsWith('ping over the tunnel'));
    socket.destroy();
  });

  it('closes a connection that does not finish its TLS handshake within client_timeouts.header', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.from([0x16, 0x03, 0x01])); // the start of a ClientHello, and no more
    await readUntilClosed(socket, 'the handshake timeout');
  });
});

describe('TLS listener options', () => {
  it('offers only HTTP/1.1 by ALPN when HTTP/2 is off', async () => {
    const { listener, port } = await listen(new EchoServer(), {}, { http2: false });
    try {
      const socket = await connectTls(port, { ALPNProtocols: ['h2', 'http/1.1'] });
      assert.equal(socket.alpnProtocol, 'http/1.1');
      socket.destroy();
    } finally {
      await listener.drain(1_000);
    }
  });

  it('refuses a client older than min_version even when the certificate\'s context would take it', async () => {
    const { listener, port } = await listen(new EchoServer(), {}, { tls: certificates('TLSv1.3') });
    try {
      const old = tls.connect({ host: '127.0.0.1', port, ca: ca.caCert, servername: 'localhost', maxVersion: 'TLSv1.2' });
      old.on('error', () => undefined);
      await readUntilClosed(old, 'a TLS 1.2 client refused');
      const current = await connectTls(port);
      assert.equal(current.getProtocol(), 'TLSv1.3');
      current.destroy();
    } finally {
      await listener.drain(1_000);
    }
  });

  it('reads a PROXY header before the TLS handshake, sent in the same write as the ClientHello, for HTTP/2 and HTTP/1.1', async () => {
    const echo = new EchoServer();
    const { listener, port } = await listen(echo, {}, { proxyProtocol: true });
    try {
      for (const alpn of ['h2', 'http/1.1']) {
        const raw = net.connect(port, '127.0.0.1');
        await new Promise((resolve) => raw.once('connect', resolve));
        // Corked: the header and the ClientHello leave in one segment.
        raw.cork();
        raw.write('PROXY TCP4 198.51.100.9 10.0.0.1 40000 443\r\n');
        const secure = tls.connect({ socket: raw, ca: ca.caCert, servername: 'localhost', ALPNProtocols: [alpn] });
        process.nextTick(() => raw.uncork());
        await new Promise<void>((resolve, reject) => {
          secure.once('secureConnect', () => resolve());
          secure.once('error', reject);
        });
        assert.equal(secure.alpnProtocol, alpn);
        if (alpn === 'h2') {
          const session = (await import('node:http2')).connect(`https://localhost:${port}`, { createConnection: () => secure });
          session.on('error', () => undefined);
          const reply = await h2Request(session, { ':path': '/proxied-h2' });
          assert.equal(JSON.parse(reply.body).proxySource, '198.51.100.9');
          session.close();
        } else {
          secure.write('GET /proxied-h1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
          assert.match(await readUntilClosed(secure, 'one request'), /"proxySource":"198\.51\.100\.9"/);
        }
      }
    } finally {
      await listener.drain(1_000);
    }
  });

  it('drains TLS connections of both protocols: idle ones close at once, a request in flight finishes', async () => {
    let release: (() => void) | undefined;
    const slow: RequestServer = {
      serve(request, answer) {
        request.body.resume();
        const reply = (): void => {
          answer.writeHead(200, undefined, ['content-length', '4']);
          answer.end('done');
        };
        if (request.url === '/slow') release = reply;
        else reply();
      },
    };
    const { listener, port } = await listen(slow);
    // Idle: its one request answered, kept alive.
    const idleH1 = await connectTls(port);
    const idleClosed = readUntilClosed(idleH1, 'the idle HTTP/1.1 connection');
    idleH1.write('GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await eventually('the keep-alive answer', () => idleH1.bytesRead > 0);
    const h2 = await h2Connect(port, { ca: ca.caCert });
    const inFlight = h2Request(h2, { ':path': '/slow' });
    await eventually('the slow request arrived', () => release !== undefined);
    const drained = listener.drain(5_000);
    await idleClosed;
    release!();
    assert.equal((await inFlight).body, 'done');
    await drained;
    assert.equal(listener.connections(), 0);
  });
});

describe('TLS through weir', () => {
  let backend: TestBackend;
  let weir: Weir;
  let port: number;
  before(async () => {
    backend = await startBackend('app');
    // A WebSocket-like backend: 101, then an echo.
    backend.server.on('upgrade', (req, socket, head) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
      if (head.length > 0) socket.write(head);
      socket.pipe(socket);
    });
    ({ weir } = await startWatchedWeir({
      listeners: [{ address: '127.0.0.1:0', tls: { certificates: [{ cert: site.certPath, key: site.keyPath }] } }],
      routes: [{ path: '/', service: 'app' }],
      services: { app: { servers: [backend.address] } },
    }));
    assert.match(weir.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    port = weir.address.port;
  });
  after(async () => {
    await weir?.close();
    await backend?.close();
  });

  it('answers curl over HTTP/2 and over HTTP/1.1 alike', async () => {
    for (const [flag, version] of [['--http2', '2'], ['--http1.1', '1.1']]) {
      const out = await curl([flag!, '-w', '\n%{http_version}', `${weir.url}/hello`]);
      assert.equal(out, `app GET /hello\n${version}`, flag);
    }
    const seen = backend.seen.slice(-2);
    assert.deepEqual(seen.map((r) => r.headers['x-forwarded-proto']), ['https', 'https']);
    assert.deepEqual(seen.map((r) => r.headers.via), ['2 weir', '1.1 weir']);
  });

  it('tunnels a WebSocket over TLS (HTTP/1.1) to the backend and back', async () => {
    const socket = await connectTls(port);
    socket.write('GET /chat HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await eventually('the 101 from the backend', () => text.includes('\r\n\r\n'));
    assert.match(text, /^HTTP\/1\.1 101 /);
    socket.write('hello through weir');
    await eventually('the echo', () => text.endsWith('hello through weir'));
    socket.destroy();
  });
});

// The listener with PROXY protocol on: real sockets on 127.0.0.1 write
// headers the way HAProxy or an AWS NLB would, and the handler answers with
// the source it sees for its connection.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { listenHttp, type ClientSettings, type HttpListener, type ListenOptions, type RequestServer } from '../src/server/http-listener.ts';
import { rawExchange } from './helpers/client.ts';
import { captureLog } from './helpers/log.ts';

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** Answers every request with the PROXY source address of its connection and the size of its body. */
const handlers: RequestServer = {
  serve(request, answer) {
    let bodyBytes = 0;
    request.body.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    request.body.on('end', () => {
      const body = JSON.stringify({ source: request.proxySource ?? null, url: request.url, bodyBytes });
      answer.writeHead(200, undefined, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body))]);
      answer.end(body);
    });
  },
};

const SETTINGS: ClientSettings = { maxConnections: 1000, pipelinedRequests: 16, headerTimeoutMs: 30_000, keepAliveMs: 5_000 };

function request(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: weir.test\r\n${extra}\r\n`;
}

function v2Header(command: 'LOCAL' | 'PROXY', familyTransport: number, addresses: Buffer): Buffer {
  const fixed = Buffer.from([command === 'LOCAL' ? 0x20 : 0x21, familyTransport, 0, addresses.length]);
  return Buffer.concat([V2_SIGNATURE, fixed, addresses]);
}

interface Answer {
  status: number;
  body: { source: string | null; url: string; bodyBytes: number };
}

/** A client connection that writes exactly the bytes given and reads Content-Length responses one at a time. */
class RawConnection {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  #received = Buffer.alloc(0);
  #waiting: (() => void) | undefined;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
      this.#waiting?.();
    });
    this.socket.on('error', () => undefined);
    this.closed = once(this.socket, 'close').then(() => this.#waiting?.());
  }

  /** Writes, then lets the event loop run once so the server reads this chunk before the next one is written. */
  async write(bytes: string | Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => this.socket.write(bytes, (error) => (error ? reject(error) : resolve())));
    await new Promise((resolve) => setImmediate(resolve));
  }

  async response(timeoutMs = 5_000): Promise<Answer> {
    const deadline = AbortSignal.timeout(timeoutMs);
    for (;;) {
      const end = this.#received.indexOf('\r\n\r\n');
      if (end !== -1) {
        const head = this.#received.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1]);
        if (this.#received.length >= end + 4 + length) {
          const body = this.#received.subarray(end + 4, end + 4 + length).toString('utf8');
          this.#received = this.#received.subarray(end + 4 + length);
          return { status: Number(head.split(' ')[1]), body: JSON.parse(body) as Answer['body'] };
        }
      }
      if (this.socket.destroyed) throw new Error(`connection closed before a full response; got ${JSON.stringify(this.#received.toString('latin1'))}`);
      if (deadline.aborted) throw new Error(`no full response within ${timeoutMs}ms`);
      await new Promise<void>((resolve) => {
        this.#waiting = resolve;
        deadline.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Resolves when the server closes the connection, with whatever it sent first; fails after the bound. */
async function closedByServer(connection: RawConnection, timeoutMs = 5_000): Promise<void> {
  const timeout = AbortSignal.timeout(timeoutMs);
  await Promise.race([
    connection.closed,
    once(timeout, 'abort').then(() => {
      throw new Error(`the server did not close the connection within ${timeoutMs}ms`);
    }),
  ]);
}

describe('PROXY protocol on the listener', () => {
  let listener: HttpListener;
  let port: number;
  const log = captureLog();

  async function start(options: ListenOptions): Promise<HttpListener> {
    return listenHttp({ host: '127.0.0.1', port: 0 }, handlers, SETTINGS, log.logger, options);
  }

  before(async () => {
    listener = await start({ proxyProtocol: true });
    port = listener.address.port;
  });
  after(async () => {
    await listener.drain(1_000);
  });

  it('reads a v1 header and a request sent in the same write', async () => {
    const connection = new RawConnection(port);
    await connection.write(`PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n${request('/same-write')}`);
    const answer = await connection.response();
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.source, '192.0.2.10');
    assert.equal(answer.body.url, '/same-write');
    connection.close();
  });

  it('reads a header split across writes and a request that starts in the header\'s last write', async () => {
    const connection = new RawConnection(port);
    const bytes = `PROXY TCP6 2001:db8::7 2001:db8::1 40000 80\r\n${request('/split')}`;
    await connection.write(bytes.slice(0, 9));
    await connection.write(bytes.slice(9, 30));
    await connection.write(bytes.slice(30, 60));
    await connection.write(bytes.slice(60));
    const answer = await connection.response();
    assert.deepEqual(answer.body.source, '2001:db8::7');
    assert.equal(answer.body.url, '/split');
    connection.close();
  });

  it('passes a large body sent with the header in one write through whole', async () => {
    const connection = new RawConnection(port);
    const body = Buffer.alloc(3 * 1024 * 1024, 'x');
    const head = `PROXY TCP4 192.0.2.11 198.51.100.1 1000 80\r\nPOST /upload HTTP/1.1\r\nHost: weir.test\r\nContent-Length: ${body.length}\r\n\r\n`;
    await connection.write(Buffer.concat([Buffer.from(head), body]));
    const answer = await connection.response();
    assert.equal(answer.body.bodyBytes, body.length);
    assert.deepEqual(answer.body.source, '192.0.2.11');
    connection.close();
  });

  it('reads v2 headers for TCP over IPv4 and IPv6', async () => {
    const ipv4 = new RawConnection(port);
    await ipv4.write(Buffer.concat([v2Header('PROXY', 0x11, Buffer.from([192, 0, 2, 20, 198, 51, 100, 1, 0xdc, 0x04, 0x01, 0xbb])), Buffer.from(request('/v2-ipv4'))]));
    assert.deepEqual((await ipv4.response()).body.source, '192.0.2.20');
    ipv4.close();

    const ipv6 = new RawConnection(port);
    const addresses = Buffer.concat([Buffer.from('20010db8000000000000000000000020', 'hex'), Buffer.from('20010db8000000000000000000000001', 'hex'), Buffer.from([0x1f, 0x90, 0x00, 0x50])]);
    const header = v2Header('PROXY', 0x21, addresses);
    // The header alone first: the request follows in a later write.
    await ipv6.write(header);
    await ipv6.write(request('/v2-ipv6'));
    assert.deepEqual((await ipv6.response()).body.source, '2001:db8::20');
    ipv6.close();
  });

  it('serves a v2 LOCAL connection (a balancer health check) with no source', async () => {
    const connection = new RawConnection(port);
    await connection.write(Buffer.concat([v2Header('LOCAL', 0x00, Buffer.alloc(0)), Buffer.from(request('/health'))]));
    const answer = await connection.response();
    assert.equal(answer.status, 200);
    assert.equal(answer.body.source, null);
    connection.close();
  });

  it('keeps the source for every request on a keep-alive connection', async () => {
    const connection = new RawConnection(port);
    await connection.write(`PROXY TCP4 192.0.2.30 198.51.100.1 50000 80\r\n${request('/first')}`);
    const first = await connection.response();
    await connection.write(request('/second'));
    const second = await connection.response();
    assert.equal(first.body.url, '/first');
    assert.equal(second.body.url, '/second');
    assert.deepEqual(first.body.source, '192.0.2.30');
    assert.deepEqual(second.body.source, '192.0.2.30');
    connection.close();
  });

  it('closes a connection without a header, saying why once at debug level', async () => {
    const linesBefore = log.lines.length;
    const reply = await rawExchange(port, request('/no-header', 'Connection: close\r\n'));
    assert.equal(reply, '', 'not one byte of HTTP is answered');
    const lines = log.lines.slice(linesBefore);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0]!.level, 20);
    assert.match(String(lines[0]!.msg), /connection closed: no PROXY protocol header; the connection starts with "GET \/no-header H/);
  });

  it('closes a connection that stops sending before its header is complete, quietly', async () => {
    const linesBefore = log.lines.length;
    const connection = new RawConnection(port);
    await connection.write('PROXY TCP4 192.0.2.1');
    connection.socket.end();
    await closedByServer(connection, 2_000);
    assert.deepEqual(log.lines.slice(linesBefore), []);
  });

  it('closes a connection with an invalid header', async () => {
    const reply = await rawExchange(port, `PROXY TCP4 192.0.2.300 198.51.100.1 1 2\r\n${request('/bad', 'Connection: close\r\n')}`);
    assert.equal(reply, '');
  });
});

describe('PROXY protocol header timeout and drain', () => {
  it('closes a connection that does not finish its header in time', async () => {
    const { logger, lines } = captureLog();
    const listener = await listenHttp({ host: '127.0.0.1', port: 0 }, handlers, SETTINGS, logger, { proxyProtocol: true, proxyHeaderTimeoutMs: 200 });
    try {
      const connection = new RawConnection(listener.address.port);
      await connection.write('PROXY TCP4 192.0.2.1 ');
      const started = Date.now();
      await closedByServer(connection, 3_000);
      assert.ok(Date.now() - started >= 150, 'not before the timeout');
      assert.deepEqual(lines.map((line) => line.msg), ['connection closed: no complete PROXY protocol header within 200ms']);
    } finally {
      await listener.drain(1_000);
    }
  });

  it('drain closes connections waiting for a header and idle keep-alive ones, and stops listening', async () => {
    const listener = await listenHttp({ host: '127.0.0.1', port: 0 }, handlers, SETTINGS, captureLog().logger, { proxyProtocol: true });
    const { port } = listener.address;
    const waiting = new RawConnection(port);
    await waiting.write('PROXY TCP4 192.0.2.1');
    const idle = new RawConnection(port);
    await idle.write(`PROXY TCP4 192.0.2.2 198.51.100.1 1 2\r\n${request('/before-drain')}`);
    assert.equal((await idle.response()).status, 200);

    await listener.drain(1_000);
    await closedByServer(waiting, 1_000);
    await closedByServer(idle, 1_000);
    const refused = net.connect(port, '127.0.0.1');
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'ECONNREFUSED');
  });
});

describe('without PROXY protocol', () => {
  it('treats a PROXY header as a malformed request and names no source', async () => {
    const listener = await listenHttp({ host: '127.0.0.1', port: 0 }, handlers, SETTINGS, captureLog().logger);
    try {
      const plain = new RawConnection(listener.address.port);
      await plain.write(request('/plain'));
      assert.equal((await plain.response()).body.source, null);
      plain.close();
      const reply = await rawExchange(listener.address.port, `PROXY TCP4 192.0.2.1 198.51.100.1 1 2\r\n${request('/')}`);
      assert.match(reply, /^HTTP\/1\.1 400 /);
    } finally {
      await listener.drain(1_000);
    }
  });
});

// Every failure has an owner and a status: broken backends get 502/504,
// malformed requests 400, and nothing a client or backend does stops weir
// from serving the next request.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Weir } from '../src/weir.ts';
import { closedPort, startBackend, type TestBackend } from './helpers/backends.ts';
import { eventually, rawExchange, send } from './helpers/client.ts';
import { startTestWeir } from './helpers/weir.ts';

describe('failures', () => {
  let weir: Weir;
  let port: number;
  let backend: TestBackend;
  let refusedPort: number;
  const behaviours = new Map<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>();
  const aborted: string[] = [];

  before(async () => {
    backend = await startBackend('app', (req, res) => {
      req.on('close', () => {
        if (!res.writableFinished) aborted.push(req.url ?? '');
      });
      const behaviour = behaviours.get(req.url ?? '');
      if (behaviour) behaviour(req, res);
      else {
        req.resume();
        res.end('fine');
      }
    });
    refusedPort = await closedPort();
    weir = await startTestWeir({
      routes: [
        { path: '/refused', service: 'refused' },
        { path: '/', service: 'app' },
      ],
      services: {
        app: { servers: [backend.address], timeouts: { response_headers: '300ms', idle: '300ms' } },
        refused: { servers: [`127.0.0.1:${refusedPort}`] },
      },
    });
    port = weir.address.port;
  });
  after(async () => {
    await weir.close();
    await backend.close();
  });

  async function stillServing(): Promise<void> {
    const reply = await send(`${weir.url}/ok`);
    assert.equal(reply.status, 200, 'weir still serves after the failure');
    assert.equal(reply.body, 'fine');
  }

  it('answers 502 with a short plain body when the backend refuses the connection', async () => {
    const reply = await send(`${weir.url}/refused`);
    assert.equal(reply.status, 502);
    assert.equal(reply.body, 'Bad Gateway');
    assert.match(String(reply.headers['content-type']), /^text\/plain/);
  });

  it('answers 502 when the backend resets the connection before answering', async () => {
    behaviours.set('/reset', (req) => req.socket.destroy());
    assert.equal((await send(`${weir.url}/reset`)).status, 502);
    await stillServing();
  });

  it('answers 504 when the backend sends no response headers in time', async () => {
    behaviours.set('/silent', () => undefined);
    const started = Date.now();
    const reply = await send(`${weir.url}/silent`);
    assert.equal(reply.status, 504);
    assert.equal(reply.body, 'Gateway Timeout');
    assert.ok(Date.now() - started < 3_000, 'the 300ms response_headers timeout applied');
  });

  it('cuts the client connection when the backend goes silent mid-body (idle timeout)', async () => {
    behaviours.set('/stall', (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
    });
    await assert.rejects(send(`${weir.url}/stall`), /aborted|socket hang up|ECONNRESET/);
    await stillServing();
  });

  it('cuts the client connection when the backend dies mid-response, and keeps serving', async () => {
    behaviours.set('/die', (req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('some of it', () => req.socket.destroy());
    });
    await assert.rejects(send(`${weir.url}/die`), /aborted|socket hang up|ECONNRESET/);
    await stillServing();
  });

  it('aborts the backend request when the client disconnects while waiting', async () => {
    let arrived: (() => void) | undefined;
    const backendGotIt = new Promise<void>((resolve) => (arrived = resolve));
    behaviours.set('/wait', () => arrived?.());
    const client = net.connect(port, '127.0.0.1');
    client.write('GET /wait HTTP/1.1\r\nHost: a\r\n\r\n');
    await backendGotIt;
    client.destroy();
    await eventually('the backend request to be aborted', () => aborted.includes('/wait'));
    await stillServing();
  });

  it('aborts the backend request when the client resets mid-upload', async () => {
    let arrived: (() => void) | undefined;
    const backendGotIt = new Promise<void>((resolve) => (arrived = resolve));
    behaviours.set('/upload', (req) => {
      req.once('data', () => arrived?.());
      req.resume();
    });
    const client = net.connect(port, '127.0.0.1');
    client.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n');
    client.write(Buffer.alloc(1000));
    await backendGotIt;
    client.resetAndDestroy();
    await eventually('the backend upload to be aborted', () => aborted.includes('/upload'));
    await stillServing();
  });

  for (const [what, request] of [
    ['conflicting Content-Length headers', 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'],
    ['Content-Length together with Transfer-Encoding', 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['an invalid character in a header name', 'GET /x HTTP/1.1\r\nHost: a\r\nBad Header: 1\r\n\r\n'],
    ['a control character in a header value', 'GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\u0001c\r\n\r\n'],
    ['no Host header', 'GET /x HTTP/1.1\r\n\r\n'],
  ]) {
    it(`answers 400 to ${what} and never forwards it`, async () => {
      backend.seen.length = 0;
      const answer = await rawExchange(port, request!);
      assert.match(answer, /^HTTP\/1\.1 400 /);
      assert.equal(backend.seen.length, 0);
    });
  }

  it('answers 431 to oversized headers', async () => {
    const answer = await rawExchange(port, `GET /x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 431 /);
  });

  it('survives many clients resetting at once', async () => {
    behaviours.set('/slow', (_req, res) => setTimeout(() => res.end('late'), 50));
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        const client = net.connect(port, '127.0.0.1');
        await once(client, 'connect');
        client.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
        client.resetAndDestroy();
      }),
    );
    await stillServing();
  });
});


// weir's own upstream HTTP/1.1 client, end to end: keep-alive reuse only
// after a response was read to its end, ambiguous framing from a backend
// answered with 502 and never reused, a request that meets a kept-alive
// connection the backend had just closed sent again safely, and request
// bodies framed as the client framed them.
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { Weir } from '../src/weir.ts';
import { eventually, send } from './helpers/client.ts';
import { startWatchedWeir } from './helpers/weir.ts';

/** What a scripted backend saw of one request. */
interface ScriptedRequest {
  connection: number;
  head: string;
  body: Buffer;
}

/**
 * Answers one request; `n` counts requests on this connection from 1.
 * null closes the connection without answering; { last } answers and then closes it.
 */
type Script = (request: ScriptedRequest, n: number) => string | null | { last: string };

/** A backend on raw TCP that answers with exactly the bytes a script gives, for responses no HTTP server would send. */
class ScriptedBackend {
  readonly requests: ScriptedRequest[] = [];
  connections = 0;
  script: Script;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();

  constructor(script: Script) {
    this.script = script;
    this.#server = net.createServer((socket) => this.#serve(socket));
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #serve(socket: net.Socket): void {
    const connection = ++this.connections;
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    let n = 0;
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const request = takeRequest(buffered);
        if (request === undefined) return;
        buffered = buffered.subarray(request.length);
        const seen = { connection, head: request.head, body: request.body };
        this.requests.push(seen);
        const answer = this.script(seen, ++n);
        if (answer === null) {
          socket.destroy();
          return;
        }
        if (typeof answer !== 'string') {
          socket.end(answer.last);
          return;
        }
        socket.write(answer);
      }
    });
  }
}

/** One whole request from the front of `bytes` (Content-Length or chunked body), or undefined when more is needed. */
function takeRequest(bytes: Buffer): { head: string; body: Buffer; length: number } | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = bytes.subarray(0, end).toString('latin1');
  let at = end + 4;
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (length) {
    const size = Number(length[1]);
    if (bytes.length < at + size) return undefined;
    return { head, body: bytes.subarray(at, at + size), length: at + size };
  }
  if (!/\r\ntransfer-encoding: *chunked/i.test(head)) return { head, body: Buffer.alloc(0), length: at };
  const parts: Buffer[] = [];
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (size === 0) {
      if (bytes.length < lineEnd + 4) return undefined;
      return { head, body: Buffer.concat(parts), length: lineEnd + 4 };
    }
    if (bytes.length < lineEnd + 2 + size + 2) return undefined;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

function ok(body: string, extra = ''): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

/** A GET on a kept-alive client connection, so that weir's side is what decides reuse. */
function get(agent: http.Agent, url: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, method, signal: AbortSignal.timeout(5_000) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

interface Scene {
  backend: ScriptedBackend;
  weir: Weir;
  lines: Array<Record<string, unknown>>;
  agent: http.Agent;
}

/** A scripted backend and a weir in front of it, for the length of `body`. */
async function scripted(script: Script, body: (scene: Scene) => Promise<void>): Promise<void> {
  const backend = new ScriptedBackend(script);
  await backend.listen();
  const { weir, lines } = await startWatchedWeir({
    listen: '127.0.0.1:0',
    // One attempt only, so that a 502 here is the backend's answer and not a retry's.
    services: { app: { servers: [`127.0.0.1:${backend.port}`], retries: { attempts: 0 } } },
    routes: [{ path: '/', service: 'app' }],
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await body({ backend, weir, lines, agent });
  } finally {
    agent.destroy();
    await weir.close();
    await backend.close();
  }
}

/** The failure log line of the request to `url`, once it is written. */
async function lineFor(lines: Array<Record<string, unknown>>, url: string): Promise<Record<string, unknown>> {
  let found: Record<string, unknown> | undefined;
  await eventually(`a log line for ${url}`, () => (found = lines.findLast((line) => line.url === url && line.status !== undefined)) !== undefined);
  return found!;
}

describe('upstream client', () => {
  it('keeps one backend connection alive across sequential requests', async () => {
    await scripted(
      () => ok('kept'),
      async ({ backend, weir, agent }) => {
        const before = backend.connections;
        for (let i = 0; i < 20; i++) assert.deepEqual(await get(agent, `${weir.url}/k${i}`), { status: 200, body: 'kept' });
        assert.equal(backend.connections - before, 1, 'all 20 requests on one backend connection');
      },
    );
  });

  const ambiguous: Array<[string, string, RegExp]> = [
    ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', /Content-Length/i],
    ['Content-Length with chunked', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', /Transfer-Encoding|Content-Length/i],
    ['a transfer coding weir cannot pass on', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', /Transfer-Encoding|coding/i],
    ['a bare LF in the head', 'HTTP/1.1 200 OK\nContent-Length: 5\n\nhello', /LF/],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello', /colon|header/i],
  ];
  for (const [what, response, reason] of ambiguous) {
    it(`answers ${what} from the backend with 502 owned by the backend, and does not reuse that connection`, async () => {
      await scripted(
        (request) => (request.head.startsWith('GET /bad') ? response : ok('fine')),
        async ({ backend, weir, lines }) => {
          const before = backend.connections;
          const bad = await send(`${weir.url}/bad`);
          assert.equal(bad.status, 502);
          assert.ok(bad.body.length < 200, `a short plain body: ${bad.body}`);
          const line = await lineFor(lines, '/bad');
          assert.equal(line.owner, 'backend');
          assert.match(String(line.reason), reason);
          const after = await send(`${weir.url}/after`);
          assert.deepEqual([after.status, after.body], [200, 'fine']);
          assert.ok(backend.connections - before >= 2, 'the bad connection was not used again');
        },
      );
    });
  }

  it('cuts a response whose chunked body breaks off into bad framing (its head was already sent), blaming the backend', async () => {
    await scripted(
      (request) => (request.head.startsWith('GET /bad') ? 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n' : ok('fine')),
      async ({ backend, weir, lines }) => {
        const before = backend.connections;
        await assert.rejects(send(`${weir.url}/bad`), /socket hang up|aborted|ECONNRESET/, 'the client must not take a cut body for a whole one');
        const line = await lineFor(lines, '/bad');
        assert.equal(line.owner, 'backend');
        assert.match(String(line.reason), /chunk size/);
        const after = await send(`${weir.url}/after`);
        assert.deepEqual([after.status, after.body], [200, 'fine']);
        assert.equal(backend.connections - before, 2, 'the bad connection was not used again');
      },
    );
  });

  it('sends a GET again on a new connection when the kept-alive one was closed by the backend as the request went out', async () => {
    await scripted(
      // The second request on each connection finds it closed, as when a backend's idle timeout fires at that moment.
      (_request, n) => (n === 1 ? ok('first') : null),
      async ({ backend, weir, agent }) => {
        const before = backend.connections;
        assert.deepEqual(await get(agent, `${weir.url}/stale-1`), { status: 200, body: 'first' });
        assert.deepEqual(await get(agent, `${weir.url}/stale-2`), { status: 200, body: 'first' });
        assert.equal(backend.connections - before, 2, 'the second GET went out again on a new connection');
      },
    );
  });

  it('does not send a POST twice: the closed connection is the backend\'s 502', async () => {
    await scripted(
      (_request, n) => (n === 1 ? ok('first') : null),
      async ({ backend, weir, agent }) => {
        const before = backend.requests.length;
        assert.deepEqual(await get(agent, `${weir.url}/post-1`, 'POST'), { status: 200, body: 'first' });
        assert.equal((await get(agent, `${weir.url}/post-2`, 'POST')).status, 502);
        assert.equal(backend.requests.length - before, 2, 'the second POST reached the backend once');
      },
    );
  });

  it('frames a streamed request body as chunked and a sized one with its Content-Length', async () => {
    await scripted(
      (request) => ok(`${request.body.length} ${/transfer-encoding: chunked/i.test(request.head) ? 'chunked' : 'sized'}`),
      async ({ weir }) => {
        const streamed = await new Promise<string>((resolve, reject) => {
          const req = http.request(`${weir.url}/upload`, { method: 'POST', agent: false }, (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => resolve(text));
          });
          req.on('error', reject);
          req.write('a'.repeat(1000));
          setImmediate(() => req.end('b'.repeat(500)));
        });
        assert.equal(streamed, '1500 chunked');
        assert.equal((await send(`${weir.url}/upload`, { method: 'POST', body: 'x'.repeat(700) })).body, '700 sized');
      },
    );
  });

  it('reads a body that ends with the connection, and does not reuse that connection', async () => {
    await scripted(
      () => ({ last: 'HTTP/1.1 200 OK\r\n\r\nuntil the end' }),
      async ({ backend, weir, agent }) => {
        const before = backend.connections;
        assert.deepEqual(await get(agent, `${weir.url}/eof-1`), { status: 200, body: 'until the end' });
        assert.deepEqual(await get(agent, `${weir.url}/eof-2`), { status: 200, body: 'until the end' });
        assert.equal(backend.connections - before, 2);
      },
    );
  });

  it('does not reuse a connection on which the backend sent bytes beyond the response', async () => {
    await scripted(
      () => `${ok('one')}HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra`,
      async ({ backend, weir, agent }) => {
        const before = backend.connections;
        assert.equal((await get(agent, `${weir.url}/extra-1`)).body, 'one');
        assert.equal((await get(agent, `${weir.url}/extra-2`)).body, 'one', 'not the smuggled "extra"');
        assert.equal(backend.connections - before, 2);
      },
    );
  });

  it('passes a 100 Continue by and answers with the final response', async () => {
    await scripted(
      () => `HTTP/1.1 100 Continue\r\n\r\n${ok('after continue')}`,
      async ({ weir, agent }) => {
        assert.equal((await get(agent, `${weir.url}/continue`)).body, 'after continue');
      },
    );
  });
});

// One connection's requests, served one at a time and in order, with a real
// node:http server on 127.0.0.1 handing its requests to a ClientConnection
// per socket (as http-listener.ts does) and a raw TCP client that pipelines.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import type { ResponseAnswer } from '../http/client-answer.ts';
import { ClientConnection } from './client-connection.ts';

type Handler = (req: http.IncomingMessage, answer: ResponseAnswer) => void;

interface Served {
  port: number;
  /** Request targets in the order they were handed to the handler. */
  started: string[];
  /** The most requests of one connection in the handler at once. */
  maxActive: () => number;
  overflows: Socket[];
  /** Resolves when the next overflow is reported. */
  overflowed: () => Promise<void>;
}

const servers: http.Server[] = [];
after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** Answers `200 <target>` after `delayMs`; a handler of the test's own replaces that. */
async function serve(limit: number, delayMs = 30, handler?: Handler): Promise<Served> {
  const started: string[] = [];
  const overflows: Socket[] = [];
  let onOverflow: (() => void) | undefined;
  let active = 0;
  let maxActive = 0;
  const server = http.createServer({ keepAliveTimeout: 10_000 });
  servers.push(server);
  const connections = new WeakMap<Socket, ClientConnection>();
  server.on('request', (req, res) => {
    let connection = connections.get(req.socket);
    if (connection === undefined) {
      connection = new ClientConnection(
        req.socket,
        () => limit,
        (socket) => {
          overflows.push(socket);
          onOverflow?.();
        },
      );
      connections.set(req.socket, connection);
    }
    connection.accept(res, (answer) => {
      started.push(req.url ?? '');
      active++;
      maxActive = Math.max(maxActive, active);
      res.once('finish', () => active--);
      if (handler) {
        handler(req, answer);
        return;
      }
      setTimeout(() => {
        const body = req.url ?? '';
        answer.writeHead(200, undefined, ['content-type', 'text/plain', 'content-length', String(Buffer.byteLength(body))]);
        answer.end(body);
      }, delayMs);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const overflowed = (): Promise<void> => new Promise((resolve) => (onOverflow = resolve));
  return { port: (server.address() as AddressInfo).port, started, maxActive: () => maxActive, overflows, overflowed };
}

interface Response {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The complete responses at the start of `text` (each has a Content-Length). */
function parseResponses(text: string): Response[] {
  const responses: Response[] = [];
  let at = 0;
  for (;;) {
    const headEnd = text.indexOf('\r\n\r\n', at);
    if (headEnd === -1) return responses;
    const [statusLine, ...lines] = text.slice(at, headEnd).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (text.length < headEnd + 4 + length) return responses;
    responses.push({ status: Number(statusLine!.split(' ')[1]), headers, body: text.slice(headEnd + 4, headEnd + 4 + length) });
    at = headEnd + 4 + length;
  }
}

const get = (target: string): string => `GET ${target} HTTP/1.1\r\nHost: test\r\n\r\n`;

/** A raw client: what it has received, and whether the server closed the connection. */
function connect(port: number): { socket: Socket; received: () => string; closed: Promise<void> } {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (text += chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => text, closed };
}

/** Waits until `count` complete responses have arrived. */
async function responses(client: ReturnType<typeof connect>, count: number): Promise<Response[]> {
  for (;;) {
    const parsed = parseResponses(client.received());
    if (parsed.length >= count) return parsed;
    await Promise.race([once(client.socket, 'data'), client.closed]);
    if (client.socket.destroyed && parseResponses(client.received()).length < count) {
      assert.fail(`connection closed after ${parseResponses(client.received()).length} of ${count} responses`);
    }
  }
}

// Short: a request left unanswered shows as a timeout.
const quick = { timeout: 3_000 };

describe('ClientConnection', () => {
  it('serves pipelined requests one at a time, in order, and keeps the connection', quick, async () => {
    const server = await serve(10);
    const client = connect(server.port);
    client.socket.write(['/1', '/2', '/3', '/4', '/5'].map(get).join(''));
    const got = await responses(client, 5);
    assert.deepEqual(
      got.map((r) => r.body),
      ['/1', '/2', '/3', '/4', '/5'],
    );
    assert.deepEqual(server.started, ['/1', '/2', '/3', '/4', '/5']);
    assert.equal(server.maxActive(), 1, 'more than one request of the connection at once');
    assert.ok(got.every((r) => r.headers.connection !== 'close'));
    assert.equal(client.socket.destroyed, false, 'the connection stays open');
    assert.equal(server.overflows.length, 0);
    // And it goes on serving.
    client.socket.write(get('/6'));
    assert.equal((await responses(client, 6))[5]!.body, '/6');
    client.socket.destroy();
  });

  it('past the limit, answers what it owes, the last with Connection: close, then closes', quick, async () => {
    const server = await serve(2);
    const client = connect(server.port);
    // One served, two may wait; the fourth is one too many.
    client.socket.write(['/1', '/2', '/3', '/4', '/5', '/6'].map(get).join(''));
    await client.closed;
    const got = parseResponses(client.received());
    assert.deepEqual(
      got.map((r) => r.body),
      ['/1', '/2', '/3'],
    );
    assert.equal(got.at(-1)!.headers.connection, 'close');
    assert.ok(got.slice(0, -1).every((r) => r.headers.connection !== 'close'));
    assert.deepEqual(server.started, ['/1', '/2', '/3'], 'nothing past the limit reaches the handler');
    assert.equal(server.maxActive(), 1);
    assert.equal(server.overflows.length, 1, 'the overflow is reported once');
    assert.equal(client.received().split('HTTP/1.1 ').length - 1, 3, 'no answer past the limit, not even a refusal');
  });

  it('with a limit of 0, serves exactly one of a pipelined burst and closes', quick, async () => {
    const server = await serve(0);
    const client = connect(server.port);
    client.socket.write(['/1', '/2', '/3'].map(get).join(''));
    await client.closed;
    const got = parseResponses(client.received());
    assert.deepEqual(
      got.map((r) => r.body),
      ['/1'],
    );
    assert.equal(got[0]!.headers.connection, 'close');
    assert.deepEqual(server.started, ['/1']);
  });

  it('with a limit of 0, still serves request after request on a keep-alive connection that waits for each answer', quick, async () => {
    const server = await serve(0, 5);
    const client = connect(server.port);
    for (let i = 1; i <= 3; i++) {
      client.socket.write(get(`/${i}`));
      const got = await responses(client, i);
      assert.equal(got[i - 1]!.body, `/${i}`);
      assert.notEqual(got[i - 1]!.headers.connection, 'close');
    }
    assert.equal(server.overflows.length, 0);
    client.socket.destroy();
  });

  it(
    'with a limit of 0, a request pipelined behind an answer already under way lets that answer finish before closing',
    quick,
    async () => {
      let finish: (() => void) | undefined;
      const server = await serve(0, 0, (req, answer) => {
        answer.writeHead(200, undefined, ['content-type', 'text/plain', 'content-length', '10']);
        answer.write(Buffer.from('hello'));
        finish = () => answer.end('world');
      });
      const client = connect(server.port);
      client.socket.write(get('/slow'));
      while (!client.received().includes('hello')) await once(client.socket, 'data');
      // The pipelined request has reached the server once the overflow is reported.
      const overflowed = server.overflowed();
      client.socket.write(get('/next'));
      await overflowed;
      finish?.();
      await client.closed;
      const got = parseResponses(client.received());
      assert.deepEqual(
        got.map((r) => r.body),
        ['helloworld'],
      );
      assert.deepEqual(server.started, ['/slow']);
    },
  );
});

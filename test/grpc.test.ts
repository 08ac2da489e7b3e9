// gRPC through weir: a grpc-js client speaks HTTP/2 (h2c) to weir, weir
// speaks HTTP/2 (h2c) to a grpc-js server. Messages stream both ways as
// they come, and a call's status reaches the client in trailers, also when
// the server answered Trailers-Only.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Weir } from '../src/weir.ts';
import { echoClient, grpc, startGrpcEcho, unary, type EchoClient, type EchoMessage, type GrpcEchoServer } from './helpers/grpc-echo.ts';
import { startWatchedWeir } from './helpers/weir.ts';

describe('gRPC through weir', () => {
  let backend: GrpcEchoServer;
  let weir: Weir;
  let lines: Array<Record<string, unknown>>;
  let client: EchoClient;
  /** A plain HTTP/2 server answering every call Trailers-Only, as gRPC servers do for an immediate error; reached with the Host missing.test. */
  let trailersOnly: http2.Http2Server;

  before(async () => {
    backend = await startGrpcEcho();
    trailersOnly = http2.createServer((req, res) => {
      req.resume();
      res.stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(grpc.status.NOT_FOUND), 'grpc-message': 'no such thing' }, { endStream: true });
    });
    trailersOnly.listen(0, '127.0.0.1');
    await once(trailersOnly, 'listening');
    const trailersOnlyPort = (trailersOnly.address() as AddressInfo).port;
    ({ weir, lines } = await startWatchedWeir({
      listeners: [{ address: '127.0.0.1:0', http2: true }],
      routes: [
        { host: 'missing.test', service: 'missing' },
        { path: '/weirtest.Echo/', service: 'echo' },
      ],
      services: {
        echo: { servers: [backend.address], protocol: 'h2c' },
        missing: { servers: [`127.0.0.1:${trailersOnlyPort}`], protocol: 'h2c' },
      },
    }));
    client = echoClient(`${weir.address.host}:${weir.address.port}`);
  });

  after(async () => {
    client?.close();
    await weir?.close();
    await backend?.close();
    await new Promise<void>((resolve) => (trailersOnly ? trailersOnly.close(() => resolve()) : resolve()));
  });

  it('makes a unary call, metadata there and trailing metadata back', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', 'Bearer t0ken');
    const { reply, trailers } = await unary(client, 'hello', metadata);
    assert.deepEqual(reply, { text: 'echo: hello', count: 5 });
    assert.deepEqual(trailers.get('x-echo-trailer'), ['done']);
    const seen = backend.calls.at(-1)!;
    assert.deepEqual(seen.get('authorization'), ['Bearer t0ken']);
    // Via names the protocol weir received the call in.
    assert.deepEqual(seen.get('via'), ['2 weir']);
  });

  it('streams a server\'s messages to the client', async () => {
    const call = client.Count({ text: 'tick', count: 50 });
    const got: EchoMessage[] = [];
    call.on('data', (message: EchoMessage) => got.push(message));
    const [status] = (await once(call, 'status')) as [grpc.StatusObject];
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(got.map((m) => m.count), Array.from({ length: 50 }, (_, i) => i + 1));
    assert.equal(got[49]!.text, 'tick 50');
  });

  it('streams both ways: each answer arrives before the client sends the next message', async () => {
    const call = client.Chat();
    const answers: EchoMessage[] = [];
    for (let i = 0; i < 5; i++) {
      call.write({ text: `m${i}`, count: i * 10 });
      // Waits for the answer to this message: nothing is held back until the call ends, either way.
      const [answer] = (await once(call, 'data')) as [EchoMessage];
      answers.push(answer);
    }
    call.end();
    const [status] = (await once(call, 'status')) as [grpc.StatusObject];
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(answers, Array.from({ length: 5 }, (_, i) => ({ text: `re: m${i}`, count: i * 10 + 1 })));
  });

  it('carries an error status back in trailers: after headers, and Trailers-Only', async () => {
    const late = await unary(client, 'fail late').then(() => assert.fail('the call succeeded'), (error: grpc.ServiceError) => error);
    assert.equal(late.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(late.details, 'failed after the headers');
    assert.deepEqual(late.metadata.get('x-why'), ['late']);

    const early = await unary(client, 'fail').then(() => assert.fail('the call succeeded'), (error: grpc.ServiceError) => error);
    assert.equal(early.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(early.details, 'no "fail" here');

    const other = echoClient(`${weir.address.host}:${weir.address.port}`, 'missing.test');
    const missing = await unary(other, 'anything').then(() => assert.fail('the call succeeded'), (error: grpc.ServiceError) => error);
    other.close();
    assert.equal(missing.code, grpc.status.NOT_FOUND);
    assert.equal(missing.details, 'no such thing');
    // A gRPC error is an answer, not a failure of weir or the backend.
    assert.deepEqual(lines.filter((l) => Number(l.status) >= 500), []);
  });
});

// The client's request body on its way to a backend, with real streams: a
// PassThrough stands for the client's body and the test is the backend that
// reads it (or stops reading). The point is telling who is slow: a client
// that stops sending is 408 and its own fault; a backend that stops taking
// the body is 504 and the backend's, however long the client has been
// held back by it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { BodyFailure, RequestBody, type RequestBodyLimits } from './request-body.ts';

function start(limits: Partial<RequestBodyLimits>): { client: PassThrough; body: RequestBody } {
  const client = new PassThrough();
  const body = new RequestBody(client, { maxBytes: undefined, clientIdleMs: 5_000, backendIdleMs: 5_000, ...limits });
  return { client, body };
}

/** The failure the body stream ended with, and when (performance.now()). */
async function failureOf(body: RequestBody): Promise<{ error: BodyFailure; at: number }> {
  const [error] = (await once(body, 'error')) as [unknown];
  assert.ok(error instanceof BodyFailure, `not a BodyFailure: ${String(error)}`);
  return { error, at: performance.now() };
}

/** What is left in a paused body's buffer. */
function drain(body: RequestBody): Buffer[] {
  const chunks: Buffer[] = [];
  let chunk: Buffer | null;
  while ((chunk = body.read() as Buffer | null) !== null) chunks.push(chunk);
  return chunks;
}

/** Reads everything the body hands on, as a backend that keeps up would. */
function collect(body: RequestBody): Buffer[] {
  const chunks: Buffer[] = [];
  body.on('data', (chunk: Buffer) => chunks.push(chunk));
  return chunks;
}

// Times are taken before the event a timeout counts from: the body checks
// its clock with performance.now() too, so no failure can come earlier.

describe('RequestBody', { timeout: 10_000 }, () => {
  it('hands on every byte unchanged, in order', async () => {
    // Timeouts far above the pace of the client: this is about the bytes.
    const { client, body } = start({ clientIdleMs: 2_000, backendIdleMs: 2_000 });
    const sent = [randomBytes(1), randomBytes(200_000), randomBytes(70_000), randomBytes(3)];
    const received: Buffer[] = [];
    const done = (async () => {
      for await (const chunk of body) received.push(chunk as Buffer);
    })();
    for (const chunk of sent) {
      client.write(chunk);
      await sleep(20);
    }
    client.end();
    await done;
    assert.ok(Buffer.concat(received).equals(Buffer.concat(sent)));
  });

  it('stops its timers once the whole body is handed on', async () => {
    const { client, body } = start({ clientIdleMs: 40, backendIdleMs: 40 });
    let failed: unknown;
    body.on('error', (error) => (failed = error));
    collect(body);
    client.end(randomBytes(3 * body.readableHighWaterMark));
    await once(body, 'end');
    // Past both idle timeouts: nothing fires.
    await sleep(150);
    assert.equal(failed, undefined);
  });

  it('counts max_body_size as the body streams: the byte past it fails the body with 413, the client\'s, closing the connection', async () => {
    const { client, body } = start({ maxBytes: 100 });
    const received = collect(body);
    client.write(Buffer.alloc(60, 'a'));
    client.write(Buffer.alloc(41, 'b'));
    const { error } = await failureOf(body);
    assert.equal(error.failure.status, 413);
    assert.equal(error.failure.owner, 'client');
    assert.equal(error.failure.closeConnection, true);
    assert.equal(error.failure.rule, 'max_body_size 100');
    assert.equal(Buffer.concat(received).length, 60, 'nothing past the limit is handed on');
  });

  it('lets a body of exactly max_body_size through', async () => {
    const { client, body } = start({ maxBytes: 100 });
    const received = collect(body);
    client.end(Buffer.alloc(100));
    await once(body, 'end');
    assert.equal(Buffer.concat(received).length, 100);
  });

  it('fails with 408, the client\'s, when the client stops sending while the backend reads', async () => {
    const { client, body } = start({ clientIdleMs: 60, backendIdleMs: 5_000 });
    const received = collect(body);
    const lastByte = performance.now();
    client.write(Buffer.alloc(1_000));
    const { error, at } = await failureOf(body);
    assert.equal(error.failure.status, 408);
    assert.equal(error.failure.owner, 'client');
    assert.equal(error.failure.closeConnection, true);
    assert.ok(at - lastByte >= 60, `408 after ${at - lastByte}ms, before client_timeouts.body_idle`);
    assert.ok(at - lastByte < 2_000, 'the client timer, not the backend\'s');
    assert.equal(Buffer.concat(received).length, 1_000);
  });

  it('fails with 408 with the backend\'s idle timeout off (0)', async () => {
    const { client, body } = start({ clientIdleMs: 50, backendIdleMs: 0 });
    collect(body);
    client.write('x');
    const { error } = await failureOf(body);
    assert.equal(error.failure.status, 408);
  });

  it('fails with 504, the backend\'s, when the backend stops reading while the client keeps sending; never 408', async () => {
    // The client's timer is the shorter one: a client held back by the
    // backend must not be blamed for the silence.
    const { client, body } = start({ clientIdleMs: 50, backendIdleMs: 180 });
    const received = collect(body);
    // The backend reads the first chunk, then stops.
    const first = once(body, 'data');
    const stoppedAt = performance.now();
    client.write(Buffer.alloc(1_000));
    await first;
    body.pause();
    // The client fills what the body holds at once, and goes on sending.
    client.write(Buffer.alloc(2 * body.readableHighWaterMark));
    const sending = setInterval(() => client.write(Buffer.alloc(16 * 1024)), 10);
    try {
      const { error, at } = await failureOf(body);
      assert.equal(error.failure.status, 504, error.message);
      assert.equal(error.failure.owner, 'backend');
      assert.equal(error.failure.stage, 'before-response');
      assert.ok(at - stoppedAt >= 180, `504 after ${at - stoppedAt}ms, before the backend's idle timeout`);
      assert.ok(received.length >= 1);
    } finally {
      clearInterval(sending);
    }
  });

  it('fails with 504 when the backend never reads at all, even once the client has nothing more to send', async () => {
    const started = performance.now();
    const { client, body } = start({ clientIdleMs: 40, backendIdleMs: 150 });
    // A little more than the body's buffer holds, in small chunks, and then
    // the client waits: for the backend, which has read none of it.
    for (let i = 0; i < 5; i++) client.write(randomBytes(body.readableHighWaterMark / 4));
    const { error, at } = await failureOf(body);
    assert.equal(error.failure.status, 504, error.message);
    assert.equal(error.failure.owner, 'backend');
    assert.ok(at - started >= 150);
  });

  it('fails with 504 on the backend\'s idle timeout even when the client\'s is far longer', async () => {
    const started = performance.now();
    const { client, body } = start({ clientIdleMs: 5_000, backendIdleMs: 60 });
    client.write(randomBytes(4 * body.readableHighWaterMark));
    const { error, at } = await failureOf(body);
    assert.equal(error.failure.status, 504, error.message);
    assert.ok(at - started >= 60);
    assert.ok(at - started < 1_000, `504 after ${at - started}ms: the check waited for the client's timeout`);
  });

  it('does not fail a backend that reads slowly but steadily, behind a client that sent everything at once', async () => {
    const { client, body } = start({ clientIdleMs: 400, backendIdleMs: 400 });
    let failed: unknown;
    body.on('error', (error) => (failed = error));
    const sent = Array.from({ length: 80 }, () => randomBytes(16 * 1024));
    for (const chunk of sent) client.write(chunk);
    client.end();
    // 32 KiB every 20 ms: always behind the client, for far longer than the
    // idle timeouts, but never idle for long.
    const received: Buffer[] = [];
    while (!body.readableEnded && failed === undefined) {
      await sleep(20);
      const chunk = body.read(32 * 1024) as Buffer | null;
      if (chunk !== null) received.push(chunk);
      else if (body.writableFinished) received.push(...drain(body));
    }
    assert.equal(failed, undefined);
    assert.ok(Buffer.concat(received).equals(Buffer.concat(sent)));
  });

  it('does not blame a client that keeps sending while the backend has not started reading', async () => {
    const { client, body } = start({ clientIdleMs: 400, backendIdleMs: 5_000 });
    let failed: unknown;
    body.on('error', (error) => (failed = error));
    // A byte every 20 ms, for longer than client_timeouts.body_idle, while
    // the backend is still connecting.
    for (let i = 0; i < 30; i++) {
      client.write('x');
      await sleep(20);
    }
    assert.equal(failed, undefined);
    const received = collect(body);
    client.end();
    await once(body, 'end');
    assert.equal(Buffer.concat(received).toString(), 'x'.repeat(30));
  });

  it('stop() ends the timers: the request is over', async () => {
    const { client, body } = start({ clientIdleMs: 40, backendIdleMs: 40 });
    let failed: unknown;
    body.on('error', (error) => (failed = error));
    collect(body);
    client.write('x');
    body.stop();
    await sleep(150);
    assert.equal(failed, undefined);
  });
});

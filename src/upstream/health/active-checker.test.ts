import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { HealthCheckConfig } from '../../config/types.ts';
import { Backend, type HealthState } from '../backend.ts';
import { ActiveHealthChecker } from './active-checker.ts';

const CONFIG: HealthCheckConfig = {
  type: 'http',
  method: 'GET',
  path: '/healthcheck',
  intervalMs: 10,
  timeoutMs: 2_000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
  expectedStatuses: [[200, 399]],
};

/**
 * A server on 127.0.0.1, and the Backend for it, whose n-th health check is
 * answered with `statuses[n - 1]` (the last one once past the end). It notes
 * what the Backend said when each check arrived: rounds run one after
 * another, so that is the state after every earlier check, and nothing else.
 */
async function scriptedServer(statuses: readonly number[]) {
  const seen: HealthState[] = [];
  const arrivals: Array<() => void> = [];
  const server = http.createServer((_req, res) => {
    // No check arrives before the checker is made with `backend`, below.
    seen.push(backend.health);
    res.statusCode = statuses[Math.min(seen.length, statuses.length) - 1]!;
    res.end();
    for (const wake of arrivals.splice(0)) wake();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const backend = new Backend('svc', { host: '127.0.0.1', port });
  /** Resolves once `count` checks have arrived; fails, saying what was seen, after `limitMs`. */
  const checks = async (count: number, limitMs = 10_000): Promise<HealthState[]> => {
    const deadline = Date.now() + limitMs;
    while (seen.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`only ${seen.length} of ${count} health checks arrived within ${limitMs}ms; states seen: ${seen.join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        arrivals.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return seen.slice(0, count);
  };
  return { backend, seen, checks, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** `promise`, or a failure naming what did not happen within `limitMs`. */
async function within<T>(promise: Promise<T>, limitMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${limitMs}ms for ${what}`)), limitMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function captureLog() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino(stream), lines };
}

describe('active health checks against a real backend', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  async function checked(statuses: readonly number[], config: Partial<HealthCheckConfig> = {}) {
    const server = await scriptedServer(statuses);
    const { backend } = server;
    const { log, lines } = captureLog();
    const checker = new ActiveHealthChecker('svc', [backend], { ...CONFIG, ...config }, log);
    cleanup.push(() => server.close(), () => checker.stop());
    return { backend, server, checker, lines };
  }

  it('takes an up backend down after exactly unhealthy_threshold failures in a row, and back after exactly healthy_threshold passes', async () => {
    // healthy_threshold 2, unhealthy_threshold 3.
    const script = [200, 500, 500, 200, 500, 500, 500, 200, 500, 200, 200, 200];
    const { server, checker, lines } = await checked(script);
    await checker.start();
    const seen = await server.checks(script.length);
    await checker.stop();
    assert.deepEqual(
      seen.map((state, i) => `${i + 1}: ${state}`),
      [
        '1: unchecked',
        '2: up', // the first check passed: up at once
        '3: up', // 1 failure
        '4: up', // 2 failures
        '5: up', // a pass: the count starts over
        '6: up', // 1 failure
        '7: up', // 2 failures
        '8: down', // 3 failures in a row
        '9: down', // 1 pass
        '10: down', // a failure: the count starts over
        '11: down', // 1 pass
        '12: up', // 2 passes in a row
      ],
    );
    assert.deepEqual(
      lines.map((line) => `${line.state}: ${line.reason}`),
      ['down: GET /healthcheck answered 500', 'up: GET /healthcheck answered 200'],
      'one line per change to or from down; the first check finding it up is not one',
    );
  });

  it('takes the first answer as it is: one failed check and a new backend is down', async () => {
    const { backend, server, checker, lines } = await checked([503, 200]);
    await checker.start();
    assert.equal(server.seen.length, 1, 'start() resolves after the first round');
    assert.equal(backend.state, 'down');
    assert.equal(backend.reason, 'GET /healthcheck answered 503');
    await checker.stop();
    assert.deepEqual(lines.map((line) => line.state), ['down']);
  });

  it('brings an ejected backend back at the first passing check, saying so', async () => {
    const { backend, server, checker, lines } = await checked([200]);
    backend.eject(performance.now() + 3_600_000, 'ejected for an hour');
    await checker.start();
    assert.equal(server.seen.length, 1);
    assert.equal(backend.state, 'up');
    await checker.stop();
    assert.match(String(lines[0]?.msg), /^backend 127\.0\.0\.1:\d+ of service "svc" is back from ejection: GET \/healthcheck answered 200$/);
  });

  it('changes nothing once stopped, even with a check in flight', async () => {
    let arrive!: (answer: () => void) => void;
    const arrived = new Promise<() => void>((resolve) => (arrive = resolve));
    const server = http.createServer((_req, res) => {
      arrive(() => {
        res.statusCode = 500;
        res.end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const backend = new Backend('svc', { host: '127.0.0.1', port: (server.address() as AddressInfo).port });
    const checker = new ActiveHealthChecker('svc', [backend], CONFIG, pino({ enabled: false }));
    const first = checker.start();
    const answer = await within(arrived, 5_000, 'the first health check to arrive');
    const stopped = checker.stop();
    answer();
    await Promise.all([first, stopped]);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    assert.equal(backend.state, 'unchecked');
  });
});

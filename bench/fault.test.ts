import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { faultTable, formatKinds, splitPhases } from './fault.ts';
import type { FaultRun } from './fault.ts';
import { errorKind, failureKind, isFailedStatus, runLoad } from './fault-load.ts';

test('a failure is a non-2xx/3xx status or an error, as wrk counts them', () => {
  assert.equal(isFailedStatus(200), false);
  assert.equal(isFailedStatus(304), false);
  assert.equal(isFailedStatus(404), true);
  assert.equal(isFailedStatus(502), true);
  assert.equal(failureKind({ status: 204 }), undefined);
  assert.equal(failureKind({ status: 503 }), 'HTTP 503');
  assert.equal(failureKind({ error: 'timeout' }), 'timeout');
  const err = (code: string, message: string): Error => Object.assign(new Error(message), { code });
  assert.equal(errorKind(err('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')), 'connection refused');
  assert.equal(errorKind(err('ECONNRESET', 'socket hang up')), 'closed before answer');
  assert.equal(errorKind(err('ECONNRESET', 'read ECONNRESET')), 'connection reset');
});

test('failures are split at the kill and at the moment the backend is back', () => {
  assert.deepEqual(splitPhases([100, 2000, 2500, 3999, 4000, 9000], 2000, 4000), { beforeKill: 1, outage: 3, afterRestart: 2 });
  assert.deepEqual(splitPhases([5], Infinity, Infinity), { beforeKill: 1, outage: 0, afterRestart: 0 });
});

test('the table shows each run, and the reason for a load balancer without one', () => {
  const run: FaultRun = {
    lb: 'nginx',
    load: {
      startedAt: 0,
      elapsedMs: 12_000,
      requests: 10_000,
      ok: 9_990,
      failed: 10,
      byKind: { 'connection reset': 3, 'HTTP 502': 7 },
      bucketMs: 100,
      timeline: [],
    },
    phases: { beforeKill: 0, outage: 10, afterRestart: 0 },
    firstFailureMs: 2010,
    lastFailureMs: 2050,
    victimAfterRestart: { requests: 1234, firstAfterBackMs: 500 },
  };
  const table = faultTable([run], new Map([['weir', 'skipped: did not start']]), ['nginx', 'weir']);
  const lines = table.split('\n');
  assert.equal(lines.length, 4);
  assert.equal(
    lines[2],
    '| nginx | 10,000 | 10 | 0.100% | HTTP 502: 7, connection reset: 3 | 1,234 (first 0.50 s after it was up) | 0 / 10 / 0 | 2.01 s–2.05 s |',
  );
  assert.match(lines[3] as string, /^\| weir \| skipped: did not start \|/);
  assert.equal(formatKinds({}), '–');
});

test('the load client counts every request and each failure by kind', async () => {
  let n = 0;
  const server = http.createServer((req, res) => {
    n++;
    if (n % 10 === 0) {
      res.writeHead(503, { 'content-length': '0' });
      res.end();
    } else if (n % 10 === 5) {
      req.socket.destroy(); // no answer at all
    } else {
      res.end('ok');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    const result = await runLoad({ url: `http://127.0.0.1:${port}/`, concurrency: 4, durationMs: 300, timeoutMs: 2000 });
    assert.ok(result.requests > 20, `only ${result.requests} requests`);
    assert.equal(result.requests, result.ok + result.failed);
    assert.equal(result.requests, n);
    assert.equal(result.failureTimesMs.length, result.failed);
    const byKind = Object.values(result.byKind).reduce((a, b) => a + b, 0);
    assert.equal(byKind, result.failed);
    assert.ok((result.byKind['HTTP 503'] ?? 0) > 0);
    assert.ok((result.byKind['closed before answer'] ?? 0) > 0);
    const inTimeline = result.timeline.reduce((a, b) => a + b.done, 0);
    assert.equal(inTimeline, result.requests);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { PassiveHealthConfig } from '../../config/types.ts';
import { Backend } from '../backend.ts';
import { PassiveHealth } from './passive-health.ts';

const CONFIG: PassiveHealthConfig = { consecutiveFailures: 3, baseEjectionMs: 1_000, maxEjectionMs: 2_500, maxEjectedPercent: 50 };

/** Passive health over `count` backends, with its log lines readable. */
function setup(count = 4, config: Partial<PassiveHealthConfig> = {}) {
  const backends = Array.from({ length: count }, (_, i) => new Backend('svc', { host: '127.0.0.1', port: 9000 + i }));
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const passive = new PassiveHealth('svc', backends, { ...CONFIG, ...config }, pino(stream));
  return { passive, backends, lines };
}

/** `times` failed requests on `backend` at `now`. */
function fail(passive: PassiveHealth, backend: Backend, times: number, now: number): void {
  for (let i = 0; i < times; i++) passive.failed(backend, 'answered 500', now);
}

describe('passive health', () => {
  it('ejects on exactly the consecutive_failures-th failure in a row: not the one before, not the one after', () => {
    const { passive, backends, lines } = setup();
    const b = backends[0]!;
    passive.failed(b, 'answered 500', 0);
    passive.failed(b, 'answered 502', 0);
    assert.equal(b.stateAt(0), 'unchecked', 'two failures of three: still in');
    passive.failed(b, 'connection refused', 0);
    assert.equal(b.stateAt(0), 'ejected', 'the third failure ejects');
    assert.equal(b.ejectedUntil, 1_000);
    assert.equal(b.reasonAt(0), 'ejected for 1000ms after 3 failed requests in a row (last: connection refused)');
    assert.deepEqual(
      lines.map((line) => [line.state, line.backend, line.ejectionMs]),
      [['ejected', '127.0.0.1:9000', 1_000]],
    );
  });

  it('starts the count over on a success: 2 failures, a success, 2 failures is not an ejection', () => {
    const { passive, backends } = setup();
    const b = backends[0]!;
    fail(passive, b, 2, 0);
    passive.succeeded(b);
    fail(passive, b, 2, 0);
    assert.equal(b.stateAt(0), 'unchecked');
    fail(passive, b, 1, 0);
    assert.equal(b.stateAt(0), 'ejected', 'three in a row after the success');
  });

  it('ejects for longer each time: the base, then twice the base, up to max_ejection', () => {
    const { passive, backends } = setup();
    const b = backends[0]!;
    const lengths: number[] = [];
    let now = 0;
    for (let round = 0; round < 4; round++) {
      fail(passive, b, 3, now);
      assert.equal(b.stateAt(now), 'ejected', `ejection ${round + 1}`);
      lengths.push(b.ejectedUntil - now);
      now = b.ejectedUntil;
      assert.ok(b.expireEjection(now));
    }
    assert.deepEqual(lengths, [1_000, 2_000, 2_500, 2_500]);
  });

  it('does not eject again, nor lengthen the ejection, while a backend is out', () => {
    const { passive, backends } = setup();
    const b = backends[0]!;
    fail(passive, b, 3, 0);
    fail(passive, b, 6, 500); // requests that were in flight when it was ejected
    assert.equal(b.ejectedUntil, 1_000);
    assert.equal(b.ejections, 1);
  });

  it('never ejects more than max_ejected_percent of the service', () => {
    const { passive, backends, lines } = setup(4, { maxEjectedPercent: 50 });
    const [a, b, c] = backends as [Backend, Backend, Backend];
    fail(passive, a, 3, 0);
    fail(passive, b, 3, 0);
    assert.deepEqual([a.stateAt(0), b.stateAt(0)], ['ejected', 'ejected'], 'two of four is 50%: allowed');
    fail(passive, c, 3, 0);
    assert.equal(c.stateAt(0), 'unchecked', 'a third would be 75%');
    assert.equal(c.failureStreak, 0, 'its streak starts over');
    assert.match(String(lines.at(-1)?.msg), /backend 127\.0\.0\.1:9002 .* stays in: max_ejected_percent 50% reached/);
    // Once one is back, there is room again.
    fail(passive, c, 3, 1_000);
    assert.equal(c.stateAt(1_000), 'ejected');
  });

  it('with max_ejected_percent 100, may take every backend out', () => {
    const { passive, backends } = setup(2, { maxEjectedPercent: 100 });
    for (const backend of backends) fail(passive, backend, 3, 0);
    assert.deepEqual(backends.map((backend) => backend.stateAt(0)), ['ejected', 'ejected']);
  });

  it('a replica (a worker\'s backend) reports to the owner of its state instead of ejecting: each failure, and the first success after failures', () => {
    const reports: string[] = [];
    const owner = {
      passiveFailure: (backend: Backend, detail: string) => reports.push(`failed ${backend.label}: ${detail}`),
      passiveSuccess: (backend: Backend) => reports.push(`succeeded ${backend.label}`),
    };
    const backends = [new Backend('svc', { host: '127.0.0.1', port: 9000 }, { owner }), new Backend('svc', { host: '127.0.0.1', port: 9001 }, { owner })];
    const passive = new PassiveHealth('svc', backends, CONFIG, pino({ enabled: false }));
    const b = backends[0]!;
    passive.succeeded(b);
    assert.deepEqual(reports, [], 'a success with no failure before it is not news');
    fail(passive, b, 5, 0);
    assert.equal(b.stateAt(0), 'unchecked', 'the owner decides, not the replica');
    passive.succeeded(b);
    passive.succeeded(b);
    assert.deepEqual(reports, [...Array(5).fill('failed 127.0.0.1:9000: answered 500'), 'succeeded 127.0.0.1:9000']);
  });

  it('the owner\'s state reaches a replica whole: health, ejection (by the wall clock), drain', () => {
    const owner = new Backend('svc', { host: '127.0.0.1', port: 9000 });
    const replica = new Backend('svc', { host: '127.0.0.1', port: 9000 }, { owner: { passiveFailure() {}, passiveSuccess() {} } });
    const now = performance.now();
    owner.recordCheck(true, 'GET /healthcheck answered 200', { healthyThreshold: 1, unhealthyThreshold: 1 }, now);
    owner.eject(now + 60_000, 'ejected for 60000ms', now);
    replica.mirror(owner.snapshot(), now);
    assert.equal(replica.stateAt(now), 'ejected');
    assert.equal(replica.reasonAt(now), 'ejected for 60000ms');
    assert.ok(Math.abs(replica.ejectedUntil - (now + 60_000)) < 1);
    assert.equal(replica.ejections, 1);
    owner.endEjection('an active check passed', now);
    owner.drain('drained by an operator (admin API)', now);
    replica.mirror(owner.snapshot(), now);
    assert.equal(replica.stateAt(now), 'draining');
    assert.equal(replica.health, 'up');
    owner.enable('enabled', now);
    replica.mirror(owner.snapshot(), now);
    assert.equal(replica.stateAt(now), 'up');
    assert.deepEqual(replica.history.map((change) => change.state), ['ejected', 'draining', 'up']);
  });
});

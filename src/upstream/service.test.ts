import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { ServiceConfig } from '../config/types.ts';
import { createLogger } from '../log.ts';
import { Backend } from './backend.ts';
import type { PickContext } from './balancers/index.ts';
import { Service, type NoBackend } from './service.ts';

function service(overrides: Partial<ServiceConfig>, count = 4): { service: Service; backends: Backend[] } {
  const backends = Array.from({ length: count }, (_, i) => new Backend('svc', { host: '127.0.0.1', port: 9000 + i }));
  const config: ServiceConfig = {
    name: 'svc',
    servers: backends.map((b) => ({ address: b.address, tls: false, weight: 1, backup: false })),
    balance: 'round_robin',
    hashKey: { kind: 'client_ip' },
    panicThresholdPercent: 0,
    slowStartMs: 0,
    retries: { attempts: 2, onStatuses: [], budgetPercent: 20, minRetriesPerSecond: 10 },
    queue: { size: 10, timeoutMs: 1000 },
    timeouts: { connectMs: 1000, responseHeadersMs: 1000, idleMs: 1000 },
    protocol: 'http1',
    ...overrides,
  };
  return { service: new Service(config, backends, createLogger(false)), backends };
}

const labels = (backends: readonly Backend[]) => backends.map((b) => b.label);
const ONE = { healthyThreshold: 1, unhealthyThreshold: 1 };

/** Takes an unchecked or up backend down the way active checks do. */
function down(backend: Backend, now = 0): void {
  backend.recordCheck(false, 'GET /healthcheck answered 500', ONE, now);
  assert.equal(backend.health, 'down');
}

function setBackup(backend: Backend): void {
  backend.configure({ weight: backend.weight, backup: true, slowStartMs: backend.slowStartMs });
}

const context: PickContext = { clientIp: '10.0.0.1', headers: [], path: '/', now: 0 };

/** The port offset (0 for :9000) of a pick, or the reason there was none. */
function which(picked: Backend | NoBackend): number | NoBackend {
  return typeof picked === 'string' ? picked : picked.address.port - 9000;
}

describe('a service chooses its candidates', () => {
  it('from available primaries, then backups when no primary is left', () => {
    const { service: svc, backends } = service({});
    setBackup(backends[3]!);
    down(backends[0]!);
    assert.deepEqual(labels(svc.candidates(0)), ['127.0.0.1:9001', '127.0.0.1:9002']);
    down(backends[1]!);
    down(backends[2]!);
    assert.deepEqual(labels(svc.candidates(0)), ['127.0.0.1:9003']);
  });

  it('over every primary, down or not, below the panic threshold', () => {
    const { service: svc, backends } = service({ panicThresholdPercent: 50 });
    down(backends[0]!);
    assert.equal(svc.candidates(0).length, 3, '75% available: no panic');
    down(backends[1]!);
    down(backends[2]!);
    assert.equal(svc.candidates(0).length, 4, '25% available: panic, all four');
  });

  it('never over a draining backend, not even in panic', () => {
    const { service: svc, backends } = service({ panicThresholdPercent: 100 });
    backends[0]!.drain('maintenance', 0);
    backends[1]!.configure({ weight: 0, backup: false, slowStartMs: 0 });
    down(backends[2]!);
    assert.deepEqual(labels(svc.candidates(0)), ['127.0.0.1:9002', '127.0.0.1:9003'], 'panic over the primaries that are not draining');
    backends[0]!.enable('maintenance over', 0);
    assert.deepEqual(labels(svc.candidates(0)), ['127.0.0.1:9000', '127.0.0.1:9002', '127.0.0.1:9003']);
  });

  it('takes a backend that was down back once its service stops checking it (a reload removed health_check)', () => {
    // The same backend objects carry over a reload; the new config has no health_check.
    const { service: svc, backends } = service({}, 1);
    down(backends[0]!);
    assert.equal(svc.pick(context), 'none available');
    backends[0]!.stopActiveChecks('health_check removed from the config', 0);
    assert.equal(svc.pick(context), backends[0]);
  });

  it('takes an ejected backend back when its ejection runs out, and keeps the same list object while nothing changed', () => {
    const { service: svc, backends } = service({});
    backends[1]!.eject(1_000, 'test', 0);
    const during = svc.candidates(500);
    assert.deepEqual(labels(during), ['127.0.0.1:9000', '127.0.0.1:9002', '127.0.0.1:9003']);
    assert.equal(svc.candidates(600), during);
    assert.equal(svc.candidates(1_000).length, 4);
    assert.equal(backends[1]!.ejectedUntil, 0, 'the service recorded the end of the ejection');
    assert.equal(backends[1]!.upSince, 1_000, 'slow start counts from when the ejection ran out');
  });

  it('ramps a returning backend up from 10% of its weight over the slow-start window', () => {
    const backend = new Backend('svc', { host: '127.0.0.1', port: 9000 });
    backend.configure({ weight: 10, backup: false, slowStartMs: 1_000 });
    assert.equal(backend.effectiveWeight(performance.now()), 10, 'up since the start: no ramp');
    down(backend, performance.now());
    backend.recordCheck(true, 'GET /healthcheck answered 200', ONE);
    const since = backend.upSince;
    // Float arithmetic on a clock reading: compare to a billionth.
    const near = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);
    near(backend.effectiveWeight(since), 1);
    near(backend.effectiveWeight(since + 500), 5);
    near(backend.effectiveWeight(since + 1_000), 10);
  });
});

describe('a service picks', () => {
  it('first attempts by the balancer, retries without moving it: round robin alternates even when every first attempt is retried', () => {
    // A is dead but not detected yet: every first attempt fails and is retried.
    // If the retry's pick moved the round-robin cursor, it would land on A
    // again and A would be every request's first attempt.
    const { service: svc } = service({}, 2);
    const firsts: Array<number | NoBackend> = [];
    const retries: Array<number | NoBackend> = [];
    for (let i = 0; i < 10; i++) {
      const first = svc.pick(context);
      firsts.push(which(first));
      assert.ok(typeof first !== 'string');
      retries.push(which(svc.pickRetry(context, new Set([first]))));
    }
    assert.deepEqual(firsts, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    assert.deepEqual(retries, [1, 0, 1, 0, 1, 0, 1, 0, 1, 0], 'each retry goes to the other one');
  });

  it('a retry goes to the least loaded backend not tried yet, with room below max_connections', () => {
    const { service: svc, backends } = service({ maxConnections: 2 });
    const [a, b, c, d] = backends as [Backend, Backend, Backend, Backend];
    a.inflight = 0;
    b.inflight = 1;
    c.inflight = 2; // full
    d.inflight = 1;
    assert.equal(which(svc.pickRetry(context, new Set([a]))), 1, 'b: the first of the least loaded untried (d ties)');
    assert.equal(which(svc.pickRetry(context, new Set([a, b]))), 3, 'd: c is full');
    assert.equal(which(svc.pickRetry(context, new Set([a, b, d]))), 0, 'all tried that have room: the least loaded of them, a');
    a.inflight = 2;
    b.inflight = 2;
    d.inflight = 2;
    assert.equal(svc.pickRetry(context, new Set([a])), 'all busy');
  });

  it('a retry in a pool of one goes back to the one backend', () => {
    const { service: svc, backends } = service({}, 1);
    assert.equal(svc.pickRetry(context, new Set(backends)), backends[0]);
  });

  it('counts load per unit of weight on a retry', () => {
    const { service: svc, backends } = service({}, 3);
    backends[1]!.configure({ weight: 4, backup: false, slowStartMs: 0 });
    backends[1]!.inflight = 2; // 0.5 per unit
    backends[2]!.inflight = 1; // 1 per unit
    assert.equal(which(svc.pickRetry(context, new Set([backends[0]!]))), 1);
  });

  it('answers "none available" when no backend may take a request, first attempt or retry', () => {
    const { service: svc, backends } = service({}, 2);
    for (const backend of backends) down(backend);
    assert.equal(svc.pick(context), 'none available');
    assert.equal(svc.pickRetry(context, new Set()), 'none available');
  });

  it("skips the balancer's choice when it is at max_connections, and says 'all busy' when every one is", () => {
    const { service: svc, backends } = service({ maxConnections: 1 }, 3);
    backends[0]!.inflight = 1;
    // Round robin's first choice is :9000, which is full: the least loaded with room instead.
    assert.equal(which(svc.pick(context)), 1);
    backends[1]!.inflight = 1;
    backends[2]!.inflight = 1;
    assert.equal(svc.pick(context), 'all busy');
  });

  it('keeps a sticky client on its backend while that one may take it', () => {
    const { service: svc, backends } = service({ sticky: { cookie: 'lb' } }, 3);
    const cookie = svc.stickyCookie(backends[2]!)!.split(';')[0]!;
    const sticky = { ...context, headers: ['Cookie', `x=1; ${cookie}`] };
    for (let i = 0; i < 4; i++) assert.equal(which(svc.pick(sticky)), 2);
    backends[2]!.drain('maintenance', 0);
    assert.notEqual(which(svc.pick(sticky)), 2, 'a draining backend takes no new request, sticky or not');
  });
});

describe("a service's queue, when every backend is at max_connections", () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  /** Runs pending promise callbacks (setImmediate is not mocked). */
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  /** A waiter and what it got so far: 'waiting', a port offset, or 'none'. */
  function wait(svc: Service): { outcome: number | 'waiting' | 'none' } {
    const state: { outcome: number | 'waiting' | 'none' } = { outcome: 'waiting' };
    void svc.waitForRoom(context).then((backend) => {
      state.outcome = backend === undefined ? 'none' : backend.address.port - 9000;
      // What the caller does with the backend it got.
      if (backend) backend.inflight++;
    });
    return state;
  }

  function busy(overrides: Partial<ServiceConfig> = {}): { svc: Service; backends: Backend[] } {
    const { service: svc, backends } = service({ maxConnections: 1, queue: { size: 2, timeoutMs: 100 }, ...overrides }, 2);
    for (const backend of backends) backend.inflight = 1;
    assert.equal(svc.pick(context), 'all busy');
    return { svc, backends };
  }

  it('hands freed backends to the waiters in the order they came', async () => {
    const { svc, backends } = busy();
    const first = wait(svc);
    const second = wait(svc);
    svc.released(0);
    await settle();
    assert.deepEqual([first.outcome, second.outcome], ['waiting', 'waiting'], 'nothing was freed yet');
    backends[1]!.inflight--;
    svc.released(0);
    await settle();
    assert.deepEqual([first.outcome, second.outcome], [1, 'waiting']);
    backends[0]!.inflight--;
    svc.released(0);
    await settle();
    assert.deepEqual([first.outcome, second.outcome], [1, 0]);
  });

  it('refuses a waiter beyond its size at once', async () => {
    const { svc } = busy();
    const waiting = [wait(svc), wait(svc)];
    const refused = wait(svc);
    await settle();
    assert.equal(refused.outcome, 'none');
    assert.deepEqual(waiting.map((w) => w.outcome), ['waiting', 'waiting']);
  });

  it('gives up on a waiter after the queue timeout, which frees its place', async () => {
    const { svc, backends } = busy();
    const first = wait(svc);
    mock.timers.tick(99);
    await settle();
    assert.equal(first.outcome, 'waiting');
    mock.timers.tick(1);
    await settle();
    assert.equal(first.outcome, 'none');
    const second = wait(svc);
    const third = wait(svc);
    backends[0]!.inflight--;
    svc.released(0);
    await settle();
    assert.deepEqual([first.outcome, second.outcome, third.outcome], ['none', 0, 'waiting'], 'the timed-out waiter is not served again');
  });

  it('drops its waiters when no backend is available at all any more', async () => {
    const { svc, backends } = busy();
    const first = wait(svc);
    const second = wait(svc);
    for (const backend of backends) down(backend);
    svc.released(0);
    await settle();
    assert.deepEqual([first.outcome, second.outcome], ['none', 'none']);
  });
});

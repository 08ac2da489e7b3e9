import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceConfig } from '../config/types.ts';
import { createLogger } from '../log.ts';
import { Backend } from './backend.ts';
import { Service } from './service.ts';

function service(overrides: Partial<ServiceConfig>, count = 4): { service: Service; backends: Backend[] } {
  const backends = Array.from({ length: count }, (_, i) => new Backend('svc', { host: '127.0.0.1', port: 9000 + i }));
  const config: ServiceConfig = {
    name: 'svc',
    servers: backends.map((b) => ({ address: b.address, weight: 1, backup: false })),
    balance: 'round_robin',
    hashKey: { kind: 'client_ip' },
    panicThresholdPercent: 0,
    slowStartMs: 0,
    retries: { attempts: 2, onStatuses: [], budgetPercent: 20, minRetriesPerSecond: 10 },
    queue: { size: 10, timeoutMs: 1000 },
    timeouts: { connectMs: 1000, responseHeadersMs: 1000, idleMs: 1000 },
    ...overrides,
  };
  return { service: new Service(config, backends, createLogger(false)), backends };
}

const labels = (backends: readonly Backend[]) => backends.map((b) => b.label);

describe('a service chooses its candidates', () => {
  it('from available primaries, then backups when no primary is left', () => {
    const { service: svc, backends } = service({});
    backends[3]!.backup = true;
    backends[0]!.state = 'down';
    assert.deepEqual(labels(svc.candidates(0)), ['127.0.0.1:9001', '127.0.0.1:9002']);
    backends[1]!.state = 'down';
    backends[2]!.state = 'down';
    assert.deepEqual(labels(svc.candidates(0)), ['127.0.0.1:9003']);
  });

  it('over every primary, down or not, below the panic threshold', () => {
    const { service: svc, backends } = service({ panicThresholdPercent: 50 });
    backends[0]!.state = 'down';
    assert.equal(svc.candidates(0).length, 3, '75% available: no panic');
    backends[1]!.state = 'down';
    backends[2]!.state = 'down';
    assert.equal(svc.candidates(0).length, 4, '25% available: panic, all four');
  });

  it('takes an ejected backend back when its ejection runs out, and keeps the same list object while nothing changed', () => {
    const { service: svc, backends } = service({});
    backends[1]!.eject(1_000);
    const during = svc.candidates(500);
    assert.deepEqual(labels(during), ['127.0.0.1:9000', '127.0.0.1:9002', '127.0.0.1:9003']);
    assert.equal(svc.candidates(600), during);
    assert.equal(svc.candidates(1_000).length, 4);
  });

  it('ramps a returning backend up from 10% of its weight over the slow-start window', () => {
    const backend = new Backend('svc', { host: '127.0.0.1', port: 9000 });
    backend.weight = 10;
    backend.slowStartMs = 1_000;
    assert.equal(backend.effectiveWeight(performance.now()), 10, 'up since the start: no ramp');
    backend.state = 'down';
    backend.state = 'up';
    const since = backend.upSince;
    // Float arithmetic on a clock reading: compare to a billionth.
    const near = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);
    near(backend.effectiveWeight(since), 1);
    near(backend.effectiveWeight(since + 500), 5);
    near(backend.effectiveWeight(since + 1_000), 10);
  });
});

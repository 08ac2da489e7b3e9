import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { currentAvailabilityEpoch } from './backend.ts';
import { applyBackendSettings } from './backend-settings.ts';
import type { UpstreamEndpoint } from './client/endpoint.ts';
import { BackendRegistry } from './registry.ts';

const A = { host: '127.0.0.1', port: 9000 };
const B = { host: '127.0.0.1', port: 9001 };

describe('the backend registry', () => {
  it('looks up a new backend without registering it, the same object for the same server until adopted', () => {
    const registry = new BackendRegistry();
    const a = registry.lookup('svc', A);
    assert.equal(registry.get('svc', A), undefined, 'not live before adopt()');
    assert.equal(registry.lookup('svc', A), a, 'a config naming the server twice gets one backend');
    assert.notEqual(registry.lookup('other', A), a, 'one backend per service and address');
    registry.adopt([a]);
    assert.equal(registry.get('svc', A), a);
    assert.deepEqual([...registry.backends()], [a]);
  });

  it('gives a reload the live backend with its state, and lookup() changes nothing on it', () => {
    const registry = new BackendRegistry();
    const a = registry.lookup('svc', A);
    applyBackendSettings(registry, [{ backend: a, weight: 3, backup: false, slowStartMs: 0 }]);
    a.recordCheck(false, 'GET /healthcheck answered 500', { healthyThreshold: 1, unhealthyThreshold: 1 });
    a.inflight = 2;
    const epoch = currentAvailabilityEpoch();
    const history = a.history.length;
    assert.equal(registry.lookup('svc', A), a);
    assert.deepEqual([a.weight, a.state, a.inflight, a.history.length], [3, 'down', 2, history]);
    assert.equal(currentAvailabilityEpoch(), epoch);
  });

  it('forgets on adopt() the backends no service uses any more', () => {
    const registry = new BackendRegistry();
    const a = registry.lookup('svc', A);
    const b = registry.lookup('svc', B);
    registry.adopt([a, b]);
    registry.adopt([b]);
    assert.equal(registry.get('svc', A), undefined);
    const again = registry.lookup('svc', A);
    assert.notEqual(again, a, 'a server that comes back later starts afresh');
    assert.equal(again.state, 'unchecked');
  });

  it('makes a server reached differently (protocol, TLS settings) a new backend, and retires the old one', () => {
    const registry = new BackendRegistry();
    const plain = registry.lookup('svc', A);
    registry.adopt([plain]);
    const h2c: UpstreamEndpoint = { protocol: 'h2', tls: undefined, key: 'h2c' };
    const again = registry.lookup('svc', A, h2c);
    assert.notEqual(again, plain, 'its health said nothing of the server reached this way');
    assert.equal(again.endpoint, h2c);
    assert.notEqual(again.poolKey, plain.poolKey, 'no connection is shared between them');
    assert.equal(registry.lookup('svc', A, h2c), again);
    assert.deepEqual(registry.adopt([again]), [plain]);
    assert.equal(registry.get('svc', A), again, 'found by service and address alone');
    assert.equal(registry.lookup('svc', A, { ...h2c }), again, 'endpoints are told apart by their key');
  });

  it('does not let a compile that was never applied leave anything live', () => {
    const registry = new BackendRegistry();
    registry.lookup('svc', A);
    assert.deepEqual([...registry.backends()], []);
    const b = registry.lookup('svc', B);
    registry.adopt([b]);
    assert.deepEqual([...registry.backends()], [b]);
    assert.equal(registry.get('svc', A), undefined);
  });
});

describe('applying backend settings', () => {
  it('configures every backend and makes exactly those live', () => {
    const registry = new BackendRegistry();
    const old = registry.lookup('svc', A);
    registry.adopt([old]);
    const b = registry.lookup('svc', B);
    applyBackendSettings(registry, [{ backend: b, weight: 0, backup: true, slowStartMs: 250 }]);
    assert.deepEqual([b.weight, b.backup, b.slowStartMs, b.state], [0, true, 250, 'draining']);
    assert.deepEqual([...registry.backends()], [b]);
  });
});

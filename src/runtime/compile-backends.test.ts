// Compiling a config touches no live backend; applying it does (issue: a
// reload used to set weights on live backends before the new config was in).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loadConfigObject } from '../config/load.ts';
import { createLogger } from '../log.ts';
import { RateLimitStores } from '../ratelimit/stores.ts';
import { applyBackendSettings } from '../upstream/backend-settings.ts';
import { currentAvailabilityEpoch } from '../upstream/backend.ts';
import { BackendRegistry } from '../upstream/registry.ts';
import { compileRuntime } from './compile.ts';

function config(servers: unknown[]) {
  return loadConfigObject({ routes: [{ path: '/', service: 'app' }], services: { app: { servers, slow_start: '2s' } } });
}

it('compiles a config without changing live backends, and hands over the settings to apply', async () => {
  const registry = new BackendRegistry();
  const stores = new RateLimitStores();
  const log = createLogger(false);
  try {
    const first = compileRuntime(config(['127.0.0.1:9000']), registry, stores, log);
    applyBackendSettings(registry, first.backendSettings);
    const live = registry.get('app', { host: '127.0.0.1', port: 9000 })!;
    assert.deepEqual([live.weight, live.backup, live.slowStartMs], [1, false, 2_000]);

    const epoch = currentAvailabilityEpoch();
    const next = compileRuntime(config([{ address: '127.0.0.1:9000', weight: 0 }, { address: '127.0.0.1:9001', backup: true }]), registry, stores, log);
    assert.deepEqual([live.weight, live.backup], [1, false], 'compiling changed a live backend');
    assert.equal(currentAvailabilityEpoch(), epoch, 'compiling made services rebuild their lists');
    assert.equal(registry.get('app', { host: '127.0.0.1', port: 9001 }), undefined, 'compiling registered a backend');
    assert.deepEqual(
      next.backendSettings.map(({ backend, weight, backup, slowStartMs }) => [backend.label, weight, backup, slowStartMs]),
      [
        ['127.0.0.1:9000', 0, false, 2_000],
        ['127.0.0.1:9001', 1, true, 2_000],
      ],
    );
    assert.equal(next.backendSettings[0]!.backend, live, 'the reload reuses the live backend');

    applyBackendSettings(registry, next.backendSettings);
    assert.equal(live.state, 'draining');
    assert.equal(registry.get('app', { host: '127.0.0.1', port: 9001 })?.backup, true);
  } finally {
    await stores.close();
  }
});

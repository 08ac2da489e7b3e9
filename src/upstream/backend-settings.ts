import type { Backend, BackendConfig } from './backend.ts';
import type { BackendRegistry } from './registry.ts';

/** What a compiled config wants one backend to be set to; applied by applyBackendSettings(), not by compile. */
export interface BackendSettings extends BackendConfig {
  readonly backend: Backend;
}

/**
 * The backend half of applying a runtime: every backend takes its settings
 * from the new config, and the registry keeps exactly those backends. Called
 * once the runtime is certain to be swapped in, so a config that fails to
 * apply has changed no live backend. Returns the backends no service uses any more.
 */
export function applyBackendSettings(registry: BackendRegistry, settings: ReadonlyArray<BackendSettings>): Backend[] {
  for (const { backend, weight, backup, slowStartMs } of settings) backend.configure({ weight, backup, slowStartMs });
  return registry.adopt(settings.map(({ backend }) => backend));
}

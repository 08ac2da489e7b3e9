// Problems found while reading a config, named by their key path. The loader
// gives them a file position afterwards (load.ts), which keeps the checks
// independent of YAML: an object passed to the library API has no positions.

import type { WeirConfig } from './types.ts';

/** Keys and list indexes from the top of the config: ["routes", 2, "host"]. */
export type KeyPath = Array<string | number>;

export interface PathIssue {
  path: KeyPath;
  message: string;
  /**
   * Point at the key rather than its value. For unknown and duplicate keys
   * the key is what is wrong; for everything else the value is.
   */
  atKey?: boolean;
}

/** What reading one form of config yields: the config when there were no issues. */
export type FormReading =
  | { ok: true; config: Omit<WeirConfig, 'source'> }
  | { ok: false; issues: PathIssue[] };

/** "routes[2].host", "services.api.timeouts.connect", `rewrite.replace["/v1/"]`. */
export function formatKeyPath(path: KeyPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

// `weir start --watch`: reload when the config file changes. Editors and
// config tools rarely write a file in place: most write a new file and
// rename it over the old one, which ends a watch on the file itself. So the
// directory is watched, changes to the file's name are gathered for a
// moment (one save is several events), and a reload happens only when the
// content is really different from what was last loaded.

import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { createHash } from 'node:crypto';

/** How long events are gathered after the first one. */
const SETTLE_MS = 150;

export interface ConfigWatch {
  close(): void;
}

/** Calls `changed` each time the file's content differs from the last time it was seen. */
export async function watchConfigFile(file: string, changed: () => void): Promise<ConfigWatch> {
  const name = basename(file);
  let seen = await digest(file);
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dirname(file), (_event, changedName) => {
    if (changedName !== null && changedName !== name) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      void digest(file).then((now) => {
        // A missing or half-written file is left to the next event; a reload would only fail.
        if (now === undefined || now === seen) return;
        seen = now;
        changed();
      });
    }, SETTLE_MS);
  });
  watcher.on('error', () => undefined);
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}

async function digest(file: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFile(file)).digest('hex');
  } catch {
    return undefined;
  }
}

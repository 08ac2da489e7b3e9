import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { watchConfigFile } from './watch.ts';

/** Resolves on the watcher's next call, or rejects after the bound. */
function nextChange(calls: Array<() => void>, timeoutMs = 3_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no change reported within ${timeoutMs}ms`)), timeoutMs);
    calls.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

test('a change written in place, and one renamed over the file, are each reported once; the same content is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-watch-'));
  const file = join(dir, 'weir.yaml');
  writeFileSync(file, 'a: 1\n');
  const waiting: Array<() => void> = [];
  let count = 0;
  const watch = await watchConfigFile(file, () => {
    count++;
    waiting.shift()?.();
  });
  try {
    let changed = nextChange(waiting);
    writeFileSync(file, 'a: 2\n');
    await changed;
    assert.equal(count, 1);

    // How editors save: a new file renamed over the old one.
    changed = nextChange(waiting);
    writeFileSync(join(dir, 'weir.yaml.tmp'), 'a: 3\n');
    renameSync(join(dir, 'weir.yaml.tmp'), file);
    await changed;
    assert.equal(count, 2);

    // Touching the file without changing it, and changing another file, reload nothing.
    changed = nextChange(waiting, 600);
    writeFileSync(file, 'a: 3\n');
    writeFileSync(join(dir, 'other.yaml'), 'b: 1\n');
    await assert.rejects(changed, /no change reported/);
    assert.equal(count, 2);
  } finally {
    watch.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

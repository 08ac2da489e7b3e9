import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTopFunctions, summarizeProfile } from './profile.ts';
import type { CpuProfile } from './profile.ts';

const frame = (functionName: string, url = '', lineNumber = -1, columnNumber = -1) => ({
  functionName,
  url,
  lineNumber,
  columnNumber,
});

// root -> (idle); root -> handle -> parse; root -> other -> parse (same function, two call sites)
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 5] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('handle', 'file:///repo/src/a.ts', 9, 2), children: [4] },
    { id: 4, callFrame: frame('parse', 'file:///repo/src/p.ts', 0, 0) },
    { id: 5, callFrame: frame('other', 'node:internal/x', 4, 0), children: [6] },
    { id: 6, callFrame: frame('parse', 'file:///repo/src/p.ts', 0, 0) },
  ],
  startTime: 0,
  endTime: 10_000,
  // Each sample is charged the time up to the next one (the last: up to endTime).
  samples: [2, 4, 6, 3, 4],
  timeDeltas: [0, 4000, 1000, 2000, 1000],
};

test('self time per function, merged across call sites', () => {
  const s = summarizeProfile(PROFILE, '/repo');
  assert.equal(s.totalMs, 10);
  assert.equal(s.idleMs, 4);
  const byName = new Map(s.functions.map((f) => [f.functionName, f]));
  assert.equal(byName.get('parse')?.selfMs, 1 + 2 + 2); // node 4 twice, node 6 once
  assert.equal(byName.get('parse')?.location, 'src/p.ts:1:1');
  assert.equal(byName.get('handle')?.selfMs, 1);
  assert.equal(byName.get('handle')?.location, 'src/a.ts:10:3');
  assert.deepEqual(s.functions.map((f) => f.functionName), ['parse', '(idle)', 'handle']);
  assert.ok(formatTopFunctions(s, 2).includes('`parse`'));
});

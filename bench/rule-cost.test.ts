import assert from 'node:assert/strict';
import { summary } from './summary.fixtures.ts';
import { test } from 'node:test';
import { parseOptions } from './options.ts';
import { cpuPlan, parseCpuList } from './pinning.ts';
import type { WrkRun } from './report.ts';
import {
  describeRuleSet,
  microTable,
  pairedRatios,
  refusedText,
  roundSchedule,
  ruleCostSection,
  ruleCostTable,
  ruleCostVariants,
  ruleCostVerdict,
} from './rule-cost.ts';
import { measureRuleCode } from './rule-micro.ts';


const run = (lb: string, round: number, requestsPerSec: number): WrkRun => ({
  round,
  lb,
  scenario: 'rules',
  wrk: { requests: 0, durationS: 10, requestsPerSec, socketErrors: 0, timeouts: 0, non2xx3xx: 0 },
});

// The machine slows down in round 2: each round's ratio stays 0.9 while the medians say 0.8.
const RUNS = [run('none', 1, 10_000), run('all', 1, 9_000), run('none', 2, 5_000), run('all', 2, 4_500), run('none', 3, 10_000), run('all', 3, 4_000)];

test('each variant runs next to a no-rules run of its own, first or second by turns', () => {
  assert.deepEqual(roundSchedule(['none', 'all'], 1), ['none', 'all']);
  assert.deepEqual(roundSchedule(['none', 'all'], 2), ['all', 'none']);
  assert.deepEqual(roundSchedule(['none', 'all', 'headers', 'ip_reject'], 2), ['headers', 'none', 'ip_reject', 'none', 'all', 'none']);
});

test('paired ratios divide each run by the no-rules run(s) next to it in the same round', () => {
  assert.deepEqual(pairedRatios(RUNS, 'all'), [0.9, 0.9, 0.4]);
  // headers sits between two no-rules runs: their mean is its baseline.
  const between = [run('none', 1, 10_000), run('headers', 1, 9_000), run('none', 1, 8_000), run('all', 1, 4_000)];
  assert.deepEqual(pairedRatios(between, 'headers'), [1]);
  assert.deepEqual(pairedRatios(between, 'all'), [0.5]);
  assert.deepEqual(pairedRatios([...RUNS, run('headers', 4, 1)], 'headers'), [], 'round 4 has no no-rules run');
  assert.deepEqual(pairedRatios([run('none', 1, 10_000), { round: 1, lb: 'none', scenario: 'throughput' }, run('all', 2, 9_000)], 'all'), []);
});

test('the verdict is the median paired ratio of the rule set to no rules, against the 15% target', () => {
  const met = ruleCostVerdict([summary('none', 10_000), summary('all', 4_500)], RUNS);
  assert.ok(met);
  assert.equal(met.ratio, 0.9);
  assert.equal(met.ratioOfMedians, 0.45);
  assert.equal(met.met, true);
  assert.match(met.text, /0\.90× .*0\.90, 0\.90, 0\.40.* 10\.0% fewer.*\*\*met\*\*/);
  const missed = ruleCostVerdict([summary('none', 10_000), summary('all', 8_000)], [run('none', 1, 10_000), run('all', 1, 8_000)]);
  assert.equal(missed?.met, false);
  assert.match(missed?.text ?? '', /NOT met/);
  assert.equal(ruleCostVerdict([summary('none', 10_000)], RUNS.slice(0, 1)), undefined);
  const busy = ruleCostVerdict([summary('none', 10_000), summary('all', 4_500)], [...RUNS.slice(0, 5), { ...RUNS[5]!, otherCores: 0.5 }]);
  assert.equal(busy?.disturbedRuns, 1);
  assert.match(busy?.text ?? '', /1 run\(s\) shared the machine/);
  assert.match(busy?.text ?? '', /Only 3 paired run\(s\)/);
  const many = Array.from({ length: 5 }, (_, i) => [run('none', i + 1, 10_000), run('all', i + 1, 9_500)]).flat();
  assert.doesNotMatch(ruleCostVerdict([summary('none', 10_000), summary('all', 9_500)], many)?.text ?? '', /Only/);
});

test('refused requests void the comparison', () => {
  assert.equal(refusedText(0, 0), undefined);
  assert.match(refusedText(0, 12) ?? '', /12 non-2xx\/3xx/);
  const verdict = ruleCostVerdict([summary('none', 10_000), summary('all', 9_900, 5)], RUNS);
  assert.equal(verdict?.valid, false);
  assert.equal(verdict?.met, false);
  assert.match(verdict?.text ?? '', /Not valid/);
});

test('the table has a row per variant, with the ratio to no rules and the reason for a missing one', () => {
  const table = ruleCostTable([summary('none', 10_000), summary('all', 9_000)], RUNS, new Map([['headers', 'skipped: x']]), ruleCostVariants(true), {
    all: 100 * 2 ** 20,
  });
  const rows = table.split('\n').slice(2);
  assert.equal(rows.length, 6);
  assert.match(rows[0] ?? '', /^\| no rules \| 10,000 \| 1\.00× /);
  assert.match(rows[1] ?? '', /^\| typical rule set \| 9,000 \| 0\.90× \| 0\.90× \(0\.40–0\.90\) \| .* 100\.0 MiB .* 111\.1 µs /);
  assert.match(rows[2] ?? '', /^\| 10 header rules only \| skipped: x \|/);
  assert.match(describeRuleSet(), /10 header rules .*10,000 CIDR ranges \(9,000 IPv4 \/24s, 1,000 IPv6 \/48s/);
});

test('options: the scenario runs in the full run, alone with --rules-only, and not without weir', () => {
  const full = parseOptions([]);
  assert.equal(full?.rules, true);
  assert.equal(full?.throughput, true);
  const only = parseOptions(['--rules-only']);
  assert.deepEqual(
    [only?.rules, only?.throughput, only?.upload, only?.fault, only?.only],
    [true, false, false, false, ['weir']],
  );
  assert.equal(parseOptions(['--only', 'nginx'])?.rules, false);
  assert.equal(parseOptions(['--fault-only'])?.rules, false);
  assert.throws(() => parseOptions(['--rules-only', '--only', 'nginx']), /must include/);
  assert.throws(() => parseOptions(['--rules-only', '--fault-only']), /exclude/);
  assert.equal(parseOptions(['--rules-breakdown'])?.rulesBreakdown, true);
});

test('pinning: weir gets the last allowed CPU, wrk and the backends the others', () => {
  assert.deepEqual(parseCpuList('0-3,6'), [0, 1, 2, 3, 6]);
  assert.deepEqual(parseCpuList('0,1\n'), [0, 1]);
  assert.deepEqual(parseCpuList('x'), []);
  assert.deepEqual(cpuPlan([0, 1]), { lb: '1', rest: '0' });
  assert.deepEqual(cpuPlan([0, 1, 2, 3, 6]), { lb: '6', rest: '0,1,2,3' });
  assert.equal(cpuPlan([0]), undefined);
});

test('the in-process table: each variant\'s rule code over no rules, as a share of a request\'s CPU', () => {
  const table = microTable(
    [
      { variant: 'none', nsPerRequest: 500, batches: [] },
      { variant: 'all', nsPerRequest: 2_500, batches: [] },
    ],
    80,
  );
  const rows = table.split('\n').slice(2);
  assert.equal(rows[0], '| no rules | 0.50 µs | +0.00 µs | 0.0% |');
  assert.equal(rows[1], '| typical rule set | 2.50 µs | +2.00 µs | 2.5% |');
});

test('the in-process measurement runs every variant\'s rules on wrk\'s request', () => {
  const results = measureRuleCode(['none', 'all'], 1, 200);
  assert.deepEqual(results.map((r) => r.variant), ['none', 'all']);
  for (const r of results) assert.ok(r.nsPerRequest > 0 && r.batches.length === 1);
});

test('the report section: table, verdict, how it was measured, and the in-process figures or why there are none', () => {
  const section = ruleCostSection({
    title: 'wrk -t2 -c64 -d10s --latency, median of 3 rounds',
    variants: ['none', 'all'],
    summaries: [summary('none', 10_000), summary('all', 4_500)],
    runs: RUNS,
    missing: new Map(),
    startRss: undefined,
    pinning: { lb: '1', rest: '0' },
    micro: 'bench/rule-micro.ts exited with 1',
  }).join('\n');
  assert.match(section, /^## Rule cost: weir without and with a typical rule set, wrk -t2/);
  assert.match(section, /\*\*met\*\*/);
  assert.match(section, /weir pinned to CPU 1, wrk and the backends to CPU 0/);
  assert.match(section, /No figures: bench\/rule-micro.ts exited with 1\./);
});

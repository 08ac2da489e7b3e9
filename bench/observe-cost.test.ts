import assert from 'node:assert/strict';
import { summary } from './summary.fixtures.ts';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadConfigText } from '../src/config/load.ts';
import { weirYaml } from './configs.ts';
import {
  accessLogFigures,
  adminUrlFromLog,
  countLinesInRange,
  countNewlines,
  lastLineBefore,
  lineCountProblem,
  MetricsScraper,
  observeErrorsText,
  observeRunProblem,
  observeSection,
  observeTable,
  observeVerdict,
  observeYaml,
  quietPairedRatios,
  settledSize,
  summarizeAccessLog,
} from './observe-cost.ts';
import type { AccessLogFigures, ObserveFigures } from './observe-cost.ts';
import { parseOptions } from './options.ts';
import type { WrkRun } from './report.ts';
import { pairedRatios, roundSchedule } from './rule-cost.ts';

const UPSTREAMS = [
  { host: '127.0.0.1', port: 9001 },
  { host: '127.0.0.1', port: 9002 },
];

const tmp = mkdtempSync(path.join(os.tmpdir(), 'weir-observe-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));


const accessLog = (requests: number, lines: number, problem?: string): AccessLogFigures => ({
  lines,
  bytes: lines * 400,
  requests,
  inFlight: 64,
  linesPerSec: lines / 5,
  fileBytes: lines * 400 + 40_000,
  ...(problem && { problem }),
});

const GOOD_SCRAPES = { scrapes: 10, failed: 0, medianMs: 3, maxMs: 5, bodyBytes: 8_500 };

const run = (lb: string, round: number, requestsPerSec: number, observe?: ObserveFigures): WrkRun => ({
  round,
  lb,
  scenario: 'observe',
  wrk: { requests: requestsPerSec * 5, durationS: 5, requestsPerSec, socketErrors: 0, timeouts: 0, non2xx3xx: 0 },
  ...(observe && { observe }),
});

const on = (round: number, rps: number, lines = rps * 5 + 10): WrkRun =>
  run('on', round, rps, { accessLog: accessLog(rps * 5, lines), scrapes: GOOD_SCRAPES });

// The machine slows down in round 2: each round's ratio stays 0.95 while the medians say otherwise.
const RUNS = [run('off', 1, 10_000), on(1, 9_500), on(2, 4_750), run('off', 2, 5_000), run('off', 3, 10_000), on(3, 9_500)];

test('"off" is the throughput table\'s weir; "on" adds a file access log and the admin listener, as weir\'s loader reads them', () => {
  const file = path.join(tmp, 'dir with space', 'access.log');
  assert.equal(observeYaml(8080, UPSTREAMS, 'off', file), weirYaml(8080, UPSTREAMS));
  const off = loadConfigText(observeYaml(8080, UPSTREAMS, 'off', file), 'off.yaml');
  assert.equal(off.accessLog, undefined);
  assert.equal(off.admin, undefined);
  const onConfig = loadConfigText(observeYaml(8080, UPSTREAMS, 'on', file), 'on.yaml');
  assert.equal(onConfig.accessLog?.path, file);
  assert.equal(onConfig.accessLog?.minStatus, 0, 'every request is logged');
  assert.equal(onConfig.accessLog?.sample, 1, 'every request is logged');
  assert.equal(onConfig.admin?.listen.host, '127.0.0.1');
  assert.equal(onConfig.admin?.listen.port, 0);
});

test('the admin URL is the first "admin" field of weir\'s JSON log lines', () => {
  const text = [
    '(node:1) ExperimentalWarning: something',
    '{"level":30,"msg":"admin is mentioned","admin":false}',
    '{"level":30,"name":"weir","admin":"http://127.0.0.1:34767","token":false,"msg":"admin API and dashboard on http://127.0.0.1:34767"}',
    '{"level":30,"listen":"http://127.0.0.1:18999","admin":"http://127.0.0.1:1","msg":"weir listening"}',
  ].join('\n');
  assert.equal(adminUrlFromLog(text), 'http://127.0.0.1:34767');
  assert.equal(adminUrlFromLog('{"level":30,"listen":"http://127.0.0.1:1","msg":"weir listening"}\n'), undefined);
  assert.equal(adminUrlFromLog('{"admin":"http://127.0.0.1:2"'), undefined, 'a cut-off line is not read');
  assert.equal(adminUrlFromLog(''), undefined);
});

test('lines are counted in a byte range of the file, and the last line read back', async () => {
  assert.equal(countNewlines(Buffer.from('a\nb\n\nc')), 3);
  assert.equal(countNewlines(new Uint8Array(0)), 0);
  const file = path.join(tmp, 'lines.log');
  const line = (i: number) => `${JSON.stringify({ status: 200, i })}\n`;
  writeFileSync(file, line(0));
  const before = Buffer.byteLength(line(0));
  for (let i = 1; i <= 1000; i++) appendFileSync(file, line(i));
  const end = await settledSize(file, 100, 2000);
  assert.equal(await countLinesInRange(file, 0, end), 1001);
  assert.equal(await countLinesInRange(file, before, end), 1000);
  assert.equal(await countLinesInRange(file, end, end), 0);
  assert.equal(lastLineBefore(file, end), JSON.stringify({ status: 200, i: 1000 }));
  assert.equal(lastLineBefore(file, before), JSON.stringify({ status: 200, i: 0 }));
  assert.equal(await settledSize(path.join(tmp, 'missing.log'), 50, 500), 0);
});

test('the lines must cover every request wrk counted, and at most the in-flight ones more', async () => {
  assert.equal(lineCountProblem(1000, 1000, 64), undefined);
  assert.equal(lineCountProblem(1064, 1000, 64), undefined);
  assert.match(lineCountProblem(999, 1000, 64) ?? '', /^1 line\(s\) missing: 999 lines for the 1,000 requests .*dropped/);
  assert.match(lineCountProblem(1065, 1000, 64) ?? '', /^1 line\(s\) too many/);

  const file = path.join(tmp, 'figures.log');
  writeFileSync(file, 'probe\n');
  const before = 6;
  appendFileSync(file, `${JSON.stringify({ status: 200 })}\n`.repeat(110));
  const end = await settledSize(file, 100, 2000);
  const ok = await accessLogFigures(file, before, end, { requests: 100, durationS: 5 }, 64);
  assert.deepEqual(ok, { lines: 110, bytes: end - before, requests: 100, inFlight: 64, linesPerSec: 22, fileBytes: end });
  const dropped = await accessLogFigures(file, before, end, { requests: 200, durationS: 5 }, 64);
  assert.match(dropped.problem ?? '', /90 line\(s\) missing/);
  appendFileSync(file, 'not json\n');
  const garbled = await accessLogFigures(file, before, end + 9, { requests: 100, durationS: 5 }, 64);
  assert.match(garbled.problem ?? '', /last line is not JSON: not json/);
});

test('the scraper GETs /metrics once per interval and counts what failed', async () => {
  let answer = 200;
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    assert.equal(req.url, '/metrics');
    res.writeHead(answer, { 'content-type': 'text/plain' });
    res.end('# TYPE weir_requests_total counter\nweir_requests_total{code="200"} 5\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    const scraper = new MetricsScraper(url, 50);
    scraper.start();
    await new Promise((r) => setTimeout(r, 230));
    const figures = await scraper.stop();
    assert.ok(figures.scrapes >= 2 && figures.scrapes <= 6, `${figures.scrapes} scrapes in 230 ms at one per 50 ms`);
    assert.equal(figures.scrapes, hits);
    assert.equal(figures.failed, 0);
    assert.ok(figures.medianMs > 0 && figures.maxMs >= figures.medianMs);
    assert.ok(figures.bodyBytes > 40);
    assert.deepEqual(await scraper.stop(), figures, 'stopping twice changes nothing');

    answer = 500;
    const failing = new MetricsScraper(url, 1000);
    failing.start();
    const bad = await failing.stop();
    assert.deepEqual([bad.scrapes, bad.failed], [1, 1]);
    assert.match(bad.firstError ?? '', /answered 500/);
    assert.match(observeRunProblem({ accessLog: accessLog(10, 10), scrapes: bad }) ?? '', /1 of 1 scrapes of \/metrics failed/);
  } finally {
    server.close();
  }
});

test('a run is void without its access log figures, with missing lines or with failed scrapes', () => {
  assert.equal(observeRunProblem({ accessLog: accessLog(100, 120), scrapes: GOOD_SCRAPES }), undefined);
  assert.match(observeRunProblem(undefined) ?? '', /not read back; \/metrics was not scraped/);
  assert.match(observeRunProblem({ accessLog: accessLog(100, 90, 'x missing'), scrapes: GOOD_SCRAPES }) ?? '', /^access log: x missing$/);
  assert.match(observeRunProblem({ accessLog: accessLog(100, 100), scrapes: { ...GOOD_SCRAPES, scrapes: 0 } }) ?? '', /no scrape/);
  assert.equal(observeErrorsText(0, 0), undefined);
  assert.match(observeErrorsText(2, 3) ?? '', /3 non-2xx\/3xx answers and 2 socket errors/);
});

test('"on" runs next to "off", and is divided by it', () => {
  assert.deepEqual(roundSchedule(['off', 'on'], 1, 'off'), ['off', 'on']);
  assert.deepEqual(roundSchedule(['off', 'on'], 2, 'off'), ['on', 'off']);
  assert.deepEqual(pairedRatios(RUNS, 'on', 'observe', 'off'), [0.95, 0.95, 0.95]);
  assert.deepEqual(pairedRatios(RUNS, 'on'), [], 'the rule-cost scenario has no such runs');
  assert.deepEqual(quietPairedRatios(RUNS.map((r) => (r.round === 3 && r.lb === 'off' ? { ...r, otherCores: 0.2 } : r))), [0.95, 0.95]);
});

test('the access log summary: medians, the excess of lines over requests, the problems', () => {
  const s = summarizeAccessLog(RUNS);
  assert.ok(s);
  assert.deepEqual([s.runs, s.excessMin, s.excessMax, s.inFlight, s.bytesPerLine], [3, 10, 10, 64, 400]);
  assert.equal(s.linesPerSec, (9_500 * 5 + 10) / 5);
  assert.equal(s.requests, (9_500 + 4_750 + 9_500) * 5);
  assert.deepEqual(s.problems, []);
  assert.equal(summarizeAccessLog(RUNS.filter((r) => r.lb === 'off')), undefined);
});

test('the verdict is the median paired ratio of on to off, against the 10% target, and void when lines were dropped', () => {
  const met = observeVerdict([summary('off', 10_000), summary('on', 9_500)], RUNS);
  assert.ok(met);
  assert.equal(met.ratio, 0.95);
  assert.equal(met.met, true);
  assert.equal(met.valid, true);
  assert.match(met.text, /0\.95× .*5\.0% fewer.*at most 10% fewer: \*\*met\*\*/);
  assert.match(met.text, /no line dropped/);
  assert.match(met.text, /Only 3 paired run\(s\)/);

  const slow = [run('off', 1, 10_000), on(1, 8_500)];
  assert.match(observeVerdict([summary('off', 10_000), summary('on', 8_500)], slow)?.text ?? '', /15\.0% fewer.*\*\*NOT met\*\*/);

  const dropped = [run('off', 1, 10_000), run('on', 1, 9_500, { accessLog: accessLog(47_500, 47_000, '500 line(s) missing'), scrapes: GOOD_SCRAPES })];
  const bad = observeVerdict([summary('off', 10_000), summary('on', 9_500)], dropped);
  assert.equal(bad?.valid, false);
  assert.equal(bad?.met, false);
  assert.match(bad?.text ?? '', /\*\*Not valid\*\*: round 1: access log: 500 line\(s\) missing/);

  assert.match(observeVerdict([summary('off', 10_000, 3), summary('on', 9_500)], RUNS)?.text ?? '', /wrk saw 3 failed requests/);

  // Round 2's "on" ran beside other processes: its pair is set aside in the quiet figure.
  const busy = RUNS.map((r) => (r.round === 2 && r.lb === 'on' ? { ...r, otherCores: 0.4, wrk: { ...r.wrk!, requestsPerSec: 2_500 } } : r));
  const disturbed = observeVerdict([summary('off', 10_000), summary('on', 9_500)], busy);
  assert.deepEqual(disturbed?.paired, [0.95, 0.5, 0.95]);
  assert.deepEqual(disturbed?.quietPaired, [0.95, 0.95]);
  assert.match(disturbed?.text ?? '', /1 run\(s\) shared the machine.* The 2 pair\(s\) in which neither run shared the machine: 0\.95× \(0\.95–0\.95\)\./);
  assert.doesNotMatch(met.text, /neither run/);
  assert.equal(observeVerdict([summary('off', 10_000)], RUNS.slice(0, 1)), undefined);
});

test('the table and the section: a row per variant, the access log and scrape columns for "on"', () => {
  const table = observeTable([summary('off', 10_000), summary('on', 9_500)], RUNS, new Map(), { off: 90 * 2 ** 20 });
  const rows = table.split('\n');
  assert.equal(rows.length, 4);
  assert.equal(rows[0]?.split('|').length, rows[1]?.split('|').length, 'header and separator have the same columns');
  assert.equal(rows[2]?.split('|').length, rows[0]?.split('|').length);
  assert.match(rows[2] ?? '', /^\| off: .* \| 10,000 \| 1\.00× \| 1\.00× \| .* 90\.0 MiB .*\| – \| – \| – \| – \|/);
  assert.match(rows[3] ?? '', /^\| on: .* \| 9,500 \| 0\.95× \| 0\.95× \(0\.95–0\.95\) \| .*\| 9,502 \| .* \(.*, 400 B\) \| \+10–\+10 \(≤ \+64 in flight\) \| 30\/30 \(3\.00 ms, 8\.3 KiB\) \|/);
  const missing = observeTable([summary('off', 10_000)], RUNS.slice(0, 1), new Map([['on', 'skipped: no admin']]));
  const missingRow = missing.split('\n')[3] ?? '';
  assert.match(missingRow, /^\| on: .* \| skipped: no admin \|/);
  assert.equal(missingRow.split('|').length, rows[0]?.split('|').length);

  const section = observeSection({
    title: 'wrk -t2 -c64 -d5s --latency, median of 3 rounds',
    summaries: [summary('off', 10_000), summary('on', 9_500)],
    runs: RUNS,
    missing: new Map(),
    startRss: undefined,
    pinning: { lb: '1', rest: '0' },
    logDir: '/tmp/x',
  }).join('\n');
  assert.match(section, /^## Observability cost: weir without and with the access log and the admin listener, wrk -t2/);
  assert.match(section, /\*\*met\*\*/);
  assert.match(section, /weir pinned to CPU 1, wrk and the backends to CPU 0/);
});

test('options: the scenario runs in the full run, alone with --observe-only, beside the rule cost with both, and not without weir', () => {
  const full = parseOptions([]);
  assert.deepEqual([full?.observe, full?.rules, full?.throughput], [true, true, true]);
  const only = parseOptions(['--observe-only']);
  assert.deepEqual(
    [only?.observe, only?.rules, only?.throughput, only?.upload, only?.fault, only?.only],
    [true, false, false, false, false, ['weir']],
  );
  const costs = parseOptions(['--observe-only', '--rules-only']);
  assert.deepEqual([costs?.observe, costs?.rules, costs?.throughput, costs?.upload, costs?.fault], [true, true, false, false, false]);
  assert.equal(parseOptions(['--rules-only'])?.observe, false);
  assert.equal(parseOptions(['--skip-observe'])?.observe, false);
  assert.equal(parseOptions(['--skip-observe'])?.rules, true);
  assert.equal(parseOptions(['--only', 'nginx'])?.observe, false);
  assert.equal(parseOptions(['--fault-only'])?.observe, false);
  assert.throws(() => parseOptions(['--observe-only', '--only', 'nginx']), /--observe-only measures weir/);
  assert.throws(() => parseOptions(['--observe-only', '--fault-only']), /exclude/);
  assert.throws(() => parseOptions(['--observe-only', '--skip-observe']), /excludes/);
  assert.throws(() => parseOptions(['--observe-only', '--rules-breakdown']), /--rules-only/);
});

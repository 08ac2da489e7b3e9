// The workers scenario (its configs, options, table and leftover-process check)
// and the report's targets list.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { haproxyCfg, nginxLbConf } from './configs.ts';
import { parseOptions } from './options.ts';
import { targets, targetsSection, TARGET_PEAK_RSS_BYTES } from './report.ts';
import type { TargetInput, UploadSummary, WrkSummary } from './report.ts';
import { summary } from './summary.fixtures.ts';
import {
  endLeftovers,
  NGINX_1,
  processesWith,
  rowTitle,
  snapshotDescendants,
  stillRunning,
  workersExplanation,
  workersLabel,
  workersTable,
} from './workers.ts';

const upstreams = [
  { host: '127.0.0.1', port: 9001 },
  { host: '127.0.0.1', port: 9002 },
];

test('nginx and HAProxy get two workers or threads only when asked', () => {
  assert.match(nginxLbConf('/tmp/x', 8080, upstreams), /^worker_processes 1;$/m);
  assert.match(nginxLbConf('/tmp/x', 8080, upstreams, 2), /^worker_processes 2;$/m);
  assert.match(haproxyCfg(8080, upstreams), /^ {2}nbthread 1$/m);
  assert.match(haproxyCfg(8080, upstreams, 2), /^ {2}nbthread 2$/m);
  // Everything else is the single-process config.
  assert.equal(nginxLbConf('/tmp/x', 8080, upstreams, 2).replace('worker_processes 2', 'worker_processes 1'), nginxLbConf('/tmp/x', 8080, upstreams));
});

test('--workers-only runs the workers scenario alone; --skip-workers leaves it out', () => {
  const full = parseOptions([]);
  assert.equal(full?.workers, true);
  assert.equal(full?.throughput, true);
  const only = parseOptions(['--workers-only']);
  assert.ok(only);
  assert.equal(only.workers, true);
  assert.equal(only.workersOnly, true);
  for (const other of ['throughput', 'upload', 'fault', 'rules', 'observe'] as const) assert.equal(only[other], false, other);
  assert.equal(parseOptions(['--skip-workers'])?.workers, false);
  assert.equal(parseOptions(['--skip-workers'])?.throughput, true);
  assert.equal(parseOptions(['--only', 'http-proxy'])?.workers, false);
  assert.equal(parseOptions(['--fault-only'])?.workers, false);
  assert.equal(parseOptions(['--rules-only'])?.workers, false);
  assert.equal(parseOptions(['--workers-only', '--only', 'nginx,haproxy'])?.only.join(','), 'nginx,haproxy');
  assert.throws(() => parseOptions(['--workers-only', '--skip-workers']), /exclude each other/);
  assert.throws(() => parseOptions(['--workers-only', '--fault-only']), /exclude each other/);
  assert.throws(() => parseOptions(['--workers-only', '--observe-only']), /exclude each other/);
  assert.throws(() => parseOptions(['--workers-only', '--only', 'http-proxy']), /--only must include one of them/);
});

const row = (lb: string, rps: number, p99: number, cpuCores = 1.5): WrkSummary => ({ ...summary(lb, rps), p99Ms: p99, cpuCores });

test('the workers table: ratios to nginx-1 and nginx-2, CPU as a share of the machine, skipped rows with their reason', () => {
  const table = workersTable({
    summaries: [row('nginx-2', 20_000, 10), row('haproxy-2', 16_000, 12), row('weir-2', 10_000, 40)],
    nginx1: row(NGINX_1, 16_000, 8, 1),
    nginx1Source: 'throughput table',
    rows: ['nginx-2', 'haproxy-2', 'weir-2', 'other-2'],
    missing: new Map([['other-2', 'skipped: did not start with 2 workers (its output is in the notes)']]),
    startRss: { 'weir-2': 150 * 2 ** 20 },
    nproc: 2,
  });
  const lines = table.split('\n');
  assert.match(lines[0] ?? '', /× nginx-1 \| × nginx-2 \|.*of the machine \(2 CPUs\)/);
  assert.equal(lines.length, 7);
  assert.match(lines[2] ?? '', /^\| nginx, `worker_processes 1` \(throughput table\) \| 16,000 \| 1\.00× \| 0\.80× \|.* \| 100% \| 50% \|/);
  assert.match(lines[3] ?? '', /^\| nginx, `worker_processes 2` \| 20,000 \| 1\.25× \| 1\.00× \| 4\.00 ms \| 10\.00 ms \| 1\.25× \|/);
  assert.match(lines[4] ?? '', /^\| HAProxy, `nbthread 2` \| 16,000 \| 1\.00× \| 0\.80× \|/);
  assert.match(lines[5] ?? '', /^\| weir, `--workers 2` \| 10,000 \| 0\.63× \| 0\.50× \| 4\.00 ms \| 40\.00 ms \| 5\.00× \| 200\.0 MiB \| 150% \| 75% \| 0 \| 9,900–10,100 \| 150\.0 MiB \|$/);
  assert.match(lines[6] ?? '', /^\| other-2 \| skipped: did not start with 2 workers/);
});

test('the workers table without nginx-1 or nginx-2 figures has no ratios to them', () => {
  const table = workersTable({
    summaries: [row('weir-2', 10_000, 40)],
    nginx1Source: 'measured in these rounds',
    rows: ['nginx-2', 'weir-2'],
    missing: new Map([[NGINX_1, 'not measured: nginx is not in --only']]),
    startRss: {},
    nproc: 2,
  });
  const lines = table.split('\n');
  assert.match(lines[2] ?? '', /^\| nginx, `worker_processes 1` \(measured in these rounds\) \| not measured: nginx is not in --only \|/);
  assert.match(lines[3] ?? '', /^\| nginx, `worker_processes 2` \| no result \|/);
  assert.match(lines[4] ?? '', /^\| weir, `--workers 2` \| 10,000 \| – \| – \|/);
});

test('row labels and titles', () => {
  assert.equal(workersLabel('weir'), 'weir-2');
  assert.equal(rowTitle('haproxy-2'), 'HAProxy, `nbthread 2`');
  assert.equal(rowTitle('weir-2'), 'weir, `--workers 2`');
});

test('the explanation says a small machine cannot show a 2× gain', () => {
  const small = workersExplanation(2, 'main').join('\n');
  assert.match(small, /On this 2-CPU machine wrk \(2 threads\) and the backend nginx run on the same 2 CPUs/);
  assert.match(small, /cannot show a 2× gain/);
  assert.match(small, /from this run's throughput table/);
  assert.doesNotMatch(workersExplanation(16, 'here').join('\n'), /cannot show/);
  assert.match(workersExplanation(16, 'here').join('\n'), /--workers-only/);
});

const upload = (lb: string, mbPerS: number): UploadSummary => ({
  lb,
  rounds: 3,
  failed: 0,
  durationS: 2 ** 30 / 1e6 / mbPerS,
  mbPerS,
  peakRssBytes: 60 * 2 ** 20,
  cpuCores: 1,
});

const fullRun: TargetInput = {
  throughput: [row('nginx', 16_000, 8), row('haproxy', 14_000, 9), row('weir', 10_000, 15)],
  memory256: [row('nginx', 15_000, 30), row('haproxy', 12_000, 40), { ...row('weir', 11_000, 60), peakRssBytes: 110 * 2 ** 20 }],
  upload: { summaries: [upload('nginx', 900), upload('weir', 950)], bytes: 2 ** 30 },
  weirFault: { requests: 40_000, failed: 0 },
};

test('targets: all six met', () => {
  const list = targets(fullRun);
  assert.equal(list.length, 6);
  assert.deepEqual(list.map((t) => t.status), ['met', 'met', 'met', 'met', 'met', 'met']);
  assert.match(list[0]?.figures ?? '', /^0\.63× \(10,000 against 16,000 req\/s\)$/);
  assert.match(list[1]?.figures ?? '', /^1\.88× \(15\.00 ms against 8\.00 ms\)$/);
  // 0.73× against 0.80×: 92% of HAProxy's, within 10%.
  assert.match(list[2]?.figures ?? '', /weir 0\.73×, HAProxy 0\.80× \(weir at 92% of HAProxy's\)/);
  assert.match(list[3]?.figures ?? '', /^1\.06× \(950 against 900 MB\/s\)$/);
  assert.equal(list[4]?.figures, '0 failed of 40,000');
  assert.equal(list[5]?.figures, '110.0 MiB');
});

test('targets: each one missed', () => {
  const list = targets({
    throughput: [row('nginx', 16_000, 8), row('weir', 9_000, 17)],
    memory256: [row('nginx', 15_000, 30), row('haproxy', 12_000, 40), { ...row('weir', 10_000, 60), peakRssBytes: TARGET_PEAK_RSS_BYTES + 1 }],
    upload: { summaries: [upload('nginx', 900), upload('weir', 899)], bytes: 2 ** 28 },
    weirFault: { requests: 40_000, failed: 3 },
  });
  assert.deepEqual(list.map((t) => t.status), ['not met', 'not met', 'not met', 'not met', 'not met', 'not met']);
  // 0.67× against 0.80×: 83%.
  assert.match(list[2]?.figures ?? '', /weir at 83% of HAProxy's/);
  assert.match(list[3]?.figures ?? '', /256 MiB in this run, not 1 GiB/);
});

test('targets: what this run did not measure', () => {
  const none = targets({ throughput: [], memory256: [] });
  assert.deepEqual(none.map((t) => t.status), Array(6).fill('not measured'));
  assert.match(none[0]?.figures ?? '', /the throughput table did not run/);
  assert.match(none[3]?.figures ?? '', /the upload did not run/);
  assert.match(none[4]?.figures ?? '', /the backend-failure scenario did not run/);
  const noHaproxy = targets({ ...fullRun, memory256: fullRun.memory256.filter((s) => s.lb !== 'haproxy'), weirFault: 'skipped: dist/ did not build' });
  assert.equal(noHaproxy[2]?.status, 'not measured');
  assert.match(noHaproxy[2]?.figures ?? '', /no haproxy figure in the 256-connection table/);
  assert.equal(noHaproxy[5]?.status, 'met');
  assert.equal(noHaproxy[4]?.figures, 'skipped: dist/ did not build');
  const text = targetsSection(noHaproxy).join('\n');
  assert.match(text, /^## Targets$/m);
  assert.match(text, /^1\. one weir process ≥ 0\.6× nginx-1's req\/s at 64 connections: \*\*met\*\* — 0\.63×/m);
  assert.match(text, /^3\. .*: not measured — no haproxy figure/m);
});

test('a process left running is found by its command line and ended by its pid; a gone or reused pid is not touched', async () => {
  assert.deepEqual(stillRunning([{ pid: process.pid, startTicks: 'not-its-start-time' }]), []);
  const marker = `weir-bench-workers-test-${process.pid}-${Date.now()}`;
  assert.deepEqual(processesWith(marker), []);
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', marker], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await new Promise((resolve) => child.once('spawn', resolve));
    const found = processesWith(marker);
    assert.deepEqual(found.map((p) => p.pid), [child.pid]);
    assert.deepEqual(snapshotDescendants(process.pid).filter((p) => p.pid === child.pid), found);
    assert.deepEqual(await endLeftovers(found, 100), [child.pid]);
    await exited;
    assert.deepEqual(stillRunning(found), []);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWrkOutput, parseWrkTime, wrkArgs } from './wrk.ts';

// Captured from `wrk -t2 -c256 -d2s --latency` against http-proxy on the bench machine
// (the socket-error and non-2xx lines were added as wrk prints them when they occur).
const SAMPLE = `Running 2s test @ http://127.0.0.1:44583/
  2 threads and 256 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   133.82ms  285.38ms   2.00s    91.25%
    Req/Sec     1.63k     0.98k    3.59k    62.50%
  Latency Distribution
     50%   45.61ms
     75%   63.41ms
     90%  324.58ms
     99%    1.51s 
  6536 requests in 2.02s, 1.05MB read
  Socket errors: connect 0, read 3, write 1, timeout 12
  Non-2xx or 3xx responses: 7
Requests/sec:   3230.66
Transfer/sec:    533.18KB
`;

const NO_LATENCY = `Running 1s test @ http://127.0.0.1:34897/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.00us  256.10us   9.01ms   82.00%
    Req/Sec    31.20k     2.10k   35.00k    70.00%
  62400 requests in 1.00s, 9.10MB read
Requests/sec:  62340.12
Transfer/sec:      9.09MB
`;

test('parses totals, percentiles and errors', () => {
  const r = parseWrkOutput(SAMPLE);
  assert.equal(r.requests, 6536);
  assert.equal(r.durationS, 2.02);
  assert.equal(r.requestsPerSec, 3230.66);
  assert.equal(r.p50Ms, 45.61);
  assert.equal(r.p75Ms, 63.41);
  assert.equal(r.p90Ms, 324.58);
  assert.equal(r.p99Ms, 1510);
  assert.equal(r.socketErrors, 16);
  assert.equal(r.timeouts, 12);
  assert.equal(r.non2xx3xx, 7);
});

test('output without --latency has no percentiles and no errors', () => {
  const r = parseWrkOutput(NO_LATENCY);
  assert.equal(r.requestsPerSec, 62340.12);
  assert.equal(r.p50Ms, undefined);
  assert.equal(r.p99Ms, undefined);
  assert.equal(r.socketErrors, 0);
  assert.equal(r.non2xx3xx, 0);
});

test('time units', () => {
  assert.equal(parseWrkTime('812.00us'), 0.812);
  assert.equal(parseWrkTime('4.41ms'), 4.41);
  assert.equal(parseWrkTime('2.00s'), 2000);
  assert.equal(parseWrkTime('1.50m'), 90_000);
  assert.throws(() => parseWrkTime('fast'));
});

test('unparseable output is an error', () => {
  assert.throws(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused'), /cannot parse/);
});

test('arguments', () => {
  assert.deepEqual(wrkArgs({ url: 'http://127.0.0.1:1/', threads: 2, connections: 64, durationS: 10, latency: true }), [
    '-t2',
    '-c64',
    '-d10s',
    '--timeout',
    '5s',
    '--latency',
    'http://127.0.0.1:1/',
  ]);
});

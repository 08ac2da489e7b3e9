// The TLS scenario: its configs (weir's read by weir's own loader), its
// certificate, the h2load and s_time parsers, the probe, its tables, the
// Targets lines and its options.

import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { loadConfigText } from '../src/config/load.ts';
import { haproxyCfg, nginxHasHttp2Directive, nginxLbConf, weirTlsYaml } from './configs.ts';
import { parseOptions } from './options.ts';
import { targetsSection } from './report.ts';
import {
  logPercentiles,
  makeCertificate,
  negotiatedTable,
  parseH2loadOutput,
  parseSTimeOutput,
  probeTls,
  sTimeAnswerProblem,
  summarizeTls,
  tlsInformational,
  tlsSection,
  tlsSummaries,
  tlsTable,
} from './tls.ts';
import type { TlsProbe, TlsRun } from './tls.ts';

const upstreams = [
  { host: '127.0.0.1', port: 9001 },
  { host: '127.0.0.1', port: 9002 },
];
const files = { cert: '/tmp/b/cert.pem', key: '/tmp/b/key.pem', combined: '/tmp/b/combined.pem' };

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'weir-bench-tls-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('nginx switches HTTP/2 on as its version reads it', () => {
  assert.equal(nginxHasHttp2Directive('nginx version: nginx/1.22.1'), false);
  assert.equal(nginxHasHttp2Directive('nginx version: nginx/1.25.0'), false);
  assert.equal(nginxHasHttp2Directive('nginx version: nginx/1.25.1'), true);
  assert.equal(nginxHasHttp2Directive('nginx version: nginx/1.27.4'), true);
  assert.equal(nginxHasHttp2Directive('nginx/2.0.0'), true);
  assert.equal(nginxHasHttp2Directive('(unknown)'), false);

  const old = nginxLbConf('/tmp/x', 8443, upstreams, 1, { files, nginxVersion: 'nginx version: nginx/1.22.1' });
  assert.match(old, /^ {4}listen 127\.0\.0\.1:8443 ssl http2;$/m);
  assert.doesNotMatch(old, /http2 on;/);
  assert.match(old, /^ {4}ssl_certificate \/tmp\/b\/cert\.pem;$/m);
  assert.match(old, /^ {4}ssl_certificate_key \/tmp\/b\/key\.pem;$/m);
  assert.match(old, /^ {4}ssl_protocols TLSv1\.2 TLSv1\.3;$/m);
  const current = nginxLbConf('/tmp/x', 8443, upstreams, 1, { files, nginxVersion: 'nginx version: nginx/1.26.2' });
  assert.match(current, /^ {4}listen 127\.0\.0\.1:8443 ssl;\n {4}http2 on;$/m);
});

test('the TLS configs are the throughput configs with TLS on the listener', () => {
  const nginx = nginxLbConf('/tmp/x', 8443, upstreams, 1, { files, nginxVersion: 'nginx/1.22.1' });
  const tlsLines = /^ {4}(listen .*|ssl_.*|# .*)\n/gm;
  assert.equal(nginx.replace(tlsLines, ''), nginxLbConf('/tmp/x', 8443, upstreams).replace(/^ {4}listen .*\n/m, ''));

  const haproxy = haproxyCfg(8443, upstreams, 1, files);
  assert.match(haproxy, /^ {2}bind 127\.0\.0\.1:8443 ssl crt \/tmp\/b\/combined\.pem alpn h2,http\/1\.1$/m);
  assert.equal(haproxy.replace(/ ssl crt .*$/m, ''), haproxyCfg(8443, upstreams));
});

test('the certificate: EC P-256, leaf first in a two-certificate chain, for localhost and 127.0.0.1', () => {
  const made = makeCertificate(path.join(dir, 'cert'));
  const chain = readFileSync(made.cert, 'utf8');
  const pems = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  assert.equal(pems.length, 2);
  const [leaf, ca] = pems.map((p) => new X509Certificate(p)) as [X509Certificate, X509Certificate];
  assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(leaf.checkIssued(ca));
  assert.equal(leaf.ca, false);
  assert.equal(leaf.checkHost('localhost'), 'localhost');
  assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
  assert.ok(leaf.checkPrivateKey(createPrivateKey(readFileSync(made.key))));
  // HAProxy's file: the same chain, then the key.
  assert.equal(readFileSync(made.combined, 'utf8'), chain + readFileSync(made.key, 'utf8'));
});

test("weir's TLS config is read by weir's own loader: one TLS listener, HTTP/2 on, the main table's route and servers", () => {
  const made = makeCertificate(path.join(dir, 'weir'));
  const config = loadConfigText(weirTlsYaml(8443, upstreams, made), 'weir.yaml');
  assert.equal(config.listeners.length, 1);
  const [listener] = config.listeners;
  assert.equal(listener?.http2, true);
  assert.deepEqual(listener?.tls?.certificates, [{ cert: made.cert, key: made.key }]);
  assert.match(weirTlsYaml(8443, upstreams, made), /^ {2}- address: 127\.0\.0\.1:8443$/m);
  assert.match(weirTlsYaml(8443, upstreams, made), /^ {4}servers: \[127\.0\.0\.1:9001, 127\.0\.0\.1:9002\]$/m);
});

// h2load 1.52's report against nginx, progress lines left out.
const H2LOAD_OUTPUT = `starting benchmark...
spawning thread #0: 16 total client(s). Timing-based test with 1s of warm-up time and 3s of main duration for measurements.
Warm-up started for thread #0.
TLS Protocol: TLSv1.3
Cipher: TLS_AES_128_GCM_SHA256
Server Temp Key: X25519 253 bits
Application protocol: h2
Warm-up phase is over for thread #0.
Main benchmark duration is started for thread #0.
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 4.00s, 29029.00 req/s, 1.99MB/s
requests: 87087 total, 87087 started, 87087 done, 87085 succeeded, 1 failed, 1 errored, 0 timeout
status codes: 87080 2xx, 0 3xx, 3 4xx, 2 5xx
traffic: 5.98MB (6270264) total, 5.47MB (5737104) headers (space savings 51.02%), 700.33KB (717138) data
                     min         max         mean         sd        +/- sd
time for request:      577us    110.20ms      5.41ms      8.60ms    95.09%
time for connect:        0us         0us         0us         0us     0.00%
time to 1st byte:        0us         0us         0us         0us     0.00%
req/s           :    1676.26     1980.46     1813.96      100.81    56.25%
`;

test("h2load's report: rate, failures, request times, what was negotiated", () => {
  const r = parseH2loadOutput(H2LOAD_OUTPUT);
  assert.equal(r.requestsPerSec, 29029);
  assert.equal(r.requests, 87087);
  assert.equal(r.succeeded, 87085);
  assert.equal(r.failed, 2);
  assert.equal(r.non2xx3xx, 5);
  assert.equal(r.clientsEnded, 0);
  assert.equal(r.minMs, 0.577);
  assert.equal(r.maxMs, 110.2);
  assert.equal(r.meanMs, 5.41);
  assert.equal(r.sdMs, 8.6);
  assert.equal(r.protocol, 'TLSv1.3');
  assert.equal(r.cipher, 'TLS_AES_128_GCM_SHA256');
  assert.equal(r.tempKey, 'X25519 253 bits');
  assert.equal(r.alpn, 'h2');
  // A connection the server ended (nginx's GOAWAY after 1000 requests by default): h2load says so once per client.
  const ended = H2LOAD_OUTPUT.replace('Main benchmark duration is over', 'Process Request Failure:1\nProcess Request Failure:2\nMain benchmark duration is over');
  assert.equal(parseH2loadOutput(ended).clientsEnded, 2);
  assert.throws(() => parseH2loadOutput('No protocol negotiated. Exiting...'), /cannot parse h2load output/);
});

test("percentiles from h2load's per-request log; failed streams counted apart", () => {
  const lines = Array.from({ length: 100 }, (_, i) => `17962674987${i}\t200\t${(i + 1) * 1000}`);
  lines.push('1796267498999\t-1\t5000000', '1796267498999\t502\t1000', '');
  const p = logPercentiles(lines.join('\n'));
  assert.equal(p.p50Ms, 50);
  assert.equal(p.p99Ms, 99);
  assert.equal(p.count, 102);
  assert.equal(p.failed, 2);
  assert.ok(Number.isNaN(logPercentiles('').p99Ms));
});

test("openssl s_time's report, and its answers checked against the probe's", () => {
  const text = `Collecting connection statistics for 3 seconds
*****************************

164 connections in 0.22s; 745.45 connections/user sec, bytes read 24272
164 connections in 4 real seconds, 148 bytes read per connection
`;
  assert.deepEqual(parseSTimeOutput(text), { connections: 164, bytesPerConnection: 148 });
  assert.throws(() => parseSTimeOutput('connect: Connection refused\nconnect:errno=111\n'), /cannot parse openssl s_time output/);
  const probe: TlsProbe = { alpn: 'h2', http10Status: 'HTTP/1.1 200 OK', http10Bytes: 150, resumes: true };
  assert.equal(sTimeAnswerProblem(148, probe), undefined);
  assert.match(sTimeAnswerProblem(120, probe) ?? '', /answers of 120 bytes on average, where the 200 to the same request had 150/);
});

test('the probe: ALPN, the answer to GET / HTTP/1.0, session resumption', async () => {
  const made = makeCertificate(path.join(dir, 'probe'));
  const answer = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok';
  const server = tls.createServer({ cert: readFileSync(made.cert), key: readFileSync(made.key), ALPNProtocols: ['h2', 'http/1.1'] }, (socket) => {
    socket.once('data', () => socket.end(answer));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    const probe = await probeTls(address.port);
    assert.deepEqual(probe, { alpn: 'h2', http10Status: 'HTTP/1.1 200 OK', http10Bytes: answer.length, resumes: true });
  } finally {
    server.close();
  }
});

const run = (lb: string, measure: TlsRun['measure'], rate: number, extra: Partial<TlsRun> = {}): TlsRun => ({
  round: 1,
  lb,
  measure,
  rate,
  p50Ms: 2,
  p99Ms: 10,
  errors: 0,
  cpuCores: 0.5,
  peakRssBytes: 50 * 2 ** 20,
  ...extra,
});

const RUNS: TlsRun[] = [
  run('nginx', 'h1', 20_000),
  run('nginx', 'h1', 22_000, { round: 2 }),
  run('weir', 'h1', 10_000, { p99Ms: 30 }),
  run('weir', 'h1', 0, { round: 2, rate: undefined, error: 'wrk exited with code 1' }),
  run('nginx', 'h2', 30_000, { meanMs: 5, maxMs: 100, negotiated: { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', tempKey: 'X25519 253 bits', alpn: 'h2' } }),
  run('weir', 'h2', 6_000, { p99Ms: 40, cpuCores: 1 }),
  run('nginx', 'handshake', 1_000, { p50Ms: undefined, p99Ms: undefined, cpuCores: 0.4 }),
  run('weir', 'handshake', 500, { p50Ms: undefined, p99Ms: undefined, cpuCores: 1 }),
];

test('medians over the rounds, CPU per request, failed rounds apart', () => {
  const nginx = summarizeTls(RUNS, 'nginx', 'h1');
  assert.equal(nginx?.rate, 21_000);
  assert.equal(nginx?.minRate, 20_000);
  assert.equal(nginx?.rounds, 2);
  const weir = summarizeTls(RUNS, 'weir', 'h1');
  assert.equal(weir?.rounds, 1);
  assert.equal(weir?.failed, 1);
  assert.equal(weir?.cpuPerOpUs, 50);
  assert.equal(summarizeTls(RUNS, 'nginx', 'handshake')?.cpuPerOpUs, 400);
  assert.equal(summarizeTls(RUNS, 'nginx', 'handshake')?.p99Ms, undefined);
  assert.equal(summarizeTls(RUNS, 'haproxy', 'h1'), undefined);
});

test('the tables: ratios to nginx, latency only where there is one, missing rows with the reason', () => {
  const summaries = tlsSummaries(RUNS, ['nginx', 'haproxy', 'weir']);
  const h1 = tlsTable('h1', summaries, ['nginx', 'haproxy', 'weir'], new Map([['haproxy', 'skipped: did not start']]));
  const rows = h1.split('\n');
  assert.match(rows[0] ?? '', /^\| LB \| req\/s \| × nginx \| p50 \| p99 \| p99 × nginx \| LB CPU \| CPU per request \| × nginx \|/);
  assert.equal(rows[2], '| nginx | 21,000 | 1.00× | 2.00 ms | 10.00 ms | 1.00× | 50% | 24 µs | 1.00× | 50.0 MiB | 0 | 20,000–22,000 |');
  assert.equal(rows[3], '| haproxy | skipped: did not start | | | | | | | | | | |');
  assert.match(rows[4] ?? '', /^\| weir \(1 of 2 rounds failed\) \| 10,000 \| 0\.48× \| 2\.00 ms \| 30\.00 ms \| 3\.00× \|/);
  for (const row of rows) assert.equal(row.split('|').length, rows[0]?.split('|').length, row);

  const h2 = tlsTable('h2', summaries, ['nginx', 'weir'], new Map()).split('\n');
  assert.match(h2[0] ?? '', /mean \/ max \(h2load\)/);
  assert.match(h2[2] ?? '', /\| 5\.00 ms \/ 100\.00 ms \|/);
  for (const row of h2) assert.equal(row.split('|').length, h2[0]?.split('|').length, row);

  const handshakes = tlsTable('handshake', summaries, ['nginx', 'weir'], new Map()).split('\n');
  assert.match(handshakes[0] ?? '', /^\| LB \| handshakes\/s \| × nginx \| LB CPU \| CPU per handshake \| × nginx \|/);
  assert.equal(handshakes[3], '| weir | 500 | 0.50× | 100% | 2,000 µs | 5.00× | 50.0 MiB | 0 | 500–500 |');
});

test('the negotiated table and the section', () => {
  const probes = {
    nginx: { alpn: 'h2', http10Status: 'HTTP/1.1 200 OK', http10Bytes: 164, resumes: true } satisfies TlsProbe,
    weir: 'connect ECONNREFUSED',
  };
  const table = negotiatedTable(RUNS, probes, ['nginx', 'weir', 'haproxy']).split('\n');
  assert.equal(table[2], '| nginx | TLSv1.3 | TLS_AES_128_GCM_SHA256 | X25519 253 bits | h2 | yes | HTTP/1.1 200 OK (164 bytes) |');
  assert.equal(table[3], '| weir | – | – | – | probe failed: connect ECONNREFUSED | – | – |');
  assert.equal(table[4], '| haproxy | – | – | – | – | – | – |');
  const section = tlsSection({ durationS: 10, rounds: 3, lbs: ['nginx', 'weir'], runs: RUNS, missing: new Map(), probes, startRss: { nginx: 20 * 2 ** 20 } }).join('\n');
  for (const title of ['### HTTP/1.1 over TLS, keep-alive: wrk -t2 -c64 -d10s', '### HTTP/2 over TLS: h2load -t2 -c16 -m10', '### A full TLS handshake per request: 8 × openssl s_time -new -time 10', "### A resumed TLS session per request: wrk -t2 -c8 -d10s -H 'Connection: close'", '### As negotiated']) {
    assert.ok(section.includes(title), title);
  }
  assert.match(section, /RSS once each answered over TLS: nginx 20\.0 MiB, weir –\./);
});

test('the Targets list carries the TLS ratios for information, after the targets', () => {
  const lines = tlsInformational(tlsSummaries(RUNS, ['nginx', 'weir']));
  assert.equal(lines[0], 'weir over TLS (no target in the issue, for information): HTTP/1.1 keep-alive: 0.48× nginx\'s req/s, p99 3.00×, CPU per request 2.10×');
  assert.match(lines[1] ?? '', /HTTP\/2: 0\.20× nginx's req\/s, p99 4\.00×/);
  assert.match(lines[2] ?? '', /a full handshake per request: 0\.50× nginx's handshakes\/s, CPU per handshake 5\.00×; a resumed one per request: not measured/);
  const text = targetsSection([{ goal: 'g', status: 'met', figures: '' }], lines).join('\n');
  assert.match(text, /1\. g: \*\*met\*\*\n\n- weir over TLS \(no target/);
});

test('--tls-only runs the TLS scenario alone; --skip-tls leaves it out', () => {
  assert.equal(parseOptions([])?.tls, true);
  const only = parseOptions(['--tls-only']);
  assert.ok(only);
  assert.equal(only.tls, true);
  assert.equal(only.tlsOnly, true);
  for (const other of ['throughput', 'upload', 'fault', 'rules', 'observe', 'workers'] as const) assert.equal(only[other], false, other);
  assert.equal(parseOptions(['--skip-tls'])?.tls, false);
  assert.equal(parseOptions(['--skip-tls'])?.throughput, true);
  assert.equal(parseOptions(['--only', 'http-proxy'])?.tls, false);
  for (const flag of ['--fault-only', '--rules-only', '--observe-only', '--workers-only']) {
    assert.equal(parseOptions([flag])?.tls, false, flag);
    assert.throws(() => parseOptions(['--tls-only', flag]), /exclude each other/);
  }
  assert.throws(() => parseOptions(['--tls-only', '--skip-tls']), /exclude each other/);
  assert.throws(() => parseOptions(['--tls-only', '--only', 'http-proxy']), /--only must include one of them/);
  assert.equal(parseOptions(['--tls-only', '--only', 'weir,nginx'])?.only.join(','), 'nginx,weir');
});

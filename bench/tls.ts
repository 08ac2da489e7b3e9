// The TLS scenario: nginx, HAProxy and weir (one process each, the throughput
// tables' configs) terminating TLS with one EC P-256 certificate, in front of
// the same backends over plain HTTP/1.1. Each is measured with HTTP/1.1
// keep-alive over TLS (wrk), HTTP/2 (h2load), a full handshake per request
// (openssl s_time) and a resumed one per request (wrk with Connection: close).
// See "TLS" in bench/README.md for why each tool.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import type { TlsFiles, Upstream } from './configs.ts';
import { deadError, startTlsLb } from './lbs.ts';
import type { Context, Running, TlsLbName } from './lbs.ts';
import { isAlive, runCommand, stopProcess } from './processes.ts';
import { treeRssBytes, whileSampling } from './procfs.ts';
import { fmtCores, fmtInt, fmtMiB, fmtMs, fmtRatio, median } from './report.ts';
import { parseWrkOutput, parseWrkTime, runWrk, wrkArgs } from './wrk.ts';

/** What is measured, in the order each load balancer runs them in a round. */
export const TLS_MEASURES = ['h1', 'h2', 'handshake', 'resumed'] as const;
export type TlsMeasure = (typeof TLS_MEASURES)[number];

/** wrk's threads and connections for HTTP/1.1 over TLS, as in the throughput table. */
export const H1_THREADS = 2;
export const H1_CONNECTIONS = 64;
/** h2load: threads, connections, and streams in flight on each. */
export const H2_THREADS = 2;
export const H2_CLIENTS = 16;
export const H2_STREAMS = 10;
/** h2load's own warm-up on its connections before the measured time (the process is already warm from the HTTP/1.1 run). */
export const H2_WARMUP_S = 1;
/** Clients opening a new connection for each request: openssl s_time processes, wrk connections. */
export const NEW_CONNECTION_CLIENTS = 8;

// --- The certificate ----------------------------------------------------------

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * An EC P-256 key and a certificate for localhost and 127.0.0.1 signed by a
 * throwaway CA (the openssl calls of test/helpers/certs.ts), in `dir`. The
 * chain has two certificates, leaf first, as a deployment sends its leaf and
 * an intermediate: every load balancer sends the same bytes.
 */
export function makeCertificate(dir: string): TlsFiles {
  mkdirSync(dir, { recursive: true });
  const file = (name: string): string => path.join(dir, name);
  const ecKey = (out: string): void => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out]);
  ecKey(file('ca.key'));
  openssl(['req', '-x509', '-new', '-key', file('ca.key'), '-sha256', '-days', '2', '-subj', '/CN=weir bench CA', '-out', file('ca.crt'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  ecKey(file('key.pem'));
  openssl(['req', '-new', '-key', file('key.pem'), '-subj', '/CN=localhost', '-out', file('leaf.csr')]);
  writeFileSync(file('leaf.ext'), [
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    '',
  ].join('\n'));
  openssl(['x509', '-req', '-in', file('leaf.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-set_serial', '1', '-days', '2',
    '-sha256', '-extfile', file('leaf.ext'), '-out', file('leaf.crt')]);
  const chain = readFileSync(file('leaf.crt'), 'utf8') + readFileSync(file('ca.crt'), 'utf8');
  writeFileSync(file('cert.pem'), chain);
  writeFileSync(file('combined.pem'), chain + readFileSync(file('key.pem'), 'utf8'));
  return { cert: file('cert.pem'), key: file('key.pem'), combined: file('combined.pem') };
}

// --- h2load ---------------------------------------------------------------------

export interface H2loadResult {
  requestsPerSec: number;
  requests: number;
  succeeded: number;
  /** failed + errored + timeout, as h2load counts them. */
  failed: number;
  /** 4xx and 5xx answers. */
  non2xx3xx: number;
  /**
   * Clients that stopped during the measured time: in timing mode h2load does
   * not reconnect a client whose connection the server ended (a GOAWAY after
   * so many requests), so the rest of the run had fewer connections.
   */
  clientsEnded: number;
  /** "time for request" (ms): h2load gives these, not percentiles. */
  minMs: number;
  maxMs: number;
  meanMs: number;
  sdMs: number;
  /** What the first client negotiated. */
  protocol?: string;
  cipher?: string;
  tempKey?: string;
  alpn?: string;
}

function field(text: string, label: string): string | undefined {
  return new RegExp(`^${label}:\\s*(.+?)\\s*$`, 'm').exec(text)?.[1];
}

/** Parses h2load's report (stdout and stderr together). Throws when its summary lines are missing. */
export function parseH2loadOutput(text: string): H2loadResult {
  const finished = /^finished in [\d.]+\w+, ([\d.]+) req\/s/m.exec(text);
  const requests = /^requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m.exec(text);
  const codes = /^status codes: \d+ 2xx, \d+ 3xx, (\d+) 4xx, (\d+) 5xx/m.exec(text);
  const times = /^time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/m.exec(text);
  if (!finished || !requests || !codes || !times) throw new Error(`cannot parse h2load output:\n${text}`);
  const [total, succeeded, failed, errored, timeout] = requests.slice(1).map(Number) as [number, number, number, number, number];
  const [minMs, maxMs, meanMs, sdMs] = times.slice(1).map((t) => parseWrkTime(t)) as [number, number, number, number];
  return {
    requestsPerSec: Number(finished[1]),
    requests: total,
    succeeded,
    failed: failed + errored + timeout,
    non2xx3xx: Number(codes[1]) + Number(codes[2]),
    clientsEnded: (text.match(/^Process Request Failure:/gm) ?? []).length,
    minMs,
    maxMs,
    meanMs,
    sdMs,
    protocol: field(text, 'TLS Protocol'),
    cipher: field(text, 'Cipher'),
    tempKey: field(text, 'Server Temp Key'),
    alpn: field(text, 'Application protocol'),
  };
}

/** Nearest-rank percentile of ascending `sorted`. */
function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/**
 * p50 and p99 (ms) from h2load's --log-file: one line per request of the
 * measured time, "start µs <tab> status <tab> µs to the end of the answer"
 * (status -1 for a failed stream). `failed` counts lines without a 2xx/3xx status.
 */
export function logPercentiles(log: string): { p50Ms: number; p99Ms: number; count: number; failed: number } {
  const lines = log.split('\n').filter((l) => l.trim() !== '');
  const times = new Float64Array(lines.length);
  let n = 0;
  let failed = 0;
  for (const line of lines) {
    const [, status, micros] = line.split('\t');
    const code = Number(status);
    if (!(code >= 200 && code < 400)) failed++;
    else times[n++] = Number(micros) / 1000;
  }
  const ok = times.subarray(0, n).sort();
  if (n === 0) return { p50Ms: Number.NaN, p99Ms: Number.NaN, count: lines.length, failed };
  return { p50Ms: percentile(ok, 0.5), p99Ms: percentile(ok, 0.99), count: lines.length, failed };
}

export function h2loadArgs(url: string, durationS: number, logFile: string): string[] {
  return [
    `-t${H2_THREADS}`,
    `-c${H2_CLIENTS}`,
    `-m${H2_STREAMS}`,
    `--warm-up-time=${H2_WARMUP_S}`,
    `-D${durationS}`,
    `--log-file=${logFile}`,
    url,
  ];
}

// --- openssl s_time ---------------------------------------------------------

/** s_time's summary: connections made and the bytes of each answer read. */
export function parseSTimeOutput(text: string): { connections: number; bytesPerConnection: number } {
  const m = /^(\d+) connections in \d+ real seconds, (\d+) bytes read per connection/m.exec(text);
  if (!m) throw new Error(`cannot parse openssl s_time output:\n${text.trim().split('\n').slice(-5).join('\n')}`);
  return { connections: Number(m[1]), bytesPerConnection: Number(m[2]) };
}

/**
 * `openssl s_time -new`: connect, full handshake (a new session every time,
 * never resumed), `GET / HTTP/1.0`, read the answer until the server closes,
 * again, for `durationS` (whole seconds by its clock, so a little more).
 */
export function sTimeArgs(port: number, durationS: number): string[] {
  return ['s_time', '-connect', `127.0.0.1:${port}`, '-new', '-time', String(durationS), '-www', '/'];
}

// --- Probing what each load balancer negotiates -------------------------------

export interface TlsProbe {
  /** The protocol chosen for a client offering h2 and http/1.1 by ALPN (false: none). */
  alpn: string | false;
  /** Status line and size of the answer to s_time's request, GET / HTTP/1.0 without a Host header. */
  http10Status: string;
  http10Bytes: number;
  /** A second connection offering the first's session (TLS 1.3 ticket) resumed it. */
  resumes: boolean;
}

interface Exchange {
  alpn: string | false;
  reused: boolean;
  answer: Buffer;
  session?: Buffer;
}

/** One TLS connection (the certificate not checked): optionally writes `request` and reads until the server closes. */
function exchange(port: number, options: { alpn?: string[]; request?: string; session?: Buffer }, timeoutMs = 5000): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let session: Buffer | undefined;
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      ...(options.alpn && { ALPNProtocols: options.alpn }),
      ...(options.session && { session: options.session }),
    });
    const timer = setTimeout(() => socket.destroy(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve({ alpn: socket.alpnProtocol ?? false, reused: socket.isSessionReused(), answer: Buffer.concat(chunks), ...(session && { session }) });
    };
    // TLS 1.3 tickets come after the handshake; the last one is kept.
    socket.on('session', (s: Buffer) => (session = s));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('secureConnect', () => {
      if (options.request === undefined) {
        done();
        socket.end();
      } else {
        socket.write(options.request);
      }
    });
    socket.once('end', done);
    // `on`: a reset can follow the end of a connection already settled.
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const HTTP10_REQUEST = 'GET / HTTP/1.0\r\n\r\n';

export async function probeTls(port: number): Promise<TlsProbe> {
  const alpn = await exchange(port, { alpn: ['h2', 'http/1.1'] });
  const first = await exchange(port, { request: HTTP10_REQUEST });
  const again = first.session ? await exchange(port, { request: HTTP10_REQUEST, session: first.session }) : undefined;
  return {
    alpn: alpn.alpn,
    http10Status: first.answer.toString('latin1').split('\r\n')[0] ?? '',
    http10Bytes: first.answer.length,
    resumes: again?.reused ?? false,
  };
}

/** s_time does not look at the answers: each must be the size of the 200 the probe got. */
export function sTimeAnswerProblem(bytesPerConnection: number, probe: TlsProbe): string | undefined {
  // Within a few bytes: a Date header or a request id can change length.
  if (Math.abs(bytesPerConnection - probe.http10Bytes) <= 8) return undefined;
  return `answers of ${bytesPerConnection} bytes on average, where the 200 to the same request had ${probe.http10Bytes}`;
}

// --- Runs and their summaries -------------------------------------------------

export interface TlsRun {
  round: number;
  lb: string;
  measure: TlsMeasure;
  /** Requests (h1, h2) or connections (handshake, resumed) per second. */
  rate?: number;
  p50Ms?: number;
  p99Ms?: number;
  /** h2load's mean and longest request time. */
  meanMs?: number;
  maxMs?: number;
  /** Socket errors, failed requests and non-2xx/3xx answers. */
  errors?: number;
  peakRssBytes?: number;
  cpuCores?: number;
  otherCores?: number;
  /** h2: what h2load's first client negotiated. */
  negotiated?: { protocol?: string; cipher?: string; tempKey?: string; alpn?: string };
  /** The tools' own output. */
  raw?: string;
  error?: string;
}

export interface TlsSummary {
  lb: string;
  measure: TlsMeasure;
  rounds: number;
  failed: number;
  rate: number;
  minRate: number;
  maxRate: number;
  p50Ms?: number;
  p99Ms?: number;
  meanMs?: number;
  maxMs?: number;
  cpuCores: number;
  /** The load balancer's CPU time per request or connection, µs (median over the rounds). */
  cpuPerOpUs: number;
  peakRssBytes: number;
  errors: number;
}

function medianOf(values: Array<number | undefined>): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return defined.length > 0 ? median(defined) : undefined;
}

export function summarizeTls(runs: TlsRun[], lb: string, measure: TlsMeasure): TlsSummary | undefined {
  const mine = runs.filter((r) => r.lb === lb && r.measure === measure);
  const ok = mine.filter((r): r is TlsRun & { rate: number } => r.rate !== undefined && r.error === undefined);
  if (ok.length === 0) return undefined;
  const rates = ok.map((r) => r.rate);
  return {
    lb,
    measure,
    rounds: ok.length,
    failed: mine.length - ok.length,
    rate: median(rates),
    minRate: Math.min(...rates),
    maxRate: Math.max(...rates),
    p50Ms: medianOf(ok.map((r) => r.p50Ms)),
    p99Ms: medianOf(ok.map((r) => r.p99Ms)),
    meanMs: medianOf(ok.map((r) => r.meanMs)),
    maxMs: medianOf(ok.map((r) => r.maxMs)),
    cpuCores: medianOf(ok.map((r) => r.cpuCores)) ?? Number.NaN,
    cpuPerOpUs: medianOf(ok.map((r) => (r.cpuCores === undefined ? undefined : (r.cpuCores / r.rate) * 1e6))) ?? Number.NaN,
    peakRssBytes: medianOf(ok.map((r) => r.peakRssBytes)) ?? Number.NaN,
    errors: ok.reduce((sum, r) => sum + (r.errors ?? 0), 0),
  };
}

// --- The report ---------------------------------------------------------------

const fmtUs = (n: number): string => (Number.isFinite(n) ? `${Math.round(n).toLocaleString('en-US')} µs` : '–');

interface MeasureText {
  title: (durationS: number) => string;
  /** The rate column's heading. */
  rate: string;
  /** What the CPU is divided by. */
  per: string;
  latency: boolean;
}

const MEASURE_TEXT: Record<TlsMeasure, MeasureText> = {
  h1: {
    title: (d) => `HTTP/1.1 over TLS, keep-alive: wrk -t${H1_THREADS} -c${H1_CONNECTIONS} -d${d}s --latency https://…/`,
    rate: 'req/s',
    per: 'request',
    latency: true,
  },
  h2: {
    title: (d) =>
      `HTTP/2 over TLS: h2load -t${H2_THREADS} -c${H2_CLIENTS} -m${H2_STREAMS} --warm-up-time=${H2_WARMUP_S} -D${d} ` +
      `(${H2_CLIENTS * H2_STREAMS} streams in flight)`,
    rate: 'req/s',
    per: 'request',
    latency: true,
  },
  handshake: {
    title: (d) =>
      `A full TLS handshake per request: ${NEW_CONNECTION_CLIENTS} × openssl s_time -new -time ${d} -www / ` +
      '(new connection, new session, GET / HTTP/1.0)',
    rate: 'handshakes/s',
    per: 'handshake',
    latency: false,
  },
  resumed: {
    title: (d) =>
      `A resumed TLS session per request: wrk -t${H1_THREADS} -c${NEW_CONNECTION_CLIENTS} -d${d}s -H 'Connection: close' ` +
      '(new connection, session ticket offered)',
    rate: 'connections/s',
    per: 'connection',
    latency: false,
  },
};

/** One measure's table: each load balancer's median figures and their ratios to nginx's. */
export function tlsTable(measure: TlsMeasure, summaries: TlsSummary[], lbs: string[], missing: Map<string, string>): string {
  const text = MEASURE_TEXT[measure];
  const ref = summaries.find((s) => s.lb === 'nginx' && s.measure === measure);
  const latency = text.latency
    ? { head: ' p50 | p99 | p99 × nginx |', align: ' --: | --: | --: |' }
    : { head: '', align: '' };
  const h2 = measure === 'h2' ? { head: ' mean / max (h2load) |', align: ' --: |' } : { head: '', align: '' };
  const lines = [
    `| LB | ${text.rate} | × nginx |${latency.head}${h2.head} LB CPU | CPU per ${text.per} | × nginx | peak RSS | errors | ${text.rate} min–max |`,
    `| --- | --: | --: |${latency.align}${h2.align} --: | --: | --: | --: | --: | --: |`,
  ];
  const columns = 9 + (text.latency ? 3 : 0) + (measure === 'h2' ? 1 : 0);
  for (const lb of lbs) {
    const s = summaries.find((x) => x.lb === lb && x.measure === measure);
    if (!s) {
      lines.push(`| ${lb} | ${missing.get(lb) ?? 'no result'} |${' |'.repeat(columns - 2)}`);
      continue;
    }
    const failed = s.failed > 0 ? ` (${s.failed} of ${s.rounds + s.failed} rounds failed)` : '';
    const lat = text.latency ? ` ${fmtMs(s.p50Ms)} | ${fmtMs(s.p99Ms)} | ${fmtRatio(s.p99Ms, ref?.p99Ms)} |` : '';
    const meanMax = measure === 'h2' ? ` ${fmtMs(s.meanMs)} / ${fmtMs(s.maxMs)} |` : '';
    lines.push(
      `| ${lb}${failed} | ${fmtInt(s.rate)} | ${fmtRatio(s.rate, ref?.rate)} |${lat}${meanMax} ${fmtCores(s.cpuCores)} | ` +
        `${fmtUs(s.cpuPerOpUs)} | ${fmtRatio(s.cpuPerOpUs, ref?.cpuPerOpUs)} | ${fmtMiB(s.peakRssBytes)} | ${fmtInt(s.errors)} | ` +
        `${fmtInt(s.minRate)}–${fmtInt(s.maxRate)} |`,
    );
  }
  return lines.join('\n');
}

/** What each load balancer negotiated: h2load's first client, and the harness's probe. */
export function negotiatedTable(runs: TlsRun[], probes: Record<string, TlsProbe | string>, lbs: string[]): string {
  const lines = [
    '| LB | TLS (h2load) | cipher | key exchange | ALPN for h2, http/1.1 | resumes a session | answer to GET / HTTP/1.0 |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const lb of lbs) {
    const n = runs.find((r) => r.lb === lb && r.negotiated)?.negotiated;
    const probe = probes[lb];
    const p =
      probe === undefined
        ? ['–', '–', '–']
        : typeof probe === 'string'
          ? [`probe failed: ${probe}`, '–', '–']
          : [probe.alpn || 'none', probe.resumes ? 'yes' : 'no', `${probe.http10Status} (${probe.http10Bytes} bytes)`];
    lines.push(`| ${lb} | ${n?.protocol ?? '–'} | ${n?.cipher ?? '–'} | ${n?.tempKey ?? '–'} | ${p.join(' | ')} |`);
  }
  return lines.join('\n');
}

export interface TlsSectionInput {
  durationS: number;
  rounds: number;
  lbs: string[];
  runs: TlsRun[];
  missing: Map<string, string>;
  probes: Record<string, TlsProbe | string>;
  /** Resident memory of each load balancer once it answered over TLS. */
  startRss: Record<string, number>;
}

export function tlsSummaries(runs: TlsRun[], lbs: string[]): TlsSummary[] {
  return TLS_MEASURES.flatMap((m) => lbs.flatMap((lb) => summarizeTls(runs, lb, m) ?? []));
}

/** The report's TLS section. */
export function tlsSection(input: TlsSectionInput): string[] {
  const summaries = tlsSummaries(input.runs, input.lbs);
  const rounds = `median of ${input.rounds} round${input.rounds === 1 ? '' : 's'}`;
  const out = [
    `## TLS: nginx, HAProxy and weir terminating TLS (one EC P-256 certificate), the throughput tables' backends over plain HTTP/1.1, ${rounds}`,
    '',
  ];
  for (const measure of TLS_MEASURES) {
    out.push(`### ${MEASURE_TEXT[measure].title(input.durationS)}`, '', tlsTable(measure, summaries, input.lbs, input.missing), '');
  }
  const rss = input.lbs.map((lb) => `${lb} ${fmtMiB(input.startRss[lb] ?? Number.NaN)}`).join(', ');
  out.push(
    '### As negotiated',
    '',
    negotiatedTable(input.runs, input.probes, input.lbs),
    '',
    'HTTP/2 p50 and p99 are computed from h2load\'s per-request log (--log-file); "mean / max" is h2load\'s own summary. ' +
      'The new-connection tables have no latency: s_time reports none, and wrk times a request from its write, after the handshake. ' +
      '"CPU per …" is the load balancer\'s CPU time over the run divided by what it served, the fairer comparison when the ' +
      'clients, which share the machine, are the limit (a full handshake costs the client more than the server). ' +
      `RSS once each answered over TLS: ${rss}.`,
    '',
  );
  return out;
}

/** The Targets list's lines for TLS: no target in the issue, so for information only. */
export function tlsInformational(summaries: TlsSummary[]): string[] {
  const pick = (lb: string, m: TlsMeasure) => summaries.find((s) => s.lb === lb && s.measure === m);
  const text = (m: TlsMeasure, what: string): string => {
    const weir = pick('weir', m);
    const nginx = pick('nginx', m);
    if (!weir || !nginx) return `${what}: not measured`;
    const p99 = weir.p99Ms !== undefined && nginx.p99Ms !== undefined ? `, p99 ${fmtRatio(weir.p99Ms, nginx.p99Ms)}` : '';
    return `${what}: ${fmtRatio(weir.rate, nginx.rate)} nginx's ${MEASURE_TEXT[m].rate}${p99}, CPU per ${MEASURE_TEXT[m].per} ${fmtRatio(weir.cpuPerOpUs, nginx.cpuPerOpUs)}`;
  };
  return [
    `weir over TLS (no target in the issue, for information): ${text('h1', 'HTTP/1.1 keep-alive')}`,
    `weir over TLS: ${text('h2', 'HTTP/2')}`,
    `weir over TLS: ${text('handshake', 'a full handshake per request')}; ${text('resumed', 'a resumed one per request')}`,
  ];
}

// --- Running the scenario -----------------------------------------------------

/** What a measure's tool produced, before the load balancer's CPU and memory are added. */
type Figures = Omit<TlsRun, 'round' | 'lb' | 'measure' | 'peakRssBytes' | 'cpuCores' | 'otherCores'>;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

async function measureH1(lb: Running, durationS: number): Promise<Figures> {
  const w = await runWrk({ url: lb.url, threads: H1_THREADS, connections: H1_CONNECTIONS, durationS, latency: true });
  return { rate: w.requestsPerSec, p50Ms: w.p50Ms, p99Ms: w.p99Ms, errors: w.socketErrors + w.non2xx3xx, raw: w.raw };
}

async function measureH2(lb: Running, durationS: number, dir: string): Promise<Figures> {
  const logFile = path.join(dir, 'h2load-requests.tsv');
  rmSync(logFile, { force: true });
  // Bounded: h2load has been seen not to exit once its clients had to reconnect.
  const { code, output } = await runCommand('h2load', h2loadArgs(lb.url, durationS, logFile), (H2_WARMUP_S + durationS + 30) * 1000);
  if (code !== 0) throw new Error(`h2load exited with ${code}:\n${output.trim().split('\n').slice(-10).join('\n')}`);
  const h = parseH2loadOutput(output);
  const log = logPercentiles(readFileSync(logFile, 'utf8'));
  rmSync(logFile, { force: true });
  const figures: Figures = {
    rate: h.requestsPerSec,
    p50Ms: log.p50Ms,
    p99Ms: log.p99Ms,
    meanMs: h.meanMs,
    maxMs: h.maxMs,
    errors: h.failed + h.non2xx3xx,
    negotiated: { protocol: h.protocol, cipher: h.cipher, tempKey: h.tempKey, alpn: h.alpn },
    raw: output,
  };
  if (h.alpn !== 'h2') figures.error = `h2load negotiated ${h.alpn ?? 'no protocol'}, not h2`;
  else if (h.clientsEnded > 0) {
    figures.error = `${h.clientsEnded} of h2load's ${H2_CLIENTS} connections ended during the run (h2load does not reconnect them), so its rate is not comparable`;
  }
  return figures;
}

async function measureHandshakes(lb: Running, durationS: number, probe: TlsProbe): Promise<Figures> {
  // Each client's rate over its own wall time: they end on whole seconds of their own clock.
  const clients = Array.from({ length: NEW_CONNECTION_CLIENTS }, async () => {
    const start = performance.now();
    const { code, output } = await runCommand('openssl', sTimeArgs(lb.port, durationS), (durationS + 30) * 1000);
    const seconds = (performance.now() - start) / 1000;
    if (code !== 0) throw new Error(`openssl s_time exited with ${code}:\n${output.trim().split('\n').slice(-5).join('\n')}`);
    return { ...parseSTimeOutput(output), seconds, output };
  });
  // All settled before going on: a client that failed must not leave the others loading the next measure.
  const settled = await Promise.allSettled(clients);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const results = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const connections = results.reduce((sum, r) => sum + r.connections, 0);
  const bytes = results.reduce((sum, r) => sum + r.bytesPerConnection * r.connections, 0) / Math.max(1, connections);
  const figures: Figures = {
    rate: results.reduce((sum, r) => sum + r.connections / r.seconds, 0),
    errors: 0,
    raw: results.map((r) => r.output.trim().split('\n').slice(-2).join('\n')).join('\n'),
  };
  const problem = sTimeAnswerProblem(Math.round(bytes), probe);
  if (problem) figures.error = problem;
  return figures;
}

async function measureResumed(lb: Running, durationS: number): Promise<Figures> {
  const args = ['-H', 'Connection: close', ...wrkArgs({ url: lb.url, threads: H1_THREADS, connections: NEW_CONNECTION_CLIENTS, durationS, latency: false })];
  const { code, output } = await runCommand('wrk', args, (durationS + 30) * 1000);
  if (code !== 0) throw new Error(`wrk exited with code ${code}:\n${output}`);
  const w = parseWrkOutput(output);
  return { rate: w.requestsPerSec, errors: w.socketErrors + w.non2xx3xx, raw: output };
}

export interface TlsScenarioInput {
  rounds: number;
  durationS: number;
  warmupS: number;
  /** The load balancers to measure, in the report's order. */
  lbs: TlsLbName[];
  ctx: Context;
  upstreams: Upstream[];
  /** Load balancers not to start, with the reason (weir when dist/ did not build). */
  notRun: Map<string, string>;
  log: (message: string) => void;
}

export interface TlsOutcome {
  runs: TlsRun[];
  /** Load balancers without figures, with the reason for the tables. */
  missing: Map<string, string>;
  /** Why a load balancer did not start terminating TLS (its log), for the notes. */
  startErrors: Map<string, string>;
  probes: Record<string, TlsProbe | string>;
  startRss: Record<string, number>;
  /** Why the whole scenario did not run (a tool missing, no certificate). */
  notRun?: string;
}

/** nginx's version text ("nginx version: nginx/1.22.1"), which decides how its HTTP/2 is switched on. */
function nginxVersion(): string {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

async function startAll(input: TlsScenarioInput, files: TlsFiles, outcome: TlsOutcome): Promise<Array<[TlsLbName, Running]>> {
  const version = nginxVersion();
  const running: Array<[TlsLbName, Running]> = [];
  for (const name of input.lbs) {
    const why = input.notRun.get(name);
    if (why) {
      outcome.missing.set(name, why);
      continue;
    }
    try {
      const lb = await startTlsLb(name, input.upstreams, input.ctx, files, version);
      running.push([name, lb]);
      outcome.startRss[name] = treeRssBytes(lb.proc.pid);
      try {
        outcome.probes[name] = await probeTls(lb.port);
      } catch (err) {
        outcome.probes[name] = errorText(err);
      }
      const probe = outcome.probes[name];
      input.log(
        `${name} (tls) ready on ${lb.url} (pid ${lb.proc.pid}); ` +
          (typeof probe === 'string' ? `probe failed: ${probe}` : `ALPN ${probe.alpn || 'none'}, resumes a session: ${probe.resumes ? 'yes' : 'no'}, ${probe.http10Status}`),
      );
    } catch (err) {
      outcome.missing.set(name, 'skipped: did not start terminating TLS (its output is in the notes)');
      outcome.startErrors.set(name, errorText(err));
      input.log(`SKIPPING ${name} for the TLS scenario: it did not start.\n${errorText(err)}`);
    }
  }
  return running;
}

/** The measures' tools, or what is missing. */
function missingTools(): string | undefined {
  const missing = [
    ['openssl', 'openssl'],
    ['h2load', 'nghttp2-client'],
    ['wrk', 'wrk'],
  ].filter(([command]) => !onPath(command as string));
  if (missing.length === 0) return undefined;
  return `not run: ${missing.map(([c]) => c).join(', ')} not installed (apt-get install -y ${missing.map(([, p]) => p).join(' ')})`;
}

/**
 * Starts the load balancers terminating TLS, then in each round runs every one
 * in turn (one further along each round) through a wrk warm-up and the four
 * measures; stops them at the end.
 */
export async function runTlsScenario(input: TlsScenarioInput): Promise<TlsOutcome> {
  const outcome: TlsOutcome = { runs: [], missing: new Map(), startErrors: new Map(), probes: {}, startRss: {} };
  const { log } = input;
  const tools = missingTools();
  if (tools) {
    outcome.notRun = tools;
    log(`TLS scenario ${tools}`);
    return outcome;
  }
  const dir = path.join(input.ctx.tmp, 'tls');
  let files: TlsFiles;
  try {
    files = makeCertificate(dir);
  } catch (err) {
    outcome.notRun = `not run: the certificate could not be made: ${errorText(err)}`;
    log(`TLS scenario ${outcome.notRun}`);
    return outcome;
  }
  log(`TLS: EC P-256 certificate in ${dir}`);
  const running = await startAll(input, files, outcome);
  try {
    for (let round = 1; round <= input.rounds; round++) {
      const k = running.length === 0 ? 0 : (round - 1) % running.length;
      for (const [name, lb] of [...running.slice(k), ...running.slice(0, k)]) {
        log(`TLS round ${round}/${input.rounds}: ${name}`);
        await measureAll(input, outcome, round, name, lb, dir);
      }
    }
  } finally {
    await Promise.all(running.map(([, lb]) => stopProcess(lb.proc, 15_000)));
  }
  return outcome;
}

async function measureAll(input: TlsScenarioInput, outcome: TlsOutcome, round: number, name: string, lb: Running, dir: string): Promise<void> {
  const { durationS, log } = input;
  try {
    await runWrk({ url: lb.url, threads: H1_THREADS, connections: H1_CONNECTIONS, durationS: input.warmupS, latency: false });
  } catch (err) {
    log(`  ${name} TLS warm-up failed: ${errorText(err)}`);
  }
  const probe = outcome.probes[name];
  const tools: Record<TlsMeasure, () => Promise<Figures>> = {
    h1: () => measureH1(lb, durationS),
    h2: () => measureH2(lb, durationS, dir),
    handshake: () => {
      if (typeof probe !== 'object') throw new Error(`no probe of the answer to compare s_time's with: ${probe ?? 'not probed'}`);
      if (!probe.http10Status.includes(' 200')) throw new Error(`GET / HTTP/1.0 is answered "${probe.http10Status}", not 200`);
      return measureHandshakes(lb, durationS, probe);
    },
    resumed: () => measureResumed(lb, durationS),
  };
  for (const measure of TLS_MEASURES) {
    const run: TlsRun = { round, lb: name, measure };
    if (!isAlive(lb.proc)) {
      run.error = deadError(lb);
    } else {
      const measured = await whileSampling(lb.proc.pid, tools[measure]);
      if (measured.error === undefined) Object.assign(run, measured.result);
      else run.error = errorText(measured.error);
      Object.assign(run, measured.cost);
      if (!isAlive(lb.proc)) run.error = deadError(lb, 'died during the run');
    }
    outcome.runs.push(run);
    log(`  ${name} ${measure}: ${runText(run)}`);
  }
}

function runText(run: TlsRun): string {
  if (run.error !== undefined) return `FAILED: ${run.error}`;
  const p99 = run.p99Ms === undefined ? '' : `, p99 ${fmtMs(run.p99Ms)}`;
  return (
    `${fmtInt(run.rate ?? Number.NaN)}/s${p99}, CPU ${fmtCores(run.cpuCores ?? Number.NaN)}, peak RSS ${fmtMiB(run.peakRssBytes ?? Number.NaN)}` +
    (run.errors ? `, ${run.errors} errors` : '') +
    `, other processes ${fmtCores(run.otherCores ?? 0)} CPU`
  );
}

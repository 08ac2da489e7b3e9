// The access log: one JSON line per finished request (a WebSocket tunnel
// when it closes), written to stdout, stderr or a file.
//
// Lines are built by hand (string values escaped only when they need it),
// gathered while the event loop turns, and handed to sonic-boom (pino's
// asynchronous writer) once per turn: under load, the lines of many
// requests go out in one write. A line costs a request about 2 µs, the
// write to the file included (0.6 µs of it building the line); through a
// pino logger, one call per line, it cost 10 µs.
//
// A file is appended to and created (with its directory) if missing.
// reopen() opens the path again, for logrotate: rotate by renaming the file,
// then send SIGUSR1; lines go on into the old file until the new one is open,
// none is lost. close() writes what is buffered, then closes. Lines still
// buffered when the process exits are written synchronously on the way out.
//
// The buffer is bounded: when the destination cannot keep up or fails (a
// full disk), lines past MAX_BUFFERED_BYTES are dropped and counted, never
// held without limit. Write errors are logged, at most one line per
// ERROR_REPORT_INTERVAL_MS with the count of the others; a closed pipe
// (EPIPE: whatever read stdout is gone) ends the access log.

// sonic-boom is CommonJS: its class is the default export (and, for types, a named one).
import sonicBoom, { type SonicBoom } from 'sonic-boom';
import type { AccessLogConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { RequestObserver, RequestRecord } from '../runtime/exchange.ts';
import { reportedStatus } from './status.ts';

/** Lines waiting to be written, at most (bytes); past it lines are dropped (and counted). */
export const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/**
 * The most one write hands the system (sonic-boom's default is 16k). One
 * write is in flight at a time and its end is seen once per turn of the
 * event loop, so this bounds what can be written per turn: at 16k, a busy
 * weir fell behind its own access log.
 */
const MAX_WRITE_BYTES = 1024 * 1024;
/** The buffer lines are gathered in, encoded, until the event loop turns or it is full. */
const BATCH_BYTES = 64 * 1024;
const ERROR_REPORT_INTERVAL_MS = 10_000;

export interface AccessLogOptions extends AccessLogConfig {
  /** Where problems with the destination are reported (weir's own log). */
  log: Logger;
  /** A number in [0, 1) for sampling; Math.random unless a test passes its own. */
  random?: () => number;
}

/** The filters of an access log, which a reload may change without reopening it. */
export type AccessLogFilters = Pick<AccessLogConfig, 'minStatus' | 'sample'>;

export class AccessLog implements RequestObserver {
  /** As configured: "stdout", "stderr" or the file's path. */
  readonly path: string;
  #minStatus: number;
  #sample: number;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #destination: SonicBoom;
  readonly #isFile: boolean;
  /** Lines of this turn of the event loop, encoded, not handed to the destination yet: the first #batched bytes. */
  readonly #batch = Buffer.allocUnsafe(BATCH_BYTES);
  #batched = 0;
  #flushScheduled = false;
  readonly #flush = (): void => this.#handOn();
  readonly #atExit = (): void => this.#flushAtExit();
  #closing: Promise<void> | undefined;
  /** The destination is gone for good (EPIPE): lines are dropped. */
  #broken = false;
  #dropped = 0;
  #errors = 0;
  #lastErrorReport = -Infinity;
  /** Date.now() in whole seconds, and its ISO text up to the seconds ("2025-01-02T03:04:05."), for the time field. */
  #isoSecond = -1;
  #isoPrefix = '';

  /**
   * Opens the destination; rejects when a file cannot be opened (no
   * permission, a directory in the way), so a bad path stops weir at start
   * or a reload rather than losing every line.
   */
  static async open(options: AccessLogOptions): Promise<AccessLog> {
    const accessLog = new AccessLog(options);
    await accessLog.#opened();
    return accessLog;
  }

  private constructor(options: AccessLogOptions) {
    this.path = options.path;
    this.#minStatus = options.minStatus;
    this.#sample = options.sample;
    this.#random = options.random ?? Math.random;
    this.#log = options.log;
    const fd = options.path === 'stdout' ? 1 : options.path === 'stderr' ? 2 : undefined;
    this.#isFile = fd === undefined;
    this.#destination = new sonicBoom.SonicBoom({
      dest: fd ?? options.path,
      sync: false,
      mkdir: this.#isFile,
      maxLength: MAX_BUFFERED_BYTES,
      maxWrite: MAX_WRITE_BYTES,
      // Bytes, already encoded: it then never measures or re-encodes strings.
      contentMode: 'buffer',
    });
    this.#destination.on('drop', (data: Buffer) => (this.#dropped += countLines(data)));
  }

  #opened(): Promise<void> {
    const destination = this.#destination;
    return new Promise((resolve, reject) => {
      const failed = (error: Error): void => {
        destination.off('ready', ready);
        reject(new Error(`cannot open the access log ${this.path}: ${error.message}`, { cause: error }));
      };
      const ready = (): void => {
        destination.off('error', failed);
        destination.on('error', (error: Error) => this.#failed(error));
        process.on('exit', this.#atExit);
        resolve();
      };
      destination.once('ready', ready);
      destination.once('error', failed);
    });
  }

  /** Lines dropped because the destination could not keep up or failed. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Changes the filters; the next request is judged by them. */
  configure(filters: AccessLogFilters): void {
    this.#minStatus = filters.minStatus;
    this.#sample = filters.sample;
  }

  /** The log phase: one line, if the filters let the request through. */
  requestFinished(record: RequestRecord, status: number, bytesSent: number, durationMs: number): void {
    if (this.#closing !== undefined) return;
    const failure = record.failure;
    // No answer at all: the client closed the connection first (499).
    const code = reportedStatus(status);
    // A response that broke off after its head is judged by its failure.
    const judged = failure !== undefined && failure.status > code ? failure.status : code;
    if (judged < this.#minStatus) return;
    if (judged < 400 && this.#sample < 1 && this.#random() >= this.#sample) return;
    if (this.#broken) {
      this.#dropped++;
      return;
    }
    this.#append(this.line(record, code, bytesSent, durationMs));
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
  }

  /** The JSON line for a request, newline included. */
  line(record: RequestRecord, status: number, bytesSent: number, durationMs: number): string {
    const request = record.request;
    const failure = record.failure;
    return (
      `{"time":"${this.#iso(record.startedAt)}"` +
      `,"request_id":${quote(record.requestId)}` +
      `,"client_ip":${quote(record.clientIp)}` +
      `,"method":${quote(request.method)}` +
      `,"host":${quote(record.host)}` +
      `,"path":${quote(pathOf(request.url))}` +
      `,"protocol":"HTTP/${request.httpVersionMajor ?? 1}.${request.httpVersionMinor ?? 1}"` +
      `,"status":${status}` +
      `,"duration_ms":${Math.round(durationMs * 10) / 10}` +
      `,"upstream_ms":${upstreamMsOf(record)}` +
      `,"bytes_sent":${bytesSent}` +
      `,"route":${optional(record.route)}` +
      `,"service":${optional(record.service)}` +
      `,"backend":${optional(record.backend)}` +
      `,"attempts":${record.attempts}` +
      `,"user_agent":${optional(headerOf(request.rawHeaders, 'user-agent'))}` +
      (failure === undefined ? '}\n' : `,"owner":"${failure.owner}","reason":${quote(failure.reason)}}\n`)
    );
  }

  /** Opens the file again at its path (after logrotate renamed it); nothing for stdout and stderr. */
  reopen(): void {
    if (!this.#isFile || this.#closing) return;
    try {
      // Lines of requests that finished before the signal go to the file they belong to, when they can.
      this.#handOn();
      this.#destination.reopen();
    } catch (error) {
      this.#failed(error as Error);
    }
  }

  /** Writes every buffered line, then closes the file (stdout and stderr stay open). */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#handOn();
      process.off('exit', this.#atExit);
      const destination = this.#destination;
      destination.once('close', () => resolve());
      // A destination that cannot be written any more cannot be flushed either.
      destination.once('error', () => {
        destination.destroy();
        resolve();
      });
      destination.end();
    }).then(() => this.#reportDropped());
    return this.#closing;
  }

  /** Encodes a line into the batch, handing the batch on first when the line might not fit. */
  #append(line: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.#batched + line.length * 3 > BATCH_BYTES) {
      this.#handOn();
      if (line.length * 3 > BATCH_BYTES) {
        this.#write(Buffer.from(line));
        return;
      }
    }
    this.#batched += this.#batch.write(line, this.#batched);
  }

  /** Hands the lines gathered so far to the destination, which writes them when its previous write is done. */
  #handOn(): void {
    this.#flushScheduled = false;
    if (this.#batched === 0) return;
    // A copy: the batch buffer is used again at once, the destination keeps its bytes until written.
    const bytes = Buffer.copyBytesFrom(this.#batch, 0, this.#batched);
    this.#batched = 0;
    this.#write(bytes);
  }

  #write(bytes: Buffer): void {
    if (this.#broken) this.#dropped += countLines(bytes);
    // In buffer mode sonic-boom takes Buffers; its types know only strings.
    else this.#destination.write(bytes as unknown as string);
  }

  /** The process is exiting without close(): what is buffered is written synchronously, as pino does. */
  #flushAtExit(): void {
    if (this.#closing !== undefined || this.#broken) return;
    try {
      this.#handOn();
      this.#destination.flushSync();
    } catch {
      // Exiting: there is no one left to tell.
    }
  }

  #failed(error: NodeJS.ErrnoException): void {
    if (error.code === 'EPIPE' && !this.#broken) {
      // Whatever read the stream is gone; it will not come back.
      this.#broken = true;
      this.#log.error({ path: this.path }, `access log ${this.path}: the reader went away (EPIPE); access log lines are dropped from now on`);
      return;
    }
    if (this.#broken) return;
    this.#errors++;
    const now = performance.now();
    if (now - this.#lastErrorReport < ERROR_REPORT_INTERVAL_MS) return;
    this.#lastErrorReport = now;
    const others = this.#errors - 1;
    this.#errors = 0;
    this.#log.error(
      { err: error, path: this.path, dropped: this.#dropped },
      `access log ${this.path}: ${error.message}${others > 0 ? ` (and ${others} more errors in the last ${ERROR_REPORT_INTERVAL_MS / 1000}s)` : ''}`,
    );
  }

  #reportDropped(): void {
    if (this.#dropped > 0) this.#log.warn({ path: this.path, dropped: this.#dropped }, `access log ${this.path}: ${this.#dropped} lines dropped because the destination could not keep up`);
  }

  /** ISO 8601 in UTC with milliseconds; the date part is made once per second. */
  #iso(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.#isoSecond) {
      this.#isoSecond = second;
      this.#isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    }
    const milli = ms - second * 1000;
    return `${this.#isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  }
}

/** record.upstreamMs, to a tenth of a millisecond, once the forwarding phase sets it; null until then and for requests no backend answered. */
function upstreamMsOf(record: RequestRecord): string {
  if (record.upstreamMs !== undefined) return String(Math.round(record.upstreamMs * 10) / 10);
  return 'null';
}

function countLines(bytes: Buffer): number {
  let lines = 0;
  for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) lines++;
  return lines;
}

/** What JSON.stringify would escape: control characters, quote, backslash, and surrogates (a lone one is escaped). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be found
const NEEDS_ESCAPING = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** A string as a JSON string literal; JSON.stringify only when something needs escaping (it is several times slower). */
function quote(value: string): string {
  return NEEDS_ESCAPING.test(value) ? JSON.stringify(value) : `"${value}"`;
}

function optional(value: string | undefined): string {
  return value === undefined ? 'null' : quote(value);
}

/** The request target's path: no query (it may carry secrets), and no scheme and authority when it was absolute-form. */
export function pathOf(url: string): string {
  let start = 0;
  if (url.charCodeAt(0) !== 47 /* / */) {
    const scheme = url.indexOf('://');
    if (scheme !== -1) {
      const slash = url.indexOf('/', scheme + 3);
      if (slash === -1) return '/';
      start = slash;
    }
  }
  const query = url.indexOf('?', start);
  return query === -1 ? (start === 0 ? url : url.slice(start)) : url.slice(start, query);
}

/** The first value of a header, by its lower-case name. */
function headerOf(raw: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return raw[i + 1];
  }
  return undefined;
}

/**
 * The access log the config in force asks for, across reloads: the one
 * observer the driver is given. A reload prepares the change (opening a new
 * file may fail, and then nothing has changed) and commits it with the rest.
 */
export class AccessLogSlot implements RequestObserver {
  readonly #log: Logger;
  readonly #random: (() => number) | undefined;
  #current: AccessLog | undefined;

  constructor(log: Logger, random?: () => number) {
    this.#log = log;
    this.#random = random;
  }

  /** The access log in force, if any. */
  get current(): AccessLog | undefined {
    return this.#current;
  }

  requestFinished(record: RequestRecord, status: number, bytesSent: number, durationMs: number): void {
    this.#current?.requestFinished(record, status, bytesSent, durationMs);
  }

  /**
   * Opens what `config` needs that is not open yet; rejects, changing
   * nothing, when that fails. The same path keeps its file (the filters change
   * on commit); another path opens a new one, and the old one is closed on
   * commit, its buffered lines written.
   */
  async prepare(config: AccessLogConfig | undefined): Promise<AccessLogChange> {
    const current = this.#current;
    if (config !== undefined && current !== undefined && current.path === config.path) {
      return { commit: async () => current.configure(config), cancel: async () => {} };
    }
    const next = config === undefined ? undefined : await AccessLog.open({ ...config, log: this.#log, ...(this.#random && { random: this.#random }) });
    return {
      commit: async () => {
        this.#current = next;
        await current?.close();
      },
      cancel: async () => {
        await next?.close();
      },
    };
  }

  reopen(): void {
    this.#current?.reopen();
  }

  /** Closes the access log in force, its buffered lines written. */
  async close(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    await current?.close();
  }
}

/** A prepared change of access log: commit it with the rest of a reload, or cancel it. */
export interface AccessLogChange {
  commit(): Promise<void>;
  cancel(): Promise<void>;
}

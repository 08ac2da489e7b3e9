// Feeding a ResponseParser in given pieces and recording what it reports,
// for the unit and fuzz tests of the response parser.
import { ResponseParseError, ResponseParser, type ResponseHead, type ResponseParserLimits } from './response-parser.ts';

export interface FeedOptions {
  /** The request's method; GET when absent. */
  method?: string;
  upgrade?: boolean;
  /** Call finish() after the last piece (the backend closed the connection). */
  eof?: boolean;
  limits?: ResponseParserLimits;
}

export interface RecordedHead {
  status: number;
  statusText: string;
  /** [name, value] pairs as latin1 strings. */
  headers: [string, string][];
  minorVersion: number;
  keepAlive: boolean;
  keepAliveTimeoutMs: number | undefined;
}

/** Everything a parser reported for one response; equal for any way its bytes were split. */
export interface Recorded {
  heads: RecordedHead[];
  body: Buffer;
  /** undefined until onComplete(); then its trailers as [name, value] pairs, or null. */
  trailers: [string, string][] | null | undefined;
  completions: number;
  /** Bytes consumed until the response ended or the last piece; undefined after an error (when it came depends on the pieces). */
  consumed: number | undefined;
  /** The message of the first error from execute() or finish(). */
  error: string | undefined;
  done: boolean;
  upgraded: boolean;
  /** Whether every onBody() chunk was a view into the piece being executed (no copy). */
  bodyUncopied: boolean;
  /** Whether the parser was idle just before the last piece was fed. */
  idleBeforeLastPiece: boolean;
}

function pairs(raw: readonly string[]): [string, string][] {
  const result: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) result.push([raw[i]!, raw[i + 1]!]);
  return result;
}

export function recordHead(head: ResponseHead): RecordedHead {
  return {
    status: head.status,
    statusText: head.statusText,
    headers: pairs(head.rawHeaders),
    minorVersion: head.minorVersion,
    keepAlive: head.keepAlive,
    keepAliveTimeoutMs: head.keepAliveTimeoutMs,
  };
}

function within(view: Buffer, piece: Buffer): boolean {
  return view.buffer === piece.buffer && view.byteOffset >= piece.byteOffset && view.byteOffset + view.length <= piece.byteOffset + piece.length;
}

/** Feeds `pieces` to a fresh parser, stopping at the end of the response or at the first error. */
export function feed(pieces: readonly Buffer[], options: FeedOptions = {}): Recorded {
  const bodies: Buffer[] = [];
  let current: Buffer = Buffer.alloc(0);
  const recorded: Recorded = {
    heads: [], body: Buffer.alloc(0), trailers: undefined, completions: 0, consumed: 0,
    error: undefined, done: false, upgraded: false, bodyUncopied: true, idleBeforeLastPiece: false,
  };
  const parser = new ResponseParser({
    onHead: (head) => recorded.heads.push(recordHead(head)),
    onBody: (chunk) => {
      if (!within(chunk, current)) recorded.bodyUncopied = false;
      bodies.push(Buffer.from(chunk));
    },
    onComplete: (trailers) => {
      recorded.completions++;
      recorded.trailers = trailers === null ? null : pairs(trailers);
    },
  }, options.limits);
  parser.start(options.method ?? 'GET', options.upgrade ?? false);
  let stopped = false;
  for (let i = 0; i < pieces.length && !stopped; i++) {
    current = pieces[i]!;
    recorded.idleBeforeLastPiece = parser.idle;
    const result = parser.execute(current);
    if (result instanceof ResponseParseError) {
      recorded.error = result.message;
      stopped = true;
    } else {
      recorded.consumed! += result;
      if (result < current.length || parser.done) stopped = true;
    }
  }
  if (options.eof && recorded.error === undefined && !parser.done) recorded.error = parser.finish()?.message;
  if (recorded.error !== undefined) recorded.consumed = undefined;
  recorded.body = Buffer.concat(bodies);
  recorded.done = parser.done;
  recorded.upgraded = parser.upgraded;
  return recorded;
}

/** `bytes` cut at the given offsets. */
export function cut(bytes: Buffer, offsets: readonly number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let from = 0;
  for (const offset of [...offsets].sort((a, b) => a - b)) {
    if (offset <= from || offset >= bytes.length) continue;
    pieces.push(bytes.subarray(from, offset));
    from = offset;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

export function byteByByte(bytes: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) pieces.push(bytes.subarray(i, i + 1));
  return pieces;
}

/** A deterministic pseudo-random generator (mulberry32): the same seed gives the same cases. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the reference reading makes of a whole input. */
export type ReferenceOutcome =
  | { outcome: 'error' }
  | { outcome: 'incomplete' }
  | { outcome: 'complete' | 'upgraded'; head: RecordedHead; body: Buffer; trailers: [string, string][] | null; consumed: number };

const STATUS_LINE = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const FIELD_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\t\x20-\x7e\x80-\xff]*?)[ \t]*$/;
const CHUNK_SIZE_LINE = /^([0-9a-fA-F]+)(?:[ \t]*;[\t\x20-\x7e\x80-\xff]*)?$/;

class Stop {
  readonly outcome: 'error' | 'incomplete';
  constructor(outcome: 'error' | 'incomplete') {
    this.outcome = outcome;
  }
}

/**
 * A second, independent reading of the same rules for the differential fuzz
 * test: written for clarity, not speed, on the whole input at once, with
 * regexes on latin1 strings. It ignores the byte and field limits (the
 * generated inputs stay far below them).
 */
export function referenceParse(bytes: Buffer, method: string, upgrade: boolean, eof: boolean): ReferenceOutcome {
  const text = bytes.toString('latin1');
  let pos = 0;
  const nextLine = (): string => {
    const lf = text.indexOf('\n', pos);
    if (lf === -1) {
      // A CR followed by anything but LF is bare, whether or not the line ever ends.
      if (/\r[^]/.test(text.slice(pos))) throw new Stop('error');
      throw new Stop('incomplete');
    }
    if (lf === pos || text[lf - 1] !== '\r') throw new Stop('error');
    const line = text.slice(pos, lf - 1);
    if (line.includes('\r')) throw new Stop('error');
    pos = lf + 1;
    return line;
  };
  const fieldLines = (): [string, string][] => {
    const fields: [string, string][] = [];
    for (let line = nextLine(); line !== ''; line = nextLine()) {
      const match = FIELD_LINE.exec(line);
      if (match === null) throw new Stop('error');
      fields.push([match[1]!, match[2]!]);
    }
    return fields;
  };
  try {
    for (let informational = 0; ; informational++) {
      const status = STATUS_LINE.exec(nextLine());
      if (status === null) throw new Stop('error');
      const code = Number(status[2]);
      if (code === 101 && !upgrade) throw new Stop('error');
      if (code < 200 && code !== 101 && informational === 16) throw new Stop('error');
      const fields = fieldLines();
      if (code < 200 && code !== 101) continue;
      const minorVersion = Number(status[1]);
      const values = (name: string) => fields.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
      const trim = (value: string) => value.replace(/^[ \t]+|[ \t]+$/g, '');
      const tokens = values('connection').join(',').split(',').map((t) => trim(t).toLowerCase());
      const close = tokens.includes('close');
      let keepAliveTimeoutMs: number | undefined;
      for (const value of values('keep-alive')) {
        for (const parameter of value.split(',')) {
          const timeout = /^[ \t]*timeout[ \t]*=[ \t]*(\d{1,9})[ \t]*$/i.exec(parameter);
          if (timeout !== null && keepAliveTimeoutMs === undefined) keepAliveTimeoutMs = Number(timeout[1]) * 1000;
        }
      }
      const head: RecordedHead = {
        status: code, statusText: status[3] ?? '', headers: fields, minorVersion,
        keepAlive: !close && (minorVersion === 1 || tokens.includes('keep-alive')), keepAliveTimeoutMs,
      };
      const done = (body: Buffer, trailers: [string, string][] | null = null): ReferenceOutcome => ({ outcome: 'complete', head, body, trailers, consumed: pos });
      if (code === 101) return { outcome: 'upgraded', head: { ...head, keepAlive: false }, body: Buffer.alloc(0), trailers: null, consumed: pos };
      if (method === 'HEAD' || code === 204 || code === 304) return done(Buffer.alloc(0));
      const transferEncoding = values('transfer-encoding');
      const contentLength = values('content-length');
      if (transferEncoding.length > 0) {
        if (minorVersion === 0 || contentLength.length > 0) throw new Stop('error');
        const codings = transferEncoding.join(',').split(',').map(trim).filter((c) => c !== '');
        if (codings.length !== 1 || codings[0]!.toLowerCase() !== 'chunked') throw new Stop('error');
        const body: Buffer[] = [];
        for (;;) {
          const sizeLineStart = pos;
          const match = CHUNK_SIZE_LINE.exec(nextLine());
          if (match === null || pos - sizeLineStart > 4096 || match[1]!.replace(/^0+/, '').length > 13) throw new Stop('error');
          const size = parseInt(match[1]!, 16);
          if (size === 0) {
            const trailers = fieldLines();
            return done(Buffer.concat(body), trailers.length === 0 ? null : trailers);
          }
          if (pos + size > bytes.length) throw new Stop('incomplete');
          body.push(bytes.subarray(pos, pos + size));
          pos += size;
          if (pos < bytes.length && text[pos] !== '\r') throw new Stop('error');
          if (pos + 1 < bytes.length && text[pos + 1] !== '\n') throw new Stop('error');
          if (pos + 2 > bytes.length) throw new Stop('incomplete');
          pos += 2;
        }
      }
      if (contentLength.length > 0) {
        const lengths = contentLength.join(',').split(',').map(trim);
        if (lengths.some((v) => !/^\d+$/.test(v) || Number(v) > Number.MAX_SAFE_INTEGER) || new Set(lengths.map(Number)).size !== 1) throw new Stop('error');
        const length = Number(lengths[0]);
        if (pos + length > bytes.length) throw new Stop('incomplete');
        pos += length;
        return done(bytes.subarray(pos - length, pos));
      }
      if (!eof) throw new Stop('incomplete');
      head.keepAlive = false;
      const body = bytes.subarray(pos);
      pos = bytes.length;
      return done(body);
    }
  } catch (stop) {
    if (!(stop instanceof Stop)) throw stop;
    return stop.outcome === 'incomplete' && eof ? { outcome: 'error' } : { outcome: stop.outcome };
  }
}

// weir's reader of a backend's HTTP/1.1 response: pure (bytes in, events
// out, no I/O) and incremental (bytes arrive in any pieces).
//
// It is strict where a lenient reader would have to guess. A response whose
// framing two parsers could read differently (two Content-Lengths, a
// Content-Length beside Transfer-Encoding, a bare LF, a folded line) is a
// protocol error: weir answers the client 502 on the backend's account and
// never reuses the connection, rather than pass on a body whose end it
// guessed. The choices follow RFC 9112 section 6.3 and what nginx and
// HAProxy refuse.
//
// It runs for every byte of every proxied response, so the body is never
// copied or looped over in JS: it is handed on as subarrays of the pieces
// given to execute(). The head usually arrives in one piece; then each line
// is found with Buffer.indexOf and read in place, and only a line split
// across pieces is copied (once, when its end arrives).

export interface ResponseParserLimits {
  /** Bytes of the status line plus header section (and separately, of a trailer section). Default 64 KiB. */
  maxHeaderBytes: number;
  /** Header fields in one head (or trailer section). Default 256. */
  maxHeaderCount: number;
}

export const DEFAULT_RESPONSE_LIMITS: ResponseParserLimits = Object.freeze({ maxHeaderBytes: 64 * 1024, maxHeaderCount: 256 });

/** Informational (1xx) heads skipped before the final head; a backend sending more is stuck, not slow. */
export const MAX_INFORMATIONAL_HEADS = 16;

/** Bytes of one chunk-size line, extensions and CRLF included: extensions carry nothing weir uses. */
export const MAX_CHUNK_LINE_BYTES = 4096;

/**
 * Hex digits of a chunk size, leading zeros not counted: 13 always fit in a
 * double exactly (52 bits), so no size is ever rounded.
 */
const MAX_CHUNK_SIZE_DIGITS = 13;

export interface ResponseHead {
  status: number;
  statusText: string;
  /**
   * name, value, name, value… as received (names not lower-cased), values
   * with surrounding OWS trimmed, as latin1 strings: the form Node's HTTP
   * server writes, made once, with no Buffer object per field.
   */
  rawHeaders: string[];
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 */
  minorVersion: number;
  /** Whether the connection may carry another request after this response is read to its end (HTTP/1.1 without Connection: close; HTTP/1.0 only with Connection: keep-alive; never for a close-delimited body; never for a 101). */
  keepAlive: boolean;
  /** The timeout=N of a Keep-Alive header, in ms, when present and valid. */
  keepAliveTimeoutMs: number | undefined;
}

/**
 * What the parser reports, synchronously, from inside execute() or finish().
 * A handler must not throw (its exception would leave execute() half way).
 * Calling start() from onComplete() is fine: execute() returns at once.
 */
export interface ResponseEvents {
  /** The final response head (1xx other than 101 are skipped silently, up to a bound). Called once per response. */
  onHead(head: ResponseHead): void;
  /** A piece of the body: a subarray of the chunk given to execute(). */
  onBody(chunk: Buffer): void;
  /** The response is complete. trailers: name/value strings of a chunked body's trailer section, or null when there were none. */
  onComplete(trailers: string[] | null): void;
}

export class ResponseParseError extends Error {
  readonly code = 'WEIR_UPSTREAM_PROTOCOL';

  constructor(message: string) {
    super(message);
    this.name = 'ResponseParseError';
  }
}

const HTAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const COMMA = 0x2c;
const COLON = 0x3a;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;

function byteTable(accepts: (byte: number) => boolean): Uint8Array {
  const table = new Uint8Array(256);
  for (let byte = 0; byte < 256; byte++) table[byte] = accepts(byte) ? 1 : 0;
  return table;
}

/** RFC 9110 tchar: the bytes of a field name. */
const TOKEN = byteTable((byte) => byte > 0x20 && byte < 0x7f && !'"(),/:;<=>?@[\\]{}'.includes(String.fromCharCode(byte)));
/** The value of a hex digit, -1 for any other byte. */
const HEX = new Int8Array(256).fill(-1);
for (let digit = 0; digit < 16; digit++) {
  HEX['0123456789abcdef'.charCodeAt(digit)] = digit;
  HEX['0123456789ABCDEF'.charCodeAt(digit)] = digit;
}

// Where the parser is. The line states come first so that one comparison
// tells them from the others.
const STATUS_LINE = 0;
const HEADER_LINE = 1;
const CHUNK_SIZE_LINE = 2;
const TRAILER_LINE = 3;
const LENGTH_BODY = 4;
const CLOSE_BODY = 5;
const CHUNK_DATA = 6;
const CHUNK_DATA_CR = 7;
const CHUNK_DATA_LF = 8;
const UNSTARTED = 9;
const DONE = 10;
const FAILED = 11;

/** The part of the response each line state reads, for messages. */
const LINE_PLACE = ['status line', 'header section', 'chunk size line', 'trailer section'];

// Connection header tokens that decide keep-alive.
const CONNECTION_CLOSE = 1;
const CONNECTION_KEEP_ALIVE = 2;

/**
 * Reads the responses of one backend connection, one at a time: start() for
 * each request sent, execute() for each piece read, finish() at EOF. After
 * an error the connection is unusable, and so is the parser until start().
 */
export class ResponseParser {
  readonly #events: ResponseEvents;
  readonly #maxHeaderBytes: number;
  readonly #maxHeaderCount: number;

  #state = UNSTARTED;
  #error: ResponseParseError | undefined;
  #idle = true;
  #done = false;
  #upgraded = false;
  /**
   * Responses ended (completed or upgraded) over the parser's life. execute()
   * compares it, not #done, to know that the response it was reading ended,
   * because an onComplete() handler may already have called start().
   */
  #ended = 0;

  // Set by start(): what the request lets the response be.
  #headRequest = false;
  #upgradeRequested = false;
  #informationalHeads = 0;

  // A line that a piece ended inside: its pieces so far.
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #pendingEndsWithCR = false;

  // The head (or trailer section) being read.
  #sectionBytes = 0;
  #status = 0;
  #statusText = '';
  #minorVersion = 1;
  #fields: string[] = [];
  #contentLength = -1;
  #sawContentLength = false;
  #contentLengthError: string | undefined;
  #sawTransferEncoding = false;
  #chunkedCodings = 0;
  #transferEncodingError: string | undefined;
  #connection = 0;
  #keepAliveTimeoutMs: number | undefined;

  // The body being read.
  /** Bytes left of the Content-Length body or of the current chunk. */
  #remaining = 0;
  #trailers: string[] | null = null;

  constructor(events: ResponseEvents, limits: ResponseParserLimits = DEFAULT_RESPONSE_LIMITS) {
    this.#events = events;
    this.#maxHeaderBytes = limits.maxHeaderBytes;
    this.#maxHeaderCount = limits.maxHeaderCount;
  }

  /** True when no byte of the current response has been received yet (the caller uses this to decide if a request on a stale keep-alive connection may be retried). */
  get idle(): boolean {
    return this.#idle;
  }

  /** True once the current response completed (or a 101 head was read). */
  get done(): boolean {
    return this.#done;
  }

  /** True after a 101 head: the connection now carries another protocol. */
  get upgraded(): boolean {
    return this.#upgraded;
  }

  /** Prepares for the response to the next request: `method` (HEAD → no body), `upgrade` true when the request asked for Upgrade (then a 101 is allowed). Must be called before the first execute() of each response. */
  start(method: string, upgrade: boolean): void {
    this.#state = STATUS_LINE;
    this.#error = undefined;
    this.#idle = true;
    this.#done = false;
    this.#upgraded = false;
    this.#headRequest = method === 'HEAD';
    this.#upgradeRequested = upgrade;
    this.#informationalHeads = 0;
    this.#sectionBytes = 0;
    this.#clearPending();
  }

  /**
   * Feeds bytes; events fire synchronously. Returns the number of bytes
   * consumed, or a ResponseParseError (never throws). It consumes fewer than
   * chunk.length only when the response ended inside the chunk: after a
   * complete response (the rest is bytes the backend sent beyond the
   * response) or after a 101 head (the rest belongs to the tunnel). After an
   * error or after completion, further execute() calls without start()
   * return an error.
   */
  execute(chunk: Buffer): number | ResponseParseError {
    const state = this.#state;
    if (state >= UNSTARTED) {
      if (state === FAILED) return this.#error!;
      return this.#fail(state === DONE ? 'bytes after the end of the response (start() was not called)' : 'execute() before start()');
    }
    const end = chunk.length;
    if (end === 0) return 0;
    this.#idle = false;
    const ended = this.#ended;
    let pos = 0;
    while (pos < end) {
      const state = this.#state;
      if (state <= TRAILER_LINE) {
        const lf = chunk.indexOf(LF, pos);
        if (lf === -1) {
          const problem = this.#keepPartialLine(chunk, pos);
          return problem === undefined ? end : this.#fail(problem);
        }
        let line = chunk;
        let start = pos;
        let lineBytes = lf + 1 - pos;
        if (this.#pendingBytes === 0) {
          if (lf === pos || chunk[lf - 1] !== CR) return this.#fail(`bare LF in the ${LINE_PLACE[state]}`);
        } else {
          if (lf === pos ? !this.#pendingEndsWithCR : chunk[lf - 1] !== CR) return this.#fail(`bare LF in the ${LINE_PLACE[state]}`);
          lineBytes += this.#pendingBytes;
          this.#pending.push(chunk.subarray(pos, lf + 1));
          line = Buffer.concat(this.#pending, lineBytes);
          start = 0;
          this.#clearPending();
        }
        pos = lf + 1;
        // The line's content is [start, stop): without its CRLF.
        const problem = this.#readLine(state, line, start, start + lineBytes - 2, lineBytes);
        if (problem !== undefined) return this.#fail(problem);
        if (this.#ended !== ended) return pos;
      } else if (state === LENGTH_BODY || state === CHUNK_DATA) {
        const available = end - pos;
        const length = available < this.#remaining ? available : this.#remaining;
        this.#events.onBody(length === end ? chunk : chunk.subarray(pos, pos + length));
        pos += length;
        this.#remaining -= length;
        if (this.#remaining === 0) {
          if (state === CHUNK_DATA) {
            this.#state = CHUNK_DATA_CR;
          } else {
            this.#complete(null);
            return pos;
          }
        }
      } else if (state === CLOSE_BODY) {
        this.#events.onBody(pos === 0 ? chunk : chunk.subarray(pos));
        return end;
      } else if (state === CHUNK_DATA_CR) {
        if (chunk[pos] !== CR) return this.#fail('chunk data not followed by CRLF');
        pos++;
        this.#state = CHUNK_DATA_LF;
      } else {
        if (chunk[pos] !== LF) return this.#fail('chunk data not followed by CRLF');
        pos++;
        this.#state = CHUNK_SIZE_LINE;
      }
    }
    return end;
  }

  /** The connection ended (EOF). Completes a close-delimited body (fires onComplete(null)) and returns undefined; otherwise, if a response was under way, returns a ResponseParseError ("backend closed the connection before the response was complete"). When nothing of the response had arrived yet, returns an error too. */
  finish(): ResponseParseError | undefined {
    switch (this.#state) {
      case FAILED:
        return this.#error;
      case DONE:
        return undefined;
      case CLOSE_BODY:
        this.#complete(null);
        return undefined;
      default:
        return this.#fail(this.#idle
          ? 'backend closed the connection before sending a response'
          : 'backend closed the connection before the response was complete');
    }
  }

  #fail(message: string): ResponseParseError {
    const error = new ResponseParseError(message);
    this.#state = FAILED;
    this.#error = error;
    this.#clearPending();
    return error;
  }

  #complete(trailers: string[] | null): void {
    this.#state = DONE;
    this.#done = true;
    this.#ended++;
    this.#events.onComplete(trailers);
  }

  #clearPending(): void {
    if (this.#pendingBytes === 0) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#pendingEndsWithCR = false;
  }

  /**
   * Keeps the start of a line whose end is in a later piece. Its limit is
   * checked now, so a backend cannot make weir hold an endless line, and so is
   * a bare CR: with no LF in the piece, a CR before its last byte is bare.
   */
  #keepPartialLine(chunk: Buffer, pos: number): string | undefined {
    const state = this.#state;
    const cr = chunk.indexOf(CR, pos);
    if (this.#pendingEndsWithCR || (cr !== -1 && cr < chunk.length - 1)) return `bare CR in the ${LINE_PLACE[state]}`;
    this.#pending.push(pos === 0 ? chunk : chunk.subarray(pos));
    this.#pendingBytes += chunk.length - pos;
    this.#pendingEndsWithCR = chunk[chunk.length - 1] === CR;
    if (state === CHUNK_SIZE_LINE) {
      return this.#pendingBytes > MAX_CHUNK_LINE_BYTES ? `chunk size line longer than ${MAX_CHUNK_LINE_BYTES} bytes` : undefined;
    }
    return this.#sectionBytes + this.#pendingBytes > this.#maxHeaderBytes ? this.#tooLarge(state) : undefined;
  }

  #tooLarge(state: number): string {
    return `${state === TRAILER_LINE ? 'trailer' : 'header'} section larger than ${this.#maxHeaderBytes} bytes`;
  }

  /** Reads one complete line, [start, stop) of `line` (its CRLF follows); returns what is wrong with it, if anything. */
  #readLine(state: number, line: Buffer, start: number, stop: number, lineBytes: number): string | undefined {
    if (state === CHUNK_SIZE_LINE) {
      if (lineBytes > MAX_CHUNK_LINE_BYTES) return `chunk size line longer than ${MAX_CHUNK_LINE_BYTES} bytes`;
      return this.#chunkSizeLine(line, start, stop);
    }
    this.#sectionBytes += lineBytes;
    if (this.#sectionBytes > this.#maxHeaderBytes) return this.#tooLarge(state);
    if (state === STATUS_LINE) return this.#statusLine(line, start, stop);
    if (state === HEADER_LINE) {
      if (start === stop) return this.#endOfHead();
      return this.#fieldLine(line, start, stop, this.#fields, 'header section');
    }
    if (start === stop) {
      this.#complete(this.#trailers);
      return undefined;
    }
    this.#trailers ??= [];
    return this.#fieldLine(line, start, stop, this.#trailers, 'trailer section');
  }

  #statusLine(line: Buffer, start: number, stop: number): string | undefined {
    const length = stop - start;
    if (length < 8 || line[start] !== 0x48 || line[start + 1] !== 0x54 || line[start + 2] !== 0x54 || line[start + 3] !== 0x50
      || line[start + 4] !== 0x2f || line[start + 5] !== 0x31 || line[start + 6] !== 0x2e || (line[start + 7] !== 0x31 && line[start + 7] !== 0x30)) {
      return unlessBareCR(line, start, stop, 'status line', 'status line does not start with HTTP/1.1 or HTTP/1.0');
    }
    if (length < 12 || line[start + 8] !== SP || (length > 12 && line[start + 12] !== SP)) {
      return unlessBareCR(line, start, stop, 'status line', 'malformed status line');
    }
    const hundreds = line[start + 9]! - 0x30;
    const tens = line[start + 10]! - 0x30;
    const units = line[start + 11]! - 0x30;
    const status = hundreds * 100 + tens * 10 + units;
    if (hundreds < 1 || hundreds > 5 || tens < 0 || tens > 9 || units < 0 || units > 9) {
      return unlessBareCR(line, start, stop, 'status line', 'status code not three digits from 100 to 599');
    }
    let statusText = '';
    if (length > 13) {
      for (let i = start + 13; i < stop; i++) {
        if (!isText(line[i]!)) return unlessBareCR(line, start, stop, 'status line', 'invalid character in the reason phrase');
      }
      statusText = length === 15 && line[start + 13] === 0x4f && line[start + 14] === 0x4b ? 'OK' : line.toString('latin1', start + 13, stop);
    }
    if (status < 200) {
      if (status === 101 && !this.#upgradeRequested) return '101 Switching Protocols to a request that did not ask for an upgrade';
      if (status !== 101 && this.#informationalHeads >= MAX_INFORMATIONAL_HEADS) return `more than ${MAX_INFORMATIONAL_HEADS} informational (1xx) responses`;
    }
    this.#status = status;
    this.#statusText = statusText;
    this.#minorVersion = line[start + 7] === 0x31 ? 1 : 0;
    this.#fields = [];
    this.#contentLength = -1;
    this.#sawContentLength = false;
    this.#contentLengthError = undefined;
    this.#sawTransferEncoding = false;
    this.#chunkedCodings = 0;
    this.#transferEncodingError = undefined;
    this.#connection = 0;
    this.#keepAliveTimeoutMs = undefined;
    this.#state = HEADER_LINE;
    return undefined;
  }

  /** Reads `name: value` into `fields`; in the head, also notes the fields that decide framing and keep-alive. */
  #fieldLine(line: Buffer, start: number, stop: number, fields: string[], place: string): string | undefined {
    const first = line[start];
    // Folded lines were how a request was smuggled past a proxy that joined them differently.
    if (first === SP || first === HTAB) return `obs-fold (a line starting with whitespace) in the ${place}`;
    let i = start;
    while (i < stop && TOKEN[line[i]!] === 1) i++;
    if (i === stop) return unlessBareCR(line, start, stop, place, `field line without a colon in the ${place}`);
    const after = line[i];
    if (after !== COLON) {
      if (after === SP || after === HTAB) return `whitespace before the colon in the ${place}`;
      return unlessBareCR(line, start, stop, place, `invalid character in a field name in the ${place}`);
    }
    if (i === start) return `empty field name in the ${place}`;
    const nameEnd = i;
    i++;
    while (i < stop && (line[i] === SP || line[i] === HTAB)) i++;
    const valueStart = i;
    for (; i < stop; i++) {
      const byte = line[i]!;
      if (!isText(byte)) {
        return byte === CR ? `bare CR in the ${place}` : `invalid byte 0x${byte.toString(16).padStart(2, '0')} in a field value in the ${place}`;
      }
    }
    let valueEnd = stop;
    while (valueEnd > valueStart && (line[valueEnd - 1] === SP || line[valueEnd - 1] === HTAB)) valueEnd--;
    if (fields.length >= this.#maxHeaderCount * 2) return `more than ${this.#maxHeaderCount} fields in the ${place}`;
    fields.push(line.toString('latin1', start, nameEnd), line.toString('latin1', valueStart, valueEnd));
    if (fields === this.#fields) {
      const nameLength = nameEnd - start;
      if (nameLength === 14) {
        if (equalsLowercase(line, start, 'content-length')) this.#contentLengthField(line, valueStart, valueEnd);
      } else if (nameLength === 17) {
        if (equalsLowercase(line, start, 'transfer-encoding')) this.#transferEncodingField(line, valueStart, valueEnd);
      } else if (nameLength === 10) {
        if (equalsLowercase(line, start, 'connection')) this.#connectionField(line, valueStart, valueEnd);
        else if (equalsLowercase(line, start, 'keep-alive')) this.#keepAliveField(line, valueStart, valueEnd);
      }
    }
    return undefined;
  }

  // Problems with Content-Length and Transfer-Encoding are kept, not raised,
  // until the head ends: a response without a body (to HEAD, 204, 304, 1xx)
  // is framed by its head alone, whatever those fields say.

  #contentLengthField(line: Buffer, start: number, end: number): void {
    this.#sawContentLength = true;
    if (this.#contentLengthError !== undefined) return;
    // A list of equal values ("5, 5") is what some intermediaries make of two
    // equal fields; RFC 9110 section 8.6 lets a recipient take it as one.
    for (let from = start; from <= end;) {
      const to = elementEnd(line, from, end);
      const elementStart = skipOws(line, from, to);
      const value = decimal(line, elementStart, trimOwsEnd(line, elementStart, to));
      if (value < 0) {
        this.#contentLengthError = value === TOO_LARGE ? `Content-Length larger than ${Number.MAX_SAFE_INTEGER}` : 'invalid Content-Length';
        return;
      }
      if (this.#contentLength !== -1 && this.#contentLength !== value) {
        this.#contentLengthError = 'two different Content-Length values';
        return;
      }
      this.#contentLength = value;
      from = to + 1;
    }
  }

  #transferEncodingField(line: Buffer, start: number, end: number): void {
    this.#sawTransferEncoding = true;
    if (this.#transferEncodingError !== undefined) return;
    for (let from = start; from <= end;) {
      const to = elementEnd(line, from, end);
      const elementStart = skipOws(line, from, to);
      const elementStop = trimOwsEnd(line, elementStart, to);
      if (elementStart < elementStop) {
        // weir re-frames every body for the client, so it can only undo chunked,
        // and must not pass on a body it cannot find the end of.
        if (elementStop - elementStart !== 7 || !equalsLowercase(line, elementStart, 'chunked')) {
          this.#transferEncodingError = `unsupported transfer coding "${line.toString('latin1', elementStart, Math.min(elementStop, elementStart + 64))}"`;
          return;
        }
        if (++this.#chunkedCodings > 1) {
          this.#transferEncodingError = 'Transfer-Encoding chunked applied more than once';
          return;
        }
      }
      from = to + 1;
    }
  }

  #connectionField(line: Buffer, start: number, end: number): void {
    for (let from = start; from <= end;) {
      const to = elementEnd(line, from, end);
      const elementStart = skipOws(line, from, to);
      const length = trimOwsEnd(line, elementStart, to) - elementStart;
      if (length === 5 && equalsLowercase(line, elementStart, 'close')) this.#connection |= CONNECTION_CLOSE;
      else if (length === 10 && equalsLowercase(line, elementStart, 'keep-alive')) this.#connection |= CONNECTION_KEEP_ALIVE;
      from = to + 1;
    }
  }

  #keepAliveField(line: Buffer, start: number, end: number): void {
    if (this.#keepAliveTimeoutMs !== undefined) return;
    for (let from = start; from <= end;) {
      const to = elementEnd(line, from, end);
      // timeout OWS "=" OWS 1*9DIGIT: seconds.
      let i = skipOws(line, from, to);
      if (to - i > 7 && equalsLowercase(line, i, 'timeout')) {
        i = skipOws(line, i + 7, to);
        if (line[i] === EQUALS) {
          const digitsStart = skipOws(line, i + 1, to);
          const digitsEnd = trimOwsEnd(line, digitsStart, to);
          const seconds = digitsEnd - digitsStart <= 9 ? decimal(line, digitsStart, digitsEnd) : NOT_DECIMAL;
          if (seconds >= 0) {
            this.#keepAliveTimeoutMs = seconds * 1000;
            return;
          }
        }
      }
      from = to + 1;
    }
  }

  #endOfHead(): string | undefined {
    const status = this.#status;
    if (status < 200) {
      if (status !== 101) {
        this.#informationalHeads++;
        // Each head has the whole limit: the count of 1xx heads bounds the total.
        this.#sectionBytes = 0;
        this.#state = STATUS_LINE;
        return undefined;
      }
      // The bytes after this head belong to the tunnel, not to HTTP.
      this.#state = DONE;
      this.#done = true;
      this.#upgraded = true;
      this.#ended++;
      this.#events.onHead(this.#head(false));
      return undefined;
    }
    const connection = this.#connection;
    let keepAlive = (connection & CONNECTION_CLOSE) === 0 && (this.#minorVersion === 1 || (connection & CONNECTION_KEEP_ALIVE) !== 0);
    let next: number;
    if (this.#headRequest || status === 204 || status === 304) {
      next = DONE;
    } else if (this.#sawTransferEncoding) {
      if (this.#minorVersion === 0) return 'Transfer-Encoding in an HTTP/1.0 response';
      if (this.#sawContentLength) return 'both Transfer-Encoding and Content-Length';
      if (this.#transferEncodingError !== undefined) return this.#transferEncodingError;
      if (this.#chunkedCodings === 0) return 'Transfer-Encoding without a coding';
      next = CHUNK_SIZE_LINE;
    } else if (this.#sawContentLength) {
      if (this.#contentLengthError !== undefined) return this.#contentLengthError;
      this.#remaining = this.#contentLength;
      next = this.#contentLength === 0 ? DONE : LENGTH_BODY;
    } else {
      next = CLOSE_BODY;
      keepAlive = false;
    }
    this.#state = next;
    this.#events.onHead(this.#head(keepAlive));
    if (next === DONE) this.#complete(null);
    return undefined;
  }

  #head(keepAlive: boolean): ResponseHead {
    return {
      status: this.#status,
      statusText: this.#statusText,
      rawHeaders: this.#fields,
      minorVersion: this.#minorVersion,
      keepAlive,
      keepAliveTimeoutMs: this.#keepAliveTimeoutMs,
    };
  }

  #chunkSizeLine(line: Buffer, start: number, stop: number): string | undefined {
    let i = start;
    while (i < stop && line[i] === 0x30) i++;
    const significant = i;
    let size = 0;
    for (; i < stop; i++) {
      const digit = HEX[line[i]!]!;
      if (digit < 0) break;
      size = size * 16 + digit;
    }
    if (i === start) return unlessBareCR(line, start, stop, 'chunk size line', 'invalid chunk size');
    if (i - significant > MAX_CHUNK_SIZE_DIGITS) return `chunk size larger than ${MAX_CHUNK_SIZE_DIGITS} hex digits`;
    if (i < stop) {
      // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] ): skipped, but only printable bytes.
      while (i < stop && (line[i] === SP || line[i] === HTAB)) i++;
      if (i === stop || line[i] !== SEMICOLON) return unlessBareCR(line, start, stop, 'chunk size line', 'invalid chunk size');
      for (i++; i < stop; i++) {
        if (!isText(line[i]!)) return unlessBareCR(line, start, stop, 'chunk size line', 'invalid character in a chunk extension');
      }
    }
    if (size === 0) {
      this.#state = TRAILER_LINE;
      this.#sectionBytes = 0;
      this.#trailers = null;
    } else {
      this.#state = CHUNK_DATA;
      this.#remaining = size;
    }
    return undefined;
  }
}

/**
 * HTAB, SP, VCHAR or obs-text: a byte of a field value, a reason phrase or a
 * chunk extension. (Two comparisons measure faster here than a table.)
 */
function isText(byte: number): boolean {
  return byte < 0x20 ? byte === HTAB : byte !== 0x7f;
}

/** A CR inside a line is reported as such: it says more than the rule it happened to break. */
function unlessBareCR(line: Buffer, start: number, stop: number, place: string, message: string): string {
  const cr = line.indexOf(CR, start);
  return cr !== -1 && cr < stop ? `bare CR in the ${place}` : message;
}

/** ASCII case-insensitive equality of line[start, start + lowercase.length) with an already lower-case string. */
function equalsLowercase(line: Buffer, start: number, lowercase: string): boolean {
  for (let i = 0; i < lowercase.length; i++) {
    let byte = line[start + i]!;
    if (byte >= 0x41 && byte <= 0x5a) byte |= 0x20;
    if (byte !== lowercase.charCodeAt(i)) return false;
  }
  return true;
}

/** Where the list element starting at `from` ends: its comma, or `end`. */
function elementEnd(line: Buffer, from: number, end: number): number {
  while (from < end && line[from] !== COMMA) from++;
  return from;
}

function skipOws(line: Buffer, from: number, end: number): number {
  while (from < end && (line[from] === SP || line[from] === HTAB)) from++;
  return from;
}

function trimOwsEnd(line: Buffer, start: number, end: number): number {
  while (end > start && (line[end - 1] === SP || line[end - 1] === HTAB)) end--;
  return end;
}

const NOT_DECIMAL = -1;
const TOO_LARGE = -2;

/** The value of 1*DIGIT in line[start, end), or NOT_DECIMAL, or TOO_LARGE beyond Number.MAX_SAFE_INTEGER. */
function decimal(line: Buffer, start: number, end: number): number {
  if (start === end) return NOT_DECIMAL;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = line[i]! - 0x30;
    if (digit < 0 || digit > 9) return NOT_DECIMAL;
    value = value * 10 + digit;
    if (value > Number.MAX_SAFE_INTEGER) return TOO_LARGE;
  }
  return value;
}

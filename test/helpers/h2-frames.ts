// A raw HTTP/2 client for tests that must send what no well-behaved client
// sends: floods of resets, header blocks that never end, PING storms. It
// writes frames byte by byte as RFC 9113 section 4 lays them out, encodes
// header blocks as HPACK literals without indexing (RFC 7541 section 6.2.2,
// no Huffman), and reads the frames the server sends back without decoding
// their header blocks: the tests look at frame types, stream ids and error
// codes, and use node:http2 or curl where they need a status.

import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flags = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;

/** RFC 9113 section 7. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

/** RFC 9113 section 6.5.2. */
export const Setting = { HEADER_TABLE_SIZE: 0x1, ENABLE_PUSH: 0x2, MAX_CONCURRENT_STREAMS: 0x3, INITIAL_WINDOW_SIZE: 0x4, MAX_FRAME_SIZE: 0x5, MAX_HEADER_LIST_SIZE: 0x6, ENABLE_CONNECT_PROTOCOL: 0x8 } as const;

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** One frame: the 9-byte header (length, type, flags, stream id) and the payload. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

/** An HPACK integer with an N-bit prefix (RFC 7541 section 5.1); `first` holds the bits above the prefix. */
function hpackInteger(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const bytes = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([Buffer.from(hpackInteger(bytes.length, 7, 0x00)), bytes]);
}

/** A header block of literals without indexing and with a new name: nothing enters the server's dynamic table. */
export function hpackLiterals(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) parts.push(Buffer.from([0x00]), hpackString(name), hpackString(value));
  return Buffer.concat(parts);
}

export function settingsFrame(settings: ReadonlyArray<readonly [number, number]> = []): Buffer {
  const payload = Buffer.alloc(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

/** A GET-like request head for `path` on `authority`, as one HEADERS frame (or its first part when endHeaders is false). */
export function requestHeaders(streamId: number, options: { path?: string; method?: string; authority?: string; scheme?: string; extra?: ReadonlyArray<readonly [string, string]>; endStream?: boolean; endHeaders?: boolean } = {}): Buffer {
  const block = hpackLiterals([
    [':method', options.method ?? 'GET'],
    [':scheme', options.scheme ?? 'http'],
    [':authority', options.authority ?? 'localhost'],
    [':path', options.path ?? '/'],
    ...(options.extra ?? []),
  ]);
  const flags = (options.endStream === false ? 0 : Flags.END_STREAM) | (options.endHeaders === false ? 0 : Flags.END_HEADERS);
  return frame(FrameType.HEADERS, flags, streamId, block);
}

export function rstStreamFrame(streamId: number, code: number = ErrorCode.CANCEL): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FrameType.RST_STREAM, 0, streamId, payload);
}

export function pingFrame(data = Buffer.alloc(8)): Buffer {
  return frame(FrameType.PING, 0, 0, data);
}

export function continuationFrame(streamId: number, block: Buffer, endHeaders = false): Buffer {
  return frame(FrameType.CONTINUATION, endHeaders ? Flags.END_HEADERS : 0, streamId, block);
}

/** GOAWAY's last stream id and error code. */
export function goawayOf(f: Frame): { lastStreamId: number; code: number } {
  return { lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4) };
}

export function rstCodeOf(f: Frame): number {
  return f.payload.readUInt32BE(0);
}

export interface RawH2Options {
  /** Connect over TLS offering only ALPN "h2", trusting this CA. */
  tls?: { ca: string; servername?: string };
  /** Acknowledge the server's SETTINGS as a client must (default true). */
  ackSettings?: boolean;
  /** Send the preface and an empty SETTINGS frame at once (default true). */
  preface?: boolean;
}

/** A connection that speaks HTTP/2 one frame at a time. */
export class RawH2Connection {
  readonly socket: net.Socket;
  /** Every frame received so far, in order. */
  readonly frames: Frame[] = [];
  /** Resolves when the connection is closed, by either side. */
  readonly closed: Promise<void>;
  #pending: Buffer = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  #ackSettings: boolean;
  #isClosed = false;

  private constructor(socket: net.Socket, ackSettings: boolean) {
    this.socket = socket;
    this.#ackSettings = ackSettings;
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#isClosed = true;
        this.#wake();
        resolve();
      }),
    );
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
  }

  static async open(port: number, options: RawH2Options = {}): Promise<RawH2Connection> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = options.tls
        ? tls.connect({ port, host: '127.0.0.1', ca: options.tls.ca, servername: options.tls.servername ?? 'localhost', ALPNProtocols: ['h2'] }, () => resolve(s))
        : net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    if (options.tls && (socket as tls.TLSSocket).alpnProtocol !== 'h2') throw new Error(`server did not agree to h2 by ALPN (got ${String((socket as tls.TLSSocket).alpnProtocol)})`);
    const connection = new RawH2Connection(socket, options.ackSettings ?? true);
    if (options.preface ?? true) {
      connection.send(PREFACE, settingsFrame());
      // A client's SETTINGS ACK is a frame too: sent in the middle of a
      // header block the test is spreading over CONTINUATION frames, it would
      // be a protocol error of the test's own making. Start once it is sent.
      await connection.waitFor("the server's SETTINGS", (f) => f.type === FrameType.SETTINGS && (f.flags & Flags.ACK) === 0);
    }
    return connection;
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Writes frames; returns false when the socket's buffer is full (the server stopped reading). */
  send(...frames: Buffer[]): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  /** The first frame received that matches, waiting for it up to `timeoutMs`. */
  async waitFor(what: string, match: (f: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (this.#isClosed) throw new Error(`connection closed before: ${what} (frames seen: ${this.describe()})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs}ms waiting for: ${what} (frames seen: ${this.describe()})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The server's GOAWAY, waiting for it. */
  async goaway(timeoutMs = 5_000): Promise<{ lastStreamId: number; code: number }> {
    return goawayOf(await this.waitFor('GOAWAY', (f) => f.type === FrameType.GOAWAY, timeoutMs));
  }

  /** Waits for the server to close the connection. */
  async waitClosed(what: string, timeoutMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs}ms waiting for the server to close the connection: ${what} (frames seen: ${this.describe()})`)), timeoutMs);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A short account of the frames received, for failure messages. */
  describe(): string {
    const names = Object.fromEntries(Object.entries(FrameType).map(([name, type]) => [type, name]));
    const counts = new Map<string, number>();
    for (const f of this.frames) {
      const name = names[f.type] ?? `type ${f.type}`;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    return [...counts].map(([name, count]) => `${name}×${count}`).join(', ') || 'none';
  }

  close(): void {
    this.socket.destroy();
  }

  #receive(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 9) {
      const length = this.#pending.readUIntBE(0, 3);
      if (this.#pending.length < 9 + length) break;
      const f: Frame = {
        type: this.#pending.readUInt8(3),
        flags: this.#pending.readUInt8(4),
        streamId: this.#pending.readUInt32BE(5) & 0x7fffffff,
        payload: this.#pending.subarray(9, 9 + length),
      };
      this.#pending = this.#pending.subarray(9 + length);
      this.frames.push(f);
      if (this.#ackSettings && f.type === FrameType.SETTINGS && (f.flags & Flags.ACK) === 0) this.send(frame(FrameType.SETTINGS, Flags.ACK, 0));
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** What a well-behaved HTTP/2 client (node:http2) got for one request. */
export interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
  trailers: http2.IncomingHttpHeaders | undefined;
}

/** One request on an open node:http2 session, the whole body read as text; fails after `timeoutMs`. */
export function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string | Buffer, timeoutMs = 5_000): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`no whole answer to ${String(headers[':method'] ?? 'GET')} ${String(headers[':path'])} within ${timeoutMs}ms`));
    }, timeoutMs);
    let status = 0;
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      responseHeaders = h;
    });
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    stream.on('end', () => {
      clearTimeout(timer);
      resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks).toString('utf8'), trailers });
    });
    if (body !== undefined) stream.end(body);
  });
}

/** A node:http2 session to 127.0.0.1 (h2c, or h2 over TLS trusting `ca`), connected. */
export async function h2Connect(port: number, options: { ca?: string; servername?: string } = {}): Promise<http2.ClientHttp2Session> {
  const { ca } = options;
  const servername = options.servername ?? 'localhost';
  const session = ca
    ? http2.connect(`https://${servername}:${port}`, {
        createConnection: () => tls.connect({ host: '127.0.0.1', port, servername, ca, ALPNProtocols: ['h2'] }),
      })
    : http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  return session;
}

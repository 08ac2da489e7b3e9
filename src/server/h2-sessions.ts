// The HTTP/2 side of a listener: each connection that speaks HTTP/2 (h2 by
// ALPN on TLS, h2c by prior knowledge on plain TCP) becomes a session, and
// each stream on it one request for the driver, the same IncomingRequest an
// HTTP/1.1 request is, answered through an H2Answer.
//
// One client connection can ask for far more work over HTTP/2 than over
// HTTP/1.1, so each session is held to limits, most of them enforced by
// Node's nghttp2 and set here explicitly so that they are visible:
//
// - concurrent streams (SETTINGS_MAX_CONCURRENT_STREAMS, limits.http2_streams,
//   default 100): a stream over the limit is refused with
//   RST_STREAM(REFUSED_STREAM), which a client may retry (RFC 9113 5.1.2),
//   while the client has not yet acknowledged the setting; past a limit it
//   has acknowledged, nghttp2 ends the connection with GOAWAY(PROTOCOL_ERROR);
// - header list size (SETTINGS_MAX_HEADER_LIST_SIZE, limits.http2_header_list,
//   default 32 KiB) and 128 fields: a bigger head is reset with
//   ENHANCE_YOUR_CALM, never buffered; the connection goes on;
// - CONTINUATION floods (a header block that never ends, CVE-2024-27316 and
//   kin): nghttp2 ends the connection after 8 CONTINUATION frames of one
//   block; a block that stops arriving is caught by the header timeout below;
// - rapid reset (CVE-2023-44487, HEADERS then RST_STREAM in a loop): a reset
//   stream stays counted against the concurrent limit until Node has closed
//   it, streams refused past it are counted (maxSessionRejectedStreams 100)
//   and the connection is ended with GOAWAY when they exceed it; nghttp2 also
//   ends a connection that resets more than 1000 streams in a burst or 33 a
//   second after it. A stream reset before weir got to it starts no request,
//   and one reset later abandons its upstream request (H2Answer.onClientGone);
// - PING and SETTINGS floods: nghttp2 ends a connection that makes it queue
//   more than 1000 acknowledgements it cannot send (a client that floods and
//   does not read); Node caps unacknowledged PINGs and SETTINGS of weir's own
//   at 10, and a session's memory at 10 MiB;
// - invalid frames and malformed requests (each stream reset with
//   PROTOCOL_ERROR): 1000 invalid frames or 100 refused streams per
//   connection, then GOAWAY;
// - idle sessions: with no stream open for client_timeouts.keep_alive, the
//   session ends with GOAWAY(NO_ERROR), like an idle HTTP/1.1 keep-alive
//   connection; a connection that never opens a stream counts as idle;
// - header timeout: a header block begun but not finished within
//   client_timeouts.header ends the session (GOAWAY; streams already open
//   finish), the HTTP/2 form of HTTP/1.1's 408 for a head that never ends.
//
// Extended CONNECT (RFC 8441, WebSocket over HTTP/2) is not offered: the
// SETTINGS_ENABLE_CONNECT_PROTOCOL setting stays off, so nghttp2 resets a
// stream with :protocol, and a plain CONNECT is answered 501.

import http2, { constants, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { H2Answer } from '../http/h2-answer.ts';
import type { Logger } from '../log.ts';
import type { IncomingRequest } from '../runtime/exchange.ts';
import { factsOf, type ConnectionFacts } from './connection-facts.ts';
import { readH2RequestHead } from './h2-request.ts';
import type { InFlight } from './in-flight.ts';

export const DEFAULT_H2_MAX_STREAMS = 100;
export const DEFAULT_H2_MAX_HEADER_LIST_BYTES = 32 * 1024;
/** How often sessions are looked at for the idle and header timeouts (Node's HTTP/1.1 server looks every second too). */
const CHECK_INTERVAL_MS = 1_000;

export interface H2Limits {
  maxStreams: number;
  maxHeaderListBytes: number;
  /** client_timeouts.keep_alive: a session with no stream open this long ends. */
  keepAliveMs: number;
  /** client_timeouts.header: a header block must be complete within this. */
  headerTimeoutMs: number;
}

export interface H2SessionsOptions {
  serve(request: IncomingRequest, answer: H2Answer): void;
  limits: () => H2Limits;
  log: Logger;
  /** The sessions run over TLS: requests are https. */
  secure: boolean;
  inFlight: InFlight;
}

interface SessionState {
  readonly facts: ConnectionFacts;
  /** Streams open now. */
  open: number;
  /** The highest stream id whose headers weir has received whole. */
  lastSeenStreamId: number;
  /** Since when no stream has been open (performance.now()). */
  idleSince: number;
  /** Since when a header block has been in progress, if one is. */
  headerBlockSince: number | undefined;
  ending: boolean;
}

function sessionSettings(limits: H2Limits): http2.Settings {
  return {
    maxConcurrentStreams: limits.maxStreams,
    maxHeaderListSize: limits.maxHeaderListBytes,
    enablePush: false,
    enableConnectProtocol: false,
  };
}

function serverOptions(limits: H2Limits): http2.ServerOptions {
  // Two options Node has that its type definitions do not list.
  const options: http2.ServerOptions & { strictSingleValueFields: boolean; maxOutstandingSettings: number } = {
    settings: sessionSettings(limits),
    maxHeaderListPairs: 128,
    maxSessionInvalidFrames: 1000,
    maxSessionRejectedStreams: 100,
    maxOutstandingPings: 10,
    maxOutstandingSettings: 10,
    maxSettings: 32,
    maxSessionMemory: 10,
    streamResetBurst: 1000,
    streamResetRate: 33,
    // A backend's repeated fields go out as it sent them, as over HTTP/1.1.
    strictSingleValueFields: false,
  };
  return options;
}

export class H2Sessions {
  readonly #options: H2SessionsOptions;
  readonly #server: Http2Server;
  readonly #sessions = new Map<ServerHttp2Session, SessionState>();
  /** The connection being handed to Node's HTTP/2 server, while it creates the session. */
  #accepting: ConnectionFacts | undefined;
  #checker: NodeJS.Timeout | undefined;
  #draining = false;
  #settings: http2.Settings;
  #allClosed: Array<() => void> = [];

  constructor(options: H2SessionsOptions) {
    this.#options = options;
    const limits = options.limits();
    this.#settings = sessionSettings(limits);
    // Never listens: connections come from the listener, already through
    // PROXY protocol and TLS, by accept().
    this.#server = http2.createServer(serverOptions(limits));
    this.#server.on('session', (session: ServerHttp2Session) => this.#onSession(session));
    this.#server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders?: string[]) =>
      this.#onStream(stream, rawHeaders ?? flatHeaders(headers)),
    );
  }

  /** Sessions open now. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Makes `socket` (its bytes from the connection preface on) an HTTP/2 session. Node reads any bytes already buffered on it first. */
  accept(socket: Duplex): void {
    this.#accepting = factsOf(socket);
    try {
      this.#server.emit('connection', socket);
    } finally {
      this.#accepting = undefined;
    }
  }

  /** New limits: for sessions to come, and sent to those open in a SETTINGS frame. */
  configure(): void {
    const next = sessionSettings(this.#options.limits());
    if (next.maxConcurrentStreams === this.#settings.maxConcurrentStreams && next.maxHeaderListSize === this.#settings.maxHeaderListSize) return;
    this.#settings = next;
    this.#server.updateSettings(next);
    for (const session of this.#sessions.keys()) {
      try {
        session.settings(next);
      } catch {
        // Closing, or too many SETTINGS unacknowledged: it keeps the old ones.
      }
    }
  }

  /** GOAWAY to every session: no new streams, those open finish. */
  drain(): void {
    this.#draining = true;
    for (const session of this.#sessions.keys()) session.close();
  }

  /** Resolves once every session has closed (after drain(), as their streams finish). */
  allClosed(): Promise<void> {
    if (this.#sessions.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#allClosed.push(resolve));
  }

  /** Ends every session now. */
  destroyAll(): void {
    for (const session of this.#sessions.keys()) session.destroy();
    this.#stopChecking();
  }

  #onSession(session: ServerHttp2Session): void {
    const facts = this.#accepting ?? { peer: '', proxySource: undefined };
    const state: SessionState = { facts, open: 0, lastSeenStreamId: 0, idleSince: performance.now(), headerBlockSince: undefined, ending: false };
    this.#sessions.set(session, state);
    session.on('error', (error: NodeJS.ErrnoException) => {
      // Node closes the session; what is worth a line is why, when nghttp2 or Node ended it for the client's behaviour.
      const quiet = error.code === 'ECONNRESET' || error.code === 'EPIPE';
      const fields = { client: facts.proxySource ?? facts.peer, reason: error.message };
      if (quiet) this.#options.log.debug(fields, `HTTP/2 connection closed: ${error.message}`);
      else this.#options.log.info(fields, `HTTP/2 connection ended: ${error.message}`);
    });
    session.once('close', () => {
      this.#sessions.delete(session);
      if (this.#sessions.size > 0) return;
      this.#stopChecking();
      for (const resolve of this.#allClosed.splice(0)) resolve();
    });
    if (this.#draining) session.close();
    this.#startChecking();
  }

  #onStream(stream: ServerHttp2Stream, rawHeaders: readonly string[]): void {
    // A stream's errors end it; its 'close' tells the answer and the driver.
    stream.on('error', () => undefined);
    const state = this.#sessions.get(stream.session as ServerHttp2Session);
    if (state === undefined) {
      stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const id = stream.id ?? 0;
    if (id > state.lastSeenStreamId) state.lastSeenStreamId = id;
    state.open++;
    stream.once('close', () => {
      state.open--;
      if (state.open === 0) state.idleSince = performance.now();
    });
    // Reset before weir got to it: nothing to serve, no upstream request to start.
    if (stream.closed || stream.destroyed) return;
    const inFlight = this.#options.inFlight;
    inFlight.started();
    stream.once('close', () => inFlight.finished());

    const head = readH2RequestHead(rawHeaders);
    const hasBody = !stream.endAfterHeaders;
    // Node's HTTP/1.1 server answers 100-continue by itself; here it is weir's to send.
    if (hasBody && expectsContinue(head.rawHeaders)) stream.additionalHeaders({ ':status': 100 });
    const request: IncomingRequest = {
      method: head.method,
      url: head.url,
      httpVersionMajor: 2,
      httpVersionMinor: 0,
      http2: true,
      authority: head.authority,
      hasBody,
      rawHeaders: head.rawHeaders,
      peer: state.facts.peer,
      proxySource: state.facts.proxySource,
      secure: this.#options.secure,
      body: stream,
      upgrade: undefined,
    };
    this.#options.serve(request, new H2Answer(stream, head.method === 'HEAD'));
  }

  #startChecking(): void {
    if (this.#checker !== undefined) return;
    this.#checker = setInterval(() => this.#check(), CHECK_INTERVAL_MS);
    this.#checker.unref();
  }

  #stopChecking(): void {
    clearInterval(this.#checker);
    this.#checker = undefined;
  }

  /** The idle and header timeouts of every session. */
  #check(): void {
    const now = performance.now();
    const { keepAliveMs, headerTimeoutMs } = this.#options.limits();
    for (const [session, state] of this.#sessions) {
      if (state.ending || session.destroyed) continue;
      // nghttp2 counts a stream as processed once its HEADERS frame begins;
      // Node hands it over only when the header block is complete. A gap
      // that lasts is a header block that stopped arriving. (A stream nghttp2
      // reset as malformed leaves the same gap, which Node does not report:
      // such a connection ends early too, gracefully, its streams finishing.)
      const processed = session.state.lastProcStreamID ?? 0;
      if (processed > state.lastSeenStreamId) {
        state.headerBlockSince ??= now;
        if (now - state.headerBlockSince >= headerTimeoutMs) {
          this.#end(session, state, `HTTP/2 header block of stream ${processed} not complete within ${headerTimeoutMs}ms (client_timeouts.header)`, 'info');
          // nghttp2 still waits for the rest of the block, so a graceful
          // close would too: with nothing in flight, the connection ends now.
          if (state.open === 0) session.destroy();
        }
        continue;
      }
      state.headerBlockSince = undefined;
      if (state.open === 0 && now - state.idleSince >= keepAliveMs) {
        this.#end(session, state, `idle for ${keepAliveMs}ms with no stream open (client_timeouts.keep_alive)`, 'debug');
      }
    }
  }

  /** GOAWAY; open streams finish, then Node closes the connection. */
  #end(session: ServerHttp2Session, state: SessionState, reason: string, level: 'debug' | 'info'): void {
    state.ending = true;
    this.#options.log[level]({ client: state.facts.proxySource ?? state.facts.peer, reason }, `closing an HTTP/2 connection: ${reason}`);
    session.close();
  }
}

function expectsContinue(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i] === 'expect') return raw[i + 1]!.trim().toLowerCase() === '100-continue';
  }
  return false;
}

/** Node versions before rawHeaders in the 'stream' event: the same list from the headers object. */
function flatHeaders(headers: IncomingHttpHeaders): string[] {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) raw.push(name, one);
  }
  return raw;
}

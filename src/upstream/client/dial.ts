// Opening a connection to a backend: TCP, or TLS verified as the service
// says, ready only once the handshake is done and the certificate checked.
// The connect timeout covers the handshake too: a backend that accepts and
// never finishes TLS is as unreachable as one that never accepts. TLS
// sessions are kept per dialer (one per pool), so the next connection to the
// same backend resumes instead of doing the full handshake again.

import { connect as connectTcp, isIP, type NetConnectOpts, type Socket } from 'node:net';
import { connect as connectTls, TLSSocket, type ConnectionOptions } from 'node:tls';
import type { UpstreamTls } from './tls-options.ts';
import { UpstreamError } from './upstream-error.ts';

export interface DialTarget {
  readonly host: string;
  readonly port: number;
  readonly connectMs: number;
  /** Undefined: plain TCP. */
  readonly tls: UpstreamTls | undefined;
  /** What ALPN offers over TLS: h2 is required when offered; http/1.1 is what a server without ALPN speaks anyway. */
  readonly alpn: 'http/1.1' | 'h2';
}

// How much of a request body may wait in the socket before the client is
// paused. Node's default (16 KiB) is less than one read from the client
// (64 KiB), so every chunk would stop the upload until the socket drained.
const UPLOAD_WINDOW_BYTES = 256 * 1024;

/** TLS sockets whose TCP side has connected, with the ALPN they offer: an error on one before it is ready is the handshake's. */
const handshaking = new WeakMap<Socket, DialTarget['alpn']>();

export class Dialer {
  readonly target: DialTarget;
  /** The last TLS session the backend gave, to resume with. */
  #session: Buffer | undefined;

  constructor(target: DialTarget) {
    this.target = target;
  }

  /**
   * A new connection; `ready` is called once it can carry a request. Until
   * then its errors are best read through connectFailure().
   */
  open(ready: () => void): Socket {
    const { host, port, connectMs, tls } = this.target;
    let socket: Socket;
    if (tls === undefined) {
      // writableHighWaterMark goes to the Duplex under the socket; Node's typings do not list it.
      const options: NetConnectOpts & { writableHighWaterMark: number } = {
        host,
        port,
        noDelay: true,
        keepAlive: true,
        keepAliveInitialDelay: 60_000,
        writableHighWaterMark: UPLOAD_WINDOW_BYTES,
      };
      socket = connectTcp(options);
    } else {
      // highWaterMark (both directions) is what TLSSocket takes of the upload window; Node's typings do not list it.
      const options: ConnectionOptions & { highWaterMark: number } = {
        host,
        port,
        secureContext: tls.secureContext,
        // No SNI for an IP address (RFC 6066); the certificate is then checked against the IP.
        servername: tls.serverName ?? (isIP(host) === 0 ? host : undefined),
        rejectUnauthorized: tls.verify,
        ALPNProtocols: [this.target.alpn],
        session: this.#session,
        highWaterMark: UPLOAD_WINDOW_BYTES,
      };
      if (options.servername === undefined) delete options.servername;
      const secure = connectTls(options);
      secure.setNoDelay(true);
      secure.setKeepAlive(true, 60_000);
      secure.on('session', (session: Buffer) => (this.#session = session));
      secure.once('connect', () => handshaking.set(secure, this.target.alpn));
      socket = secure;
    }
    const timer = setTimeout(() => {
      socket.destroy(new UpstreamError('WEIR_CONNECT_TIMEOUT', `connect timed out after ${connectMs}ms`, false));
    }, connectMs);
    socket.once('close', () => clearTimeout(timer));
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      const refusal = socket instanceof TLSSocket ? this.#alpnRefusal(socket) : undefined;
      if (refusal) socket.destroy(refusal);
      else ready();
    });
    return socket;
  }

  #alpnRefusal(socket: TLSSocket): UpstreamError | undefined {
    if (this.target.alpn !== 'h2' || socket.alpnProtocol === 'h2') return undefined;
    const agreed = socket.alpnProtocol === false ? 'no protocol' : socket.alpnProtocol;
    return new UpstreamError('WEIR_UPSTREAM_TLS', `TLS: backend does not speak HTTP/2 (ALPN agreed on ${agreed}, not h2)`, false);
  }
}

/**
 * What an error on a connection that was not ready yet means: on a TLS
 * connection whose TCP side had connected, the handshake or the certificate
 * check failed, said as "TLS: <OpenSSL's words> (<its code>)". Other errors
 * (refused, unreachable, timed out) are returned as they are.
 */
export function connectFailure(error: Error, socket: Socket): Error {
  const alpn = handshaking.get(socket);
  if (error instanceof UpstreamError || alpn === undefined) return error;
  const { code, reason } = error as NodeJS.ErrnoException & { reason?: string };
  if (code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL') {
    const protocol = alpn === 'h2' ? 'HTTP/2' : 'HTTP/1.1';
    return new UpstreamError('WEIR_UPSTREAM_TLS', `TLS: backend does not speak ${protocol} (it refused ALPN ${alpn})`, false, { cause: error });
  }
  // OpenSSL's own message names its source file and line; its reason is the part that helps.
  const words = reason ?? error.message;
  const said = code === undefined || words.includes(code) ? words : `${words} (${code})`;
  return new UpstreamError('WEIR_UPSTREAM_TLS', `TLS: ${said}`, false, { cause: error });
}

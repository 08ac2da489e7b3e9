// The TLS step of a listener: a handshake on each connection, the
// certificate chosen by SNI, then the secure socket handed to HTTP/2 or to
// HTTP/1.1 by the protocol the client and weir agreed by ALPN ("h2" first
// when HTTP/2 is on, then "http/1.1"; a client that offers neither gets
// HTTP/1.1, as before ALPN existed).
//
// weir makes the TLS socket itself rather than through tls.Server: so that
// one node:http server serves HTTP/1.1 for plain and TLS connections alike,
// after the PROXY header if there is one; so that a client without SNI gets
// the default certificate as of its handshake (a renewal applies to the next
// connection); and so that the handshake is held to the same timeout as an
// HTTP/1.1 head.

import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import { carryFacts } from './connection-facts.ts';
import type { ConnectionStep, Unserved } from './connection-step.ts';

export type SniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;

export interface ListenTls {
  /** The certificate for a client's server name; asked with "" for a client that sends none (the default certificate). */
  sniCallback: SniCallback;
  /** The oldest TLS version accepted. The certificates' own contexts carry it too; this shapes the handshake before one is chosen. */
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** TLS 1.2 cipher list (OpenSSL syntax). */
  ciphers: string;
}

export interface TlsHandshakeOptions {
  tls: ListenTls;
  /** Offer h2 by ALPN. */
  http2: boolean;
  h2: ConnectionStep;
  http1: ConnectionStep;
  /** The whole handshake must be done within this (client_timeouts.header). */
  timeoutMs: () => number;
  log: Logger;
  unserved: Unserved;
}

const VERSION_ORDER: Record<string, number> = { TLSv1: 1, 'TLSv1.1': 2, 'TLSv1.2': 3, 'TLSv1.3': 4 };

export function tlsHandshake(options: TlsHandshakeOptions): ConnectionStep {
  const { tls, log, unserved } = options;
  const alpn = options.http2 ? ['h2', 'http/1.1'] : ['http/1.1'];
  // Before any certificate exists (ACME has not delivered yet): handshakes
  // with SNI still get theirs from the callback, the others fail.
  let noCertificate: SecureContext | undefined;
  const withoutCertificate = (): SecureContext => (noCertificate ??= createSecureContext({ minVersion: tls.minVersion, ciphers: tls.ciphers, honorCipherOrder: true }));

  function handshake(socket: Duplex, context: SecureContext): void {
    // Node hands TLS the bytes a step before put back (a ClientHello sent
    // in the same segment as the PROXY header) before reading the socket
    // itself; the socket stays paused so none of them go elsewhere.
    const secure = new TLSSocket(socket as Socket, {
      isServer: true,
      secureContext: context,
      SNICallback: tls.sniCallback,
      ALPNProtocols: alpn,
      requestCert: false,
      rejectUnauthorized: false,
    });
    carryFacts(socket, secure);
    unserved.add(secure);
    // The TCP socket's errors show on the TLS socket; heard here, they cannot go unheard.
    socket.on('error', () => secure.destroy());
    const timeoutMs = options.timeoutMs();
    const timer = setTimeout(() => fail(new Error(`TLS handshake not complete within ${timeoutMs}ms (client_timeouts.header)`)), timeoutMs);
    function fail(error: Error): void {
      clearTimeout(timer);
      unserved.delete(secure);
      log.debug({ remote: (socket as Partial<Socket>).remoteAddress, reason: error.message }, `TLS handshake failed: ${error.message}`);
      secure.destroy();
      socket.destroy();
    }
    secure.on('error', fail);
    secure.once('close', () => {
      clearTimeout(timer);
      unserved.delete(secure);
    });
    secure.once('secure', () => {
      clearTimeout(timer);
      unserved.delete(secure);
      secure.off('error', fail);
      // What tls.Server does on a handshake: Node's HTTP/2 session waits for
      // a TLS socket to stop "connecting" before it reads.
      (secure as TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
      // The certificate's context decides the versions a handshake accepts;
      // one made without min_version must not let an older client through.
      const version = secure.getProtocol();
      if (version !== null && (VERSION_ORDER[version] ?? 0) < VERSION_ORDER[tls.minVersion]!) {
        log.debug({ remote: secure.remoteAddress, version }, `TLS connection closed: ${version} is older than ${tls.minVersion} (min_version)`);
        secure.destroy();
        return;
      }
      // Whoever serves it next listens for its errors; until then none is left unheard.
      secure.on('error', () => secure.destroy());
      if (secure.alpnProtocol === 'h2') options.h2(secure);
      else {
        secure.pause();
        options.http1(secure);
      }
    });
  }

  return (socket) => {
    // The default certificate as of now, for clients without SNI: a renewed
    // one serves the next handshake.
    tls.sniCallback('', (error, context) => {
      if (socket.destroyed) return;
      handshake(socket, error || context === undefined ? withoutCertificate() : context);
    });
  };
}

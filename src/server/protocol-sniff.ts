// h2c by prior knowledge (RFC 9113 section 3.3): on a plain listener with
// HTTP/2 on, a client may open with the HTTP/2 connection preface instead of
// an HTTP/1.1 request. The first bytes tell which: the preface is fixed, and
// no HTTP/1.1 request starts with "PRI * HTTP/2.0" (it is HTTP/2's on
// purpose). The step reads only as far as the first byte that differs, or
// the whole 24-byte preface, and puts back what it read.

import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import { awaitPrefix } from './await-prefix.ts';
import type { ConnectionStep, Unserved } from './connection-step.ts';

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type SniffVerdict = 'h2' | 'http1' | 'need-more';

/** What the bytes received so far say. */
export function sniffPreface(received: Uint8Array): SniffVerdict {
  const length = Math.min(received.length, H2_PREFACE.length);
  for (let i = 0; i < length; i++) if (received[i] !== H2_PREFACE[i]) return 'http1';
  return length === H2_PREFACE.length ? 'h2' : 'need-more';
}

export interface SniffOptions {
  h2: ConnectionStep;
  http1: ConnectionStep;
  /** A connection that sends too little to tell within this is closed (client_timeouts.header). */
  timeoutMs: () => number;
  log: Logger;
  unserved: Unserved;
}

export function sniffH2cPreface(options: SniffOptions): ConnectionStep {
  const { unserved, log } = options;
  return (socket: Duplex) => {
    const timeoutMs = options.timeoutMs();
    awaitPrefix(socket, {
      unserved,
      timeoutMs,
      onTimeout: () => {
        log.debug({ reason: 'no request' }, `connection closed: nothing sent within ${timeoutMs}ms (client_timeouts.header)`);
        socket.destroy();
      },
      read: (received) => {
        const verdict = sniffPreface(received);
        if (verdict === 'need-more') return undefined;
        return () => {
          socket.pause();
          socket.unshift(received);
          if (verdict === 'h2') options.h2(socket);
          else options.http1(socket);
        };
      },
    });
  };
}

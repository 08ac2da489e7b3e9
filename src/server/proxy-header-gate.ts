// The PROXY protocol step: every connection must open with a PROXY header
// (v1 or v2), as sent by a TCP balancer in front of weir (HAProxy
// send-proxy, AWS NLB, ...); its source address becomes the connection's
// proxySource. A connection without a valid header in time is closed.

import type { Socket } from 'node:net';
import type { Logger } from '../log.ts';
import { factsOf, unmapped } from './connection-facts.ts';
import { awaitPrefix } from './await-prefix.ts';
import type { ConnectionStep, Unserved } from './connection-step.ts';
import { parseProxyHeader } from './proxy-protocol.ts';

export interface ProxyHeaderGateOptions {
  /** How long a connection may take to send its whole header. */
  timeoutMs: number;
  log: Logger;
  unserved: Unserved;
}

export function proxyHeaderGate(next: ConnectionStep, options: ProxyHeaderGateOptions): ConnectionStep {
  const { timeoutMs, log, unserved } = options;
  return (socket) => {
    const refuse = (reason: string): void => {
      log.debug({ remote: (socket as Partial<Socket>).remoteAddress, reason }, `connection closed: ${reason}`);
      socket.destroy();
    };
    awaitPrefix(socket, {
      unserved,
      timeoutMs,
      onTimeout: () => refuse(`no complete PROXY protocol header within ${timeoutMs}ms`),
      read: (received) => {
        const header = parseProxyHeader(received);
        if (header.kind === 'need-more') return undefined;
        if (header.kind === 'invalid') return () => refuse(header.reason);
        return () => {
          if (header.source) factsOf(socket).proxySource = unmapped(header.source.address);
          // Paused, the stream keeps the bytes after the header (and any that
          // arrive meanwhile) for the next step.
          socket.pause();
          if (received.length > header.headerLength) socket.unshift(received.subarray(header.headerLength));
          next(socket);
        };
      },
    });
  };
}

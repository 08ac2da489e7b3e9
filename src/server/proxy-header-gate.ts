// The PROXY protocol step: every connection must open with a PROXY header
// (v1 or v2), as sent by a TCP balancer in front of weir (HAProxy
// send-proxy, AWS NLB, ...); its source address becomes the connection's
// proxySource. A connection without a valid header in time is closed.

import type { Socket } from 'node:net';
import type { Logger } from '../log.ts';
import { factsOf, unmapped } from './connection-facts.ts';
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
    unserved.add(socket);
    let received: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => refuse(`no complete PROXY protocol header within ${timeoutMs}ms`), timeoutMs);

    function stopWaiting(): void {
      clearTimeout(timer);
      unserved.delete(socket);
      socket.off('data', onData);
      socket.off('error', hangUp);
      socket.off('end', hangUp);
      socket.off('close', stopWaiting);
    }
    function refuse(reason: string): void {
      stopWaiting();
      log.debug({ remote: (socket as Partial<Socket>).remoteAddress, reason }, `connection closed: ${reason}`);
      socket.destroy();
    }
    // A client that resets or finishes sending before its header is complete
    // (a TCP health check, say) leaves nothing to report.
    function hangUp(): void {
      stopWaiting();
      socket.destroy();
    }
    function onData(chunk: Buffer): void {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const header = parseProxyHeader(received);
      if (header.kind === 'need-more') return;
      if (header.kind === 'invalid') {
        refuse(header.reason);
        return;
      }
      stopWaiting();
      if (header.source) factsOf(socket).proxySource = unmapped(header.source.address);
      // Paused, the stream keeps the bytes after the header (and any that
      // arrive meanwhile) for the next step.
      socket.pause();
      if (received.length > header.headerLength) socket.unshift(received.subarray(header.headerLength));
      next(socket);
    }

    socket.on('data', onData);
    socket.on('error', hangUp);
    socket.on('end', hangUp);
    socket.on('close', stopWaiting);
  };
}

// What the steps that read a connection's first bytes share (the PROXY
// header, the h2c preface): the connection counts as unserved while they
// read, a client that hangs up or resets costs nothing but its socket, and
// one that sends too little in time is ended by the step's onTimeout.

import type { Duplex } from 'node:stream';
import type { Unserved } from './connection-step.ts';

export interface PrefixReading {
  unserved: Unserved;
  timeoutMs: number;
  /** The connection said too little in time; it is no longer read. */
  onTimeout(): void;
  /** Given every byte so far: undefined to read more, or what to do now that the prefix is known (reading has stopped). */
  read(received: Buffer): (() => void) | undefined;
}

export function awaitPrefix(socket: Duplex, reading: PrefixReading): void {
  const { unserved } = reading;
  unserved.add(socket);
  let received: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => {
    stopWaiting();
    reading.onTimeout();
  }, reading.timeoutMs);

  function stopWaiting(): void {
    clearTimeout(timer);
    unserved.delete(socket);
    socket.off('data', onData);
    socket.off('error', hangUp);
    socket.off('end', hangUp);
    socket.off('close', stopWaiting);
  }
  // A client that resets or finishes sending first (a TCP health check, say) leaves nothing to report.
  function hangUp(): void {
    stopWaiting();
    socket.destroy();
  }
  function onData(chunk: Buffer): void {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const then = reading.read(received);
    if (then === undefined) return;
    stopWaiting();
    then();
  }

  socket.on('data', onData);
  socket.on('error', hangUp);
  socket.on('end', hangUp);
  socket.on('close', stopWaiting);
  socket.resume();
}

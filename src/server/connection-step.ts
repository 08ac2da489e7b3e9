// A listener's connection passes through steps before it speaks HTTP: a
// PROXY protocol header, a TLS handshake, a look at its first bytes (HTTP/2
// preface or HTTP/1.1). Each step takes the connection over and hands it to
// the next; the last serves it.

import type { Duplex } from 'node:stream';

/**
 * Takes a connection over. It arrives paused, with any bytes a step before
 * read past its own part put back (unshifted); the step resumes it when it
 * reads.
 */
export type ConnectionStep = (socket: Duplex) => void;

/**
 * Connections on their way through the steps, not yet serving requests: a
 * drain ends them at once, as they have no request in flight.
 */
export type Unserved = Set<Duplex>;

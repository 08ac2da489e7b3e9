// What weir knows about a client connection beyond its bytes: the peer's
// address, and the client a PROXY protocol header named. A connection may be
// wrapped on its way to HTTP (a TLS socket around the TCP one, a stream
// that replays bytes read ahead), and the wrappers do not all know the
// peer's address; so it is noted once, on the socket the listener accepted,
// and carried to each wrapper.

import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface ConnectionFacts {
  /** The TCP peer's address, IPv4-mapped IPv6 unwrapped. */
  readonly peer: string;
  /** The source address a PROXY protocol header declared. */
  proxySource: string | undefined;
}

const known = new WeakMap<object, ConnectionFacts>();

/** The facts of `socket`, noted now from the socket itself if nobody noted them before. */
export function factsOf(socket: Duplex): ConnectionFacts {
  let facts = known.get(socket);
  if (facts === undefined) {
    facts = { peer: unmapped((socket as Partial<Socket>).remoteAddress ?? ''), proxySource: undefined };
    known.set(socket, facts);
  }
  return facts;
}

/** `wrapper` carries `inner`'s connection: the same facts. */
export function carryFacts(inner: Duplex, wrapper: Duplex): ConnectionFacts {
  const facts = factsOf(inner);
  known.set(wrapper, facts);
  return facts;
}

/** IPv4-mapped IPv6 ("::ffff:10.0.0.1") unwrapped, so IPv4 rules apply. */
export function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

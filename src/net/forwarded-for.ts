// Who the client is when weir sits behind other proxies. X-Forwarded-For is
// written by every hop, so anyone can put anything at its left end; only the
// hops that trusted proxies appended on the right can be believed. The walk
// therefore starts at the socket peer and goes leftwards while the address
// it reached belongs to a trusted proxy.

import { unmapIp, type IpSet } from './ip-set.ts';

/**
 * The client's address: the socket peer unless the peer is trusted, in which
 * case X-Forwarded-For is walked from the right past trusted hops; the first
 * untrusted address is the client. When every hop is trusted, the leftmost
 * one. Invalid entries stop the walk (the last valid hop seen is taken).
 * Several X-Forwarded-For header lines count as one comma-joined list, in
 * order.
 *
 * Entries may carry a port ("192.0.2.1:5678", "[2001:db8::1]:80"), which is
 * dropped. Empty list elements ("a, , b") are skipped, as HTTP's list syntax
 * asks. IPv4-mapped IPv6 addresses are returned as IPv4.
 */
export function clientAddressBehindProxies(peer: string, forwardedFor: readonly string[], trusted: IpSet): string {
  let client = unmapIp(peer) ?? peer;
  if (!trusted.has(client)) return client;
  for (let line = forwardedFor.length - 1; line >= 0; line--) {
    const hops = forwardedFor[line]!.split(',');
    for (let hop = hops.length - 1; hop >= 0; hop--) {
      const text = hops[hop]!.trim();
      if (text === '') continue;
      const address = hopAddress(text);
      // A hop a trusted proxy wrote is an address; anything else was there
      // before the trusted chain, so no hop left of it can be believed either.
      if (address === undefined) return client;
      client = address;
      if (!trusted.has(address)) return address;
    }
  }
  return client;
}

function hopAddress(text: string): string | undefined {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    const inside = text.slice(1, close);
    if (close === -1 || !inside.includes(':') || !isPortSuffix(text.slice(close + 1))) return undefined;
    return unmapIp(inside);
  }
  const colon = text.indexOf(':');
  // One colon separates an IPv4 address from its port; IPv6 has at least two.
  if (colon !== -1 && colon === text.lastIndexOf(':')) {
    return isPortSuffix(text.slice(colon)) ? unmapIp(text.slice(0, colon)) : undefined;
  }
  return unmapIp(text);
}

/** "" or ":" followed by a port number. */
function isPortSuffix(text: string): boolean {
  return text === '' || (/^:[0-9]{1,5}$/.test(text) && Number(text.slice(1)) <= 65535);
}

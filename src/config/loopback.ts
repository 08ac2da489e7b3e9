// Which listen hosts only this machine can reach: the admin API may go
// without a token there, nowhere else.

import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * 127.0.0.0/8, ::1 (in any spelling, and 127.x as an IPv4-mapped IPv6
 * address) and the name "localhost". Any other name may resolve to anything,
 * and 0.0.0.0 and :: are every interface.
 */
export function isLoopbackHost(host: string): boolean {
  const family = isIP(host);
  if (family === 4) return LOOPBACK.check(host, 'ipv4');
  if (family === 6) return LOOPBACK.check(host, 'ipv6');
  return host.toLowerCase() === 'localhost';
}

// Entries of firewall ip_reject: one address ("192.168.1.7", "::1") or a CIDR
// range ("10.0.0.0/8", "2001:db8::/32"), in the form node:net's BlockList takes.

import { isIP } from 'node:net';
import { fail, ok, type Result } from './result.ts';

/** The entry as written when it is valid; the runtime builds its BlockList from that. */
export function parseIpRange(text: string): Result<string> {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return fail(`"${text}" is not an IP address or CIDR range (like "10.0.0.0/8")`);
  if (slash === -1) return ok(text);

  const bits = text.slice(slash + 1);
  const longest = version === 4 ? 32 : 128;
  if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > longest) {
    return fail(`"${text}" has an invalid prefix length; IPv${version} allows /0 to /${longest}`);
  }
  return ok(text);
}

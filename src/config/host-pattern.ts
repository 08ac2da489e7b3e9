// The host a route matches: "api.example.com", "*.example.com", an IPv4
// address or a bracketed IPv6 one. Stored the way routing/host.ts turns a
// Host header into a lookup key (lower case, no port, no trailing dot), so
// the two compare as plain strings.

import { isIP } from 'node:net';
import { fail, ok, type Result } from './result.ts';

const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

export function parseHostPattern(text: string): Result<string> {
  let host = text.toLowerCase();
  if (host.length > 1 && host.endsWith('.')) host = host.slice(0, -1);

  if (host.startsWith('[') && host.endsWith(']') && isIP(host.slice(1, -1)) === 6) return ok(host);
  if (isIP(host) === 4) return ok(host);
  if (host === '*') return fail('"*" alone is not needed: leave host out to match every host');
  if (/:[0-9]*$/.test(host)) return fail(`"${text}": leave the port out; hosts are matched without it`);

  const name = host.startsWith('*.') ? host.slice(2) : host;
  if (!HOST_NAME.test(name) || /^[0-9.]+$/.test(name)) {
    return fail(`"${text}" is not a host name; write "www.example.com" or "*.example.com"`);
  }
  return ok(host);
}

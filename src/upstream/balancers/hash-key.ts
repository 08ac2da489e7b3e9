import type { HashKey, PickContext } from './balancer.ts';
import { hashString } from './hash.ts';
import { equalsLowercase } from '../../http/header-name.ts';

/** Hashes the configured key of a request; see hashString. */
export type KeyHasher = (context: PickContext) => number;

/** hashString returns a uint32, so -1 can mean "the request has no such key". */
const MISSING = -1;

/**
 * The hasher for a configured key. A request without the key (no such header
 * or cookie, or an empty one) is hashed by client IP instead, so it still
 * sticks to one backend rather than all such requests piling onto the one
 * that owns the empty string.
 *
 * The key is hashed where it lies in the request (a cookie value in place in
 * its header), so hashing allocates nothing.
 */
export function keyHasher(hashKey: HashKey): KeyHasher {
  switch (hashKey.kind) {
    case 'client_ip':
      return (context) => hashString(context.clientIp);
    case 'path':
      return (context) => hashString(context.path);
    case 'header': {
      const name = hashKey.name.toLowerCase();
      return (context) => {
        const hash = headerHash(context.headers, name);
        return hash === MISSING ? hashString(context.clientIp) : hash;
      };
    }
    case 'cookie': {
      const name = hashKey.name;
      return (context) => {
        const hash = cookieHash(context.headers, name);
        return hash === MISSING ? hashString(context.clientIp) : hash;
      };
    }
  }
}

/** The hash of the first non-empty header named `lowerName` (any case) in a flat raw list, or MISSING. */
function headerHash(headers: readonly string[], lowerName: string): number {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (equalsLowercase(headers[i]!, lowerName)) {
      const value = headers[i + 1]!;
      if (value.length > 0) return hashString(value);
    }
  }
  return MISSING;
}

/**
 * The hash of the first non-empty value of cookie `name` (cookie names are
 * case-sensitive) in any Cookie header, or MISSING. HTTP/2 clients may split
 * cookies over several Cookie headers, so all are searched.
 */
function cookieHash(headers: readonly string[], name: string): number {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (equalsLowercase(headers[i]!, 'cookie')) {
      const hash = cookieHashIn(headers[i + 1]!, name);
      if (hash !== MISSING) return hash;
    }
  }
  return MISSING;
}

const SPACE = 0x20;
const TAB = 0x09;
const EQUALS = 0x3d;
const QUOTE = 0x22;

/** Looks through one `a=1; b=2` header for `name`, hashing its value in place (surrounding quotes dropped). */
function cookieHashIn(header: string, name: string): number {
  const length = header.length;
  let position = 0;
  while (position < length) {
    while (position < length && isBlank(header.charCodeAt(position))) position++;
    let end = header.indexOf(';', position);
    if (end === -1) end = length;
    if (header.startsWith(name, position) && header.charCodeAt(position + name.length) === EQUALS) {
      let start = position + name.length + 1;
      let stop = end;
      while (stop > start && isBlank(header.charCodeAt(stop - 1))) stop--;
      if (stop - start >= 2 && header.charCodeAt(start) === QUOTE && header.charCodeAt(stop - 1) === QUOTE) {
        start++;
        stop--;
      }
      if (stop > start) return hashString(header, start, stop);
    }
    position = end + 1;
  }
  return MISSING;
}

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB;
}


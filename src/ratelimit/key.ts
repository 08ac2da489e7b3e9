import { createHash } from 'node:crypto';
import type { RateLimitKeyPart } from '../config/types.ts';
import { firstHeaderValue } from '../http/header-name.ts';

/** What a rate limit key may be made of, for one request. */
export interface KeyFacts {
  clientIp: string;
  /** The request's headers as Node.js gives them: [name, value, name, value, ...]. */
  rawHeaders: readonly string[];
  routeName: string;
}

/** Keys longer than this (UTF-8 bytes) are replaced by their digest. */
export const MAX_KEY_BYTES = 256;

/**
 * Builds the bucket key of a request from the configured parts.
 *
 * Each part is written as `<length>:<value>`, so no value, whatever it
 * contains, can make two different combinations produce the same key.
 * Encoded keys start with a digit (or are empty, for a limit with no parts);
 * digests start with "#", so the two never meet. Header values come from the
 * client and may be kilobytes long: past MAX_KEY_BYTES the key is its SHA-1,
 * which bounds the memory of a bucket and the size of a Redis key.
 */
export function compileKey(parts: readonly RateLimitKeyPart[]): (facts: KeyFacts) => string {
  const readers = parts.map(partReader);
  if (readers.length === 1) {
    const read = readers[0]!;
    return (facts) => bounded(encode(read(facts)));
  }
  return (facts) => {
    let key = '';
    for (const read of readers) key += encode(read(facts));
    return bounded(key);
  };
}

function partReader(part: RateLimitKeyPart): (facts: KeyFacts) => string {
  switch (part.kind) {
    case 'client_ip':
      return (facts) => facts.clientIp;
    case 'route':
      return (facts) => facts.routeName;
    case 'header': {
      const name = part.name.toLowerCase();
      return (facts) => firstHeader(facts.rawHeaders, name);
    }
  }
}

function encode(value: string): string {
  return `${value.length}:${value}`;
}

function bounded(key: string): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes, so short keys skip the byte count.
  if (key.length * 3 <= MAX_KEY_BYTES || Buffer.byteLength(key, 'utf8') <= MAX_KEY_BYTES) return key;
  return `#${createHash('sha1').update(key, 'utf8').digest('base64url')}`;
}

/** The first value of header `lowerName` (any case); "" when the request has none, which is a key of its own. */
function firstHeader(rawHeaders: readonly string[], lowerName: string): string {
  return firstHeaderValue(rawHeaders, lowerName) ?? '';
}

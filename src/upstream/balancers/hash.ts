/**
 * The hash behind ip_hash and consistent_hash: FNV-1a (32-bit) over the
 * UTF-16 code units of `text[start, end)`, finished with murmur3's fmix32.
 *
 * Why this and not node:crypto: it runs on every request, allocates nothing
 * and needs no Buffer. Why the finisher: in plain FNV-1a a change in the
 * last character reaches the other bits through a single multiplication, so
 * near-identical strings ("a#1", "a#2", client IPs differing in the last
 * octet) get correlated hashes; fmix32 spreads every input bit over the
 * whole word, so ring points and keys land uniformly on the ring.
 *
 * The range form lets a caller hash part of a string (a cookie value inside
 * a Cookie header) without slicing it out first.
 */
export function hashString(text: string, start = 0, end = text.length): number {
  return mix32(fnv1a(FNV_OFFSET_BASIS, text, start, end));
}

/**
 * hashString(`${prefix}${n}`) for a non-negative integer n, without building
 * the string: `prefixState` is fnv1a(FNV_OFFSET_BASIS, prefix) and n's
 * decimal digits are fed in after it. Ring points are hashed this way, a
 * few thousand per ring build.
 */
export function hashWithNumber(prefixState: number, n: number): number {
  let hash = prefixState;
  // Most significant digit first, in small-integer arithmetic.
  let divisor = 1;
  while (divisor <= n / 10) divisor *= 10;
  for (; divisor > 0; divisor = (divisor / 10) | 0) {
    hash ^= 0x30 + (((n / divisor) | 0) % 10);
    hash = Math.imul(hash, FNV_PRIME);
  }
  return mix32(hash);
}

export const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The FNV-1a state after feeding `text[start, end)` into `state`, before the finisher. */
export function fnv1a(state: number, text: string, start = 0, end = text.length): number {
  let hash = state;
  for (let i = start; i < end; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash;
}

/** murmur3's 32-bit finisher: a bijection on uint32 with full avalanche. */
export function mix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

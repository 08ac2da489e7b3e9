// A set of IP addresses and CIDR ranges that answers "is this client listed?"
// and "which entry listed it?" with one search, so a deny list of ten thousand
// ranges costs a request about what one of ten does. node:net's BlockList
// answers only the first question; naming the rule took one BlockList per rule.
//
// CIDR blocks are either disjoint or nested, never partly overlapping. That
// lets from() cut the entries into sorted, disjoint segments, each labelled
// with the first entry (in the order given) that covers it: one binary search
// then answers both has() and firstMatch().
//
// The IPv4-mapped IPv6 space (::ffff:0:0/96) is IPv4: "::ffff:10.1.2.3" and
// "10.1.2.3" are the same client, whichever way a dual-stack socket spells it.

interface Block {
  start: bigint;
  end: bigint;
  entry: number;
}

/** Disjoint ranges sorted by start; `entries[i]` is the index of the first entry covering segment i. */
interface Segments<Key extends number | string> {
  starts: ArrayLike<Key>;
  ends: ArrayLike<Key>;
  entries: Uint32Array;
}

interface Ipv4Segments extends Segments<number> {
  /**
   * For large sets, `byTop16[p]` is the first segment starting at or after
   * p.0.0.0/16's first address, which narrows a search to the segments near
   * the key. A plain binary search over 20,000 segments took ~110 ns, mostly
   * mispredicted branches; through this index, ~20 ns.
   */
  byTop16: Uint32Array | undefined;
}

// Below this many segments a binary search is as fast as the index, which costs 256 KiB.
const INDEXED_FROM = 256;

const MAPPED_START = 0xffff_0000_0000n;
const MAPPED_END = 0xffff_ffff_ffffn;
const IPV4_END = 0xffff_ffffn;

// has() runs per request: parsing IPv6 into a reused array avoids garbage.
const scratch: number[] = [0, 0, 0, 0, 0, 0, 0, 0];

export class IpSet {
  /** The number of entries given to from(), duplicates included. */
  readonly size: number;
  readonly #entries: readonly string[];
  readonly #v4: Ipv4Segments;
  readonly #v6: Segments<string>;

  private constructor(entries: readonly string[], v4: Ipv4Segments, v6: Segments<string>) {
    this.size = entries.length;
    this.#entries = entries;
    this.#v4 = v4;
    this.#v6 = v6;
  }

  /**
   * Throws an Error naming the entry when one is invalid. Entries: one
   * address ("192.168.1.7", "::1") or a CIDR range ("10.0.0.0/8",
   * "2001:db8::/32"); host bits are ignored ("10.1.2.3/8" is 10.0.0.0/8).
   * IPv4-mapped ranges ("::ffff:10.0.0.0/104") are stored as the IPv4 range
   * they cover, and an IPv6 range holding the whole mapped space (like "::/0")
   * covers every IPv4 address too.
   */
  static from(entries: readonly string[]): IpSet {
    const v4: Block[] = [];
    const v6: Block[] = [];
    entries.forEach((text, entry) => {
      const range = parseRange(text);
      if (range.version === 4) {
        v4.push({ start: range.start, end: range.end, entry });
      } else if (range.start >= MAPPED_START && range.end <= MAPPED_END) {
        v4.push({ start: range.start - MAPPED_START, end: range.end - MAPPED_START, entry });
      } else {
        v6.push({ start: range.start, end: range.end, entry });
        if (range.start <= MAPPED_START && range.end >= MAPPED_END) v4.push({ start: 0n, end: IPV4_END, entry });
      }
    });

    const v4Segments = disjointSegments(v4);
    const v6Segments = disjointSegments(v6);
    // One UTF-16 code unit per 16-bit group: strings compare unit by unit,
    // so these eight-unit keys sort like the 128-bit numbers they encode.
    const v6Key = (value: bigint): string => String.fromCharCode(...Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn)));
    return new IpSet(
      [...entries],
      ipv4Segments(v4Segments),
      {
        starts: v6Segments.map((segment) => v6Key(segment.start)),
        ends: v6Segments.map((segment) => v6Key(segment.end)),
        entries: Uint32Array.from(v6Segments, (segment) => segment.entry),
      },
    );
  }

  /**
   * True when the address is in any entry. IPv4-mapped IPv6 addresses, dotted
   * ("::ffff:10.1.2.3") or hex ("::ffff:a01:203"), are checked as IPv4; an
   * IPv6 zone ("fe80::1%eth0") is ignored. Text that is not an address is
   * never in the set.
   */
  has(address: string): boolean {
    return this.#entryIndex(address) !== -1;
  }

  /** The first entry, in the order given, that contains the address: for log lines naming the rule. */
  firstMatch(address: string): string | undefined {
    const index = this.#entryIndex(address);
    return index === -1 ? undefined : this.#entries[index];
  }

  #entryIndex(address: string): number {
    const v4 = parseIpv4(address, 0, address.length);
    if (v4 !== -1) return ipv4EntryAt(this.#v4, v4);
    if (!parseIpv6(address, scratch)) return -1;
    const mapped = mappedIpv4(scratch);
    if (mapped !== -1) return ipv4EntryAt(this.#v4, mapped);
    const v6 = this.#v6;
    if (v6.entries.length === 0) return -1;
    const [a, b, c, d, e, f, g, h] = scratch as [number, number, number, number, number, number, number, number];
    return entryAt(v6, String.fromCharCode(a, b, c, d, e, f, g, h), 0, v6.entries.length - 1);
  }
}

/**
 * The address as weir names a client: IPv4 and IPv4-mapped IPv6 (either
 * spelling) as dotted IPv4, other IPv6 as written. Undefined when the text is
 * not an IP address.
 */
export function unmapIp(text: string): string | undefined {
  if (parseIpv4(text, 0, text.length) !== -1) return text;
  const groups: number[] = [];
  if (!parseIpv6(text, groups)) return undefined;
  const mapped = mappedIpv4(groups);
  if (mapped === -1) return text;
  return `${mapped >>> 24}.${(mapped >>> 16) & 0xff}.${(mapped >>> 8) & 0xff}.${mapped & 0xff}`;
}

function ipv4Segments(segments: readonly Block[]): Ipv4Segments {
  const starts = Uint32Array.from(segments, (segment) => Number(segment.start));
  let byTop16: Uint32Array | undefined;
  if (segments.length >= INDEXED_FROM) {
    byTop16 = new Uint32Array(0x10001);
    let segment = 0;
    for (let top = 0; top <= 0x10000; top++) {
      while (segment < starts.length && starts[segment]! < top * 0x10000) segment++;
      byTop16[top] = segment;
    }
  }
  return {
    starts,
    ends: Uint32Array.from(segments, (segment) => Number(segment.end)),
    entries: Uint32Array.from(segments, (segment) => segment.entry),
    byTop16,
  };
}

function ipv4EntryAt(segments: Ipv4Segments, key: number): number {
  const index = segments.byTop16;
  if (index === undefined) return entryAt(segments, key, 0, segments.entries.length - 1);
  // The segment holding the key starts in the key's /16 or is the last one starting before it.
  const top = key >>> 16;
  return entryAt(segments, key, Math.max(index[top]! - 1, 0), index[top + 1]! - 1);
}

/** Searches segments low to high (inclusive): the last segment starting at or before the key is the only one that can hold it. */
function entryAt<Key extends number | string>(segments: Segments<Key>, key: Key, low: number, high: number): number {
  const { starts, ends, entries } = segments;
  let candidate = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (starts[middle]! <= key) {
      candidate = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return candidate !== -1 && key <= ends[candidate]! ? entries[candidate]! : -1;
}

/**
 * Sweeps the blocks in address order, keeping the blocks that enclose the
 * current position on a stack. Each stack level carries the lowest entry index
 * of itself and its enclosing blocks, which is the first match for addresses
 * inside it. Neighbouring segments with the same first match are joined, so
 * entries shadowed by an earlier, wider one cost nothing.
 */
function disjointSegments(blocks: Block[]): Block[] {
  // Outer blocks before the blocks they contain.
  blocks.sort((a, b) => (a.start !== b.start ? (a.start < b.start ? -1 : 1) : a.end !== b.end ? (a.end > b.end ? -1 : 1) : a.entry - b.entry));
  const segments: Block[] = [];
  const open: Array<{ end: bigint; entry: number }> = [];
  let cursor = 0n;

  function emit(end: bigint, entry: number): void {
    if (cursor > end) return;
    const last = segments.at(-1);
    if (last && last.entry === entry && last.end + 1n === cursor) last.end = end;
    else segments.push({ start: cursor, end, entry });
    cursor = end + 1n;
  }
  function closeBefore(position: bigint | undefined): void {
    for (let top = open.at(-1); top && (position === undefined || top.end < position); top = open.at(-1)) {
      open.pop();
      emit(top.end, top.entry);
    }
  }

  for (const block of blocks) {
    closeBefore(block.start);
    const parent = open.at(-1);
    if (parent) emit(block.start - 1n, parent.entry);
    cursor = block.start;
    open.push({ end: block.end, entry: parent ? Math.min(parent.entry, block.entry) : block.entry });
  }
  closeBefore(undefined);
  return segments;
}

function parseRange(text: string): { version: 4 | 6; start: bigint; end: bigint } {
  const slash = text.indexOf('/');
  const addressEnd = slash === -1 ? text.length : slash;
  let version: 4 | 6;
  let value: bigint;
  const v4 = parseIpv4(text, 0, addressEnd);
  const groups: number[] = [];
  if (v4 !== -1) {
    version = 4;
    value = BigInt(v4);
  } else if (parseIpv6(text.slice(0, addressEnd), groups)) {
    version = 6;
    value = groups.reduce((sum, group) => (sum << 16n) | BigInt(group), 0n);
  } else {
    throw new Error(`"${text}" is not an IP address or CIDR range (like "10.0.0.0/8" or "2001:db8::/32")`);
  }

  const width = version === 4 ? 32 : 128;
  let bits = width;
  if (slash !== -1) {
    const bitsText = text.slice(slash + 1);
    bits = Number(bitsText);
    if (!/^[0-9]{1,3}$/.test(bitsText) || bits > width) {
      throw new Error(`"${text}" has an invalid prefix length; IPv${version} allows /0 to /${width}`);
    }
  }
  const hostBits = BigInt(width - bits);
  const start = (value >> hostBits) << hostBits;
  return { version, start, end: start | ((1n << hostBits) - 1n) };
}

/** The address as a number, or -1 unless text[from, to) is dotted-decimal IPv4 (no leading zeros, as node:net has it). */
function parseIpv4(text: string, from: number, to: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) {
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + code - 48;
      if (octet > 255) return -1;
      digits++;
    } else if (code === 46 && digits > 0 && dots < 3) {
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : -1;
}

/** Fills `groups` with the eight 16-bit groups of an IPv6 address; false when the text is not one. */
function parseIpv6(text: string, groups: number[]): boolean {
  let end = text.indexOf('%');
  if (end === -1) end = text.length;
  else if (end === 0 || end === text.length - 1) return false;

  let count = 0;
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < end) {
    const groupStart = i;
    let value = 0;
    for (; i < end; i++) {
      const digit = hexDigit(text.charCodeAt(i));
      if (digit === -1) break;
      if (i - groupStart === 4) return false;
      value = value * 16 + digit;
    }
    if (i < end && text.charCodeAt(i) === 46) {
      // An embedded IPv4 address ends the text and fills the last two groups.
      const v4 = parseIpv4(text, groupStart, end);
      if (v4 === -1 || count > 6) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      break;
    }
    if (i === groupStart || count === 8) return false;
    groups[count++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (text.charCodeAt(i) === 58 && i < end) {
      if (gap !== -1) return false;
      gap = count;
      i++;
    } else if (i === end) {
      return false;
    }
  }

  if (gap === -1) return count === 8;
  if (count > 7) return false;
  const tail = count - gap;
  for (let k = 1; k <= tail; k++) groups[8 - k] = groups[count - k]!;
  for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  return true;
}

function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** The IPv4 address of ::ffff:a.b.c.d as a number, or -1 for any other IPv6 address. */
function mappedIpv4(groups: readonly number[]): number {
  if (groups[0] !== 0 || groups[1] !== 0 || groups[2] !== 0 || groups[3] !== 0 || groups[4] !== 0 || groups[5] !== 0xffff) return -1;
  return groups[6]! * 0x10000 + groups[7]!;
}

// The PROXY protocol header (HAProxy's spec, versions 1 and 2): a TCP load
// balancer in front of weir opens each connection with a line or a binary
// block that names the client it accepted, since weir's socket only sees the
// balancer. The parser is pure and stateless: the listener hands it all bytes
// received so far and calls again with more until it says done or invalid.

import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import { unmapIp } from '../net/ip-set.ts';

export interface ProxySource {
  address: string;
  port: number;
}

/**
 * When done, the header is the first `headerLength` bytes; what follows is
 * the client's own stream. `source` is undefined for v1 UNKNOWN, the v2 LOCAL
 * command (the balancer's health checks) and anything but TCP over IPv4/IPv6.
 */
export type ProxyHeaderParse =
  | { kind: 'need-more' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'done'; headerLength: number; source: ProxySource | undefined };

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The longest v1 line the spec allows ("PROXY TCP6 " + two full IPv6 addresses and ports), CRLF included. */
const V1_MAX_LENGTH = 107;
const V2_SIGNATURE = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1');
const V2_FIXED_LENGTH = 16;
/**
 * The spec allows 65535 bytes of addresses and TLVs; balancers send tens
 * (AWS, GCP and HAProxy TLVs included). A cap keeps a connection that has not
 * yet said who it is from holding 64 KiB.
 */
export const V2_MAX_BODY_LENGTH = 4096;

const NEED_MORE: ProxyHeaderParse = { kind: 'need-more' };

export function parseProxyHeader(bytes: Uint8Array): ProxyHeaderParse {
  if (startsLike(bytes, V2_SIGNATURE)) return bytes.length < V2_SIGNATURE.length ? NEED_MORE : parseV2(bytes);
  if (startsLike(bytes, V1_PREFIX)) return bytes.length < V1_PREFIX.length ? NEED_MORE : parseV1(bytes);
  const preview = Buffer.from(bytes.subarray(0, 16)).toString('latin1');
  return invalid(`no PROXY protocol header; the connection starts with ${JSON.stringify(preview)}`);
}

/** True when the bytes so far are a prefix of `signature` or start with all of it. */
function startsLike(bytes: Uint8Array, signature: Buffer): boolean {
  const length = Math.min(bytes.length, signature.length);
  for (let i = 0; i < length; i++) if (bytes[i] !== signature[i]) return false;
  return true;
}

function parseV1(bytes: Uint8Array): ProxyHeaderParse {
  const newline = bytes.subarray(0, V1_MAX_LENGTH).indexOf(0x0a);
  if (newline === -1) {
    return bytes.length >= V1_MAX_LENGTH ? invalid(`v1 header has no CRLF within ${V1_MAX_LENGTH} bytes`) : NEED_MORE;
  }
  if (bytes[newline - 1] !== 0x0d) return invalid('v1 header line ends in LF, not CRLF');
  const line = Buffer.from(bytes.subarray(0, newline - 1)).toString('latin1');
  const headerLength = newline + 1;
  const fields = line.split(' ');
  const protocol = fields[1];
  // The sender could not say who the client is (or would not); the spec says to use the socket's own addresses.
  if (protocol === 'UNKNOWN') return { kind: 'done', headerLength, source: undefined };
  if (protocol !== 'TCP4' && protocol !== 'TCP6') {
    return invalid(`v1 header ${JSON.stringify(line)}: protocol is not TCP4, TCP6 or UNKNOWN`);
  }
  const [, , sourceText = '', destinationText = '', sourcePort = '', destinationPort = ''] = fields;
  const isAddress = protocol === 'TCP4' ? isIPv4 : (text: string) => isIPv6(text) && !text.includes('%');
  if (fields.length !== 6 || !isAddress(sourceText) || !isAddress(destinationText) || !isPort(sourcePort) || !isPort(destinationPort)) {
    return invalid(`v1 header ${JSON.stringify(line)} is not "PROXY ${protocol} <source> <destination> <source port> <destination port>"`);
  }
  const address = protocol === 'TCP4' ? sourceText : canonicalIpv6(sourceText);
  return { kind: 'done', headerLength, source: { address, port: Number(sourcePort) } };
}

/** Decimal 0-65535 without leading zeros, as the v1 spec writes ports. */
function isPort(text: string): boolean {
  return /^(0|[1-9][0-9]{0,4})$/.test(text) && Number(text) <= 65535;
}

const COMMAND_LOCAL = 0x0;
const COMMAND_PROXY = 0x1;
const FAMILY_INET = 0x1;
const FAMILY_INET6 = 0x2;
const FAMILY_UNIX = 0x3;
const TRANSPORT_STREAM = 0x1;
const TRANSPORT_DGRAM = 0x2;

function parseV2(bytes: Uint8Array): ProxyHeaderParse {
  if (bytes.length < V2_FIXED_LENGTH) return NEED_MORE;
  const version = bytes[12]! >> 4;
  const command = bytes[12]! & 0x0f;
  const family = bytes[13]! >> 4;
  const transport = bytes[13]! & 0x0f;
  const bodyLength = (bytes[14]! << 8) | bytes[15]!;
  if (version !== 2) return invalid(`v2 signature with version ${version}`);
  if (command !== COMMAND_LOCAL && command !== COMMAND_PROXY) return invalid(`v2 header with unknown command ${command}`);
  // The spec asks receivers to drop connections that use values it does not define.
  if (family > FAMILY_UNIX || transport > TRANSPORT_DGRAM) return invalid(`v2 header with unknown address family ${family} or transport ${transport}`);
  if (bodyLength > V2_MAX_BODY_LENGTH) return invalid(`v2 header declares ${bodyLength} bytes of addresses and TLVs; weir accepts at most ${V2_MAX_BODY_LENGTH}`);
  const headerLength = V2_FIXED_LENGTH + bodyLength;
  if (bytes.length < headerLength) return NEED_MORE;

  // LOCAL is the balancer's own connection (a health check): no client to name.
  // TLVs after the addresses carry nothing weir uses; headerLength skips them.
  if (command === COMMAND_LOCAL || transport !== TRANSPORT_STREAM) return { kind: 'done', headerLength, source: undefined };
  const body = bytes.subarray(V2_FIXED_LENGTH, headerLength);
  if (family === FAMILY_INET) {
    if (body.length < 12) return invalid(`v2 header for TCP over IPv4 has ${body.length} bytes of addresses, fewer than 12`);
    return { kind: 'done', headerLength, source: { address: body.subarray(0, 4).join('.'), port: (body[8]! << 8) | body[9]! } };
  }
  if (family === FAMILY_INET6) {
    if (body.length < 36) return invalid(`v2 header for TCP over IPv6 has ${body.length} bytes of addresses, fewer than 36`);
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((body[i]! << 8) | body[i + 1]!).toString(16));
    return { kind: 'done', headerLength, source: { address: canonicalIpv6(groups.join(':')), port: (body[32]! << 8) | body[33]! } };
  }
  return { kind: 'done', headerLength, source: undefined };
}

/** The RFC 5952 form ("2001:db8::1"), and an IPv4-mapped address as IPv4, as weir names clients elsewhere. */
function canonicalIpv6(text: string): string {
  const canonical = new SocketAddress({ address: text, family: 'ipv6' }).address;
  return unmapIp(canonical) ?? canonical;
}

function invalid(reason: string): ProxyHeaderParse {
  return { kind: 'invalid', reason };
}

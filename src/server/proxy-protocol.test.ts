import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProxyHeader, V2_MAX_BODY_LENGTH, type ProxyHeaderParse } from './proxy-protocol.ts';

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 header: version 2, `command` 0 LOCAL or 1 PROXY, `familyTransport` like 0x11 (TCP over IPv4), then the body. */
function v2(command: number, familyTransport: number, body: Buffer): Buffer {
  const fixed = Buffer.from([0x20 | command, familyTransport, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([SIGNATURE, fixed, body]);
}

function inet(source: number[], destination: number[], sourcePort: number, destinationPort: number): Buffer {
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(sourcePort, 0);
  ports.writeUInt16BE(destinationPort, 2);
  return Buffer.concat([Buffer.from(source), Buffer.from(destination), ports]);
}

function parse(bytes: Buffer | string): ProxyHeaderParse {
  return parseProxyHeader(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
}

function assertInvalid(bytes: Buffer | string, reason: RegExp): void {
  const result = parse(bytes);
  assert.equal(result.kind, 'invalid', JSON.stringify(bytes.toString()));
  if (result.kind === 'invalid') assert.match(result.reason, reason);
}

/** Feeds the header one byte more at a time: every proper prefix needs more, the whole is `expected`. */
function assertByteByByte(bytes: Buffer, expected: ProxyHeaderParse): void {
  for (let length = 0; length < bytes.length; length++) {
    assert.deepEqual(parseProxyHeader(bytes.subarray(0, length)), { kind: 'need-more' }, `after ${length} of ${bytes.length} bytes`);
  }
  assert.deepEqual(parseProxyHeader(bytes), expected);
}

describe('PROXY protocol v1', () => {
  it('reads TCP4 and TCP6 sources and the header length', () => {
    const line = 'PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n';
    assert.deepEqual(parse(`${line}GET / HTTP/1.1\r\n`), { kind: 'done', headerLength: line.length, source: { address: '192.0.2.10', port: 56324 } });
    const v6 = 'PROXY TCP6 2001:DB8:0:0::7 2001:db8::1 65535 80\r\n';
    assert.deepEqual(parse(v6), { kind: 'done', headerLength: v6.length, source: { address: '2001:db8::7', port: 65535 } });
    const mapped = 'PROXY TCP6 ::ffff:192.0.2.10 ::ffff:198.51.100.1 0 80\r\n';
    assert.deepEqual(parse(mapped), { kind: 'done', headerLength: mapped.length, source: { address: '192.0.2.10', port: 0 } });
  });

  it('needs more until the CRLF arrives', () => {
    const line = 'PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n';
    assertByteByByte(Buffer.from(line), { kind: 'done', headerLength: line.length, source: { address: '192.0.2.10', port: 56324 } });
  });

  it('UNKNOWN names no source, whatever follows it', () => {
    assert.deepEqual(parse('PROXY UNKNOWN\r\n'), { kind: 'done', headerLength: 15, source: undefined });
    const line = 'PROXY UNKNOWN ffff:f::1 ffff:f::2 1 2\r\n';
    assert.deepEqual(parse(`${line}GET`), { kind: 'done', headerLength: line.length, source: undefined });
  });

  it('accepts the longest line the spec allows, 107 bytes', () => {
    const full = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const line = `PROXY TCP6 ${full} ${full} 65535 65535\r\n`;
    assert.equal(line.length, 104);
    assert.equal(parse(line).kind, 'done');
    assert.equal(`PROXY UNKNOWN ${'x'.repeat(91)}\r\n`.length, 107);
    assert.equal(parse(`PROXY UNKNOWN ${'x'.repeat(91)}\r\n`).kind, 'done');
    assertInvalid(`PROXY UNKNOWN ${'x'.repeat(92)}\r\n`, /no CRLF within 107 bytes/);
    assertInvalid(`PROXY TCP4 ${'1'.repeat(200)}`, /no CRLF within 107 bytes/);
  });

  it('rejects invalid addresses, ports and shapes', () => {
    assertInvalid('PROXY TCP4 192.0.2.256 198.51.100.1 1 2\r\n', /is not "PROXY TCP4 <source>/);
    assertInvalid('PROXY TCP4 2001:db8::1 198.51.100.1 1 2\r\n', /is not "PROXY TCP4/);
    assertInvalid('PROXY TCP6 192.0.2.1 2001:db8::1 1 2\r\n', /is not "PROXY TCP6/);
    assertInvalid('PROXY TCP6 fe80::1%eth0 2001:db8::1 1 2\r\n', /is not "PROXY TCP6/);
    assertInvalid('PROXY TCP4 192.0.2.1 198.51.100.1 65536 2\r\n', /is not/);
    assertInvalid('PROXY TCP4 192.0.2.1 198.51.100.1 01 2\r\n', /is not/);
    assertInvalid('PROXY TCP4 192.0.2.1 198.51.100.1 -1 2\r\n', /is not/);
    assertInvalid('PROXY TCP4 192.0.2.1 198.51.100.1 1\r\n', /is not/);
    assertInvalid('PROXY TCP4 192.0.2.1 198.51.100.1 1 2 3\r\n', /is not/);
    assertInvalid('PROXY TCP4  192.0.2.1 198.51.100.1 1 2\r\n', /is not/);
    assertInvalid('PROXY UDP4 192.0.2.1 198.51.100.1 1 2\r\n', /protocol is not TCP4, TCP6 or UNKNOWN/);
    assertInvalid('PROXY TCP4 192.0.2.1 198.51.100.1 1 2\n', /ends in LF, not CRLF/);
    assertInvalid('PROXY \n', /ends in LF, not CRLF/);
  });
});

describe('PROXY protocol v2', () => {
  it('reads a TCP over IPv4 source, skipping TLVs', () => {
    const tlvs = Buffer.from([0x04, 0x00, 0x03, 0x61, 0x62, 0x63]);
    const header = v2(1, 0x11, Buffer.concat([inet([192, 0, 2, 10], [198, 51, 100, 1], 56324, 443), tlvs]));
    const expected = { kind: 'done', headerLength: 16 + 12 + 6, source: { address: '192.0.2.10', port: 56324 } } as const;
    assertByteByByte(header, expected);
    assert.deepEqual(parse(Buffer.concat([header, Buffer.from('GET / HTTP/1.1\r\n')])), expected);
  });

  it('reads a TCP over IPv6 source in its canonical form', () => {
    const source = Buffer.from('20010db8000000000000000000000007', 'hex');
    const destination = Buffer.from('20010db8000000000000000000000001', 'hex');
    const header = v2(1, 0x21, Buffer.concat([source, destination, Buffer.from([0xdc, 0x04, 0x01, 0xbb])]));
    assertByteByByte(header, { kind: 'done', headerLength: 52, source: { address: '2001:db8::7', port: 56324 } });

    const mapped = Buffer.from('00000000000000000000ffffc000020a', 'hex');
    const mappedHeader = v2(1, 0x21, Buffer.concat([mapped, destination, Buffer.from([0, 80, 0, 80])]));
    assert.deepEqual(parse(mappedHeader), { kind: 'done', headerLength: 52, source: { address: '192.0.2.10', port: 80 } });
  });

  it('LOCAL, UNSPEC, AF_UNIX and UDP name no source', () => {
    assert.deepEqual(parse(v2(0, 0x00, Buffer.alloc(0))), { kind: 'done', headerLength: 16, source: undefined });
    assert.deepEqual(parse(v2(0, 0x11, inet([192, 0, 2, 10], [198, 51, 100, 1], 1, 2))), { kind: 'done', headerLength: 28, source: undefined });
    assert.deepEqual(parse(v2(1, 0x00, Buffer.alloc(0))), { kind: 'done', headerLength: 16, source: undefined });
    assert.deepEqual(parse(v2(1, 0x31, Buffer.alloc(216))), { kind: 'done', headerLength: 232, source: undefined });
    assert.deepEqual(parse(v2(1, 0x12, inet([192, 0, 2, 10], [198, 51, 100, 1], 1, 2))), { kind: 'done', headerLength: 28, source: undefined });
  });

  it('rejects what the spec does not define, short address blocks and oversized headers', () => {
    const body = inet([192, 0, 2, 10], [198, 51, 100, 1], 1, 2);
    const wrongVersion = v2(1, 0x11, body);
    wrongVersion[12] = 0x11;
    assertInvalid(wrongVersion, /version 1/);
    assertInvalid(v2(2, 0x11, body), /unknown command 2/);
    assertInvalid(v2(1, 0x41, body), /unknown address family 4/);
    assertInvalid(v2(1, 0x13, body), /transport 3/);
    assertInvalid(v2(1, 0x11, body.subarray(0, 11)), /fewer than 12/);
    assertInvalid(v2(1, 0x21, Buffer.alloc(35)), /fewer than 36/);
    const oversized = v2(1, 0x11, Buffer.alloc(V2_MAX_BODY_LENGTH + 1));
    assertInvalid(oversized.subarray(0, 16), /declares 4097 bytes/);
    assert.equal(parse(v2(1, 0x11, Buffer.concat([body, Buffer.alloc(V2_MAX_BODY_LENGTH - 12)]))).kind, 'done');
  });
});

describe('neither version', () => {
  it('is invalid as soon as a byte differs from both signatures', () => {
    assertInvalid('GET / HTTP/1.1\r\nHost: x\r\n\r\n', /no PROXY protocol header; the connection starts with "GET \/ HTTP\/1.1\\r\\n"$/);
    assertInvalid('G', /no PROXY protocol header/);
    assertInvalid('PROXZ', /no PROXY protocol header/);
    assertInvalid('proxy TCP4', /no PROXY protocol header/);
    assertInvalid(Buffer.from('0d0a0d0a000d0a5155495458', 'hex'), /no PROXY protocol header/);
    assertInvalid('\x16\x03\x01\x02\x00', /no PROXY protocol header/);
  });

  it('needs more while the bytes could still start either header', () => {
    for (const start of ['', 'P', 'PROXY', '\r\n\r\n\0\r\nQUI']) assert.deepEqual(parse(start), { kind: 'need-more' }, JSON.stringify(start));
  });
});

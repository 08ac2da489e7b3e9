import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAddressBehindProxies } from './forwarded-for.ts';
import { IpSet } from './ip-set.ts';

// 10.0.0.0/8 are weir's own front proxies, 2001:db8:f::/48 an IPv6 CDN edge.
const trusted = IpSet.from(['10.0.0.0/8', '2001:db8:f::/48']);

function client(peer: string, ...forwardedFor: string[]): string {
  return clientAddressBehindProxies(peer, forwardedFor, trusted);
}

describe('clientAddressBehindProxies', () => {
  it('ignores X-Forwarded-For entirely when the peer is not trusted', () => {
    assert.equal(client('203.0.113.9', '198.51.100.1'), '203.0.113.9', 'a client cannot claim another address');
    assert.equal(client('203.0.113.9', '10.0.0.1'), '203.0.113.9', 'nor claim to be a trusted proxy');
    assert.equal(client('2001:db8:1::9', '198.51.100.1'), '2001:db8:1::9');
  });

  it('takes the hop a trusted peer appended', () => {
    assert.equal(client('10.0.0.1', '198.51.100.7'), '198.51.100.7');
    assert.equal(client('::ffff:10.0.0.1', '198.51.100.7'), '198.51.100.7', 'a mapped peer is checked as IPv4');
  });

  it('walks from the right past trusted hops, and no further', () => {
    assert.equal(client('10.0.0.1', '1.1.1.1, 198.51.100.7, 10.9.9.9, 10.8.8.8'), '198.51.100.7', 'the spoofed 1.1.1.1 is never reached');
    assert.equal(client('10.0.0.1', '198.51.100.7,10.9.9.9'), '198.51.100.7', 'no space after the comma');
    assert.equal(client('2001:db8:f::1', '2001:db8:1::7, 2001:db8:f::2'), '2001:db8:1::7');
  });

  it('counts several header lines as one list, in order', () => {
    assert.equal(client('10.0.0.1', '1.1.1.1, 198.51.100.7', '10.9.9.9', '10.8.8.8'), '198.51.100.7');
    assert.equal(client('10.0.0.1', '198.51.100.7', '203.0.113.5'), '203.0.113.5', 'the last line is nearest');
  });

  it('takes the leftmost hop when every hop is trusted', () => {
    assert.equal(client('10.0.0.1', '10.3.3.3, 10.2.2.2'), '10.3.3.3');
    assert.equal(client('10.0.0.1', '10.3.3.3', '10.2.2.2'), '10.3.3.3');
  });

  it('falls back to the trusted peer when there is no X-Forwarded-For or it is empty', () => {
    assert.equal(client('10.0.0.1'), '10.0.0.1');
    assert.equal(client('10.0.0.1', ''), '10.0.0.1');
    assert.equal(client('10.0.0.1', ' , '), '10.0.0.1');
    assert.equal(client('::ffff:10.0.0.1'), '10.0.0.1');
  });

  it('skips empty list elements', () => {
    assert.equal(client('10.0.0.1', '198.51.100.7, , 10.9.9.9,'), '198.51.100.7');
  });

  it('stops at a garbage entry and takes the last valid hop seen', () => {
    assert.equal(client('10.0.0.1', '198.51.100.7, unknown, 10.9.9.9'), '10.9.9.9');
    assert.equal(client('10.0.0.1', '198.51.100.7, 999.1.1.1'), '10.0.0.1');
    assert.equal(client('10.0.0.1', '198.51.100.7, 10.9.9.9 10.8.8.8'), '10.0.0.1', 'two addresses without a comma');
    assert.equal(client('10.0.0.1', '198.51.100.7, _hidden'), '10.0.0.1', 'an obfuscated identifier');
    assert.equal(client('10.0.0.1', '198.51.100.7, 1.2.3.4:99999'), '10.0.0.1', 'port out of range');
    assert.equal(client('10.0.0.1', '198.51.100.7, [1.2.3.4]:80'), '10.0.0.1', 'brackets are for IPv6');
    assert.equal(client('10.0.0.1', '198.51.100.7, [2001:db8::1'), '10.0.0.1');
    assert.equal(client('10.0.0.1', '198.51.100.7, [2001:db8::1]x'), '10.0.0.1');
  });

  it('strips ports and brackets, and unwraps IPv4-mapped addresses', () => {
    assert.equal(client('10.0.0.1', '198.51.100.7:5678'), '198.51.100.7');
    assert.equal(client('10.0.0.1', '[2001:db8:1::7]:80'), '2001:db8:1::7');
    assert.equal(client('10.0.0.1', '[2001:db8:1::7]'), '2001:db8:1::7');
    assert.equal(client('10.0.0.1', ' ::ffff:198.51.100.7 '), '198.51.100.7');
    assert.equal(client('10.0.0.1', '::ffff:c633:6407'), '198.51.100.7');
    assert.equal(client('10.0.0.1', '198.51.100.7, [::ffff:10.9.9.9]:443'), '198.51.100.7', 'a mapped hop is trusted as IPv4');
  });
});

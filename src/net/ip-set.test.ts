import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IpSet, unmapIp } from './ip-set.ts';

describe('IpSet', () => {
  it('holds single IPv4 and IPv6 addresses', () => {
    const set = IpSet.from(['192.168.1.7', '2001:db8::1']);
    assert.equal(set.size, 2);
    assert.equal(set.has('192.168.1.7'), true);
    assert.equal(set.has('192.168.1.6'), false);
    assert.equal(set.has('192.168.1.8'), false);
    assert.equal(set.has('2001:db8::1'), true);
    assert.equal(set.has('2001:DB8:0:0:0:0:0:1'), true, 'uncompressed and upper case');
    assert.equal(set.has('2001:db8::2'), false);
  });

  it('IPv4 range edges, /32 and /0', () => {
    const set = IpSet.from(['10.192.0.0/16']);
    assert.equal(set.has('10.192.0.0'), true);
    assert.equal(set.has('10.192.255.255'), true);
    assert.equal(set.has('10.191.255.255'), false);
    assert.equal(set.has('10.193.0.0'), false);

    const host = IpSet.from(['192.0.2.7/32']);
    assert.equal(host.has('192.0.2.7'), true);
    assert.equal(host.has('192.0.2.8'), false);

    const everything = IpSet.from(['0.0.0.0/0']);
    for (const address of ['0.0.0.0', '203.0.113.9', '255.255.255.255', '::ffff:1.2.3.4']) assert.equal(everything.has(address), true, address);
    assert.equal(everything.has('::1'), false, 'an IPv4 range holds no IPv6 address');
  });

  it('IPv6 range edges, /128, /0 and "::"', () => {
    const set = IpSet.from(['2001:db8:abcd::/48']);
    assert.equal(set.has('2001:db8:abcd::'), true);
    assert.equal(set.has('2001:db8:abcd:ffff:ffff:ffff:ffff:ffff'), true);
    assert.equal(set.has('2001:db8:abcc:ffff:ffff:ffff:ffff:ffff'), false);
    assert.equal(set.has('2001:db8:abce::'), false);

    const host = IpSet.from(['2001:db8::7/128']);
    assert.equal(host.has('2001:db8::7'), true);
    assert.equal(host.has('2001:db8::8'), false);

    const unspecified = IpSet.from(['::']);
    assert.equal(unspecified.has('::'), true);
    assert.equal(unspecified.has('0:0:0:0:0:0:0:0'), true);
    assert.equal(unspecified.has('::1'), false);
    assert.equal(unspecified.has('0.0.0.0'), false);

    const everything = IpSet.from(['::/0']);
    assert.equal(everything.has('::'), true);
    assert.equal(everything.has('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), true);
    assert.equal(everything.has('10.1.2.3'), true, '::/0 holds the mapped space, which is IPv4');
  });

  it('reads compressed forms wherever the gap is', () => {
    const set = IpSet.from(['1:0:0:0:0:0:0:8', '1:2:3:4:5:6:7:0', '0:2:3:4:5:6:7:8', 'fe80::/10']);
    assert.equal(set.has('1::8'), true);
    assert.equal(set.has('1:2:3:4:5:6:7::'), true);
    assert.equal(set.has('::2:3:4:5:6:7:8'), true);
    assert.equal(set.has('1:0::0:8'), true);
    assert.equal(set.has('febf:ffff::1'), true);
    assert.equal(set.has('fec0::'), false);
  });

  it('checks IPv4-mapped addresses as IPv4, in dotted and hex spelling', () => {
    const set = IpSet.from(['10.0.0.0/8']);
    assert.equal(set.has('::ffff:10.1.2.3'), true);
    assert.equal(set.has('::ffff:a01:203'), true);
    assert.equal(set.has('0:0:0:0:0:ffff:a01:203'), true);
    assert.equal(set.has('::ffff:b01:203'), false);
    assert.equal(set.has('::10.1.2.3'), false, 'IPv4-compatible (deprecated) is not IPv4-mapped');
    assert.equal(set.has('64:ff9b::10.1.2.3'), false, 'NAT64 is IPv6');
  });

  it('stores mapped ranges as the IPv4 range they cover', () => {
    const set = IpSet.from(['::ffff:10.0.0.0/104', '::ffff:192.168.0.1']);
    assert.equal(set.has('10.255.0.1'), true);
    assert.equal(set.has('::ffff:10.255.0.1'), true);
    assert.equal(set.has('11.0.0.0'), false);
    assert.equal(set.has('192.168.0.1'), true);
    assert.equal(set.firstMatch('10.9.9.9'), '::ffff:10.0.0.0/104');
  });

  it('ignores host bits in a range and a zone on an address', () => {
    const set = IpSet.from(['10.1.2.3/8', '2001:db8::1/32']);
    assert.equal(set.has('10.200.0.1'), true);
    assert.equal(set.has('11.0.0.0'), false);
    assert.equal(set.has('2001:db8:ffff::'), true);
    assert.equal(set.firstMatch('10.0.0.0'), '10.1.2.3/8');

    const linkLocal = IpSet.from(['fe80::/64']);
    assert.equal(linkLocal.has('fe80::1%eth0'), true);
    assert.equal(linkLocal.has('fe80::1%'), false, 'an empty zone is not an address');
  });

  it('never holds text that is not an address', () => {
    const set = IpSet.from(['0.0.0.0/0', '::/0']);
    for (const text of ['', ' ', 'localhost', '1.2.3', '1.2.3.4.5', '1.2.3.256', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.4/32', '1.2.3.4:80', '[::1]', ':::', '1::2::3', ':1', '1:', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::', '::1.2.3', '::1.2.3.4:5', '%eth0']) {
      assert.equal(set.has(text), false, JSON.stringify(text));
      assert.equal(set.firstMatch(text), undefined, JSON.stringify(text));
    }
  });

  it('rejects invalid entries with a message naming them', () => {
    assert.throws(() => IpSet.from(['10.0.0.256']), /"10\.0\.0\.256" is not an IP address or CIDR range/);
    assert.throws(() => IpSet.from(['10.0.0.0/33']), /"10\.0\.0\.0\/33" has an invalid prefix length; IPv4 allows \/0 to \/32/);
    assert.throws(() => IpSet.from(['::/129']), /IPv6 allows \/0 to \/128/);
    assert.throws(() => IpSet.from(['10.0.0.0/']), /invalid prefix length/);
    assert.throws(() => IpSet.from(['10.0.0.0/-1']), /invalid prefix length/);
    assert.throws(() => IpSet.from(['10.0.0.0/8/8']), /invalid prefix length/);
    assert.throws(() => IpSet.from(['/8']), /is not an IP address/);
    assert.throws(() => IpSet.from(['garbage']), /"garbage" is not an IP address/);
    assert.throws(() => IpSet.from(['10.0.0.1', 'example.com']), /"example\.com"/);
    assert.throws(() => IpSet.from(['1::2::3']), /is not an IP address/);
  });

  it('an empty set holds nothing', () => {
    const set = IpSet.from([]);
    assert.equal(set.size, 0);
    assert.equal(set.has('10.0.0.1'), false);
    assert.equal(set.has('::1'), false);
  });
});

describe('IpSet.firstMatch', () => {
  it('names the first entry in the order given, even when a later one is wider or narrower', () => {
    const set = IpSet.from(['10.1.0.0/16', '10.0.0.0/8', '10.1.2.3', '0.0.0.0/0']);
    assert.equal(set.firstMatch('10.1.2.3'), '10.1.0.0/16');
    assert.equal(set.firstMatch('10.1.255.255'), '10.1.0.0/16');
    assert.equal(set.firstMatch('10.0.255.255'), '10.0.0.0/8');
    assert.equal(set.firstMatch('10.2.0.0'), '10.0.0.0/8');
    assert.equal(set.firstMatch('11.0.0.0'), '0.0.0.0/0');
    assert.equal(set.firstMatch('::1'), undefined);

    const narrowFirst = IpSet.from(['10.1.2.3', '10.0.0.0/8', '10.1.0.0/16']);
    assert.equal(narrowFirst.firstMatch('10.1.2.3'), '10.1.2.3');
    assert.equal(narrowFirst.firstMatch('10.1.2.4'), '10.0.0.0/8');
    assert.equal(narrowFirst.firstMatch('10.1.2.2'), '10.0.0.0/8');
  });

  it('names the first of duplicate entries and keeps IPv4 and IPv6 apart', () => {
    const set = IpSet.from(['2001:db8::/32', '192.0.2.0/24', '192.0.2.0/24', '2001:db8::/48', '::ffff:192.0.2.0/120']);
    assert.equal(set.size, 5);
    assert.equal(set.firstMatch('192.0.2.9'), '192.0.2.0/24');
    assert.equal(set.firstMatch('2001:db8::9'), '2001:db8::/32');
  });

  it('::/0 before an IPv4 range is the first match for IPv4 clients', () => {
    const set = IpSet.from(['::/0', '10.0.0.0/8']);
    assert.equal(set.firstMatch('10.0.0.1'), '::/0');
    assert.equal(IpSet.from(['::ffff:0:0/95']).has('10.0.0.1'), true, 'any range holding the mapped space');
    assert.equal(IpSet.from(['::ffff:0:0/97']).has('128.0.0.0'), false);
    assert.equal(IpSet.from(['::ffff:0:0/97']).has('127.255.255.255'), true);
  });
});

describe('IpSet with 10,000 entries', () => {
  // 10,000 distinct /28s spread over 10.0.0.0/8 and 2001:db8::/32, plus
  // wider ranges that overlap them, checked against a plain linear scan.
  const entries: string[] = [];
  for (let i = 0; i < 5_000; i++) {
    const n = i * 3_331;
    entries.push(`10.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xf0}/28`);
    entries.push(`2001:db8:${(i * 7).toString(16)}::/48`);
  }
  entries.push('172.16.0.0/12', '10.0.0.0/16', '2001:db8::/40');
  const set = IpSet.from(entries);

  const singles = entries.map((entry) => ({ entry, set: IpSet.from([entry]) }));
  function expectedFirstMatch(address: string): string | undefined {
    return singles.find((single) => single.set.has(address))?.entry;
  }

  it('counts every entry', () => {
    assert.equal(set.size, 10_003);
  });

  it('agrees with a linear scan on hits and misses', () => {
    const probes = [
      '10.0.0.0', '10.0.13.1', '10.0.255.255', '10.1.0.0', '10.0.0.15', '10.0.0.16',
      '10.0.208.2', '10.0.208.15', '10.0.208.16', '10.254.70.3', '10.254.70.255', '11.0.0.0', '9.255.255.255',
      '172.16.0.1', '172.20.5.5', '172.31.0.0', '172.31.255.255', '172.32.0.0', '0.0.0.0', '255.255.255.255', '::ffff:10.0.208.5', '::ffff:a00:d005',
      '2001:db8::1', '2001:db8:ff:ffff::', '2001:db8:100::', '2001:db8:7::1', '2001:db8:8::1', '2001:db8:88b8::1', '2001:db9::',
    ];
    for (let i = 0; i < 200; i++) {
      const n = (i * 2_654_435_761) >>> 0;
      probes.push(`10.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`, `2001:db8:${(n & 0xffff).toString(16)}::${(n >>> 16).toString(16)}`);
    }
    let hits = 0;
    for (const address of probes) {
      const expected = expectedFirstMatch(address);
      assert.equal(set.firstMatch(address), expected, address);
      assert.equal(set.has(address), expected !== undefined, address);
      if (expected !== undefined) hits++;
    }
    assert.ok(hits > 20 && hits < probes.length - 20, `the probes mix hits and misses (${hits} of ${probes.length} hit)`);
  });
});

describe('unmapIp', () => {
  it('writes IPv4-mapped addresses as IPv4 and leaves the rest as written', () => {
    assert.equal(unmapIp('10.1.2.3'), '10.1.2.3');
    assert.equal(unmapIp('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(unmapIp('::FFFF:a01:203'), '10.1.2.3');
    assert.equal(unmapIp('::ffff:ffff:ffff'), '255.255.255.255');
    assert.equal(unmapIp('2001:DB8::1'), '2001:DB8::1');
    assert.equal(unmapIp('fe80::1%eth0'), 'fe80::1%eth0');
    assert.equal(unmapIp('1.2.3.4:80'), undefined);
    assert.equal(unmapIp('nope'), undefined);
  });
});

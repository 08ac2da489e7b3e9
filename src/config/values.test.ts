// The small parsers for single values: host patterns, IP ranges, statuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHostPattern } from './host-pattern.ts';
import { parseIpRange } from './ip-range.ts';
import { parseStatusRange } from './status-range.ts';

test('host patterns are stored as routing compares them', () => {
  assert.deepEqual(parseHostPattern('WWW.Mango.com'), { ok: true, value: 'www.mango.com' });
  assert.deepEqual(parseHostPattern('www.mango.com.'), { ok: true, value: 'www.mango.com' });
  assert.deepEqual(parseHostPattern('*.Example.com'), { ok: true, value: '*.example.com' });
  assert.deepEqual(parseHostPattern('10.0.0.1'), { ok: true, value: '10.0.0.1' });
  assert.deepEqual(parseHostPattern('[::1]'), { ok: true, value: '[::1]' });
});

test('host patterns refuse ports, a lone "*" and other shapes', () => {
  assert.deepEqual(parseHostPattern('api.example.com:8080'), {
    ok: false,
    message: '"api.example.com:8080": leave the port out; hosts are matched without it',
  });
  assert.deepEqual(parseHostPattern('*'), { ok: false, message: '"*" alone is not needed: leave host out to match every host' });
  for (const text of ['api.*.com', 'a b.com', 'http://a.com', '10.0.0.300', '']) {
    assert.deepEqual(
      parseHostPattern(text),
      { ok: false, message: `"${text}" is not a host name; write "www.example.com" or "*.example.com"` },
      text,
    );
  }
});

test('IP ranges: addresses and CIDRs, IPv4 and IPv6', () => {
  for (const text of ['10.192.0.1', '10.0.0.0/8', '0.0.0.0/0', '192.168.1.7/32', '::1', '2001:db8::/32', '::/128']) {
    assert.deepEqual(parseIpRange(text), { ok: true, value: text }, text);
  }
});

test('IP ranges: bad addresses and prefix lengths', () => {
  assert.deepEqual(parseIpRange('10.0.0.256'), { ok: false, message: '"10.0.0.256" is not an IP address or CIDR range (like "10.0.0.0/8")' });
  assert.deepEqual(parseIpRange('example.com'), { ok: false, message: '"example.com" is not an IP address or CIDR range (like "10.0.0.0/8")' });
  assert.deepEqual(parseIpRange('10.0.0.0/33'), { ok: false, message: '"10.0.0.0/33" has an invalid prefix length; IPv4 allows /0 to /32' });
  assert.deepEqual(parseIpRange('10.0.0.0/'), { ok: false, message: '"10.0.0.0/" has an invalid prefix length; IPv4 allows /0 to /32' });
  assert.deepEqual(parseIpRange('::/129'), { ok: false, message: '"::/129" has an invalid prefix length; IPv6 allows /0 to /128' });
});

test('status ranges', () => {
  assert.deepEqual(parseStatusRange(200), { ok: true, value: [200, 200] });
  assert.deepEqual(parseStatusRange('204'), { ok: true, value: [204, 204] });
  assert.deepEqual(parseStatusRange('200-399'), { ok: true, value: [200, 399] });
  assert.deepEqual(parseStatusRange('300-200'), { ok: false, message: '"300-200" is backwards; write the lower status first' });
  assert.deepEqual(parseStatusRange(700), { ok: false, message: '700 is not an HTTP status; use 100 to 599' });
  assert.deepEqual(parseStatusRange('200-600'), { ok: false, message: '600 is not an HTTP status; use 100 to 599' });
  assert.deepEqual(parseStatusRange(200.5), { ok: false, message: '"200.5" is not a status or a range; write 200 or "200-299"' });
  assert.deepEqual(parseStatusRange('2xx'), { ok: false, message: '"2xx" is not a status or a range; write 200 or "200-299"' });
});

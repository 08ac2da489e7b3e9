import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAddress, parseAddress } from './address.ts';

const server = { allowPortZero: false };
const listen = { allowPortZero: true };

test('host names, IPv4 and bracketed IPv6 addresses', () => {
  assert.deepEqual(parseAddress('127.0.0.1:8080', server), { ok: true, value: { host: '127.0.0.1', port: 8080 } });
  assert.deepEqual(parseAddress('LocalHost:8082', server), { ok: true, value: { host: 'localhost', port: 8082 } });
  assert.deepEqual(parseAddress('backend_1.internal:1', server), { ok: true, value: { host: 'backend_1.internal', port: 1 } });
  assert.deepEqual(parseAddress('[::1]:8083', server), { ok: true, value: { host: '::1', port: 8083 } });
  assert.deepEqual(parseAddress('[2001:DB8::1]:65535', server), { ok: true, value: { host: '2001:db8::1', port: 65535 } });
});

test('port 0 is for listen only', () => {
  assert.deepEqual(parseAddress('127.0.0.1:0', listen), { ok: true, value: { host: '127.0.0.1', port: 0 } });
  assert.deepEqual(parseAddress('[::]:0', listen), { ok: true, value: { host: '::', port: 0 } });
  assert.deepEqual(parseAddress('127.0.0.1:0', server), {
    ok: false,
    message: 'port 0 is only allowed for listen (where it picks a free port); a server needs its real port',
  });
});

test('malformed addresses say what is wrong', () => {
  const cases: Array<[string, string]> = [
    ['localhost', '"localhost" has no port; write HOST:PORT, like "127.0.0.1:8080" or "[::1]:8080"'],
    ['localhost:', '"localhost:" has no port; write HOST:PORT, like "127.0.0.1:8080" or "[::1]:8080"'],
    [':8080', '":8080" has no host; write HOST:PORT, like "127.0.0.1:8080" or "[::1]:8080"'],
    ['::1:8080', '"::1:8080": put an IPv6 address in brackets, like "[::1]:8080"'],
    ['[::1:8080', '"[::1:8080" is missing the "]" that closes the IPv6 address'],
    ['[::1]', '"[::1]" has no port; write HOST:PORT, like "127.0.0.1:8080" or "[::1]:8080"'],
    ['[10.0.0.1]:80', '"10.0.0.1" in brackets is not an IPv6 address'],
    ['http://localhost:8080', '"http://localhost:8080" has a scheme; write HOST:PORT only, like "localhost:8081"'],
    ['10.0.0.300:80', '"10.0.0.300" is not a valid host name or IP address'],
    ['bad host:80', '"bad host" is not a valid host name or IP address'],
    ['-bad.example:80', '"-bad.example" is not a valid host name or IP address'],
    ['localhost:http', 'port "http" must be a number from 1 to 65535'],
    ['localhost:65536', 'port 65536 is out of range; use 1 to 65535'],
  ];
  for (const [text, message] of cases) {
    assert.deepEqual(parseAddress(text, server), { ok: false, message }, text);
  }
  assert.deepEqual(parseAddress('localhost:99999', listen), { ok: false, message: 'port 99999 is out of range; use 0 to 65535' });
});

test('formatAddress puts IPv6 back in brackets', () => {
  assert.equal(formatAddress({ host: '127.0.0.1', port: 8080 }), '127.0.0.1:8080');
  assert.equal(formatAddress({ host: '::1', port: 8080 }), '[::1]:8080');
});

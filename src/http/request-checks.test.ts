import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRequestHead, type RequestHeadFacts } from './request-checks.ts';

/** A head that passes every check; each test changes one thing in it. */
function head(changes: Partial<RequestHeadFacts> = {}): RequestHeadFacts {
  return { method: 'GET', url: '/', httpVersionMajor: 1, httpVersionMinor: 1, rawHeaders: ['Host', 'example.com', 'Accept', '*/*'], ...changes };
}

function withHost(host: string): RequestHeadFacts {
  return head({ rawHeaders: ['Host', host, 'Accept', '*/*'] });
}

/** Asserts a refusal with the status and a reason that names the rule that fired. */
function assertRefused(facts: RequestHeadFacts, status: 400 | 501 | 505, reason: RegExp, label: string): void {
  const problem = checkRequestHead(facts);
  assert.ok(problem, `${label}: expected ${status}, got no problem`);
  assert.equal(problem.status, status, label);
  assert.match(problem.reason, reason, label);
}

test('a plain HTTP/1.1 request passes', () => {
  assert.equal(checkRequestHead(head()), undefined);
});

test('HTTP/1.0 and HTTP/1.1 pass, with or without Host', () => {
  for (const minor of [0, 1]) {
    assert.equal(checkRequestHead(head({ httpVersionMinor: minor })), undefined, `1.${minor}`);
    assert.equal(checkRequestHead(head({ httpVersionMinor: minor, rawHeaders: ['Accept', '*/*'] })), undefined, `1.${minor} without Host`);
  }
});

test('a later HTTP/1 minor version passes as 1.x (RFC 9110 section 2.5)', () => {
  assert.equal(checkRequestHead(head({ httpVersionMinor: 2 })), undefined);
});

test('an HTTP major version other than 1 is refused with 505', () => {
  for (const [major, minor] of [[2, 0], [0, 9], [3, 0]] as const) {
    assertRefused(head({ httpVersionMajor: major, httpVersionMinor: minor }), 505, /version/i, `${major}.${minor}`);
  }
});

test('the version is checked before anything else', () => {
  assertRefused(head({ httpVersionMajor: 2, httpVersionMinor: 0, url: 'nonsense', rawHeaders: ['Host', 'a', 'Host', 'b'] }), 505, /version/i, '2.0 with other faults');
});

test('more than one Host header is refused, whatever the case of the names', () => {
  assertRefused(head({ rawHeaders: ['Host', 'example.com', 'Host', 'example.com'] }), 400, /two Host/, 'same value twice');
  assertRefused(head({ rawHeaders: ['host', 'a.example', 'Accept', '*/*', 'HOST', 'b.example'] }), 400, /two Host/, 'different values and cases');
  assertRefused(head({ rawHeaders: ['Host', '', 'hOsT', ''] }), 400, /two Host/, 'two empty values');
  assertRefused(head({ rawHeaders: ['Host', 'a', 'Host', 'a', 'Host', 'a'] }), 400, /two Host/, 'three');
});

test('headers whose names merely contain "host" are not Host headers', () => {
  assert.equal(checkRequestHead(head({ rawHeaders: ['Host', 'example.com', 'X-Forwarded-Host', 'other.example', 'Hostname', 'x', 'Hos', 'y'] })), undefined);
});

test('valid Host values pass', () => {
  const hosts = [
    'example.com',
    'EXAMPLE.com:8080',
    '127.0.0.1',
    '127.0.0.1:8080',
    '[::1]:80',
    '[::1]',
    '[2001:db8::1]',
    '[2001:DB8:0:0:0:0:0:1]:443',
    '[::ffff:127.0.0.1]',
    'xn--bcher-kva.example',
    'a_b.example',
    'example.com.',
    'example.com:',
    '[::1]:',
    "a-b~c!$&'()*+,;=d",
    'caf%C3%A9.example',
    'localhost',
    '',
  ];
  for (const host of hosts) {
    assert.equal(checkRequestHead(withHost(host)), undefined, JSON.stringify(host));
  }
});

test('invalid Host values are refused with 400', () => {
  const hosts = [
    'a@evil',
    'user:pass@example.com',
    'a b',
    'a/b',
    'a\\b',
    'a?b',
    'a#b',
    'a:80:90',
    'a:x',
    'a:80x',
    ':80',
    '[::1',
    '[::1]x',
    '[::1]:x',
    '::1',
    '[]',
    '[127.0.0.1]',
    '[::1::2]',
    '[v1.fe]',
    '[fe80::1%25eth0]',
    'a%zz',
    'a%4',
    'a%',
    'ex\u00c3\u00a4mple.com', // "exämple.com" sent as UTF-8, read as latin1
    'ex\u00e4mple.com',
    'a\u0000b',
    'a\tb',
    'a\rb',
    'a\u007fb',
    ' example.com',
    'example.com ',
    '"example.com"',
    'a<b>',
  ];
  for (const host of hosts) {
    assertRefused(withHost(host), 400, /Host/, JSON.stringify(host));
  }
});

test('valid request targets pass', () => {
  const targets: [method: string, url: string][] = [
    ['GET', '/'],
    ['GET', '/a?b=%00'],
    ['GET', '/a?%00'],
    ['GET', '/a/b%20c/'],
    ['GET', '/a%2500'],
    ['GET', '/a%01%0A'],
    ['GET', '//double'],
    ['GET', 'http://a/b'],
    ['GET', 'http://a'],
    ['GET', 'http://a?b=1'],
    ['GET', 'http://a/b?c=%00'],
    ['GET', 'HTTPS://EXAMPLE.com:443/b'],
    ['POST', 'Http://[::1]:8080/b'],
    ['OPTIONS', '*'],
    ['OPTIONS', '/'],
  ];
  for (const [method, url] of targets) {
    assert.equal(checkRequestHead(head({ method, url })), undefined, `${method} ${url}`);
  }
});

test('a percent-encoded NUL in the path is refused with 400', () => {
  for (const url of ['/%00', '/a%00b', '/a/%00?b=1', '/%2500/%00', '/a%00?', 'http://a/%00', 'https://a/b%00c?d']) {
    assertRefused(head({ url }), 400, /NUL/, url);
  }
});

test('a target that is not origin-form, absolute-form or OPTIONS * is refused with 400', () => {
  const targets: [method: string, url: string][] = [
    ['GET', 'a/b'],
    ['GET', ''],
    ['GET', '?a'],
    ['GET', 'example.com/a'],
    ['GET', 'ftp://a/b'],
    ['GET', 'http:/a'],
    ['GET', 'http:a'],
    ['GET', 'httpx://a/b'],
    ['OPTIONS', '*x'],
    ['OPTIONS', '**'],
  ];
  for (const [method, url] of targets) {
    assertRefused(head({ method, url }), 400, /request target/, `${method} ${url}`);
  }
});

test('"*" is a target only for OPTIONS', () => {
  for (const method of ['GET', 'POST', 'HEAD', 'options']) {
    assertRefused(head({ method, url: '*' }), 400, /\*/, method);
  }
});

test('an absolute-form target with an invalid or empty host is refused with 400', () => {
  for (const url of ['http://a@evil/b', 'http://user:pass@a/', 'http://a:x/', 'http://a:80:90/', 'http://[::1/b', 'https://ex\u00e4mple.com/', 'http:///b', 'http://', 'http://?a', 'http://:80/']) {
    assertRefused(head({ url }), 400, /host/i, url);
  }
});

test('the Host header is checked even when the target is absolute-form', () => {
  assertRefused(head({ url: 'http://a/b', rawHeaders: ['Host', 'a@evil'] }), 400, /Host/, 'invalid Host');
  assertRefused(head({ url: 'http://a/b', rawHeaders: ['Host', 'a', 'Host', 'a'] }), 400, /two Host/, 'two Hosts');
});

/** An HTTP/2 request as the listener hands it over: a Host made from :authority. */
function h2(changes: Partial<RequestHeadFacts> = {}): RequestHeadFacts {
  return { method: 'GET', url: '/', httpVersionMajor: 2, httpVersionMinor: 0, http2: true, authority: 'example.com', rawHeaders: ['host', 'example.com'], ...changes };
}

test('an HTTP/2 request passes, with its authority from :authority or from Host', () => {
  assert.equal(checkRequestHead(h2()), undefined);
  assert.equal(checkRequestHead(h2({ authority: undefined })), undefined, 'Host only');
  assert.equal(checkRequestHead(h2({ authority: 'Example.COM', rawHeaders: ['host', 'example.com'] })), undefined, 'the same name in another case');
  assert.equal(checkRequestHead(h2({ method: 'OPTIONS', url: '*' })), undefined, 'OPTIONS *');
});

test('an HTTP/2 request whose Host differs from :authority, or with neither, is refused with 400 (RFC 9113 section 8.3.1)', () => {
  assertRefused(h2({ rawHeaders: ['host', 'other.example'] }), 400, /differs from :authority/, 'Host and :authority differ');
  assertRefused(h2({ authority: undefined, rawHeaders: [] }), 400, /neither :authority nor Host/, 'no authority at all');
  assertRefused(h2({ authority: 'a b', rawHeaders: ['host', 'a b'] }), 400, /invalid Host/, 'an invalid authority');
});

test('an HTTP/2 :path must be origin-form, or * for OPTIONS', () => {
  assertRefused(h2({ url: 'http://example.com/' }), 400, /:path/, 'absolute-form');
  assertRefused(h2({ url: '*' }), 400, /\*/, '* for GET');
  assertRefused(h2({ url: '/a%00' }), 400, /NUL/, '%00');
});

test('CONNECT is refused with 501, whatever the version', () => {
  assertRefused(h2({ method: 'CONNECT', url: 'example.com:443' }), 501, /CONNECT/, 'HTTP/2');
  assertRefused(head({ method: 'CONNECT', url: 'example.com:443' }), 501, /CONNECT/, 'HTTP/1.1');
});

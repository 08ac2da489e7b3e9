import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FirewallRules, PathRule } from '../config/types.ts';
import { normalizePath } from '../routing/normalize-path.ts';
import { contextFor } from './context.fixtures.ts';
import { compileFirewall, globPattern } from './firewall.ts';
import type { RequestContext } from './types.ts';

function ctx(clientIp: string, rawPath = '/', more: Partial<RequestContext> = {}): RequestContext {
  return contextFor({ clientIp, path: rawPath, normalizedPath: normalizePath(rawPath), ...more });
}

const none: FirewallRules = { ipAllow: [], ipReject: [], pathReject: [] };

/** The rule named by the refusal, or undefined when the request passes. */
type Check = (ctx: RequestContext) => string | undefined;

function compileRules(rules: Partial<FirewallRules>): Check {
  const guard = compileFirewall({ ...none, ...rules });
  assert.ok(guard);
  return (ctx) => guard(ctx)?.rule;
}

function compile(ipReject: string[], pathReject: Array<string | PathRule> = []): Check {
  return compileRules({ ipReject, pathReject: pathReject.map((rule) => (typeof rule === 'string' ? { kind: 'prefix', value: rule } : rule)) });
}

test('no rules means no step', () => {
  assert.equal(compileFirewall(none), undefined);
});

test('rejects single IPv4 and IPv6 addresses', () => {
  const check = compile(['10.0.0.1', '2001:db8::1']);
  assert.equal(check(ctx('10.0.0.1')), 'ip_reject 10.0.0.1');
  assert.equal(check(ctx('10.0.0.2')), undefined);
  assert.equal(check(ctx('2001:db8::1')), 'ip_reject 2001:db8::1');
  assert.equal(check(ctx('2001:DB8:0:0::1')), 'ip_reject 2001:db8::1');
  assert.equal(check(ctx('2001:db8::2')), undefined);
});

test('IPv4 CIDR edges', () => {
  const check = compile(['10.192.0.0/16']);
  assert.equal(check(ctx('10.192.0.0')), 'ip_reject 10.192.0.0/16');
  assert.equal(check(ctx('10.192.255.255')), 'ip_reject 10.192.0.0/16');
  assert.equal(check(ctx('10.191.255.255')), undefined);
  assert.equal(check(ctx('10.193.0.0')), undefined);
});

test('IPv6 CIDR edges', () => {
  const check = compile(['2001:db8:abcd::/48']);
  assert.equal(check(ctx('2001:db8:abcd::')), 'ip_reject 2001:db8:abcd::/48');
  assert.equal(check(ctx('2001:db8:abcd:ffff:ffff:ffff:ffff:ffff')), 'ip_reject 2001:db8:abcd::/48');
  assert.equal(check(ctx('2001:db8:abcc:ffff:ffff:ffff:ffff:ffff')), undefined);
  assert.equal(check(ctx('2001:db8:abce::')), undefined);
});

test('/32, /0 and host bits in a range', () => {
  assert.equal(compile(['192.0.2.7/32'])(ctx('192.0.2.7')), 'ip_reject 192.0.2.7/32');
  assert.equal(compile(['192.0.2.7/32'])(ctx('192.0.2.8')), undefined);
  assert.equal(compile(['0.0.0.0/0'])(ctx('203.0.113.9')), 'ip_reject 0.0.0.0/0');
  assert.equal(compile(['10.1.5.0/16'])(ctx('10.1.200.1')), 'ip_reject 10.1.5.0/16');
});

test('an IPv4-mapped IPv6 client is checked as its IPv4 address', () => {
  const check = compile(['10.0.0.0/8']);
  assert.equal(check(ctx('::ffff:10.0.0.1')), 'ip_reject 10.0.0.0/8');
  assert.equal(check(ctx('::FFFF:10.0.0.1')), 'ip_reject 10.0.0.0/8');
  assert.equal(check(ctx('::ffff:a00:1')), 'ip_reject 10.0.0.0/8');
  assert.equal(check(ctx('::ffff:11.0.0.1')), undefined);
});

test('an IPv4 client matches a rule written as IPv4-mapped IPv6', () => {
  const check = compile(['::ffff:10.0.0.1']);
  assert.equal(check(ctx('10.0.0.1')), 'ip_reject ::ffff:10.0.0.1');
  assert.equal(check(ctx('10.0.0.2')), undefined);
});

test('IPv4 rules do not catch unrelated IPv6 clients', () => {
  const check = compile(['0.0.0.0/0']);
  assert.equal(check(ctx('2001:db8::1')), undefined);
  assert.equal(check(ctx('::1')), undefined);
});

test('the reason names the first rule that matches', () => {
  const check = compile(['10.0.0.0/8', '10.192.0.0/16', '192.168.1.1']);
  assert.equal(check(ctx('10.192.3.4')), 'ip_reject 10.0.0.0/8');
  assert.equal(check(ctx('192.168.1.1')), 'ip_reject 192.168.1.1');
});

test('an unknown client address passes IP rules', () => {
  const check = compile(['10.0.0.0/8']);
  assert.equal(check(ctx('')), undefined);
  assert.equal(check(ctx('not-an-ip')), undefined);
});

test('invalid IP rules fail at compile time', () => {
  assert.throws(() => compileFirewall({ ...none, ipReject: ['10.0.0.300'] }));
  assert.throws(() => compileFirewall({ ...none, ipReject: ['10.0.0.0/33'] }));
  assert.throws(() => compileFirewall({ ...none, ipReject: ['10.0.0.0/x'] }));
  assert.throws(() => compileFirewall({ ...none, ipReject: ['10.0.0.0/'] }));
});

test('path_reject matches on segment boundaries', () => {
  const check = compile([], ['/messages']);
  assert.equal(check(ctx('1.2.3.4', '/messages')), 'path_reject /messages');
  assert.equal(check(ctx('1.2.3.4', '/messages/')), 'path_reject /messages');
  assert.equal(check(ctx('1.2.3.4', '/messages/1')), 'path_reject /messages');
  assert.equal(check(ctx('1.2.3.4', '/messagesx')), undefined);
  assert.equal(check(ctx('1.2.3.4', '/pictures/messages')), undefined);
  assert.equal(check(ctx('1.2.3.4', '/')), undefined);
});

test('path_reject cannot be bypassed by spelling the path differently', () => {
  const check = compile([], ['/messages']);
  for (const raw of [
    '/%6Dessages',
    '/%6dessages/1',
    '/%6D%65%73%73%61%67%65%73',
    '//messages',
    '///messages//1',
    '/pictures/../messages',
    '/./messages',
    '/%2e/messages',
    '/%2e%2e/messages',
    '/x/%2E%2E/messages/1',
    '/x/.%2e/messages',
    '/../../messages',
    '/MESSAGES',
    '/Messages/1',
    '/messages%2F1',
    '/%256Dessages',
    '/messages;jsessionid=x',
    '/x\\..\\messages',
    '/x%5C..%5Cmessages',
  ]) {
    assert.equal(check(ctx('1.2.3.4', raw)), 'path_reject /messages', raw);
  }
});

test('path_reject rules are normalized like request paths', () => {
  const check = compile([], ['/%6Dessages', '//admin']);
  assert.equal(check(ctx('1.2.3.4', '/messages/1')), 'path_reject /%6Dessages');
  assert.equal(check(ctx('1.2.3.4', '/admin')), 'path_reject //admin');
});

test('a path_reject written with a trailing slash also refuses the bare path', () => {
  const check = compile([], ['/admin/']);
  assert.equal(check(ctx('1.2.3.4', '/admin')), 'path_reject /admin/');
  assert.equal(check(ctx('1.2.3.4', '/admin/x')), 'path_reject /admin/');
  assert.equal(check(ctx('1.2.3.4', '/adminx')), undefined);
});

test('path_reject "/" refuses everything', () => {
  const check = compile([], ['/']);
  assert.equal(check(ctx('1.2.3.4', '/')), 'path_reject /');
  assert.equal(check(ctx('1.2.3.4', '/x/y')), 'path_reject /');
});

test('IP rules are checked before path rules', () => {
  const check = compile(['10.0.0.1'], ['/messages']);
  assert.equal(check(ctx('10.0.0.1', '/messages')), 'ip_reject 10.0.0.1');
  assert.equal(check(ctx('10.0.0.2', '/messages')), 'path_reject /messages');
  assert.equal(check(ctx('10.0.0.2', '/ok')), undefined);
});

test('ip_allow lets only the listed clients through, mapped IPv6 included', () => {
  const check = compileRules({ ipAllow: ['10.0.0.0/8', '2001:db8::/32'] });
  assert.equal(check(ctx('10.1.2.3')), undefined);
  assert.equal(check(ctx('::ffff:10.1.2.3')), undefined);
  assert.equal(check(ctx('2001:db8::5')), undefined);
  assert.match(check(ctx('11.0.0.1')) ?? '', /^ip_allow \(2 entries\) does not list the client$/);
  assert.ok(check(ctx('::ffff:11.0.0.1')));
  assert.ok(check(ctx('')));
});

test('ip_allow is checked before ip_reject, and both apply', () => {
  const check = compileRules({ ipAllow: ['10.0.0.0/8'], ipReject: ['10.9.0.0/16'] });
  assert.equal(check(ctx('10.1.0.1')), undefined);
  assert.equal(check(ctx('10.9.0.1')), 'ip_reject 10.9.0.0/16');
  assert.match(check(ctx('192.168.0.1')) ?? '', /^ip_allow/);
});

test('methods: others get 405 with Allow; methods are case-sensitive as HTTP says', () => {
  const guard = compileFirewall({ ...none, methods: ['GET', 'HEAD'] });
  assert.ok(guard);
  assert.equal(guard(ctx('1.1.1.1', '/', { method: 'GET' })), undefined);
  assert.deepEqual(guard(ctx('1.1.1.1', '/', { method: 'POST' })), { status: 405, rule: 'methods GET, HEAD', headers: ['allow', 'GET, HEAD'] });
  assert.equal(guard(ctx('1.1.1.1', '/', { method: 'get' }))?.status, 405);
});

test('size limits: URL 414, head 431, declared body 413', () => {
  const guard = compileFirewall({ ...none, maxUrlLength: 10, maxHeaderBytes: 22, maxBodyBytes: 5 });
  assert.ok(guard);
  assert.equal(guard(ctx('1.1.1.1', '/123456789')), undefined);
  assert.equal(guard(ctx('1.1.1.1', '/12345', { query: 'abcd' }))?.status, 414);
  assert.equal(guard(ctx('1.1.1.1', '/', { rawHeaders: ['Host', 'a'.repeat(14)] })), undefined);
  assert.equal(guard(ctx('1.1.1.1', '/', { rawHeaders: ['Host', 'a'.repeat(15)] }))?.status, 431);
  assert.equal(guard(ctx('1.1.1.1', '/', { contentLength: 5 })), undefined);
  assert.deepEqual(guard(ctx('1.1.1.1', '/', { contentLength: 6 })), { status: 413, rule: 'max_body_size 5' });
});

test('globs: * within a segment, ** across, matched on the whole path', () => {
  const check = compile([], [{ kind: 'glob', value: '/**/*.PHP' }, { kind: 'glob', value: '/files/*/secret' }]);
  assert.equal(check(ctx('1.1.1.1', '/x.php')), 'path_reject /**/*.PHP');
  assert.equal(check(ctx('1.1.1.1', '/a/b/X.php')), 'path_reject /**/*.PHP');
  assert.equal(check(ctx('1.1.1.1', '/a/b/x%2Ephp')), 'path_reject /**/*.PHP');
  assert.equal(check(ctx('1.1.1.1', '/x.php5')), undefined);
  assert.equal(check(ctx('1.1.1.1', '/files/a/secret')), 'path_reject /files/*/secret');
  assert.equal(check(ctx('1.1.1.1', '/files/a/b/secret')), undefined);
  assert.equal(globPattern('/a?c').test('/abc'), true);
  assert.equal(globPattern('/a?c').test('/a/c'), false);
});

test('regex path rules are searched case-insensitively in the decoded path', () => {
  const check = compile([], [{ kind: 'regex', value: '\\.(env|git)(/|$)' }]);
  assert.equal(check(ctx('1.1.1.1', '/app/.env')), 'path_reject regex \\.(env|git)(/|$)');
  assert.equal(check(ctx('1.1.1.1', '/app/%2EGIT/config')), 'path_reject regex \\.(env|git)(/|$)');
  assert.equal(check(ctx('1.1.1.1', '/app/environment')), undefined);
});

test('a label names where the rules came from', () => {
  const guard = compileFirewall({ ...none, ipReject: ['10.0.0.1'] }, 'defaults: ');
  assert.equal(guard?.(ctx('10.0.0.1'))?.rule, 'defaults: ip_reject 10.0.0.1');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFirewall } from './firewall.ts';
import type { FirewallCheck, RequestContext } from './types.ts';
import { normalizePath } from '../routing/normalize-path.ts';

function ctx(clientIp: string, rawPath = '/'): RequestContext {
  return { clientIp, host: 'h', normalizedPath: normalizePath(rawPath) };
}

function compile(ipReject: string[], pathReject: string[] = []): FirewallCheck {
  const check = compileFirewall({ ipReject, pathReject });
  assert.ok(check);
  return check;
}

test('no rules means no step', () => {
  assert.equal(compileFirewall({ ipReject: [], pathReject: [] }), undefined);
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
  assert.throws(() => compileFirewall({ ipReject: ['10.0.0.300'], pathReject: [] }));
  assert.throws(() => compileFirewall({ ipReject: ['10.0.0.0/33'], pathReject: [] }));
  assert.throws(() => compileFirewall({ ipReject: ['10.0.0.0/x'], pathReject: [] }));
  assert.throws(() => compileFirewall({ ipReject: ['10.0.0.0/'], pathReject: [] }));
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

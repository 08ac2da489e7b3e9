import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firewallPath, firewallRulePath } from './firewall-path.ts';

test('every spelling of /admin/users reads as /admin/users', () => {
  for (const spelling of [
    '/admin/users',
    '/ADMIN/Users',
    '/%61dmin/users',
    '/%2561dmin/users',
    '/admin%2Fusers',
    '/admin%252fusers',
    '//admin///users',
    '/x/../admin/./users',
    '/%2e%2e/admin/users',
    '/x/%2E%2E/admin/users',
    '/admin\\users',
    '/admin%5Cusers',
    '/admin;jsessionid=1/users',
    '/admin/users;x',
    '/admin;a/users;b',
    '/%252561dmin/users',
    '/admin%25252fusers',
  ]) {
    assert.equal(firewallPath(spelling), '/admin/users', spelling);
  }
});

test('a path that needs nothing comes back as it is', () => {
  assert.equal(firewallPath('/a/b/'), '/a/b/');
});

test('rules are read the same way, non-ASCII as UTF-8 bytes', () => {
  assert.equal(firewallRulePath('/Admin/'), '/admin/');
  assert.equal(firewallRulePath('/café'), firewallPath('/caf%C3%A9'));
  assert.equal(firewallRulePath('/100%'), '/100%');
});

test('escapes are decoded for three rounds: /%252561dmin is /admin', () => {
  assert.equal(firewallPath('/%252561dmin'), '/admin');
  assert.equal(firewallPath('/%252561dmin;x/%25252E%25252E/%2561dmin'), '/admin');
});

test('every segment loses its ;params, not only the first', () => {
  assert.equal(firewallPath('/a;x/b;y/admin;z'), '/a/b/admin');
  assert.equal(firewallPath('/x;a/../admin;b'), '/admin');
  assert.equal(firewallPath('/;a/;b/admin;c=1;d=2/users;e'), '/admin/users');
  // A ; inside a segment cuts only to the next "/": the segments stay apart.
  assert.equal(firewallPath('/ad;x/min'), '/ad/min');
});

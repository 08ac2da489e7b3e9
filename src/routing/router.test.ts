import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRouter, type RouteEntry } from './router.ts';
import { normalizePath } from './normalize-path.ts';
import { hostFromHeader } from './host.ts';

function valueOf(router: ReturnType<typeof createRouter<string>>, host: string, path: string, method = 'GET'): string | undefined {
  return router.match(host, path, method)?.value;
}

test('course-style table: host routes win over path routes', () => {
  const routes: RouteEntry<string>[] = [
    { path: { kind: 'prefix', value: '/messages' }, value: 'messages' },
    { path: { kind: 'prefix', value: '/pictures' }, value: 'pictures' },
    { host: 'www.mango.com', value: 'mango' },
    { host: 'www.apple.com', value: 'apple' },
    { path: { kind: 'prefix', value: '/' }, value: 'default' },
  ];
  const router = createRouter(routes);
  assert.equal(valueOf(router, 'www.mango.com', '/messages'), 'mango');
  assert.equal(valueOf(router, 'www.apple.com', '/pictures/1'), 'apple');
  assert.equal(valueOf(router, 'www.other.com', '/messages/1'), 'messages');
  assert.equal(valueOf(router, '', '/pictures'), 'pictures');
  assert.equal(valueOf(router, 'www.other.com', '/other'), 'default');
  assert.equal(valueOf(router, 'www.other.com', '/messagesx'), 'default');
});

test('the full host and path come from the header and normalizer', () => {
  const router = createRouter<string>([
    { path: { kind: 'prefix', value: '/messages' }, value: 'messages' },
    { host: 'www.mango.com', value: 'mango' },
  ]);
  assert.equal(valueOf(router, hostFromHeader('WWW.Mango.COM:8080'), normalizePath('/x')), 'mango');
  assert.equal(valueOf(router, hostFromHeader('other'), normalizePath('/%6Dessages')), 'messages');
  assert.equal(valueOf(router, hostFromHeader('other'), normalizePath('/x/../messages/1')), 'messages');
});

test('an exact host beats a wildcard, a longer wildcard beats a shorter one, any host beats none', () => {
  const router = createRouter<string>([
    { value: 'no host' },
    { host: '*.com', value: '*.com' },
    { host: '*.example.com', value: '*.example.com' },
    { host: '*.b.example.com', value: '*.b.example.com' },
    { host: 'a.b.example.com', value: 'exact' },
  ]);
  assert.equal(valueOf(router, 'a.b.example.com', '/'), 'exact');
  assert.equal(valueOf(router, 'c.b.example.com', '/'), '*.b.example.com');
  assert.equal(valueOf(router, 'x.example.com', '/'), '*.example.com');
  assert.equal(valueOf(router, 'example.com', '/'), '*.com');
  assert.equal(valueOf(router, 'example.org', '/'), 'no host');
});

test('host rank outranks path rank', () => {
  const router = createRouter<string>([
    { path: { kind: 'exact', value: '/a' }, value: 'exact path, no host' },
    { host: '*.example.com', path: { kind: 'exact', value: '/a' }, value: 'wildcard + exact path' },
    { host: 'www.example.com', value: 'exact host, no path' },
  ]);
  assert.equal(valueOf(router, 'www.example.com', '/a'), 'exact host, no path');
  assert.equal(valueOf(router, 'api.example.com', '/a'), 'wildcard + exact path');
  assert.equal(valueOf(router, 'example.com', '/a'), 'exact path, no host');
});

test('a wildcard needs at least one label in front of its suffix', () => {
  const router = createRouter<string>([{ host: '*.example.com', value: 'w' }]);
  assert.equal(valueOf(router, 'a.example.com', '/'), 'w');
  assert.equal(valueOf(router, 'a.b.example.com', '/'), 'w');
  assert.equal(valueOf(router, 'example.com', '/'), undefined);
  assert.equal(valueOf(router, '.example.com', '/'), undefined);
  assert.equal(valueOf(router, 'badexample.com', '/'), undefined);
  assert.equal(valueOf(router, 'a.example.com.evil', '/'), undefined);
});

test('within a host: exact beats regex, regex beats prefix, longer prefix beats shorter, any path beats none', () => {
  const router = createRouter<string>([
    { host: 'h', value: 'no path' },
    { host: 'h', path: { kind: 'prefix', value: '/' }, value: 'prefix /' },
    { host: 'h', path: { kind: 'prefix', value: '/api' }, value: 'prefix /api' },
    { host: 'h', path: { kind: 'prefix', value: '/api/v1' }, value: 'prefix /api/v1' },
    { host: 'h', path: { kind: 'regex', value: '^/api/v1/users/\\d+$' }, value: 'regex' },
    { host: 'h', path: { kind: 'exact', value: '/api/v1/users/42' }, value: 'exact' },
  ]);
  assert.equal(valueOf(router, 'h', '/api/v1/users/42'), 'exact');
  assert.equal(valueOf(router, 'h', '/api/v1/users/7'), 'regex');
  assert.equal(valueOf(router, 'h', '/api/v1/users'), 'prefix /api/v1');
  assert.equal(valueOf(router, 'h', '/api/v2'), 'prefix /api');
  assert.equal(valueOf(router, 'h', '/apiv1'), 'prefix /');
});

test('no path matches only when nothing with a path does', () => {
  const router = createRouter<string>([
    { value: 'no path' },
    { path: { kind: 'prefix', value: '/a' }, value: 'prefix /a' },
  ]);
  assert.equal(valueOf(router, '', '/a'), 'prefix /a');
  assert.equal(valueOf(router, '', '/b'), 'no path');
});

test('file order breaks ties', () => {
  const router = createRouter<string>([
    { path: { kind: 'prefix', value: '/a' }, value: 'first' },
    { path: { kind: 'prefix', value: '/a' }, value: 'second' },
    { path: { kind: 'regex', value: 'x' }, value: 'regex first' },
    { path: { kind: 'regex', value: 'y' }, value: 'regex second' },
  ]);
  assert.equal(valueOf(router, '', '/a'), 'first');
  assert.equal(valueOf(router, '', '/xy'), 'regex first');
  assert.equal(valueOf(router, '', '/y'), 'regex second');
});

test('a route whose methods exclude the request method is skipped', () => {
  const router = createRouter<string>([
    { host: 'h', path: { kind: 'exact', value: '/a' }, methods: ['POST'], value: 'post only' },
    { host: 'h', path: { kind: 'prefix', value: '/a' }, methods: ['GET', 'HEAD'], value: 'reads' },
    { path: { kind: 'prefix', value: '/' }, value: 'fallback' },
  ]);
  assert.equal(valueOf(router, 'h', '/a', 'POST'), 'post only');
  assert.equal(valueOf(router, 'h', '/a', 'GET'), 'reads');
  assert.equal(valueOf(router, 'h', '/a', 'DELETE'), 'fallback');
});

test('prefixes match on segment boundaries', () => {
  const router = createRouter<string>([
    { path: { kind: 'prefix', value: '/api' }, value: 'api' },
    { path: { kind: 'prefix', value: '/docs/' }, value: 'docs/' },
  ]);
  assert.equal(valueOf(router, '', '/api'), 'api');
  assert.equal(valueOf(router, '', '/api/'), 'api');
  assert.equal(valueOf(router, '', '/api/x'), 'api');
  assert.equal(valueOf(router, '', '/apix'), undefined);
  assert.equal(valueOf(router, '', '/docs/x'), 'docs/');
  assert.equal(valueOf(router, '', '/docs/'), 'docs/');
  assert.equal(valueOf(router, '', '/docs'), undefined);
});

test('a longer prefix written with a slash beats the same prefix without', () => {
  const router = createRouter<string>([
    { path: { kind: 'prefix', value: '/api' }, value: 'api' },
    { path: { kind: 'prefix', value: '/api/' }, value: 'api/' },
  ]);
  assert.equal(valueOf(router, '', '/api/x'), 'api/');
  assert.equal(valueOf(router, '', '/api'), 'api');
});

test('exact paths match whole paths only', () => {
  const router = createRouter<string>([{ path: { kind: 'exact', value: '/a' }, value: 'a' }]);
  assert.equal(valueOf(router, '', '/a'), 'a');
  assert.equal(valueOf(router, '', '/a/'), undefined);
  assert.equal(valueOf(router, '', '/a/b'), undefined);
});

test('config paths are normalized like request paths', () => {
  const router = createRouter<string>([
    { path: { kind: 'exact', value: '/%7Euser' }, value: 'exact' },
    { path: { kind: 'prefix', value: '//static' }, value: 'prefix' },
  ]);
  assert.equal(valueOf(router, '', normalizePath('/~user')), 'exact');
  assert.equal(valueOf(router, '', normalizePath('/static/a.css')), 'prefix');
});

test('regexes match anywhere unless anchored', () => {
  const router = createRouter<string>([{ path: { kind: 'regex', value: '\\.php$' }, value: 'php' }]);
  assert.equal(valueOf(router, '', '/x/index.php'), 'php');
  assert.equal(valueOf(router, '', '/x/index.php5'), undefined);
});

test('hosts are matched exactly, not by prefix or suffix', () => {
  const router = createRouter<string>([{ host: 'mango.com', value: 'mango' }]);
  assert.equal(valueOf(router, 'mango.com', '/'), 'mango');
  assert.equal(valueOf(router, 'www.mango.com', '/'), undefined);
  assert.equal(valueOf(router, 'mango.com.evil', '/'), undefined);
});

test('why explains the choice', () => {
  const router = createRouter<string>([
    { host: 'www.mango.com', path: { kind: 'prefix', value: '/mango' }, value: 'a' },
    { host: '*.mango.com', path: { kind: 'regex', value: '^/r' }, methods: ['GET', 'HEAD'], value: 'b' },
    { path: { kind: 'exact', value: '/e' }, value: 'c' },
    { value: 'd' },
  ]);
  assert.equal(router.match('www.mango.com', '/mango/x', 'GET')?.why, 'host "www.mango.com" (exact), path prefix "/mango"');
  assert.equal(router.match('api.mango.com', '/r', 'GET')?.why, 'host "*.mango.com" (wildcard), path regex "^/r", methods GET HEAD');
  assert.equal(router.match('other', '/e', 'GET')?.why, 'any host, path exact "/e"');
  assert.equal(router.match('other', '/z', 'GET')?.why, 'any host, any path');
});

test('no routes or no fitting route gives undefined', () => {
  assert.equal(createRouter<string>([]).match('h', '/', 'GET'), undefined);
  const router = createRouter<string>([{ host: 'h', value: 'h' }]);
  assert.equal(router.match('other', '/', 'GET'), undefined);
});

test('a match returns the same result object each time', () => {
  const router = createRouter<string>([{ value: 'v' }]);
  assert.equal(router.match('', '/', 'GET'), router.match('x', '/y', 'POST'));
});

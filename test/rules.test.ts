// Traffic rules end to end: header, query and path rewriting, request ids,
// redirects and answers of weir's own, with a real backend and real clients.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestBackend } from './helpers/backends.ts';
import { rawExchange, send } from './helpers/client.ts';
import { startWeirOnApp } from './helpers/weir.ts';
import type { Weir } from '../src/weir.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('rewriting requests and responses', () => {
  let backend: TestBackend;
  let weir: Weir;
  let close: () => Promise<void>;
  before(async () => {
    ({ backend, weir, close } = await startWeirOnApp(
      {
        defaults: {
          request_headers: { set: { 'X-Seen-By': 'weir' } },
          response_headers: { set: { 'X-Content-Type-Options': 'nosniff' } },
        },
        routes: [
          {
            name: 'headers',
            path: '/h',
            request_headers: { set: { 'X-Env': 'prod' }, add: { 'X-Client': '${client_ip} ${method} ${request_uri}' }, remove: ['Cookie'] },
            response_headers: { set: { 'X-Path': '${path}' }, add: { 'X-Route': '${route}' }, remove: ['X-Backend'] },
            service: 'app',
          },
          { name: 'query', path: '/q', query: { set: { page: 1 }, add: { via: '${route}' }, remove: ['utm'] }, service: 'app' },
          { name: 'regex', path: '/old', rewrite: { regex: '^/old/(.*)$', to: '/new/$1', add_prefix: '/v2' }, service: 'app' },
          { name: 'strip', path: '/strip', rewrite: { strip_prefix: true, add_prefix: '/api' }, service: 'app' },
        ],
      },
    ));
  });
  after(() => close());

  it('request_headers set, add with variables and remove; defaults apply first', async () => {
    const reply = await send(`${weir.url}/h/x?a=1`, { method: 'PUT', headers: { 'X-Env': 'dev', Cookie: 'secret=1' } });
    assert.equal(reply.status, 200);
    const seen = backend.seen.at(-1);
    assert.equal(seen?.headers['x-env'], 'prod');
    assert.equal(seen?.headers['x-client'], '127.0.0.1 PUT /h/x?a=1');
    assert.equal(seen?.headers['x-seen-by'], 'weir');
    assert.equal(seen?.headers.cookie, undefined);
  });

  it('response_headers change what the client gets, defaults included', async () => {
    const reply = await send(`${weir.url}/h/y`);
    assert.equal(reply.headers['x-path'], '/h/y');
    assert.equal(reply.headers['x-route'], 'headers');
    assert.equal(reply.headers['x-backend'], undefined);
    assert.equal(reply.headers['x-content-type-options'], 'nosniff');
  });

  it('a line break cannot be injected through a variable', async () => {
    const answer = await rawExchange(weir.address.port, 'GET /h/%0D%0ASet-Cookie:%20owned=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.match(answer, /\r\nx-path: \/h\/%0D%0ASet-Cookie:%20owned=1\r\n/i);
    assert.doesNotMatch(answer, /\r\nset-cookie/i);
    const raw = await rawExchange(weir.address.port, 'GET /h/\rSet-Cookie: owned=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 400/);
  });

  it('X-Request-Id: generated when absent, kept when well formed, replaced when not; sent both ways', async () => {
    const fresh = await send(`${weir.url}/h/id`);
    const id = String(fresh.headers['x-request-id']);
    assert.match(id, UUID);
    assert.equal(backend.seen.at(-1)?.headers['x-request-id'], id);

    const kept = await send(`${weir.url}/h/id`, { headers: { 'X-Request-Id': 'trace-42:span-7' } });
    assert.equal(kept.headers['x-request-id'], 'trace-42:span-7');
    assert.equal(backend.seen.at(-1)?.headers['x-request-id'], 'trace-42:span-7');

    const bad = await send(`${weir.url}/h/id`, { headers: { 'X-Request-Id': '<script>alert(1)</script>' } });
    assert.match(String(bad.headers['x-request-id']), UUID);
    assert.equal(backend.seen.at(-1)?.rawHeaders.filter((name) => name.toLowerCase() === 'x-request-id').length, 1);

    const notFound = await send(`${weir.url.replace('127.0.0.1', 'localhost')}/nothing-here`);
    assert.equal(notFound.status, 404);
    assert.match(String(notFound.headers['x-request-id']), UUID);
  });

  it('query set replaces, add appends with variables, remove drops', async () => {
    await send(`${weir.url}/q?utm=x&page=9&keep=%7E`);
    assert.equal(backend.seen.at(-1)?.url, '/q?keep=%7E&page=1&via=query');
  });

  it('rewrite: regex with capture groups, then add_prefix', async () => {
    await send(`${weir.url}/old/a/b?x=1`);
    assert.equal(backend.seen.at(-1)?.url, '/v2/new/a/b?x=1');
  });

  it('rewrite: strip_prefix then add_prefix', async () => {
    await send(`${weir.url}/strip/users`);
    assert.equal(backend.seen.at(-1)?.url, '/api/users');
  });
});

describe('redirects and answers of its own', () => {
  let backend: TestBackend;
  let weir: Weir;
  let close: () => Promise<void>;
  before(async () => {
    ({ backend, weir, close } = await startWeirOnApp(
      {
        trusted_proxies: ['127.0.0.3'],
        routes: [
          { host: 'old.example.com', redirect: { to: 'https://new.example.com${request_uri}', status: 308 } },
          { host: 'secure.example.com', https_redirect: true, service: 'app' },
          { host: 'example.com', canonical_host: 'www.example.com', service: 'app' },
          { host: 'www.example.com', service: 'app' },
          { path: '/maintenance', respond: { status: 503, body: 'Back soon.', headers: { 'Retry-After': 120 } }, response_headers: { set: { 'X-Page': 'maintenance' } } },
        ],
      },
    ));
  });
  after(() => close());

  it('redirect sends every request to the expanded template', async () => {
    const reply = await send(`${weir.url}/a/b?c=1`, { headers: { Host: 'old.example.com' } });
    assert.equal(reply.status, 308);
    assert.equal(reply.headers.location, 'https://new.example.com/a/b?c=1');
  });

  it('https_redirect: 301 for GET, 308 for POST; not when a trusted proxy says the client used https', async () => {
    const get = await send(`${weir.url}/x?y=1`, { headers: { Host: 'secure.example.com:8080' } });
    assert.equal(get.status, 301);
    assert.equal(get.headers.location, 'https://secure.example.com/x?y=1');
    const post = await send(`${weir.url}/x`, { method: 'POST', headers: { Host: 'secure.example.com' }, body: 'a' });
    assert.equal(post.status, 308);

    const viaProxy = await send(`${weir.url}/x`, { headers: { Host: 'secure.example.com', 'X-Forwarded-Proto': 'https' }, localAddress: '127.0.0.3' });
    assert.equal(viaProxy.status, 200);
    assert.equal(backend.seen.at(-1)?.headers['x-forwarded-proto'], 'https');

    const spoofed = await send(`${weir.url}/x`, { headers: { Host: 'secure.example.com', 'X-Forwarded-Proto': 'https' }, localAddress: '127.0.0.2' });
    assert.equal(spoofed.status, 301, 'an untrusted client cannot claim https');
  });

  it('canonical_host moves other hosts to the canonical one, keeping the port', async () => {
    const reply = await send(`${weir.url}/p?q`, { headers: { Host: `example.com:${weir.address.port}` } });
    assert.equal(reply.status, 301);
    assert.equal(reply.headers.location, `http://www.example.com:${weir.address.port}/p?q`);
    const canonical = await send(`${weir.url}/p`, { headers: { Host: 'www.example.com' } });
    assert.equal(canonical.status, 200);
  });

  it('respond answers by itself with status, body and headers; HEAD gets no body', async () => {
    const count = backend.seen.length;
    const reply = await send(`${weir.url}/maintenance`);
    assert.equal(reply.status, 503);
    assert.equal(reply.body, 'Back soon.');
    assert.equal(reply.headers['retry-after'], '120');
    assert.equal(reply.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(reply.headers['x-page'], 'maintenance');
    const head = await send(`${weir.url}/maintenance`, { method: 'HEAD' });
    assert.equal(head.status, 503);
    assert.equal(head.body, '');
    assert.equal(backend.seen.length, count, 'the backend saw none of it');
  });
});

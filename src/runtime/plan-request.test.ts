// The pure phases of a request, each against its contract: client (is the
// head well formed, who is the client, the request id and forwarding
// headers), route (404), guard (firewalls, `defaults` first, and TRACE) and
// rewrite (redirect, respond, or the upstream request every step applied).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfigObject } from '../config/load.ts';
import { createLogger } from '../log.ts';
import type { UpstreamRequest } from '../middleware/types.ts';
import { RateLimitStores } from '../ratelimit/stores.ts';
import { BackendRegistry } from '../upstream/registry.ts';
import { compileRuntime, type Runtime } from './compile.ts';
import { planRequest, type ClientRequest, type RequestPlan } from './plan-request.ts';

const stores: RateLimitStores[] = [];
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
});

function runtimeOf(extra: Record<string, unknown> = {}): Runtime {
  const store = new RateLimitStores();
  stores.push(store);
  const config = loadConfigObject({
    listen: '127.0.0.1:0',
    trusted_proxies: ['10.0.0.0/8'],
    request_id: { header: 'X-Request-Id' },
    defaults: { firewall: { path_reject: ['/admin', '/api/secret'], max_body_size: 1000 } },
    routes: [
      {
        name: 'api',
        host: 'api.example',
        path: '/api',
        strip_prefix: true,
        rewrite: { add_prefix: '/v2' },
        query: { remove: ['utm_source'], set: { lang: 'en' } },
        request_headers: { set: { 'X-Client': '${client_ip}' }, remove: ['Cookie'] },
        firewall: { ip_reject: ['192.0.2.0/24'], methods: ['GET', 'POST'] },
        service: 'app',
      },
      { name: 'moved', path: '/old', redirect: { to: 'https://new.example${request_uri}', status: 308 } },
      { name: 'secure', path: '/secure', https_redirect: true, service: 'app' },
      { name: 'maint', path: '/maint', respond: { status: 503, body: 'closed for now', headers: { 'Retry-After': '60' } } },
      { name: 'debug', path: '/debug', methods: ['GET', 'TRACE'], service: 'app' },
      { name: 'site', host: 'site.example', service: 'app' },
    ],
    services: { app: { servers: ['127.0.0.1:9'] } },
    ...extra,
  });
  return compileRuntime(config, new BackendRegistry(), store, createLogger(false));
}

const runtime = runtimeOf();

const request = (over: Partial<ClientRequest> = {}): ClientRequest => ({
  method: 'GET',
  url: '/',
  rawHeaders: ['Host', 'site.example'],
  peer: '203.0.113.5',
  ...over,
});

function forwarded(plan: RequestPlan): Extract<RequestPlan, { kind: 'forward' }> {
  assert.equal(plan.kind, 'forward', plan.kind === 'refuse' ? plan.failure.reason : plan.kind);
  return plan as Extract<RequestPlan, { kind: 'forward' }>;
}

function refused(plan: RequestPlan): Extract<RequestPlan, { kind: 'refuse' }> {
  assert.equal(plan.kind, 'refuse');
  return plan as Extract<RequestPlan, { kind: 'refuse' }>;
}

/** Every value of a header (any case) in a flat list. */
function values(headers: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === name.toLowerCase()) out.push(headers[i + 1]!);
  return out;
}

describe('client phase', () => {
  it('answers HTTP/2.0 on the HTTP/1 listener with 505, the client\'s failure, closing the connection', () => {
    const plan = refused(planRequest(runtime, request({ httpVersionMajor: 2, httpVersionMinor: 0 })));
    assert.equal(plan.failure.status, 505);
    assert.equal(plan.failure.owner, 'client');
    assert.equal(plan.failure.closeConnection, true);
    assert.equal(plan.route, undefined, 'refused before routing');
  });

  it('refuses two Hosts, an invalid Host and %00 in the path with 400, closing the connection', () => {
    const heads: Array<[string, Partial<ClientRequest>]> = [
      ['two Hosts', { rawHeaders: ['Host', 'site.example', 'host', 'site.example'] }],
      ['a Host with a space', { rawHeaders: ['Host', 'site example'] }],
      ['a Host with userinfo', { rawHeaders: ['Host', 'user@site.example'] }],
      ['%00 in the path', { url: '/a%00b' }],
    ];
    for (const [what, over] of heads) {
      const plan = refused(planRequest(runtime, request(over)));
      assert.deepEqual(
        { status: plan.failure.status, owner: plan.failure.owner, close: plan.failure.closeConnection, route: plan.route },
        { status: 400, owner: 'client', close: true, route: undefined },
        what,
      );
    }
    // %00 in the query is data, not a path.
    forwarded(planRequest(runtime, request({ url: '/a?x=%00' })));
  });

  it('takes an untrusted peer as the client, whatever its X-Forwarded-* say', () => {
    const plan = forwarded(
      planRequest(
        runtime,
        request({ rawHeaders: ['Host', 'site.example', 'X-Forwarded-For', '198.51.100.1', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil.example'] }),
      ),
    );
    assert.equal(plan.context.clientIp, '203.0.113.5');
    assert.equal(plan.context.remoteAddr, '203.0.113.5');
    assert.equal(plan.context.scheme, 'http');
    const headers = plan.upstream.headers;
    assert.deepEqual(values(headers, 'x-forwarded-for'), ['203.0.113.5']);
    assert.deepEqual(values(headers, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(values(headers, 'x-forwarded-host'), ['site.example']);
  });

  it('behind a trusted proxy, walks X-Forwarded-For past trusted hops and believes X-Forwarded-Proto', () => {
    const plan = forwarded(
      planRequest(
        runtime,
        request({
          peer: '10.0.0.2',
          rawHeaders: ['Host', 'site.example', 'X-Forwarded-For', '6.6.6.6, 198.51.100.7, 10.1.2.3', 'X-Forwarded-Proto', 'https'],
        }),
      ),
    );
    assert.equal(plan.context.clientIp, '198.51.100.7');
    assert.equal(plan.context.remoteAddr, '10.0.0.2');
    assert.equal(plan.context.scheme, 'https');
    assert.deepEqual(values(plan.upstream.headers, 'x-forwarded-for'), ['6.6.6.6, 198.51.100.7, 10.1.2.3, 10.0.0.2']);
    assert.deepEqual(values(plan.upstream.headers, 'x-forwarded-proto'), ['https']);
  });

  it('takes the PROXY protocol source as the hop only when a trusted peer declared it', () => {
    const viaTrusted = forwarded(planRequest(runtime, request({ peer: '10.0.0.1', proxySource: '198.51.100.20' })));
    assert.equal(viaTrusted.context.clientIp, '198.51.100.20');
    assert.equal(viaTrusted.context.remoteAddr, '10.0.0.1');
    assert.deepEqual(values(viaTrusted.upstream.headers, 'x-forwarded-for'), ['198.51.100.20']);

    // The source is itself a trusted proxy: its X-Forwarded-For is believed.
    const chained = forwarded(
      planRequest(runtime, request({ peer: '10.0.0.1', proxySource: '10.9.9.9', rawHeaders: ['Host', 'site.example', 'X-Forwarded-For', '198.51.100.30'] })),
    );
    assert.equal(chained.context.clientIp, '198.51.100.30');
    assert.deepEqual(values(chained.upstream.headers, 'x-forwarded-for'), ['198.51.100.30, 10.9.9.9']);

    const viaStranger = forwarded(planRequest(runtime, request({ peer: '203.0.113.9', proxySource: '198.51.100.20' })));
    assert.equal(viaStranger.context.clientIp, '203.0.113.9');
    assert.deepEqual(values(viaStranger.upstream.headers, 'x-forwarded-for'), ['203.0.113.9']);
  });

  it('keeps a well formed request id, makes one otherwise, and forwards it once under the configured name', () => {
    const kept = forwarded(planRequest(runtime, request({ rawHeaders: ['Host', 'site.example', 'x-request-id', 'trace-42:span.7'] })));
    assert.equal(kept.context.requestId, 'trace-42:span.7');
    assert.deepEqual(values(kept.upstream.headers, 'x-request-id'), ['trace-42:span.7']);
    assert.ok(kept.upstream.headers.includes('X-Request-Id'), 'written as configured');

    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    for (const raw of [['Host', 'site.example'], ['Host', 'site.example', 'X-Request-Id', '<script>']]) {
      const made = forwarded(planRequest(runtime, request({ rawHeaders: raw })));
      assert.match(made.context.requestId, uuid);
      assert.deepEqual(values(made.upstream.headers, 'x-request-id'), [made.context.requestId]);
    }
    const other = forwarded(planRequest(runtime, request()));
    assert.notEqual(other.context.requestId, forwarded(planRequest(runtime, request())).context.requestId, 'one id per request');

    const off = runtimeOf({ request_id: false });
    const none = forwarded(planRequest(off, request({ rawHeaders: ['Host', 'site.example', 'X-Request-Id', 'abc'] })));
    assert.equal(none.context.requestId, '');
    assert.deepEqual(values(none.upstream.headers, 'x-request-id'), ['abc'], 'with ids off the header is an ordinary one');
  });

  it('writes the forwarding headers and Via, and drops hop-by-hop headers', () => {
    const plan = forwarded(
      planRequest(
        runtime,
        request({ rawHeaders: ['Host', 'site.example:8080', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Keep-Alive', 'timeout=5', 'Accept', '*/*'] }),
      ),
    );
    const headers = plan.upstream.headers;
    assert.deepEqual(values(headers, 'host'), ['site.example:8080']);
    assert.deepEqual(values(headers, 'accept'), ['*/*']);
    assert.deepEqual(values(headers, 'connection'), []);
    assert.deepEqual(values(headers, 'x-hop'), []);
    assert.deepEqual(values(headers, 'keep-alive'), []);
    assert.deepEqual(values(headers, 'via'), ['1.1 weir']);
    assert.deepEqual(values(headers, 'x-forwarded-host'), ['site.example:8080']);
    assert.equal(plan.context.host, 'site.example');
  });
});

describe('client phase for HTTP/2 and TLS', () => {
  const h2 = (over: Partial<ClientRequest> = {}): ClientRequest =>
    request({ httpVersionMajor: 2, httpVersionMinor: 0, http2: true, authority: 'site.example', rawHeaders: ['host', 'site.example'], hasBody: false, ...over });

  it('serves an HTTP/2 stream as HTTP/2, with Via "2 weir", where an HTTP/1 request line claiming 2.0 gets 505', () => {
    const plan = forwarded(planRequest(runtime, h2()));
    assert.deepEqual(values(plan.upstream.headers, 'via'), ['2 weir']);
    assert.equal(refused(planRequest(runtime, request({ httpVersionMajor: 2, httpVersionMinor: 0 }))).failure.status, 505);
  });

  it('takes whether a body follows from the stream, not from Content-Length', () => {
    assert.equal(forwarded(planRequest(runtime, h2({ method: 'POST', hasBody: true }))).hasBody, true, 'DATA frames follow, no Content-Length');
    assert.equal(forwarded(planRequest(runtime, h2({ hasBody: false }))).hasBody, false, 'HEADERS ended the stream');
    assert.equal(forwarded(planRequest(runtime, request({ rawHeaders: ['Host', 'site.example', 'Content-Length', '3'] }))).hasBody, true, 'HTTP/1 still reads the head');
  });

  it('refuses a Host that differs from :authority, and a request with neither, with 400', () => {
    assert.match(refused(planRequest(runtime, h2({ rawHeaders: ['host', 'other.example'] }))).failure.reason, /differs from :authority/);
    assert.match(refused(planRequest(runtime, h2({ authority: undefined, rawHeaders: [] }))).failure.reason, /neither :authority nor Host/);
  });

  it('refuses CONNECT with 501: weir is no forward proxy and offers no WebSocket over HTTP/2', () => {
    const plan = refused(planRequest(runtime, h2({ method: 'CONNECT', url: 'site.example:443' })));
    assert.equal(plan.failure.status, 501);
    assert.equal(plan.failure.owner, 'client');
  });

  it('sees a TLS client as https: X-Forwarded-Proto and https_redirect say so', () => {
    const plan = forwarded(planRequest(runtime, request({ url: '/secure/x', secure: true, rawHeaders: ['Host', 'shop.example'] })));
    assert.equal(plan.route.name, 'secure', 'no redirect to https for what came by https');
    assert.deepEqual(values(plan.upstream.headers, 'x-forwarded-proto'), ['https']);
    assert.equal(forwarded(planRequest(runtime, h2({ secure: true }))).context.scheme, 'https');
  });
});

describe('route phase', () => {
  it('answers 404, owned by the config, when no route takes the request', () => {
    const plan = refused(planRequest(runtime, request({ rawHeaders: ['Host', 'nowhere.example'] })));
    assert.equal(plan.failure.status, 404);
    assert.equal(plan.failure.owner, 'config');
    assert.equal(plan.route, undefined);
    assert.equal(plan.context?.host, 'nowhere.example');
    assert.equal(plan.context?.routeName, '');
  });

  it('names the route that took the request', () => {
    const plan = forwarded(planRequest(runtime, request({ url: '/api/users', rawHeaders: ['Host', 'api.example'] })));
    assert.equal(plan.route.name, 'api');
    assert.equal(plan.context.routeName, 'api');
    assert.match(plan.why, /\/api/);
  });
});

describe('guard phase', () => {
  const api = (over: Partial<ClientRequest>): ClientRequest => request({ url: '/api/users', rawHeaders: ['Host', 'api.example'], ...over });

  it('refuses what a firewall refuses, with its rule, status and route, owned by the client', () => {
    const plan = refused(planRequest(runtime, api({ peer: '192.0.2.44' })));
    assert.equal(plan.failure.status, 403);
    assert.equal(plan.failure.owner, 'client');
    assert.equal(plan.failure.rule, 'ip_reject 192.0.2.0/24');
    assert.match(plan.failure.reason, /ip_reject 192\.0\.2\.0\/24/);
    assert.equal(plan.route?.name, 'api');
    assert.equal(plan.context?.routeName, 'api');
    assert.notEqual(plan.failure.closeConnection, true, 'a 403 leaves the connection open');
  });

  it('runs the firewall of `defaults` before the route\'s', () => {
    const plan = refused(planRequest(runtime, api({ url: '/api/secret', peer: '192.0.2.44' })));
    assert.equal(plan.failure.rule, 'defaults: path_reject /api/secret');
  });

  it('carries the firewall\'s headers: Allow with a 405', () => {
    const plan = refused(planRequest(runtime, api({ method: 'DELETE' })));
    assert.equal(plan.failure.status, 405);
    assert.equal(plan.failure.rule, 'methods GET, POST');
    assert.deepEqual(plan.failure.headers, ['allow', 'GET, POST']);
  });

  it('closes the connection after a 413: the body it declared is never read', () => {
    const plan = refused(planRequest(runtime, api({ method: 'POST', rawHeaders: ['Host', 'api.example', 'Content-Length', '1001'] })));
    assert.equal(plan.failure.status, 413);
    assert.equal(plan.failure.rule, 'defaults: max_body_size 1000');
    assert.equal(plan.failure.closeConnection, true);
    forwarded(planRequest(runtime, api({ method: 'POST', rawHeaders: ['Host', 'api.example', 'Content-Length', '1000'] })));
  });

  it('refuses TRACE with 405 and an Allow header without TRACE, unless the route\'s methods list TRACE', () => {
    const plan = refused(planRequest(runtime, request({ method: 'TRACE' })));
    assert.equal(plan.failure.status, 405);
    assert.equal(plan.failure.owner, 'client');
    assert.equal(plan.route?.name, 'site');
    const allow = values(plan.failure.headers ?? [], 'allow');
    assert.equal(allow.length, 1);
    assert.ok(allow[0]!.includes('GET'), allow[0]);
    assert.ok(!allow[0]!.includes('TRACE'), allow[0]);

    const allowed = forwarded(planRequest(runtime, request({ method: 'TRACE', url: '/debug/x', rawHeaders: ['Host', 'any.example'] })));
    assert.equal(allowed.route.name, 'debug');
    assert.equal(allowed.upstream.method, 'TRACE');
  });
});

describe('rewrite phase', () => {
  it('redirects, with the template expanded, before any step', () => {
    const plan = planRequest(runtime, request({ url: '/old/page?a=1', rawHeaders: ['Host', 'any.example'] }));
    assert.deepEqual(plan.kind === 'redirect' && [plan.status, plan.location, plan.route.name], [308, 'https://new.example/old/page?a=1', 'moved']);
  });

  it('redirects plain http on an https_redirect route, and forwards what a trusted proxy says came by https', () => {
    const plain = planRequest(runtime, request({ url: '/secure/x', rawHeaders: ['Host', 'shop.example'] }));
    assert.deepEqual(plain.kind === 'redirect' && [plain.status, plain.location], [301, 'https://shop.example/secure/x']);
    const secure = forwarded(planRequest(runtime, request({ url: '/secure/x', peer: '10.0.0.1', rawHeaders: ['Host', 'shop.example', 'X-Forwarded-Proto', 'https'] })));
    assert.equal(secure.route.name, 'secure');
  });

  it('answers by itself on a respond route, with its headers and a Content-Type', () => {
    const plan = planRequest(runtime, request({ url: '/maint', rawHeaders: ['Host', 'any.example'] }));
    assert.equal(plan.kind, 'respond');
    if (plan.kind !== 'respond') return;
    assert.equal(plan.status, 503);
    assert.equal(plan.body, 'closed for now');
    assert.deepEqual(values(plan.headers, 'retry-after'), ['60']);
    assert.equal(values(plan.headers, 'content-type').length, 1);
  });

  it('forwards with every step applied in order, and the observer sees the request after each one', () => {
    const seen: Array<[string, string, string, string | undefined, string | undefined]> = [];
    const observe = (label: string, upstream: UpstreamRequest): void => {
      seen.push([label, upstream.path, upstream.query, values(upstream.headers, 'x-client')[0], values(upstream.headers, 'cookie')[0]]);
    };
    const plan = forwarded(
      planRequest(
        runtime,
        request({
          method: 'POST',
          url: '/api/users?utm_source=ad&q=1',
          peer: '198.51.100.3',
          rawHeaders: ['Host', 'api.example', 'Cookie', 'a=b', 'Content-Length', '5'],
        }),
        observe,
      ),
    );
    assert.deepEqual(seen, [
      ['received', '/api/users', 'utm_source=ad&q=1', undefined, 'a=b'],
      ['strip_prefix', '/users', 'utm_source=ad&q=1', undefined, 'a=b'],
      ['rewrite add_prefix', '/v2/users', 'utm_source=ad&q=1', undefined, 'a=b'],
      ['route query', '/v2/users', 'q=1&lang=en', undefined, 'a=b'],
      ['route request_headers', '/v2/users', 'q=1&lang=en', '198.51.100.3', undefined],
    ]);
    assert.equal(plan.upstream.method, 'POST');
    assert.equal(plan.upstream.path, '/v2/users');
    assert.equal(plan.hasBody, true);
    assert.equal(plan.context.contentLength, 5);
    assert.equal(plan.service, runtime.services.get('app'));
    // The context keeps what the client sent.
    assert.equal(plan.context.path, '/api/users');
  });

  it('forwards the path with the client\'s own spelling when no step changes it, the normalized one when one does', () => {
    const plain = forwarded(planRequest(runtime, request({ url: '/a//%7Eb' })));
    assert.equal(plain.upstream.path, '/a//%7Eb');
    assert.equal(plain.hasBody, false);
    const rewritten = forwarded(planRequest(runtime, request({ url: '/api//x/%7Eb', rawHeaders: ['Host', 'api.example'] })));
    assert.equal(rewritten.upstream.path, '/v2/x/~b');
  });
});

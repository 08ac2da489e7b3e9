import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { RateLimitConfig } from '../config/types.ts';
import { createLogger } from '../log.ts';
import { checkRateLimits, compileRateLimit, policyName, RateLimitStores, type KeyFacts, type RateVerdict } from './rate-limit.ts';

const silent = createLogger(false);

function limit(overrides: Partial<RateLimitConfig> = {}): RateLimitConfig {
  return {
    id: 'routes[0].rate_limit',
    key: [{ kind: 'client_ip' }],
    ratePerSecond: 10,
    rateText: '10/s',
    windowSeconds: 1,
    burst: 2,
    store: { kind: 'local' },
    onStoreError: 'allow',
    ...overrides,
  };
}

const request: KeyFacts = { clientIp: '192.0.2.1', rawHeaders: [], routeName: 'api' };

function sync(verdict: RateVerdict | Promise<RateVerdict>): RateVerdict {
  assert.ok(!(verdict instanceof Promise), 'a local limit decides synchronously');
  return verdict;
}

describe('a local rate limit', () => {
  const stores = new RateLimitStores();
  after(() => stores.close());

  it('passes `burst` requests, then refuses with Retry-After and the RateLimit fields', () => {
    const compiled = compileRateLimit(limit({ id: 'burst test', ratePerSecond: 100 / 60, rateText: '100/m', windowSeconds: 60, burst: 2 }), stores, silent);
    assert.deepEqual(sync(compiled.check(request, 0)), { kind: 'pass' });
    assert.deepEqual(sync(compiled.check(request, 0)), { kind: 'pass' });
    assert.deepEqual(sync(compiled.check(request, 0)), {
      kind: 'limited',
      limitId: 'burst test',
      retryAfterSeconds: 1,
      headers: ['Retry-After', '1', 'RateLimit-Policy', '"burst test";q=100;w=60;weir-burst=2', 'RateLimit', '"burst test";r=0;t=1'],
    });
  });

  it('rounds the wait up to whole seconds', () => {
    const compiled = compileRateLimit(limit({ id: 'slow', ratePerSecond: 1 / 60, rateText: '1/m', windowSeconds: 60, burst: 1 }), stores, silent);
    sync(compiled.check(request, 0));
    const refused = sync(compiled.check(request, 20_500));
    assert.equal(refused.kind, 'limited');
    assert.equal(refused.retryAfterSeconds, 40, '39.5 s left, rounded up');
    assert.deepEqual(refused.headers.slice(4), ['RateLimit', '"slow";r=0;t=40']);
  });

  it('limits each key apart', () => {
    const compiled = compileRateLimit(limit({ id: 'per ip', burst: 1 }), stores, silent);
    assert.equal(sync(compiled.check(request, 0)).kind, 'pass');
    assert.equal(sync(compiled.check(request, 0)).kind, 'limited');
    assert.equal(sync(compiled.check({ ...request, clientIp: '192.0.2.2' }, 0)).kind, 'pass');
  });
});

describe('checking several limits', () => {
  const stores = new RateLimitStores();
  after(() => stores.close());

  it('decides synchronously when every limit is local, and passes when all pass', () => {
    const limits = [compileRateLimit(limit({ id: 'a', burst: 5 }), stores, silent), compileRateLimit(limit({ id: 'b', burst: 5 }), stores, silent)];
    assert.deepEqual(sync(checkRateLimits(limits, request)), { kind: 'pass' });
    assert.deepEqual(sync(checkRateLimits([], request)), { kind: 'pass' });
  });

  it('lets the first limit that refuses decide', () => {
    const perRoute = compileRateLimit(limit({ id: 'route', key: [{ kind: 'route' }], burst: 3, ratePerSecond: 0.001 }), stores, silent);
    const perClient = compileRateLimit(limit({ id: 'client', burst: 1, ratePerSecond: 0.001 }), stores, silent);
    const limits = [perRoute, perClient];
    assert.equal(sync(checkRateLimits(limits, request)).kind, 'pass');
    const second = sync(checkRateLimits(limits, request));
    assert.equal(second.kind === 'limited' && second.limitId, 'client');
    assert.equal(sync(checkRateLimits(limits, { ...request, clientIp: '192.0.2.9' })).kind, 'pass');
    const routeFull = sync(checkRateLimits(limits, { ...request, clientIp: '192.0.2.10' }));
    assert.equal(routeFull.kind === 'limited' && routeFull.limitId, 'route', 'the route has given its 3 tokens');
  });
});

describe('limits across reloads', () => {
  it('keep their buckets for the same id, rate and burst, and start fresh when those change', () => {
    const stores = new RateLimitStores();
    const config = limit({ id: 'kept', burst: 1, ratePerSecond: 0.001 });
    assert.equal(sync(compileRateLimit(config, stores, silent).check(request, 0)).kind, 'pass');
    assert.equal(sync(compileRateLimit({ ...config }, stores, silent).check(request, 0)).kind, 'limited', 'the reloaded limit remembers the client');
    assert.equal(sync(compileRateLimit({ ...config, burst: 2 }, stores, silent).check(request, 0)).kind, 'pass', 'a new burst is a new bucket');
    stores.retain([]);
    assert.equal(sync(compileRateLimit({ ...config, burst: 2 }, stores, silent).check(request, 0)).kind, 'pass', 'retain([]) forgot it');
    return stores.close();
  });
});

describe('policy names', () => {
  it('are the limit id, made safe inside a structured-field string', () => {
    assert.equal(policyName('routes[2].rate_limit[1]'), 'routes[2].rate_limit[1]');
    assert.equal(policyName('a"b\\c\u00e9'), 'a_b_c_');
  });
});

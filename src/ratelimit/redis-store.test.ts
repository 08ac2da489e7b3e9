import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { RateLimitConfig } from '../config/types.ts';
import { createLogger } from '../log.ts';
import { closedPort } from '../../test/helpers/backends.ts';
import { eventually } from '../../test/helpers/client.ts';
import { captureLog } from '../../test/helpers/log.ts';
import { startRedis, type TestRedis } from '../../test/helpers/redis.ts';
import { checkRateLimits, compileRateLimit, RateLimitStores, type KeyFacts, type RateVerdict } from './rate-limit.ts';

const silent = createLogger(false);
const request: KeyFacts = { clientIp: '192.0.2.1', rawHeaders: [], routeName: 'api' };

/** A limit in Redis that refills so slowly (1/h) that no test sees a token come back. */
function redisLimit(url: string, overrides: Partial<RateLimitConfig> = {}): RateLimitConfig {
  return {
    id: 'routes[0].rate_limit',
    key: [{ kind: 'client_ip' }],
    ratePerSecond: 1 / 3600,
    rateText: '1/h',
    windowSeconds: 3600,
    burst: 2,
    store: { kind: 'redis', url },
    onStoreError: 'allow',
    ...overrides,
  };
}

/** A plain client to look into Redis from the test's side. */
function observer(redis: TestRedis): Redis {
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  // It reconnects while a test has stopped the server; that is expected.
  client.on('error', () => undefined);
  return client;
}

function kinds(verdicts: RateVerdict[]): string[] {
  return verdicts.map((verdict) => verdict.kind);
}

const warnings = (lines: Array<Record<string, unknown>>) => lines.filter((line) => line.level === 40);
const infos = (lines: Array<Record<string, unknown>>) => lines.filter((line) => line.level === 30);

describe('a rate limit in Redis', () => {
  let redis: TestRedis;
  let look: Redis;
  before(async () => {
    redis = await startRedis();
    look = observer(redis);
  });
  after(async () => {
    look.disconnect();
    await redis.stop();
  });

  it('is enforced, with the bucket expiring when it would be full again', async () => {
    const stores = new RateLimitStores();
    try {
      const limit = compileRateLimit(redisLimit(redis.url, { id: 'enforced' }), stores, silent);
      const first = limit.check(request);
      assert.ok(first instanceof Promise, 'a Redis limit answers with a promise');
      const verdicts = [await first, await limit.check(request), await limit.check(request)];
      assert.deepEqual(kinds(verdicts), ['pass', 'pass', 'limited']);
      const refused = verdicts[2]!;
      assert.equal(refused.kind, 'limited');
      assert.equal(refused.retryAfterSeconds, 3600);
      assert.deepEqual(refused.headers, [
        'Retry-After', '3600',
        'RateLimit-Policy', '"enforced";q=1;w=3600;weir-burst=2',
        'RateLimit', '"enforced";r=0;t=3600',
      ]);
      assert.equal((await limit.check({ ...request, clientIp: '192.0.2.2' })).kind, 'pass', 'another client has its own bucket');

      const keys = await look.keys('weir:rl:enforced:*');
      assert.equal(keys.length, 2);
      const [halfUsed, drained] = (await Promise.all(keys.map((key) => look.pttl(key)))).sort((a, b) => a - b);
      // At one token per hour, the drained bucket is full again in two hours, the other in one.
      assert.ok(drained! > 7_100_000 && drained! <= 7_200_000, `PTTL ${drained}`);
      assert.ok(halfUsed! > 3_500_000 && halfUsed! <= 3_600_000, `PTTL ${halfUsed}`);
    } finally {
      await stores.close();
    }
  });

  it('is one limit for two weir instances sharing the Redis', async () => {
    const first = new RateLimitStores();
    const second = new RateLimitStores();
    try {
      const config = redisLimit(redis.url, { id: 'shared', burst: 4 });
      const a = compileRateLimit(config, first, silent);
      const b = compileRateLimit(config, second, silent);
      const verdicts: RateVerdict[] = [];
      for (const limit of [a, b, a, b, a, b]) verdicts.push(await limit.check(request));
      assert.deepEqual(kinds(verdicts), ['pass', 'pass', 'pass', 'pass', 'limited', 'limited']);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('is checked after the local limits before it, the first refusal deciding', async () => {
    const stores = new RateLimitStores();
    try {
      const local = compileRateLimit({ ...redisLimit(redis.url, { id: 'local first', burst: 5 }), store: { kind: 'local' } }, stores, silent);
      const shared = compileRateLimit(redisLimit(redis.url, { id: 'redis second', burst: 1 }), stores, silent);
      const pending = checkRateLimits([local, shared], request);
      assert.ok(pending instanceof Promise);
      assert.equal((await pending).kind, 'pass');
      const refused = await checkRateLimits([local, shared], request);
      assert.equal(refused.kind === 'limited' && refused.limitId, 'redis second');
    } finally {
      await stores.close();
    }
  });
});

describe('the Redis clients of a weir instance', () => {
  it('are one per URL, shared by every limit and reload, and closed by close()', async () => {
    const redis = await startRedis();
    const look = observer(redis);
    const stores = new RateLimitStores();
    try {
      const limits = [
        compileRateLimit(redisLimit(redis.url, { id: 'one' }), stores, silent),
        compileRateLimit(redisLimit(redis.url, { id: 'two' }), stores, silent),
        compileRateLimit(redisLimit(redis.url, { id: 'one' }), stores, silent),
      ];
      for (const limit of limits) await limit.check(request);
      const connected = async () => Number(/connected_clients:(\d+)/.exec(await look.info('clients'))?.[1]);
      assert.equal(await connected(), 2, 'the observer and one client for all three limits');
      await stores.close();
      await eventually('the weir client to disconnect', async () => (await connected()) === 1);
    } finally {
      look.disconnect();
      await redis.stop();
    }
  });
});

describe('when Redis is unreachable', () => {
  it('fails open to local buckets, warns once, and says once when Redis is back', async () => {
    const redis = await startRedis();
    const look = observer(redis);
    const { logger, lines } = captureLog();
    const stores = new RateLimitStores();
    try {
      const limit = compileRateLimit(redisLimit(redis.url, { id: 'fails open', burst: 2 }), stores, logger);
      assert.equal((await limit.check(request)).kind, 'pass');
      assert.equal((await look.keys('weir:rl:fails open:*')).length, 1, 'decided in Redis');
      assert.equal(warnings(lines).length, 0);

      await redis.stop();
      // The local bucket of this instance starts full: burst 2, then refused.
      const local = [await limit.check(request), await limit.check(request), await limit.check(request)];
      assert.deepEqual(kinds(local), ['pass', 'pass', 'limited']);
      assert.equal(warnings(lines).length, 1, JSON.stringify(lines));
      assert.match(String(warnings(lines)[0]!.msg), /rate limit store redis:\/\/127\.0\.0\.1:\d+\/? is unreachable/);

      await redis.restart();
      await eventually('the "reachable again" log line', () => infos(lines).length === 1, 5_000);
      assert.equal((await limit.check(request)).kind, 'pass', 'the new Redis has a fresh bucket');
      assert.equal((await look.keys('weir:rl:fails open:*')).length, 1, 'decided in Redis again');
      assert.match(String(infos(lines)[0]!.msg), /is reachable again/);
      assert.equal(warnings(lines).length, 1, 'the reconnection attempts while it was down logged nothing more');
    } finally {
      look.disconnect();
      await stores.close();
      await redis.stop();
    }
  });

  it('answers store-unavailable where on_store_error is deny, and local decisions where it is allow', async () => {
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const { logger, lines } = captureLog();
    const stores = new RateLimitStores();
    try {
      const deny = compileRateLimit(redisLimit(url, { id: 'strict', onStoreError: 'deny' }), stores, logger);
      const allow = compileRateLimit(redisLimit(url, { id: 'lenient', burst: 1 }), stores, logger);
      assert.deepEqual(await deny.check(request), { kind: 'store-unavailable', limitId: 'strict' });
      assert.deepEqual(kinds([await allow.check(request), await allow.check(request)]), ['pass', 'limited']);
      assert.deepEqual(await checkRateLimits([allow, deny], { ...request, clientIp: '192.0.2.3' }), { kind: 'store-unavailable', limitId: 'strict' });
      assert.equal(warnings(lines).length, 1, 'one warning for the URL, not one per limit or request');
    } finally {
      await stores.close();
    }
  });

  it('decides locally within the command timeout when Redis hangs, then without waiting until it answers again', async () => {
    const redis = await startRedis();
    const { logger, lines } = captureLog();
    const stores = new RateLimitStores();
    try {
      const limit = compileRateLimit(redisLimit(redis.url, { id: 'hangs', burst: 3 }), stores, logger);
      assert.equal((await limit.check(request)).kind, 'pass');

      process.kill(redis.pid!, 'SIGSTOP');
      const started = performance.now();
      assert.equal((await limit.check(request)).kind, 'pass', 'from the local bucket');
      const waited = performance.now() - started;
      assert.ok(waited < 1_000, `waited ${Math.round(waited)} ms for a hung Redis`);
      assert.equal(warnings(lines).length, 1);
      const next = limit.check(request);
      assert.ok(!(next instanceof Promise), 'while Redis is down, requests are decided at once');

      process.kill(redis.pid!, 'SIGCONT');
      await eventually('a probe to find Redis answering again', async () => {
        await limit.check({ ...request, clientIp: '192.0.2.4' });
        return infos(lines).length === 1;
      });
      assert.equal(warnings(lines).length, 1);
    } finally {
      await stores.close();
      await redis.stop();
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backend } from '../backend.ts';
import type { Balancer, HashKey, PickContext } from './balancer.ts';
import { consistentHash } from './consistent-hash.ts';
import { FNV_OFFSET_BASIS, fnv1a, hashString, hashWithNumber } from './hash.ts';
import { keyHasher } from './hash-key.ts';
import { HashRing } from './hash-ring.ts';
import { ipHash } from './ip-hash.ts';

function pool(size: number, weights: readonly number[] = []): Backend[] {
  return Array.from({ length: size }, (_, i) => {
    const backend = new Backend('svc', { host: '10.1.0.' + (i + 1), port: 8080 });
    backend.configure({ weight: weights[i] ?? 1, backup: false, slowStartMs: 0 });
    return backend;
  });
}

const NOW = 1_000_000;

function request(overrides: Partial<PickContext> = {}): PickContext {
  return { clientIp: '192.0.2.1', headers: [], path: '/', now: NOW, ...overrides };
}

const byClientIp = (): Balancer => consistentHash({ hashKey: { kind: 'client_ip' } });

/** 20,000 distinct client IPs. */
const CLIENTS = Array.from({ length: 20_000 }, (_, i) => `198.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

/** Where each client lands. */
function placement(balancer: Balancer, candidates: readonly Backend[], clients: readonly string[] = CLIENTS): Backend[] {
  return clients.map((clientIp) => balancer.pick(candidates, request({ clientIp })));
}

describe('hash', () => {
  it('hashes a range of a string as it hashes that substring', () => {
    const text = 'a=1; session=abc123; b=2';
    assert.equal(hashString(text, 13, 19), hashString('abc123'));
    assert.notEqual(hashString(text, 13, 19), hashString('abc124'));
  });

  it('hashes a prefix and a number as it hashes them written out', () => {
    const prefixState = fnv1a(FNV_OFFSET_BASIS, '10.0.0.1:80#');
    for (const n of [0, 1, 9, 10, 11, 99, 100, 101, 199, 1000, 65_535, 262_143, 2_000_000_000]) {
      assert.equal(hashWithNumber(prefixState, n), hashString(`10.0.0.1:80#${n}`), `n = ${n}`);
    }
  });
});

describe('consistent hash', () => {
  it('sends the same key to the same backend across calls, rebuilt balancers and any candidate order', () => {
    const backends = pool(8);
    const first = placement(byClientIp(), backends);
    assert.deepEqual(placement(byClientIp(), backends), first);
    const again = byClientIp();
    assert.deepEqual(placement(again, backends), first);
    assert.deepEqual(placement(again, [...backends].reverse()), first, 'a reordered list is the same ring');
    // And a backend object recreated with the same label (a restart) keeps its keys.
    const recreated = pool(8);
    assert.deepEqual(
      placement(byClientIp(), recreated).map((backend) => backend.label),
      first.map((backend) => backend.label),
    );
  });

  it('gives a key the first point at or after its hash, wrapping past the top', () => {
    const ring = new HashRing(pool(3));
    assert.equal(ring.size, 600);
    assert.equal(ring.pointFor(0), 0);
    assert.equal(ring.pointFor(2 ** 32 - 1), 0, 'past the last point is the first');
    assert.equal(ring.nextPoint(ring.size - 1), 0);
  });

  it('settles ring points that collide by label, not by list position', () => {
    // Found by search: '10.0.4.251:8080#48' and '10.0.6.75:8080#20' hash alike.
    const collision = 2028909516;
    const first = new Backend('svc', { host: '10.0.4.251', port: 8080 });
    const second = new Backend('svc', { host: '10.0.6.75', port: 8080 });
    assert.equal(hashString(`${first.label}#48`), collision);
    assert.equal(hashString(`${second.label}#20`), collision);
    for (const order of [[first, second], [second, first]]) {
      const ring = new HashRing(order);
      assert.equal(ring.ownerOf(ring.pointFor(collision)), first);
    }
  });

  it('gives 10 backends each their fair share within ±25% (100,000 keys)', (t) => {
    const backends = pool(10);
    const balancer = consistentHash({ hashKey: { kind: 'path' } });
    const counts = new Map<Backend, number>();
    for (let i = 0; i < 100_000; i++) {
      const picked = balancer.pick(backends, request({ path: `/items/${i}` }));
      counts.set(picked, (counts.get(picked) ?? 0) + 1);
    }
    const fair = 100_000 / 10;
    const deviations = backends.map((backend) => (counts.get(backend) ?? 0) / fair - 1);
    t.diagnostic(`share / fair share - 1: ${deviations.map((d) => (d * 100).toFixed(1) + '%').join(' ')}`);
    for (const deviation of deviations) assert.ok(Math.abs(deviation) <= 0.25, `off by ${(deviation * 100).toFixed(1)}%`);
  });

  it('gives weighted backends shares in proportion to weight, within ±25%', (t) => {
    const weights = [1, 2, 3, 4];
    const backends = pool(4, weights);
    const counts = new Map<Backend, number>();
    for (const picked of placement(byClientIp(), backends)) counts.set(picked, (counts.get(picked) ?? 0) + 1);
    const deviations = backends.map((backend, i) => (counts.get(backend) ?? 0) / (CLIENTS.length * weights[i]! / 10) - 1);
    t.diagnostic(`weights 1,2,3,4, share / fair share - 1: ${deviations.map((d) => (d * 100).toFixed(1) + '%').join(' ')}`);
    for (const deviation of deviations) assert.ok(Math.abs(deviation) <= 0.25, `off by ${(deviation * 100).toFixed(1)}%`);
  });

  it('removing one of 10 backends moves only its own keys (≤ 1/10 + 5 points), whichever it is', (t) => {
    const backends = pool(10);
    const before = placement(byClientIp(), backends);
    const movedFractions: number[] = [];
    for (const removed of backends) {
      const after = placement(byClientIp(), backends.filter((backend) => backend !== removed));
      let moved = 0;
      for (let i = 0; i < CLIENTS.length; i++) {
        if (after[i] === before[i]) continue;
        moved++;
        assert.equal(before[i], removed, `${CLIENTS[i]} moved off ${before[i]!.label}, which was not removed`);
      }
      movedFractions.push(moved / CLIENTS.length);
      assert.ok(moved / CLIENTS.length <= 1 / 10 + 0.05, `removing ${removed.label} moved ${moved} keys`);
    }
    t.diagnostic(`moved on removal: ${movedFractions.map((f) => (f * 100).toFixed(1) + '%').join(' ')}`);
  });

  it('adding an 11th backend moves ≤ 1/11 + 5 points of keys, all of them onto the new one', (t) => {
    const eleven = pool(11);
    const added = eleven[10]!;
    const before = placement(byClientIp(), eleven.slice(0, 10));
    const after = placement(byClientIp(), eleven);
    let moved = 0;
    for (let i = 0; i < CLIENTS.length; i++) {
      if (after[i] === before[i]) continue;
      moved++;
      assert.equal(after[i], added, `${CLIENTS[i]} moved to ${after[i]!.label}, not the new backend`);
    }
    t.diagnostic(`moved on adding an 11th: ${((moved / CLIENTS.length) * 100).toFixed(1)}%`);
    assert.ok(moved > 0, 'the new backend took no keys');
    assert.ok(moved / CLIENTS.length <= 1 / 11 + 0.05, `adding moved ${moved} keys`);
  });

  it('rebuilds its ring when the candidate set changes', () => {
    const backends = pool(3);
    const balancer = byClientIp();
    const onFirst = CLIENTS.find((clientIp) => balancer.pick(backends, request({ clientIp })) === backends[0])!;
    const withoutFirst = backends.slice(1);
    assert.notEqual(balancer.pick(withoutFirst, request({ clientIp: onFirst })), backends[0]);
  });

  it('hands a backend in slow start only a matching part of its keys, and moves each key once', () => {
    const backends = pool(4);
    const warm = placement(byClientIp(), backends);
    const without = placement(byClientIp(), backends.slice(0, 3));
    let previous = warm.map(() => false);
    let previousShare = 0;
    for (const fraction of [0.1, 0.3, 0.5, 0.8, 1]) {
      const returning = backends[3]!;
      returning.configure({ weight: returning.weight, backup: false, slowStartMs: 1000 });
      // Drained and enabled again at that moment: slow start counts from there.
      returning.drain('test', NOW - fraction * 1000);
      returning.enable('test', NOW - fraction * 1000);
      const ramping = placement(byClientIp(), backends);
      let onRamping = 0;
      let fullyWarmShare = 0;
      for (let i = 0; i < CLIENTS.length; i++) {
        if (warm[i] === backends[3]) fullyWarmShare++;
        if (ramping[i] === backends[3]) {
          onRamping++;
          assert.equal(warm[i], backends[3], 'a ramping backend takes only keys it owns when warm');
        } else {
          assert.equal(ramping[i], without[i], 'keys the ramping backend declines stay where they would be without it');
          assert.equal(previous[i], false, 'a key that moved to the ramping backend does not leave it as the ramp rises');
        }
      }
      const share = onRamping / fullyWarmShare;
      assert.ok(Math.abs(share - fraction) <= 0.05, `at ${fraction} of the ramp it took ${share.toFixed(3)} of its keys`);
      assert.ok(share >= previousShare);
      previousShare = share;
      previous = ramping.map((backend) => backend === backends[3]);
    }
  });
});

describe('hash keys', () => {
  const hash = (hashKey: HashKey, context: Partial<PickContext>): number => keyHasher(hashKey)(request(context));

  it('reads the first header of that name, in any case', () => {
    const key: HashKey = { kind: 'header', name: 'X-Tenant' };
    const headers = ['Host', 'example.test', 'x-TENANT', 'acme', 'X-Tenant', 'other'];
    assert.equal(hash(key, { headers }), hashString('acme'));
  });

  it('reads the named cookie from any Cookie header, exactly by name', () => {
    const key: HashKey = { kind: 'cookie', name: 'sid' };
    assert.equal(hash(key, { headers: ['Cookie', 'a=1; sid=abc123; b=2'] }), hashString('abc123'));
    assert.equal(hash(key, { headers: ['cookie', 'xsid=nope;sid=first', 'Cookie', 'sid=second'] }), hashString('first'));
    assert.equal(hash(key, { headers: ['Cookie', 'a=1', 'COOKIE', 'sid="quoted" '] }), hashString('quoted'));
    assert.equal(hash(key, { headers: ['Cookie', 'SID=upper; sid=lower'] }), hashString('lower'));
  });

  it('reads the path', () => {
    assert.equal(hash({ kind: 'path' }, { path: '/a/b' }), hashString('/a/b'));
  });

  it('falls back to the client IP when the header or cookie is missing or empty', () => {
    const clientIp = '203.0.113.9';
    const byIp = hashString(clientIp);
    const header: HashKey = { kind: 'header', name: 'x-tenant' };
    const cookie: HashKey = { kind: 'cookie', name: 'sid' };
    assert.equal(hash(header, { clientIp, headers: ['Host', 'example.test'] }), byIp);
    assert.equal(hash(header, { clientIp, headers: ['X-Tenant', ''] }), byIp);
    assert.equal(hash(cookie, { clientIp, headers: ['Cookie', 'a=1; sidx=2; sid='] }), byIp);
    assert.equal(hash(cookie, { clientIp, headers: [] }), byIp);
  });

  it('keeps one header value on one backend whatever the client IP, and spreads different values', () => {
    const backends = pool(5);
    const balancer = consistentHash({ hashKey: { kind: 'header', name: 'x-user' } });
    const target = balancer.pick(backends, request({ headers: ['X-User', 'alice'] }));
    for (const clientIp of CLIENTS.slice(0, 500)) {
      assert.equal(balancer.pick(backends, request({ clientIp, headers: ['X-User', 'alice'] })), target);
    }
    const used = new Set(CLIENTS.slice(0, 500).map((_, i) => balancer.pick(backends, request({ headers: ['X-User', `user-${i}`] }))));
    assert.equal(used.size, 5);
  });

  it('sends requests without the key where ip_hash sends them', () => {
    const backends = pool(5);
    const byCookie = consistentHash({ hashKey: { kind: 'cookie', name: 'sid' } });
    const byIp = ipHash();
    for (const clientIp of CLIENTS.slice(0, 500)) {
      assert.equal(byCookie.pick(backends, request({ clientIp })), byIp.pick(backends, request({ clientIp })));
    }
  });
});

describe('ip hash', () => {
  it('hashes the client IP whatever hash key it is given', () => {
    const backends = pool(6);
    const balancer = ipHash();
    const byIp = byClientIp();
    for (const clientIp of CLIENTS.slice(0, 500)) {
      const context = request({ clientIp, headers: ['X-User', 'same'], path: '/same' });
      assert.equal(balancer.pick(backends, context), byIp.pick(backends, context));
    }
  });
});

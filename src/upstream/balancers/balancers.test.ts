import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backend } from '../backend.ts';
import type { Balancer, PickContext } from './balancer.ts';
import { ewma } from './ewma.ts';
import type { BalanceAlgorithm } from '../../config/types.ts';
import { balancers } from './index.ts';
import { leastConnections } from './least-connections.ts';
import { powerOfTwo } from './power-of-two.ts';
import { random } from './random.ts';
import { roundRobin } from './round-robin.ts';
import { weightedRoundRobin } from './weighted-round-robin.ts';

/** Backends 127.0.0.1:9000, :9001, ... with the given weights (1 each by default). */
function pool(size: number, weights: readonly number[] = []): Backend[] {
  return Array.from({ length: size }, (_, i) => {
    const backend = new Backend('svc', { host: '127.0.0.1', port: 9000 + i });
    backend.configure({ weight: weights[i] ?? 1, backup: false, slowStartMs: 0 });
    return backend;
  });
}

const NOW = 1_000_000;
const context: PickContext = { clientIp: '10.0.0.1', headers: [], path: '/', now: NOW };

/** Port numbers of `times` successive picks, for short readable sequences. */
function sequence(balancer: Balancer, candidates: readonly Backend[], times: number): number[] {
  return Array.from({ length: times }, () => balancer.pick(candidates, context).address.port - 9000);
}

/** Each candidate's share of `times` picks, in candidate order. */
function shares(balancer: Balancer, candidates: readonly Backend[], times: number): number[] {
  const counts = new Map<Backend, number>();
  for (let i = 0; i < times; i++) {
    const picked = balancer.pick(candidates, context);
    counts.set(picked, (counts.get(picked) ?? 0) + 1);
  }
  return candidates.map((backend) => (counts.get(backend) ?? 0) / times);
}

function assertNear(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual.toFixed(4)}, expected ${expected.toFixed(4)} ± ${tolerance}`);
}

/** Puts `backend` halfway (or `fraction` of the way) through a slow start at NOW. */
function ramping(backend: Backend, fraction: number): Backend {
  backend.configure({ weight: backend.weight, backup: false, slowStartMs: 1000 });
  // Drained and enabled again at that moment: slow start counts from there.
  const since = NOW - fraction * 1000;
  backend.drain('test', since);
  backend.enable('test', since);
  assert.equal(backend.upSince, since);
  return backend;
}

const ALL: readonly BalanceAlgorithm[] = [
  'round_robin', 'weighted_round_robin', 'random', 'least_connections',
  'power_of_two', 'ewma', 'ip_hash', 'consistent_hash',
];

describe('every algorithm', () => {
  it('is registered by its config name', () => {
    assert.deepEqual(Object.keys(balancers).sort(), [...ALL].sort());
  });

  it('only ever returns one of the candidates, whatever the set, loads and keys', () => {
    const everyone = pool(12);
    // A seeded generator, so a failure can be reproduced.
    let seed = 12345;
    const next = (limit: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % limit;
    };
    for (const name of ALL) {
      const balancer = balancers[name]({ hashKey: { kind: 'header', name: 'x-user' } });
      let candidates: Backend[] = everyone.slice(0, 3);
      for (let round = 0; round < 3000; round++) {
        if (round % 50 === 0) {
          // A new set of a new size: shrinking and growing, in any order.
          candidates = everyone.filter(() => next(2) === 0);
          if (candidates.length === 0) candidates = [everyone[next(everyone.length)]!];
          for (const backend of candidates) {
            backend.configure({ weight: 1 + next(5), backup: false, slowStartMs: backend.slowStartMs });
            backend.inflight = next(20);
          }
        }
        const picked = balancer.pick(candidates, {
          clientIp: `10.0.${next(256)}.${next(256)}`,
          headers: next(2) === 0 ? ['X-User', `user-${next(1000)}`] : [],
          path: `/p/${next(100)}`,
          now: NOW + round,
        });
        assert.ok(candidates.includes(picked), `${name} picked ${picked.label}, not a candidate (round ${round})`);
      }
    }
  });
});

describe('round robin', () => {
  it('takes each candidate in turn, ignoring weights', () => {
    assert.deepEqual(sequence(roundRobin(), pool(3, [5, 1, 1]), 6), [0, 1, 2, 0, 1, 2]);
  });

  it('copes with the list shrinking and growing between picks', () => {
    const balancer = roundRobin();
    const five = pool(5);
    assert.deepEqual(sequence(balancer, five, 4), [0, 1, 2, 3]);
    const two = five.slice(0, 2);
    assert.deepEqual(sequence(balancer, two, 3), [0, 1, 0]);
    assert.deepEqual(sequence(balancer, five, 5), [1, 2, 3, 4, 0]);
  });
});

describe('weighted round robin', () => {
  it('interleaves weights 5,1,1 as a a b a c a a, cycle after cycle', () => {
    assert.deepEqual(sequence(weightedRoundRobin(), pool(3, [5, 1, 1]), 14), [0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0]);
  });

  it('takes equal weights in turn', () => {
    assert.deepEqual(sequence(weightedRoundRobin(), pool(3), 6), [0, 1, 2, 0, 1, 2]);
  });

  it('balances by effective weight during slow start', () => {
    const backends = pool(2, [2, 2]);
    ramping(backends[1]!, 0.5); // effective weight 1
    assert.deepEqual(sequence(weightedRoundRobin(), backends, 6), [0, 1, 0, 0, 1, 0]);
  });

  it('starts afresh when the candidate set changes', () => {
    const balancer = weightedRoundRobin();
    const backends = pool(3, [5, 1, 1]);
    assert.deepEqual(sequence(balancer, backends, 3), [0, 0, 1]);
    assert.deepEqual(sequence(balancer, [...backends], 7), [0, 0, 1, 0, 2, 0, 0]);
  });
});

describe('random', () => {
  it('picks in proportion to weights 5:1:1 (within 3 points over 70,000 picks)', () => {
    const result = shares(random(), pool(3, [5, 1, 1]), 70_000);
    assertNear(result[0]!, 5 / 7, 0.03, 'weight 5');
    assertNear(result[1]!, 1 / 7, 0.03, 'weight 1 (b)');
    assertNear(result[2]!, 1 / 7, 0.03, 'weight 1 (c)');
  });

  it('spreads evenly over equal weights (within 3 points over 40,000 picks)', () => {
    for (const share of shares(random(), pool(4), 40_000)) assertNear(share, 1 / 4, 0.03, 'equal weight');
  });

  it('picks by effective weight during slow start', () => {
    const backends = pool(2, [1, 1]);
    ramping(backends[1]!, 0.25); // effective weight 0.25, so 0.25 / 1.25 of picks
    const result = shares(random(), backends, 40_000);
    assertNear(result[1]!, 0.2, 0.03, 'ramping backend');
  });
});

describe('least connections', () => {
  it('picks the candidate with the fewest requests in flight', () => {
    const backends = pool(3);
    backends[0]!.inflight = 5;
    backends[1]!.inflight = 1;
    backends[2]!.inflight = 3;
    assert.equal(leastConnections().pick(backends, context), backends[1]);
  });

  it('breaks ties in turn so sequential traffic spreads over every candidate', () => {
    assert.deepEqual(sequence(leastConnections(), pool(3), 6), [0, 1, 2, 0, 1, 2]);
  });

  it('counts in flight per unit of weight', () => {
    const backends = pool(2, [3, 1]);
    backends[0]!.inflight = 5; // 5/3 per unit
    backends[1]!.inflight = 2; // 2 per unit
    assert.equal(leastConnections().pick(backends, context), backends[0]);
  });

  it('fills weights 3:1 with held requests in that ratio', () => {
    const backends = pool(2, [3, 1]);
    const balancer = leastConnections();
    for (let i = 0; i < 400; i++) balancer.pick(backends, context).inflight++;
    assert.deepEqual(backends.map((backend) => backend.inflight), [300, 100]);
  });

  it('uses effective weight during slow start', () => {
    const backends = pool(2, [2, 2]);
    ramping(backends[1]!, 0.5);
    const balancer = leastConnections();
    for (let i = 0; i < 300; i++) balancer.pick(backends, context).inflight++;
    assert.deepEqual(backends.map((backend) => backend.inflight), [200, 100]);
  });
});

describe('power of two', () => {
  it('returns the only candidate', () => {
    const backends = pool(1);
    backends[0]!.inflight = 99;
    assert.equal(powerOfTwo().pick(backends, context), backends[0]);
  });

  it('compares two distinct candidates: of two, the less loaded always wins', () => {
    const backends = pool(2);
    backends[0]!.inflight = 1;
    const result = shares(powerOfTwo(), backends, 2000);
    assert.deepEqual(result, [0, 1]);
  });

  it('favours the less loaded: loads 0, 5, 10 get about 2/3, 1/3 and nothing', () => {
    const backends = pool(3);
    backends[1]!.inflight = 5;
    backends[2]!.inflight = 10;
    const result = shares(powerOfTwo(), backends, 30_000);
    assertNear(result[0]!, 2 / 3, 0.03, 'idle');
    assertNear(result[1]!, 1 / 3, 0.03, 'half loaded');
    assert.equal(result[2], 0, 'the most loaded never wins a comparison');
  });

  it('compares load per unit of effective weight', () => {
    const backends = pool(2, [4, 1]);
    backends[0]!.inflight = 4;
    backends[1]!.inflight = 2;
    assert.deepEqual(shares(powerOfTwo(), backends, 1000), [1, 0]);
  });
});

describe('ewma', () => {
  it('avoids a slow backend', () => {
    const backends = pool(3);
    backends[0]!.latency.observe(10, NOW);
    backends[1]!.latency.observe(10, NOW);
    backends[2]!.latency.observe(500, NOW);
    const balancer = ewma();
    // One at a time: the fast two take turns.
    assert.deepEqual(shares(balancer, backends, 3000), [0.5, 0.5, 0]);
    // Thirty held at once: the fast two still cost less than the idle slow one.
    for (let i = 0; i < 30; i++) balancer.pick(backends, context).inflight++;
    assert.deepEqual(backends.map((backend) => backend.inflight), [15, 15, 0]);
  });

  it('turns to the slow backend once the fast ones are loaded enough to cost more', () => {
    const backends = pool(2);
    backends[0]!.latency.observe(10, NOW);
    backends[1]!.latency.observe(100, NOW);
    backends[0]!.inflight = 10; // 11 * 11 = 121 > 101 * 1
    assert.equal(ewma().pick(backends, context), backends[1]);
  });

  it('still tries a backend with no latency sample yet', () => {
    const backends = pool(3);
    backends[0]!.latency.observe(1, NOW);
    backends[1]!.latency.observe(1, NOW);
    assert.equal(ewma().pick(backends, context), backends[2]);
  });

  it('breaks ties in turn', () => {
    assert.deepEqual(sequence(ewma(), pool(3), 6), [0, 1, 2, 0, 1, 2]);
  });

  it('divides by effective weight', () => {
    const backends = pool(2, [1, 3]);
    backends[0]!.latency.observe(10, NOW);
    backends[1]!.latency.observe(20, NOW); // 21 / 3 = 7 < 11
    assert.equal(ewma().pick(backends, context), backends[1]);
  });
});

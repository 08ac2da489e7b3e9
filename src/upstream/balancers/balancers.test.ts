import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backend } from '../backend.ts';
import { leastConnections } from './least-connections.ts';
import { random } from './random.ts';
import { roundRobin } from './round-robin.ts';

function pool(n: number): Backend[] {
  return Array.from({ length: n }, (_, i) => new Backend('svc', { host: '127.0.0.1', port: 9000 + i }));
}

function picks(pickOne: () => Backend | undefined, times: number): string[] {
  return Array.from({ length: times }, () => pickOne()?.label ?? 'none');
}

describe('round robin', () => {
  it('takes each backend in turn', () => {
    const backends = pool(3);
    const balancer = roundRobin();
    assert.deepEqual(picks(() => balancer.pick(backends), 6), [
      '127.0.0.1:9000', '127.0.0.1:9001', '127.0.0.1:9002',
      '127.0.0.1:9000', '127.0.0.1:9001', '127.0.0.1:9002',
    ]);
  });

  it('skips backends that are down and returns undefined when all are', () => {
    const backends = pool(3);
    backends[1]!.state = 'down';
    const balancer = roundRobin();
    assert.deepEqual(picks(() => balancer.pick(backends), 4), [
      '127.0.0.1:9000', '127.0.0.1:9002', '127.0.0.1:9000', '127.0.0.1:9002',
    ]);
    for (const b of backends) b.state = 'down';
    assert.equal(balancer.pick(backends), undefined);
  });
});

describe('least connections', () => {
  it('picks the backend with the fewest requests in flight', () => {
    const backends = pool(3);
    backends[0]!.inflight = 5;
    backends[1]!.inflight = 1;
    backends[2]!.inflight = 3;
    assert.equal(leastConnections().pick(backends), backends[1]);
  });

  it('breaks ties in turn so sequential traffic spreads over every backend', () => {
    const backends = pool(3);
    const balancer = leastConnections();
    assert.deepEqual(picks(() => balancer.pick(backends), 6), [
      '127.0.0.1:9000', '127.0.0.1:9001', '127.0.0.1:9002',
      '127.0.0.1:9000', '127.0.0.1:9001', '127.0.0.1:9002',
    ]);
  });

  it('never picks a backend that is down, however idle', () => {
    const backends = pool(2);
    backends[0]!.state = 'down';
    backends[1]!.inflight = 100;
    const balancer = leastConnections();
    assert.deepEqual(picks(() => balancer.pick(backends), 3), ['127.0.0.1:9001', '127.0.0.1:9001', '127.0.0.1:9001']);
    backends[1]!.state = 'down';
    assert.equal(balancer.pick(backends), undefined);
  });
});

describe('random', () => {
  it('spreads picks evenly over the available backends (within 10% over 30,000 picks)', () => {
    const backends = pool(4);
    backends[2]!.state = 'down';
    const balancer = random();
    const counts = new Map<string, number>();
    for (const label of picks(() => balancer.pick(backends), 30_000)) counts.set(label, (counts.get(label) ?? 0) + 1);
    assert.equal(counts.has('127.0.0.1:9002'), false);
    for (const label of ['127.0.0.1:9000', '127.0.0.1:9001', '127.0.0.1:9003']) {
      const share = (counts.get(label) ?? 0) / 30_000;
      assert.ok(Math.abs(share - 1 / 3) < 0.033, `${label} got ${share}`);
    }
  });
});

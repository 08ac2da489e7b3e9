import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backend, currentAvailabilityEpoch, type BackendState } from './backend.ts';

const THRESHOLDS = { healthyThreshold: 2, unhealthyThreshold: 3 };
const PASS = 'GET /healthcheck answered 200';
const FAIL = 'GET /healthcheck answered 500';

function backend(): Backend {
  return new Backend('svc', { host: '127.0.0.1', port: 9000 });
}

/** The states its history went through, oldest first. */
const states = (b: Backend): BackendState[] => b.history.map((change) => change.state);

describe('a backend', () => {
  it('starts unchecked, taken as up, with nothing in its history', () => {
    const b = backend();
    assert.equal(b.state, 'unchecked');
    assert.equal(b.reason, 'not checked yet (taken as up)');
    assert.ok(b.isAvailable(0));
    assert.deepEqual(b.history, []);
    assert.equal(b.upSince, -Infinity, 'no slow start for a backend that was never out');
  });

  describe('under active checks', () => {
    it('takes the first answer as it is: up on a pass, without slow start', () => {
      const b = backend();
      assert.deepEqual(b.recordCheck(true, PASS, THRESHOLDS, 10), { from: 'unchecked', to: 'up' });
      assert.equal(b.state, 'up');
      assert.equal(b.reason, `first check: ${PASS}`);
      assert.equal(b.upSince, -Infinity);
    });

    it('takes the first answer as it is: down on a failure, whatever unhealthy_threshold says', () => {
      const b = backend();
      assert.deepEqual(b.recordCheck(false, FAIL, THRESHOLDS, 10), { from: 'unchecked', to: 'down' });
      assert.equal(b.state, 'down');
      assert.equal(b.reason, FAIL);
      assert.ok(!b.isAvailable(10));
    });

    it('goes down after exactly unhealthy_threshold failures in a row, a pass starting the count over', () => {
      const b = backend();
      b.recordCheck(true, PASS, THRESHOLDS, 0);
      assert.equal(b.recordCheck(false, FAIL, THRESHOLDS, 1), undefined);
      assert.equal(b.recordCheck(false, FAIL, THRESHOLDS, 2), undefined);
      assert.equal(b.recordCheck(true, PASS, THRESHOLDS, 3), undefined, 'a pass in between');
      assert.equal(b.recordCheck(false, FAIL, THRESHOLDS, 4), undefined);
      assert.equal(b.recordCheck(false, FAIL, THRESHOLDS, 5), undefined);
      assert.equal(b.state, 'up');
      assert.deepEqual(b.recordCheck(false, 'GET /healthcheck failed: ECONNREFUSED', THRESHOLDS, 6), { from: 'up', to: 'down' });
      assert.equal(b.reason, 'GET /healthcheck failed: ECONNREFUSED', 'the reason is the check that decided');
    });

    it('comes back up after exactly healthy_threshold passes in a row, and ramps up from then', () => {
      const b = backend();
      b.recordCheck(false, FAIL, THRESHOLDS, 0);
      assert.equal(b.recordCheck(true, PASS, THRESHOLDS, 1), undefined);
      assert.equal(b.recordCheck(false, FAIL, THRESHOLDS, 2), undefined, 'a failure in between');
      assert.equal(b.recordCheck(true, PASS, THRESHOLDS, 3), undefined);
      assert.equal(b.state, 'down');
      assert.deepEqual(b.recordCheck(true, PASS, THRESHOLDS, 4), { from: 'down', to: 'up' });
      assert.equal(b.upSince, 4);
      assert.equal(b.reason, PASS);
    });

    it('says nothing changed when a check confirms the state', () => {
      const b = backend();
      b.recordCheck(true, PASS, THRESHOLDS, 0);
      const entries = b.history.length;
      assert.equal(b.recordCheck(true, PASS, THRESHOLDS, 1), undefined);
      assert.equal(b.history.length, entries);
    });
  });

  describe('when its service stops checking it (a reload removed health_check)', () => {
    it('is taken as up again instead of staying down for ever, and ramps up', () => {
      const b = backend();
      b.recordCheck(false, FAIL, THRESHOLDS, 0);
      assert.ok(!b.isAvailable(5));
      b.stopActiveChecks('health_check removed from the config', 5);
      assert.equal(b.state, 'unchecked');
      assert.equal(b.reason, 'health_check removed from the config');
      assert.ok(b.isAvailable(5));
      assert.equal(b.upSince, 5);
    });

    it('moves an up backend back to unchecked, without slow start', () => {
      const b = backend();
      b.recordCheck(true, PASS, THRESHOLDS, 0);
      b.stopActiveChecks('health_check removed from the config', 5);
      assert.equal(b.state, 'unchecked');
      assert.equal(b.upSince, -Infinity);
    });

    it('lets the first answer decide alone again when checks come back', () => {
      const b = backend();
      b.recordCheck(true, PASS, THRESHOLDS, 0);
      b.recordCheck(false, FAIL, THRESHOLDS, 1);
      b.stopActiveChecks('health_check removed', 2);
      assert.deepEqual(b.recordCheck(false, FAIL, THRESHOLDS, 3), { from: 'unchecked', to: 'down' }, 'one failure, not unhealthy_threshold');
      b.stopActiveChecks('health_check removed', 4);
      assert.deepEqual(b.recordCheck(true, PASS, THRESHOLDS, 5), { from: 'unchecked', to: 'up' }, 'one pass, not healthy_threshold');
    });

    it('changes nothing on a backend that was never checked', () => {
      const b = backend();
      const epoch = currentAvailabilityEpoch();
      b.stopActiveChecks('no health_check', 0);
      assert.deepEqual(b.history, []);
      assert.equal(b.reason, 'not checked yet (taken as up)');
      assert.equal(currentAvailabilityEpoch(), epoch);
    });
  });

  describe('under passive health', () => {
    it('is ejected until a time, then back as it was, ramping up from when the ejection ran out', () => {
      const b = backend();
      b.recordCheck(true, PASS, THRESHOLDS, 0);
      b.eject(1_000, 'ejected for 1000ms after 3 failed requests in a row', 0);
      assert.equal(b.stateAt(999), 'ejected');
      assert.equal(b.reasonAt(999), 'ejected for 1000ms after 3 failed requests in a row');
      assert.ok(!b.isAvailable(999));
      assert.equal(b.stateAt(1_000), 'up', 'derived from the time even before anyone records the end');
      assert.equal(b.expireEjection(999), false, 'not over yet');
      assert.equal(b.expireEjection(1_500), true);
      assert.equal(b.upSince, 1_000);
      assert.equal(b.ejectedUntil, 0);
      assert.equal(b.ejections, 1, 'the count stays, for the next ejection to be longer');
      assert.equal(b.reasonAt(1_500), `first check: ${PASS}`, 'the reason of the state it is back in');
    });

    it('is brought back early when an active check passes', () => {
      const b = backend();
      b.eject(10_000, 'ejected', 0);
      assert.equal(b.endEjection('an active check passed', 50), true);
      assert.equal(b.stateAt(50), 'unchecked');
      assert.equal(b.upSince, 50);
      assert.equal(b.endEjection('an active check passed', 60), false, 'nothing to end');
    });

    it('comes back down, not up, when active checks took it down while it was ejected', () => {
      const b = backend();
      b.recordCheck(true, PASS, THRESHOLDS, 0);
      b.eject(1_000, 'ejected', 0);
      for (let i = 1; i <= 3; i++) b.recordCheck(false, FAIL, THRESHOLDS, i);
      assert.equal(b.stateAt(500), 'ejected');
      assert.equal(b.health, 'down');
      b.expireEjection(1_000);
      assert.equal(b.stateAt(1_000), 'down');
      assert.equal(b.reasonAt(1_000), FAIL);
      assert.equal(b.upSince, -Infinity, 'not taking requests: no slow start yet');
    });

    it('keeps a failure streak that a success clears, as does an ejection', () => {
      const b = backend();
      assert.equal(b.recordFailure(), 1);
      assert.equal(b.recordFailure(), 2);
      b.recordSuccess();
      assert.equal(b.failureStreak, 0);
      b.recordFailure();
      b.eject(100, 'ejected', 0);
      assert.equal(b.failureStreak, 0);
      b.recordFailure(); // a request that was in flight
      b.expireEjection(100);
      assert.equal(b.failureStreak, 0, 'failures from before it came back do not count');
    });
  });

  describe('draining', () => {
    it('by an operator: no new requests until enabled, ramping up after', () => {
      const b = backend();
      b.recordCheck(true, PASS, THRESHOLDS, 0);
      b.drain('drained by admin: deploy', 10);
      assert.equal(b.stateAt(10), 'draining');
      assert.equal(b.reasonAt(10), 'drained by admin: deploy');
      assert.ok(!b.isAvailable(10));
      b.enable('enabled by admin', 20);
      assert.equal(b.stateAt(20), 'up');
      assert.equal(b.upSince, 20);
    });

    it('by weight 0 in the config, until the config gives it a weight', () => {
      const b = backend();
      assert.equal(b.configure({ weight: 0, backup: false, slowStartMs: 0 }, 10), true);
      assert.equal(b.stateAt(10), 'draining');
      assert.equal(b.reasonAt(10), 'weight 0 in the config');
      b.configure({ weight: 2, backup: false, slowStartMs: 0 }, 20);
      assert.equal(b.stateAt(20), 'unchecked');
      assert.equal(b.upSince, 20);
    });

    it('survives a reload (configure) and wins over an ejection', () => {
      const b = backend();
      b.drain('drained by admin', 0);
      b.configure({ weight: 3, backup: true, slowStartMs: 100 }, 1);
      assert.equal(b.stateAt(1), 'draining');
      b.eject(1_000, 'ejected', 2);
      assert.equal(b.stateAt(3), 'draining');
      b.enable('enabled by admin', 4);
      assert.equal(b.stateAt(4), 'ejected');
      assert.ok(b.drained === false);
    });

    it('of a backend with weight 0 lasts after enable()', () => {
      const b = backend();
      b.configure({ weight: 0, backup: false, slowStartMs: 0 }, 0);
      b.drain('drained by admin', 1);
      b.enable('enabled by admin', 2);
      assert.equal(b.stateAt(2), 'draining');
      assert.equal(b.reasonAt(2), 'weight 0 in the config');
    });
  });

  describe('configure()', () => {
    it('applies the settings and tells services to rebuild only when something changed', () => {
      const b = backend();
      let epoch = currentAvailabilityEpoch();
      assert.equal(b.configure({ weight: 1, backup: false, slowStartMs: 0 }), false, 'the defaults: nothing to do');
      assert.equal(currentAvailabilityEpoch(), epoch);
      assert.equal(b.configure({ weight: 3, backup: true, slowStartMs: 500 }), true);
      assert.deepEqual([b.weight, b.backup, b.slowStartMs], [3, true, 500]);
      assert.ok(currentAvailabilityEpoch() > epoch);
      epoch = currentAvailabilityEpoch();
      assert.equal(b.configure({ weight: 3, backup: true, slowStartMs: 500 }), false);
      assert.equal(currentAvailabilityEpoch(), epoch);
      assert.deepEqual(b.history, [], 'a new weight is a setting, not a change of state');
    });
  });

  it('bumps the availability epoch on every change of state', () => {
    const b = backend();
    const steps: Array<() => void> = [
      () => b.recordCheck(false, FAIL, THRESHOLDS, 0),
      () => b.stopActiveChecks('removed', 1),
      () => b.eject(100, 'ejected', 2),
      () => b.endEjection('passed', 3),
      () => b.drain('admin', 4),
      () => b.enable('admin', 5),
    ];
    for (const step of steps) {
      const epoch = currentAvailabilityEpoch();
      step();
      assert.ok(currentAvailabilityEpoch() > epoch, String(step));
    }
  });

  it('keeps the reason and the time of each change, the last ten', () => {
    const b = backend();
    const before = Date.now();
    b.recordCheck(false, FAIL, THRESHOLDS, 0);
    b.eject(100, 'ejected for 100ms', 1);
    b.drain('drained by admin', 2);
    b.enable('enabled by admin', 3);
    b.endEjection('an active check passed', 4);
    b.recordCheck(true, PASS, THRESHOLDS, 5);
    b.recordCheck(true, PASS, THRESHOLDS, 6);
    b.stopActiveChecks('health_check removed', 7);
    assert.deepEqual(
      b.history.map(({ state, reason }) => `${state}: ${reason}`),
      [
        `down: ${FAIL}`,
        'ejected: ejected for 100ms',
        'draining: drained by admin',
        'ejected: ejected for 100ms',
        `down: ${FAIL}`,
        `up: ${PASS}`,
        'unchecked: health_check removed',
      ],
    );
    assert.ok(b.history.every((change) => change.at >= before && change.at <= Date.now()));
    assert.equal(b.since, b.history.at(-1)!.at);
    for (let i = 0; i < 10; i++) {
      b.drain(`drain ${i}`, 10 + i);
      b.enable(`enable ${i}`, 10 + i);
    }
    assert.equal(b.history.length, 10);
    assert.deepEqual(states(b).slice(-2), ['draining', 'unchecked']);
    assert.equal(b.history.at(-2)!.reason, 'drain 9');
  });
});

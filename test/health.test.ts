// Active health checks against real backends: the first round before
// traffic, thresholds both ways, expected statuses, timeouts, one log line
// per change.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Weir } from '../src/weir.ts';
import { closedPort, startBackend, type TestBackend } from './helpers/backends.ts';
import { eventually, send } from './helpers/client.ts';
import { startTestWeir, startWatchedWeir } from './helpers/weir.ts';

interface HealthSwitch {
  healthStatus: number;
  hang: boolean;
  /** Called as each health check arrives, before it is answered. */
  onCheck?: (status: number) => void;
}

/** A backend whose health check answer the test controls through the returned switch. */
async function switchableBackend(name: string): Promise<[TestBackend, HealthSwitch]> {
  const health: HealthSwitch = { healthStatus: 200, hang: false };
  const backend = await startBackend(name, (req, res) => {
    req.resume();
    if (req.url === '/healthcheck') {
      health.onCheck?.(health.healthStatus);
      if (health.hang) return;
      res.statusCode = health.healthStatus;
      res.end();
      return;
    }
    res.setHeader('x-backend', name);
    res.end(name);
  });
  return [backend, health];
}

async function answeredBy(weir: Weir, times: number): Promise<Set<string>> {
  const names = new Set<string>();
  for (let i = 0; i < times; i++) {
    const reply = await send(`${weir.url}/`);
    names.add(reply.status === 200 ? String(reply.headers['x-backend']) : String(reply.status));
  }
  return names;
}

describe('active health checks', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('decides before the first request: a service whose servers are all down answers 503 at once', async () => {
    const weir = await startTestWeir({
      routes: [{ path: '/', service: 'gone' }],
      services: { gone: { servers: [`127.0.0.1:${await closedPort()}`], health_check: { interval: '1m' } } },
    });
    cleanup.push(() => weir.close());
    const reply = await send(`${weir.url}/`);
    assert.equal(reply.status, 503);
    assert.equal(reply.body, 'No backend servers available.');
  });

  it('takes a failing backend out after unhealthy_threshold failures and back after healthy_threshold passes, logging each change once', async () => {
    const [a, aHealth] = await switchableBackend('a');
    const [b] = await switchableBackend('b');
    cleanup.push(() => a.close(), () => b.close());
    // What a went through, in order: each check it answered ("500", "200")
    // and each change weir logged for it ("down", "up"). A round's results
    // are recorded before the next round starts, so a change caused by a
    // check is logged before a's next check arrives: entering the changes
    // logged so far as each check arrives (or at any other moment) puts them
    // right after their cause.
    const trail: string[] = [];
    let lines: Array<Record<string, unknown>> = [];
    let changesEntered = 0;
    const enterChanges = (): void => {
      const changes = lines.filter((line) => line.backend === a.address);
      for (const change of changes.slice(changesEntered)) trail.push(String(change.state));
      changesEntered = changes.length;
    };
    aHealth.onCheck = (status) => {
      enterChanges();
      trail.push(String(status));
    };
    // The interval leaves each check time to be answered on a busy machine: a
    // check that timed out would count as a failure the trail does not show.
    const watched = await startWatchedWeir({
      routes: [{ path: '/', service: 'app' }],
      services: {
        app: {
          servers: [a.address, b.address],
          health_check: { interval: '250ms', timeout: '250ms', healthy_threshold: 2, unhealthy_threshold: 2 },
        },
      },
    });
    const { weir } = watched;
    lines = watched.lines;
    cleanup.push(() => weir.close());
    assert.deepEqual([...(await answeredBy(weir, 4))].sort(), ['a', 'b']);

    const failingFrom = trail.length;
    aHealth.healthStatus = 500;
    await eventually('backend a to be taken out', async () => (await answeredBy(weir, 2)).size === 1);
    assert.deepEqual([...(await answeredBy(weir, 6))], ['b']);

    enterChanges();
    const passingFrom = trail.length;
    aHealth.healthStatus = 200;
    await eventually('backend a to come back', async () => (await answeredBy(weir, 2)).size === 2);
    enterChanges();

    // Exactly the thresholds: down after the second failure in a row, not
    // the first or the third; up after the second pass, not the first or the third.
    const failing = trail.slice(failingFrom, passingFrom);
    assert.deepEqual(failing.slice(0, failing.indexOf('down') + 1), ['500', '500', 'down'], `a's checks and changes: ${trail.join(' ')}`);
    const passing = trail.slice(passingFrom);
    assert.deepEqual(passing.slice(0, passing.indexOf('up') + 1), ['200', '200', 'up'], `a's checks and changes: ${trail.join(' ')}`);

    const changes = lines.filter((line) => line.backend === a.address);
    assert.deepEqual(changes.map((line) => line.state), ['down', 'up']);
    assert.match(String(changes[0]!.reason), /GET \/healthcheck answered 500/);
    assert.equal(lines.filter((line) => line.backend === b.address).length, 0, 'a healthy backend logs nothing');
  });

  it('counts only the expected statuses as healthy, and a check that does not answer in time as failed', async () => {
    const [a, aHealth] = await switchableBackend('a');
    const [b, bHealth] = await switchableBackend('b');
    cleanup.push(() => a.close(), () => b.close());
    aHealth.healthStatus = 204;
    bHealth.hang = true;
    const { weir, lines } = await startWatchedWeir({
      routes: [{ path: '/', service: 'app' }],
      services: {
        app: { servers: [a.address, b.address], health_check: { interval: '1m', timeout: '200ms', expected_statuses: [200] } },
      },
    });
    cleanup.push(() => weir.close());
    assert.equal((await send(`${weir.url}/`)).status, 503);
    const reasons = lines.filter((line) => line.state === 'down').map((line) => `${String(line.backend)} ${String(line.reason)}`);
    assert.deepEqual(reasons.sort(), [`${a.address} GET /healthcheck answered 204`, `${b.address} GET /healthcheck failed: no answer within 200ms`].sort());
  });
});

describe('what a health check may ask for', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('checks the method, Host header and body text it is told to, or only a TCP connect', async () => {
    const seen: string[] = [];
    const app = await startBackend('app', (req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.host}`);
      res.end(req.url === '/status' ? 'status: degraded' : 'fine');
    });
    cleanup.push(() => app.close());
    const { weir, lines } = await startWatchedWeir({
      routes: [
        { path: '/strict', service: 'strict' },
        { path: '/tcp', service: 'tcp' },
      ],
      services: {
        strict: { servers: [app.address], health_check: { method: 'HEAD', path: '/status', host: 'status.internal', expected_body: 'ok', interval: '1m' } },
        tcp: { servers: [app.address, `127.0.0.1:${await closedPort()}`], health_check: { type: 'tcp', interval: '1m' } },
      },
    });
    cleanup.push(() => weir.close());
    assert.ok(seen.includes('HEAD /status status.internal'), `the check sent ${seen.join(', ')}`);
    assert.equal((await send(`${weir.url}/strict`)).status, 503, 'a body without "ok" fails the check');
    assert.match(String(lines.find((l) => l.service === 'strict')?.reason), /without "ok" in the body/);
    assert.equal((await send(`${weir.url}/tcp`)).body, 'fine');
    assert.match(String(lines.find((l) => l.service === 'tcp')?.reason), /TCP connect failed: ECONNREFUSED/);
  });

  it('brings an ejected backend back as soon as an active check passes', async () => {
    let failRequests = true;
    const flaky = await startBackend('flaky', (req, res) => {
      req.resume();
      res.statusCode = req.url !== '/healthcheck' && failRequests ? 500 : 200;
      res.setHeader('x-backend', 'flaky');
      res.end();
    });
    const steady = await startBackend('steady');
    cleanup.push(() => flaky.close(), () => steady.close());
    const { weir, lines } = await startWatchedWeir({
      routes: [{ path: '/', service: 'app' }],
      services: {
        app: {
          servers: [flaky.address, steady.address],
          retries: { attempts: 0 },
          passive_health: { consecutive_failures: 1, base_ejection: '1h' },
          health_check: { interval: '100ms', timeout: '100ms' },
        },
      },
    });
    cleanup.push(() => weir.close());
    await eventually('flaky to be ejected', async () => {
      await send(`${weir.url}/`);
      return lines.some((l) => l.state === 'ejected');
    });
    failRequests = false;
    await eventually('flaky to be back before its hour is up', () => lines.some((l) => /is back from ejection/.test(String(l.msg))));
    await eventually('flaky to answer again', async () => (await send(`${weir.url}/`)).headers['x-backend'] === 'flaky');
  });
});

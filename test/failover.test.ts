// The acceptance scenario for backend pools: under continuous load, kill -9
// one of three backends, then start it again. No client request may fail,
// weir must stop sending to the dead one within a second, and take it back,
// gently, within two health-check intervals.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { after, it } from 'node:test';
import { closedPort } from './helpers/backends.ts';
import { eventually } from './helpers/client.ts';
import { startWatchedWeir } from './helpers/weir.ts';

const BACKEND = fileURLToPath(new URL('./helpers/backend-process.ts', import.meta.url));
const HEALTH_INTERVAL_MS = 300;

async function startBackendProcess(port: number, name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BACKEND, String(port), name], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await Promise.race([
    once(child.stdout!, 'data'),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`backend ${name} did not start within 5 s`)), 5_000)),
  ])) as [Buffer];
  assert.equal(line.toString().trim(), 'ready');
  return child;
}

interface Answer {
  at: number;
  status: number;
  backend: string;
  /** When the backend made the answer, by its own clock. */
  answeredAt: number;
  error?: string;
}

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

it('loses no request when a backend is killed under load, and takes it back gently', async () => {
  const ports = [await closedPort(), await closedPort(), await closedPort()];
  for (const [i, port] of ports.entries()) children.push(await startBackendProcess(port, `b${i + 1}`));
  const b2 = `127.0.0.1:${ports[1]}`;
  const { weir, lines } = await startWatchedWeir({
    routes: [{ path: '/', service: 'app' }],
    services: {
      app: {
        balance: 'weighted_round_robin',
        servers: ports.map((port) => `127.0.0.1:${port}`),
        health_check: { interval: `${HEALTH_INTERVAL_MS}ms`, timeout: '200ms', healthy_threshold: 1, unhealthy_threshold: 1 },
        passive_health: { consecutive_failures: 1, base_ejection: '5s' },
        slow_start: '1s',
        retries: { attempts: 2 },
        timeouts: { connect: '500ms' },
      },
    },
  });

  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const answers: Answer[] = [];
  let running = true;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = http.get(`${weir.url}/work`, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          answers.push({ at: Date.now(), status: res.statusCode ?? 0, backend: String(res.headers['x-backend']), answeredAt: Number(res.headers['x-answered-at']) });
          resolve();
        });
      });
      req.on('error', (error) => {
        answers.push({ at: Date.now(), status: 0, backend: '', answeredAt: 0, error: error.message });
        resolve();
      });
    });
  const clients = Array.from({ length: 8 }, async () => {
    while (running) await one();
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await eventually('the load to reach every backend', () => new Set(answers.map((a) => a.backend)).size === 3);
  const killedAt = Date.now();
  children[1]!.kill('SIGKILL');
  await sleep(1_000);
  const respawnAt = Date.now();
  children.push(await startBackendProcess(ports[1]!, 'b2'));
  // Restarted: listening again (a Node process takes a moment to start).
  const restartedAt = Date.now();
  await sleep(2_200);
  running = false;
  await Promise.all(clients);
  agent.destroy();
  await weir.close();

  const failed = answers.filter((a) => a.status !== 200);
  assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${answers.length} requests failed`);
  const perSecond = answers.length / 3.7;
  assert.ok(perSecond > 200, `the load was only ${perSecond.toFixed(0)} requests/s`);

  // No attempt went to the dead backend later than 1 s after the kill.
  const attemptsToDead = lines.filter((l) => l.backend === b2 && /^retrying/.test(String(l.msg)) && Number(l.time) > killedAt + 1_000 && Number(l.time) < respawnAt);
  assert.deepEqual(attemptsToDead.map((l) => l.msg), []);
  // The kill took: nothing b2 made after it (20 ms for the signal to land) reached a client before the respawn
  // (an answer made just before it may still arrive a moment later).
  assert.ok(!answers.some((a) => a.backend === 'b2' && a.answeredAt > killedAt + 20 && a.at < respawnAt), 'a dead backend answered');

  // Back within two health-check intervals of its restart...
  const backUp = lines.find((l) => l.backend === b2 && l.state === 'up' && Number(l.time) >= restartedAt);
  assert.ok(backUp, 'b2 was never taken back');
  const backAt = Number(backUp.time);
  assert.ok(backAt - restartedAt <= 2 * HEALTH_INTERVAL_MS + 100, `b2 came back ${backAt - restartedAt}ms after its restart`);

  // ...and ramped up: a smaller share in its first 300 ms than once slow start is over.
  const share = (from: number, to: number): number => {
    const window = answers.filter((a) => a.at >= from && a.at < to);
    return window.filter((a) => a.backend === 'b2').length / Math.max(1, window.length);
  };
  const early = share(backAt, backAt + 300);
  const late = share(backAt + 1_100, Number.POSITIVE_INFINITY);
  assert.ok(late > 0.25, `b2's share after slow start was ${late.toFixed(2)}`);
  assert.ok(early < late * 0.75, `b2's share did not ramp up: ${early.toFixed(2)} in its first 300 ms, ${late.toFixed(2)} later`);
});

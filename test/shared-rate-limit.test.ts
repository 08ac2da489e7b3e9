// Two weir processes behind one address share a rate limit through a real
// redis-server, and keep serving on local limits when Redis goes away.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBackend, type TestBackend } from './helpers/backends.ts';
import { spawnCli, type RunningCli } from './helpers/cli.ts';
import { send } from './helpers/client.ts';
import { loadAgainstLimit } from './helpers/rate-load.ts';
import { startRedis, type TestRedis } from './helpers/redis.ts';

const RATE = 50;
const BURST = 50;

describe('a rate limit shared through Redis', () => {
  let backend: TestBackend;
  let redis: TestRedis;
  let dir: string;
  const weirs: Array<{ process: RunningCli; url: string }> = [];

  before(async () => {
    backend = await startBackend('app');
    redis = await startRedis();
    dir = await mkdtemp(join(tmpdir(), 'weir-shared-'));
    const file = join(dir, 'weir.yaml');
    await writeFile(
      file,
      [
        'routes:',
        '  - service: app',
        `    rate_limit: { key: route, rate: ${RATE}/s, burst: ${BURST}, store: "${redis.url}" }`,
        'services:',
        `  app: { servers: [${backend.address}] }`,
      ].join('\n'),
    );
    for (let i = 0; i < 2; i++) {
      const running = spawnCli(['start', '-c', file, '--listen', '127.0.0.1:0']);
      const [, url] = await running.waitFor(/weir listening on (http:\/\/127\.0\.0\.1:\d+)/);
      weirs.push({ process: running, url: url! });
    }
  });

  after(async () => {
    for (const { process } of weirs) {
      process.child.kill('SIGTERM');
      await process.exited;
    }
    await redis.stop();
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('two instances enforce one combined limit, within 10%', async () => {
    // Eight clients alternate between the two instances.
    const { allowed, limited, seconds } = await loadAgainstLimit((i) => `${weirs[i % 2]!.url}/x`, 2_000);
    const expected = BURST + RATE * seconds;
    assert.ok(limited > 0, 'the load went past the limit');
    assert.ok(Math.abs(allowed - expected) <= expected * 0.1, `allowed ${allowed} of ${allowed + limited} in ${seconds.toFixed(2)} s; one shared limit allows ${expected.toFixed(0)}, two separate ones ${(2 * expected).toFixed(0)}`);
  });

  it('without Redis, each instance keeps serving on its own limits and says so once', async () => {
    await redis.stop();
    // Each instance's own bucket for the limit was not touched while Redis
    // decided, so it is full: each instance serves a whole burst on its own,
    // then refuses, as a limit that still holds. Refusing everything fails
    // this, and so does refusing nothing.
    for (const [index, { url }] of weirs.entries()) {
      const started = performance.now();
      const statuses: number[] = [];
      while (!statuses.includes(429)) {
        if (statuses.length > 20 * BURST) assert.fail(`instance ${index} allowed ${statuses.length} requests without Redis and refused none`);
        const replies = await Promise.all(Array.from({ length: 10 }, () => send(`${url}/y`)));
        for (const reply of replies) {
          if (reply.status !== 200 && reply.status !== 429) assert.fail(`instance ${index}: unexpected status ${reply.status}: ${reply.body}`);
          statuses.push(reply.status);
        }
      }
      const allowed = statuses.filter((status) => status === 200).length;
      const seconds = (performance.now() - started) / 1000;
      assert.deepEqual(statuses.slice(0, 10), Array(10).fill(200), `instance ${index}: the first requests without Redis were refused`);
      assert.ok(allowed >= BURST && allowed <= BURST + RATE * seconds + 1, `instance ${index} allowed ${allowed} of ${statuses.length} in ${seconds.toFixed(2)} s without Redis; its own limit allows ${BURST} to ${(BURST + RATE * seconds).toFixed(0)}`);
    }
    await weirs[0]!.process.waitFor(/rate limit store .*unreachable|redis.*(unreachable|down)/i);
    const warnings = weirs[0]!.process.output().split('\n').filter((line) => /unreachable/i.test(line) && /"level":40/.test(line));
    assert.equal(warnings.length, 1, warnings.join('\n'));
  });
});

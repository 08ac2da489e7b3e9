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
    // Eight clients alternate between the two instances for two seconds.
    let allowed = 0;
    let limited = 0;
    const started = performance.now();
    const deadline = started + 2_000;
    await Promise.all(
      Array.from({ length: 8 }, async (_, client) => {
        for (let i = client; performance.now() < deadline; i++) {
          const reply = await send(`${weirs[i % 2]!.url}/x`);
          if (reply.status === 200) allowed++;
          else if (reply.status === 429) limited++;
          else assert.fail(`unexpected status ${reply.status}: ${reply.body}`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const expected = BURST + RATE * seconds;
    assert.ok(limited > 0, 'the load went past the limit');
    assert.ok(Math.abs(allowed - expected) <= expected * 0.1, `allowed ${allowed} of ${allowed + limited} in ${seconds.toFixed(2)} s; one shared limit allows ${expected.toFixed(0)}, two separate ones ${(2 * expected).toFixed(0)}`);
  });

  it('without Redis, each instance keeps serving on its own limits and says so once', async () => {
    await redis.stop();
    const replies = await Promise.all(Array.from({ length: 5 }, () => send(`${weirs[0]!.url}/y`)));
    for (const reply of replies) assert.ok(reply.status === 200 || reply.status === 429, `status ${reply.status}`);
    await weirs[0]!.process.waitFor(/rate limit store .*unreachable|redis.*(unreachable|down)/i);
    const warnings = weirs[0]!.process.output().split('\n').filter((line) => /unreachable/i.test(line) && /"level":40/.test(line));
    assert.equal(warnings.length, 1, warnings.join('\n'));
  });
});

// Memory under connection churn, the acceptance scenario of the RSS report:
// five bursts of 10,000 client connections, each opened, used for one
// request and closed, against a weir process. RSS after the fifth burst must
// be within 10% of RSS after the first: whatever weir needs for a burst it
// takes in the first one, and later bursts of the same size add nothing.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBackend, type TestBackend } from './helpers/backends.ts';
import { spawnCli, type RunningCli } from './helpers/cli.ts';

const CYCLES = 5;
const CONNECTIONS_PER_CYCLE = 10_000;
/** Client connections open at once; each one also holds a backend connection in weir while its request is in flight. */
const CONCURRENCY = 500;
const CONNECTION_TIMEOUT_MS = 10_000;

describe('memory under connection churn', { skip: process.platform !== 'linux' && 'reads RSS from /proc' }, () => {
  let dir: string;
  let backend: TestBackend;
  let weir: RunningCli | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weir-memory-'));
    backend = await startBackend('mem');
  });
  after(async () => {
    if (weir && weir.child.exitCode === null) {
      weir.child.kill('SIGTERM');
      await weir.exited;
    }
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(`RSS after ${CYCLES} bursts of ${CONNECTIONS_PER_CYCLE} connections stays within 10% of RSS after the first`, { timeout: 55_000 }, async (t) => {
    const file = join(dir, 'weir.yaml');
    await writeFile(file, `listen: 127.0.0.1:0\nroutes:\n  - service: app\nservices:\n  app:\n    servers: [${backend.address}]\n`);
    weir = spawnCli(['start', '-c', file]);
    const [, port] = await weir.waitFor(/"listen":"http:\/\/127\.0\.0\.1:(\d+)"/);
    const pid = weir.child.pid!;
    const expectedBody = `${backend.name} GET /`;

    const rss: number[] = [];
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      await burst(Number(port), expectedBody);
      rss.push(await settledRssMiB(pid));
    }
    const shown = rss.map((value, i) => `cycle ${i + 1}: ${value.toFixed(1)} MiB`).join(', ');
    t.diagnostic(`weir RSS after each burst: ${shown}`);
    assert.ok(rss[CYCLES - 1]! <= 1.1 * rss[0]!, `RSS grew by more than 10% from the first burst to the last: ${shown}`);
    weir.child.kill('SIGTERM');
    assert.equal(await weir.exited, 0);
  });
});

/** CONNECTIONS_PER_CYCLE connections, at most CONCURRENCY at a time; resolves when every one is closed. */
async function burst(port: number, expectedBody: string): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < CONNECTIONS_PER_CYCLE) {
      started++;
      await oneRequest(port, expectedBody);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/**
 * A fresh connection (keep-alive, as a browser's), one GET, the whole answer
 * read, then closed by the client; resolves once both sides have closed it.
 */
function oneRequest(port: number, expectedBody: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    let answered = false;
    socket.setEncoding('latin1');
    socket.setTimeout(CONNECTION_TIMEOUT_MS, () => socket.destroy(new Error(`no complete answer within ${CONNECTION_TIMEOUT_MS}ms; got ${JSON.stringify(received)}`)));
    socket.on('connect', () => socket.write('GET / HTTP/1.1\r\nHost: memory.test\r\n\r\n'));
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (!answered && received.endsWith(expectedBody)) {
        answered = true;
        socket.end();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (answered && received.startsWith('HTTP/1.1 200 ')) resolve();
      else reject(new Error(`connection closed without a 200 answer: ${JSON.stringify(received.slice(0, 200))}`));
    });
  });
}

/**
 * The process's VmRSS once it has stopped moving: read every 100 ms until
 * three reads in a row differ by under 1%, at most 3 s. V8 finishes sweeping
 * and frees pages on background threads after the last request.
 */
async function settledRssMiB(pid: number): Promise<number> {
  const deadline = performance.now() + 3_000;
  const reads = [await rssMiB(pid)];
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    reads.push(await rssMiB(pid));
    const last = reads.slice(-3);
    if (last.length === 3 && Math.max(...last) - Math.min(...last) < 0.01 * Math.max(...last)) break;
  }
  return reads.at(-1)!;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  assert.ok(kib, `no VmRSS in /proc/${pid}/status`);
  return Number(kib[1]) / 1024;
}

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { createLogger } from './log.ts';

test("weir's own log: JSON lines on stderr with an ISO time and name weir, from the level on", async () => {
  const script = `
    import { createLogger } from ${JSON.stringify(new URL('./log.ts', import.meta.url).href)};
    const log = createLogger(undefined, 'debug');
    log.trace('not shown');
    log.debug({ backend: '127.0.0.1:8081' }, 'shown');
    log.level = 'warn';
    log.info('not shown either');
    log.warn('after a reload');
    createLogger(undefined).debug('info by default');
  `;
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd() });
  assert.equal(stdout, '');
  const lines = stderr.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(
    lines.map(({ level, msg, name, backend }) => ({ level, msg, name, backend })),
    [
      { level: 20, msg: 'shown', name: 'weir', backend: '127.0.0.1:8081' },
      { level: 40, msg: 'after a reload', name: 'weir', backend: undefined },
    ],
  );
  for (const line of lines) assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('false is silence; a logger passed in is kept as it is', () => {
  assert.equal(createLogger(false).isLevelEnabled('fatal'), false);
  const own = pino({ level: 'error' });
  assert.equal(createLogger(own, 'trace'), own);
  assert.equal(own.level, 'error');
});

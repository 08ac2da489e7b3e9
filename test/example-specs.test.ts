// Every example config ships with route tests beside it (examples/X.yaml →
// examples/X.test.yaml), and they pass: `weir test` on each exits 0.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from './helpers/cli.ts';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));

const files = readdirSync(EXAMPLES).filter((file) => /\.ya?ml$/.test(file));
const configs = files.filter((file) => !/\.test\.ya?ml$/.test(file)).sort();
const specFor = (config: string): string => config.replace(/\.(ya?ml)$/, '.test.$1');

describe('the example configs and their route tests', () => {
  it('finds the examples', () => {
    assert.ok(configs.includes('weir.yaml') && configs.includes('course-loadbalancer.yaml'), `found ${configs.join(', ')}`);
  });

  it('has a spec beside every example config, and a config beside every spec', () => {
    assert.deepEqual(configs.filter((config) => !files.includes(specFor(config))), [], 'example configs without a spec');
    const specs = files.filter((file) => /\.test\.ya?ml$/.test(file));
    assert.deepEqual(specs.filter((spec) => !configs.some((config) => specFor(config) === spec)), [], 'specs without a config');
  });

  for (const config of configs.filter((file) => files.includes(specFor(file)))) {
    it(`weir test examples/${specFor(config)} passes`, async () => {
      const spec = join(EXAMPLES, specFor(config));
      assert.ok(existsSync(spec));
      const result = await runCli(['test', spec, '-c', join(EXAMPLES, config)], 30_000);
      assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
      assert.match(result.stdout, /^(\d+) tests: \1 passed, 0 failed$/m);
      const [, count] = /^(\d+) tests:/m.exec(result.stdout) ?? [];
      assert.ok(Number(count) >= 5, `only ${count} tests in ${specFor(config)}`);
    });
  }
});

// What `npm install weir-lb` gets: the published file list, a dist/ whose
// stack traces point at the TypeScript sources, no install-time script, and
// ioredis loaded only by a config that has a Redis store.
//
// The real install from a packed tarball fetches the dependencies from the
// registry, so it runs only when asked: WEIR_TEST_INSTALL=1.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { closedPort } from './helpers/backends.ts';
import { runProcess, spawnCli, type CliResult, type RunOptions } from './helpers/cli.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
/** Child processes (npm, the weir bin's `#!/usr/bin/env node`) run on the Node.js running the tests. */
const ENV = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };

/** Like runProcess, from the repository root, on the tests' Node.js, with 30 s by default. */
function run(command: string, args: string[], options: RunOptions = {}): Promise<CliResult> {
  return runProcess(command, args, { cwd: options.cwd ?? ROOT, env: options.env ?? ENV, timeoutMs: options.timeoutMs ?? 30_000 });
}

/** `npm test` builds dist/ before the suite; a lone run of this file builds it if it is missing. */
async function ensureBuilt(): Promise<void> {
  if (existsSync(join(DIST, 'cli', 'main.js'))) return;
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const built = await run(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { timeoutMs: 120_000 });
  assert.equal(built.code, 0, `tsc -p tsconfig.build.json failed:\n${built.stdout}${built.stderr}`);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((file) => join(dir, file));
}

describe('the npm package', () => {
  it('holds the compiled CLI, library, types, schema, examples and licence, and no tests, benchmarks or sources', async () => {
    await ensureBuilt();
    // --ignore-scripts: no prepack, so no second build while other tests run.
    const packed = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']);
    assert.equal(packed.code, 0, packed.stderr);
    const [manifest] = JSON.parse(packed.stdout) as Array<{ name: string; files: Array<{ path: string }> }>;
    assert.equal(manifest!.name, 'weir-lb');
    const files = manifest!.files.map((file) => file.path);

    for (const needed of [
      'LICENSE',
      'README.md',
      'package.json',
      'bin/weir.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/index.js.map',
      'dist/cli/main.js',
      'dist/ratelimit/redis-store.js',
      'schema/weir.schema.json',
      'examples/weir.yaml',
      'examples/weir.service',
    ]) {
      assert.ok(files.includes(needed), `${needed} is in the package`);
    }
    // (examples/*.test.yaml are route tests for users: they belong.)
    const unwanted = files.filter((file) => /^(src|test|bench|node_modules|\.ci)\/|^tsconfig|\.(test|fixtures)\.(d\.ts|[cm]?[jt]s|[cm]?js\.map)$/.test(file));
    assert.deepEqual(unwanted, [], 'no sources, tests, fixtures, benchmarks or build config in the package');
    // Every module the package's entry points import is in it.
    for (const file of files.filter((name) => name.startsWith('dist/') && name.endsWith('.js'))) {
      for (const [, specifier] of readFileSync(join(ROOT, file), 'utf8').matchAll(/\bfrom '(\.[^']+)'/g)) {
        const target = join(dirname(file), specifier!);
        assert.ok(files.includes(target), `${file} imports ${specifier}, which is in the package`);
      }
    }
  });

  it('runs no script when installed, and says so in its LICENSE', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      license: string;
      scripts: Record<string, string>;
      bin: Record<string, string>;
      dependencies: Record<string, string>;
    };
    // npm runs preinstall, install and postinstall of every dependency, and
    // prepare of one installed from a tarball, a directory or git: each would
    // ask the installer to allow it. dist/ is built by prepack instead.
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) {
      assert.equal(pkg.scripts[script], undefined, `no ${script} script`);
    }
    assert.ok(pkg.scripts.prepack?.includes('build'), 'npm pack and npm publish build dist/');
    assert.equal(pkg.license, 'MIT');
    assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) 2026 the weir authors\n/);
    assert.equal(pkg.bin.weir, 'bin/weir.js');
    assert.ok(pkg.dependencies.ioredis, 'ioredis is a dependency: it is loaded when a Redis store is configured');
  });

  it('has source maps that carry their sources, so stack traces from dist/ point at src/*.ts lines', async () => {
    await ensureBuilt();
    const maps = filesUnder(DIST).filter((file) => file.endsWith('.js.map'));
    assert.ok(maps.length > 20, `dist/ has source maps (${maps.length})`);
    for (const file of maps) {
      const map = JSON.parse(readFileSync(file, 'utf8')) as { sources: string[]; sourcesContent?: Array<string | null> };
      assert.equal(map.sourcesContent?.length, map.sources.length, `${file} has inline sources`);
      assert.ok(map.sourcesContent.every((source) => typeof source === 'string' && source.length > 0), `${file} has inline sources`);
    }

    const script = `
      import { loadConfigObject } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      try { loadConfigObject({ routes: 5 }); } catch (error) { process.stdout.write(error.stack); }
    `;
    const traced = await run(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script]);
    assert.equal(traced.code, 0, traced.stderr);
    const frames = traced.stdout.split('\n').filter((line) => line.trimStart().startsWith('at '));
    const thrower = frames[0] ?? '';
    assert.match(thrower, /[/\\]src[/\\]config[/\\]load\.ts:(\d+):\d+\)?$/, traced.stdout);
    assert.doesNotMatch(traced.stdout, /[/\\]dist[/\\]/, 'no frame left in dist/');
    // The line named is the line that throws in the source dist/ was built from.
    const [, line] = /load\.ts:(\d+):/.exec(thrower)!;
    const map = JSON.parse(readFileSync(join(DIST, 'config', 'load.js.map'), 'utf8')) as { sourcesContent: string[] };
    assert.match(map.sourcesContent[0]!.split('\n')[Number(line) - 1] ?? '', /throw new ConfigError/);
  });

  it('bin/weir.js runs the compiled CLI', async () => {
    await ensureBuilt();
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const version = await run(process.execPath, ['bin/weir.js', '--version']);
    assert.deepEqual([version.code, version.stdout.trim()], [0, pkg.version], version.stderr);
    const valid = await run(process.execPath, ['bin/weir.js', 'validate', 'examples/weir.yaml']);
    assert.equal(valid.code, 0, valid.stderr);
    assert.match(valid.stdout, /valid weir config/);
  });

  it('bin/weir.js starts weir, relaunched with its heap flags, and stops it on SIGTERM', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
    await ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'weir-bin-'));
    try {
      const file = join(dir, 'weir.yaml');
      writeFileSync(file, `listen: 127.0.0.1:0\nroutes:\n  - service: app\nservices:\n  app:\n    servers: [127.0.0.1:${await closedPort()}]\n`);
      const weir = spawnCli(['start', '-c', file], join(ROOT, 'bin', 'weir.js'));
      await weir.waitFor(/"listen":"http:\/\/127\.0\.0\.1:\d+"/);
      const cmdline = readFileSync(`/proc/${weir.child.pid}/cmdline`, 'utf8').split('\0');
      assert.ok(cmdline.includes('--max-semi-space-size=16'), cmdline.join(' '));
      weir.child.kill('SIGTERM');
      assert.equal(await weir.exited, 0, weir.output());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * Starts weir (the library, from src/) in a child process that records
 * every module resolved, sends one request through a route with a rate limit
 * whose store is `store`, and says which of ioredis's modules were loaded.
 */
async function ioredisModulesLoaded(store: string): Promise<string[]> {
  const script = `
    import { registerHooks } from 'node:module';
    const resolved = [];
    registerHooks({
      resolve(specifier, context, nextResolve) {
        const result = nextResolve(specifier, context);
        resolved.push(result.url);
        return result;
      },
    });
    const { startWeir } = await import(process.env.WEIR_MODULE);
    const weir = await startWeir({ config: JSON.parse(process.env.WEIR_CONFIG), listen: { host: '127.0.0.1', port: 0 }, logger: false });
    const reply = await fetch(weir.url + '/x');
    const body = await reply.text();
    await weir.close();
    const answer = { status: reply.status, body, count: resolved.length, ioredis: resolved.filter((url) => url.includes('/node_modules/ioredis/')) };
    // Exits at once: ioredis keeps a closed client's socket timer for 2 s.
    process.stdout.write(JSON.stringify(answer), () => process.exit(0));
  `;
  const config = {
    routes: [{ path: '/', respond: { status: 200, body: 'ok' }, rate_limit: { rate: '100/s', store, on_store_error: 'allow' } }],
    services: {},
  };
  const env = { ...ENV, WEIR_MODULE: new URL('../src/weir.ts', import.meta.url).href, WEIR_CONFIG: JSON.stringify(config) };
  const child = await run(process.execPath, ['--input-type=module', '-e', script], { env });
  assert.equal(child.code, 0, child.stderr);
  const answer = JSON.parse(child.stdout) as { status: number; body: string; count: number; ioredis: string[] };
  assert.deepEqual([answer.status, answer.body], [200, 'ok'], 'the request went through the rate limit');
  assert.ok(answer.count > 20, `the hook saw weir's modules load (${answer.count})`);
  return answer.ioredis;
}

describe('ioredis', () => {
  it('is not loaded by a weir whose rate limits are all local', async () => {
    assert.deepEqual(await ioredisModulesLoaded('local'), []);
  });

  it('is loaded when a rate limit has a Redis store (so the check above can see it)', async () => {
    const port = await closedPort();
    const loaded = await ioredisModulesLoaded(`redis://127.0.0.1:${port}`);
    assert.ok(loaded.length > 0, 'ioredis was loaded');
  });
});

describe('npm install weir-lb from a packed tarball', { skip: process.env.WEIR_TEST_INSTALL === '1' ? false : 'set WEIR_TEST_INSTALL=1: it fetches the dependencies from the registry' }, () => {
  it('installs without a warning, and its weir command runs', { timeout: 120_000 }, async () => {
    await ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'weir-install-'));
    try {
      const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir]);
      assert.equal(packed.code, 0, packed.stderr);
      const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
      const project = join(dir, 'project');
      mkdirSync(project);
      assert.equal((await run('npm', ['init', '-y'], { cwd: project })).code, 0);
      const installed = await run('npm', ['install', '--no-audit', '--no-fund', join(dir, filename)], { cwd: project, timeoutMs: 110_000 });
      assert.equal(installed.code, 0, installed.stderr);
      assert.doesNotMatch(installed.stdout + installed.stderr, /\bwarn\b/i, `npm install printed a warning:\n${installed.stdout}${installed.stderr}`);

      const weir = join(project, 'node_modules', '.bin', 'weir');
      const version = await run(weir, ['--version'], { cwd: project });
      assert.equal(version.code, 0, version.stderr);
      const valid = await run(weir, ['validate', 'node_modules/weir-lb/examples/weir.yaml'], { cwd: project });
      assert.equal(valid.code, 0, valid.stderr);
      assert.match(valid.stdout, /valid weir config/);
      assert.equal(existsSync(join(project, 'node_modules', 'weir-lb', 'src')), false, 'no sources installed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

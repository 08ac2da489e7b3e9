// weir as a library inside a host program: start, reload, close, and
// failures that reject instead of throwing into the host's event loop.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ConfigError, startWeir } from '../src/index.ts';
import { startBackend } from './helpers/backends.ts';
import { send } from './helpers/client.ts';

describe('the library API', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('is what the published package exports', async () => {
    const published = (await import('weir-lb')) as Record<string, unknown>;
    for (const name of ['startWeir', 'loadConfigFile', 'loadConfigObject', 'ConfigError', 'planRequest']) {
      assert.equal(typeof published[name], 'function', `weir-lb exports ${name}`);
    }
  });

  it('starts from a config object, reports its address, and closes', async () => {
    const backend = await startBackend('app');
    cleanup.push(() => backend.close());
    const weir = await startWeir({
      config: { listen: '127.0.0.1:0', routes: [{ path: '/', service: 'app' }], services: { app: { servers: [backend.address] } } },
      logger: false,
    });
    assert.match(weir.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await send(`${weir.url}/x`)).body, 'app GET /x');
    await weir.close();
    await assert.rejects(send(`${weir.url}/x`), /ECONNREFUSED/);
  });

  it('rejects with a ConfigError for an invalid config, naming the key', async () => {
    const error = await startWeir({ config: { routes: [{ path: '/', service: 'nope' }], services: {} }, logger: false }).catch((e: unknown) => e);
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /routes\[0\]\.service/);
  });

  it('rejects when the port is taken, without throwing into the event loop', async () => {
    const backend = await startBackend('app');
    cleanup.push(() => backend.close());
    const config = { routes: [{ path: '/', service: 'app' }], services: { app: { servers: [backend.address] } } };
    await assert.rejects(startWeir({ config, listen: { host: '127.0.0.1', port: backend.port }, logger: false }), /EADDRINUSE/);
  });

  it('reloads: new routes apply at once, and backend health outlives the reload', async () => {
    const a = await startBackend('a');
    let bHealthy = false;
    const b = await startBackend('b', (req, res) => {
      req.resume();
      res.statusCode = req.url === '/healthcheck' && !bHealthy ? 500 : 200;
      res.end('b');
    });
    cleanup.push(() => a.close(), () => b.close());
    const service = { servers: [b.address], health_check: { interval: '1m', healthy_threshold: 3 } };
    const weir = await startWeir({
      config: { listen: '127.0.0.1:0', routes: [{ path: '/b', service: 'b' }], services: { b: service } },
      logger: false,
    });
    cleanup.push(() => weir.close());
    assert.equal((await send(`${weir.url}/b`)).status, 503, 'b failed its first check');
    assert.equal((await send(`${weir.url}/a`)).status, 404);

    bHealthy = true;
    await weir.reload({
      // The same listen address as at start: without it the reload would move weir to the default 127.0.0.1:8080.
      listen: '127.0.0.1:0',
      routes: [
        { path: '/a', service: 'a' },
        { path: '/b', service: 'b' },
      ],
      services: { a: { servers: [a.address] }, b: service },
    });
    assert.equal((await send(`${weir.url}/a`)).body, 'a GET /a');
    // One passing check after the reload is not the three healthy_threshold
    // asks for: the reload kept b's history instead of starting it afresh.
    assert.equal((await send(`${weir.url}/b`)).status, 503);
  });
});

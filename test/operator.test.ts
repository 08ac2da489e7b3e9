// What an operator runs into: reloads that must apply whole or not at all,
// a listen address that changes, a weir that was closed, and log lines that
// are JSON whatever goes wrong. Each test was written to fail before the
// compile/apply split.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { closedPort, startBackend } from './helpers/backends.ts';
import { spawnCli } from './helpers/cli.ts';
import { eventually, send } from './helpers/client.ts';
import { startTestWeir } from './helpers/weir.ts';

describe('reloads', () => {
  it('removing a service\'s health_check brings back backends it had marked down', async () => {
    // Answers everything but its health check.
    const backend = await startBackend('app', (req, res) => {
      res.statusCode = req.url === '/healthcheck' ? 500 : 200;
      res.end('ok');
    });
    const config = (healthCheck: boolean): Record<string, unknown> => ({
      routes: [{ path: '/', service: 'app' }],
      services: { app: { servers: [backend.address], ...(healthCheck && { health_check: { interval: '1s' } }) } },
    });
    const weir = await startTestWeir(config(true));
    try {
      assert.equal((await send(`${weir.url}/x`)).status, 503, 'down while its check fails');
      await weir.reload(config(false));
      assert.equal(weir.runtime().services.get('app')!.backends[0]!.state, 'unchecked');
      assert.equal((await send(`${weir.url}/x`)).status, 200, 'taken as up once nothing checks it');
    } finally {
      await weir.close();
      await backend.close();
    }
  });

  it('a changed listen address is bound on reload, and the old one stops accepting', async () => {
    const backend = await startBackend('app');
    const config = (port: number): Record<string, unknown> => ({
      listen: `127.0.0.1:${port}`,
      routes: [{ path: '/', service: 'app' }],
      services: { app: { servers: [backend.address] } },
    });
    const { startWeir } = await import('../src/weir.ts');
    const weir = await startWeir({ config: config(0), logger: false, drainTimeoutMs: 1_000 });
    try {
      const oldPort = weir.address.port;
      const newPort = await closedPort();
      await weir.reload(config(newPort));
      assert.equal(weir.address.port, newPort);
      assert.equal((await send(`http://127.0.0.1:${newPort}/x`)).status, 200);
      await eventually('the old port to refuse connections', () => refuses(oldPort));
    } finally {
      await weir.close();
      await backend.close();
    }
  });

  it('a listen address that cannot be bound fails the reload and changes nothing', async () => {
    const backend = await startBackend('app');
    const other = await startBackend('other');
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    const { startWeir } = await import('../src/weir.ts');
    const weir = await startWeir({
      config: { listen: '127.0.0.1:0', routes: [{ path: '/', service: 'app' }], services: { app: { servers: [backend.address] } } },
      logger: false,
    });
    try {
      await assert.rejects(
        weir.reload({ listen: `127.0.0.1:${taken}`, routes: [{ path: '/', service: 'app' }], services: { app: { servers: [other.address] } } }),
        /EADDRINUSE/,
      );
      const reply = await send(`${weir.url}/x`);
      assert.equal(reply.headers['x-backend'], 'app', 'the old config still serves');
    } finally {
      await weir.close();
      blocker.close();
      await Promise.all([backend.close(), other.close()]);
    }
  });

  it('reload() after close() is refused and starts nothing', async () => {
    const backend = await startBackend('app');
    const config = { routes: [{ path: '/', service: 'app' }], services: { app: { servers: [backend.address], health_check: { interval: '1s' } } } };
    const weir = await startTestWeir(config);
    await weir.close();
    let checks = 0;
    backend.server.on('request', (req) => {
      if (req.url === '/healthcheck') checks++;
    });
    await assert.rejects(weir.reload(config), /closed/);
    // A reload that started health checks waits for their first round before it settles.
    assert.equal(checks, 0);
    await backend.close();
  });
});

describe('long-lived connections across reloads', () => {
  /** A backend that upgrades every Upgrade request into an echo tunnel. */
  async function echoBackend(name: string) {
    const backend = await startBackend(name);
    backend.server.on('upgrade', (_req, socket: net.Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (data: Buffer) => socket.write(`${name}:${data.toString()}`));
      socket.on('error', () => undefined);
      socket.on('end', () => socket.destroy());
    });
    return backend;
  }

  /** Opens a tunnel through weir and resolves once the 101 is in. */
  async function openTunnel(port: number): Promise<{ socket: net.Socket; echo(text: string): Promise<string>; closed: Promise<void> }> {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    await new Promise<void>((resolve) => {
      let head = '';
      const onData = (chunk: Buffer): void => {
        head += chunk.toString();
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        resolve();
      };
      socket.on('data', onData);
    });
    const echo = (text: string): Promise<string> =>
      new Promise((resolve) => {
        socket.once('data', (chunk: Buffer) => resolve(chunk.toString()));
        socket.write(text);
      });
    return { socket, echo, closed };
  }

  it('a tunnel whose backend stays open through a reload; one whose backend was removed is closed after the drain deadline', async () => {
    const kept = await echoBackend('kept');
    const removed = await echoBackend('removed');
    const config = (servers: string[]): Record<string, unknown> => ({
      routes: [{ path: '/', service: 'app' }],
      services: { app: { servers, balance: 'round_robin' } },
    });
    const { startWeir } = await import('../src/weir.ts');
    const weir = await startWeir({ config: config([kept.address, removed.address]), listen: { host: '127.0.0.1', port: 0 }, logger: false, drainTimeoutMs: 300 });
    try {
      const first = await openTunnel(weir.address.port);
      const second = await openTunnel(weir.address.port);
      const replies = [await first.echo('1'), await second.echo('2')];
      const onKept = replies[0]!.startsWith('kept:') ? first : second;
      const onRemoved = onKept === first ? second : first;

      await weir.reload(config([kept.address, removed.address]));
      assert.match(await onRemoved.echo('x'), /^removed:x/, 'a reload that keeps the backend keeps the tunnel');

      const reloadedAt = Date.now();
      await weir.reload(config([kept.address]));
      await onRemoved.closed;
      assert.ok(Date.now() - reloadedAt >= 250, 'closed at the drain deadline, not before');
      assert.match(await onKept.echo('y'), /^kept:y/, 'the tunnel on the kept backend stays open');
      onKept.socket.destroy();
    } finally {
      await weir.close();
      await Promise.all([kept.close(), removed.close()]);
    }
  });
});

describe('log lines are JSON', () => {
  it('a port in use is reported once, as one JSON line, with exit code 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'weir-operator-'));
    const file = join(dir, 'weir.yaml');
    writeFileSync(file, `listen: 127.0.0.1:${port}\nroutes:\n  - path: /\n    service: app\nservices:\n  app:\n    servers: [127.0.0.1:9]\n`);
    try {
      const weir = spawnCli(['start', '-c', file]);
      assert.equal(await weir.exited, 1);
      const lines = weir.output().trim().split('\n');
      assert.equal(lines.length, 1, `one line, got:\n${weir.output()}`);
      const line = JSON.parse(lines[0]!) as Record<string, unknown>;
      assert.match(String(line.msg), /EADDRINUSE/);
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a failed reload is one JSON line with the issues, and the running config stays', async () => {
    const backend = await startBackend('app');
    const dir = mkdtempSync(join(tmpdir(), 'weir-operator-'));
    const file = join(dir, 'weir.yaml');
    writeFileSync(file, `listen: 127.0.0.1:0\nroutes:\n  - path: /\n    service: app\nservices:\n  app:\n    servers: [${backend.address}]\n`);
    const weir = spawnCli(['start', '-c', file]);
    try {
      const [, url] = await weir.waitFor(/"listen":"(http:\/\/[^"]+)"/);
      writeFileSync(file, 'routes:\n  - path: /\n    service: nowhere\nservices: {}\n');
      weir.child.kill('SIGHUP');
      await weir.waitFor(/reload failed/);
      for (const line of weir.output().trim().split('\n')) JSON.parse(line);
      const failure = weir.output().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => /reload failed/.test(String(line.msg)));
      assert.ok(Array.isArray(failure?.issues), 'the issues are in the line');
      assert.equal((await send(`${url}/x`)).status, 200);
    } finally {
      weir.child.kill('SIGTERM');
      await weir.exited;
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

// The manager's own decisions, against CAs that never issue: one nobody
// listens for and one that never answers. Issuing against a real CA is
// test/acme.test.ts (pebble).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { closedPort } from '../../../test/helpers/backends.ts';
import { CertAuthority } from '../../../test/helpers/certs.ts';
import type { AcmeConfig } from '../../config/types.ts';
import { AcmeManager, type AcmeCertificate } from './acme-manager.ts';
import { AcmeStorage } from './acme-storage.ts';

const DOMAINS = ['a.weir.test'];
const DAY = 86_400_000;

interface Run {
  manager: AcmeManager;
  installed: AcmeCertificate[];
  lines: Array<Record<string, unknown>>;
  /** The first log line matching, old or new; fails after a bound. */
  logLine(what: string, match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

function run(config: AcmeConfig, now?: () => number): Run {
  const installed: AcmeCertificate[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      for (const waiter of waiters) waiter();
      done();
    },
  });
  const manager = new AcmeManager(config, {
    log: pino({ level: 'debug' }, stream),
    install: (certificate) => installed.push(certificate),
    retry: { firstMs: 60_000, maxMs: 60_000 },
    ...(now ? { now } : {}),
  });
  const logLine = (what: string, match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = lines.find(match);
        if (!found) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no log line for ${what} within 5 s:\n${lines.map((line) => JSON.stringify(line)).join('\n')}`));
      }, 5_000);
      waiters.add(check);
      check();
    });
  return { manager, installed, lines, logLine };
}

describe('the ACME certificate manager', () => {
  let authority: CertAuthority;
  let root: string;
  let nobody: string;

  before(async () => {
    authority = new CertAuthority();
    root = mkdtempSync(join(tmpdir(), 'weir-acme-manager-'));
    nobody = `https://127.0.0.1:${await closedPort()}/dir`;
  });
  after(() => {
    authority.close();
    rmSync(root, { recursive: true, force: true });
  });

  function config(name: string, directory = nobody): AcmeConfig {
    return { email: 'ops@weir.test', directory, domains: DOMAINS, storage: join(root, name), renewAfterShare: 2 / 3 };
  }

  it('says "obtaining" before it starts, and fails without throwing when the CA is unreachable', async () => {
    const { manager, installed, logLine } = run(config('unreachable'));
    assert.deepEqual(manager.status(), { domains: DOMAINS, state: 'obtaining', consecutiveFailures: 0, renewalsFailed: 0 });
    await manager.start();
    const warning = await logLine('the failure', (line) => line.level === 40);
    manager.close();
    assert.match(String(warning.msg), /^acme: obtaining a certificate failed: GET .*: cannot reach the CA \(connect ECONNREFUSED/);
    const status = manager.status();
    assert.equal(status.state, 'failing');
    assert.equal(status.renewalsFailed, 1);
    assert.equal(installed.length, 0);
    assert.equal(status.nextAttemptAt, undefined, 'closed: nothing scheduled');
  });

  it('does not serve an expired stored certificate: it obtains a new one', async () => {
    const acme = config('expired');
    await new AcmeStorage(acme.storage).prepare();
    await new AcmeStorage(acme.storage).writeCertificate(acme.directory, DOMAINS, authority.issue({ names: DOMAINS, startDaysAgo: 10, days: -1 }));
    const { manager, installed, logLine } = run(acme);
    await manager.start();
    await logLine('the expiry', (line) => line.msg === 'acme: the stored certificate has expired; obtaining a new one');
    await logLine('the attempt', (line) => line.level === 40);
    manager.close();
    assert.equal(installed.length, 0);
  });

  it('logs why a stored certificate is unusable and obtains a new one', async () => {
    const acme = config('corrupt');
    const storage = new AcmeStorage(acme.storage);
    await storage.prepare();
    const paths = await storage.writeCertificate(acme.directory, DOMAINS, authority.issue({ names: DOMAINS }));
    writeFileSync(paths.cert, '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n');
    const { manager, installed, logLine } = run(acme);
    await manager.start();
    const warning = await logLine('the unusable certificate', (line) => String(line.msg).startsWith('acme: the stored certificate is not used'));
    assert.match(String(warning.msg), /\.crt cannot be parsed/);
    await logLine('the attempt', (line) => String(line.msg).startsWith('acme: obtaining a certificate failed'));
    manager.close();
    assert.equal(installed.length, 0);
  });

  it('serves a stored certificate and renews it once its clock passes two thirds of its life', async () => {
    const acme = config('clock');
    await new AcmeStorage(acme.storage).prepare();
    await new AcmeStorage(acme.storage).writeCertificate(acme.directory, DOMAINS, authority.issue({ names: DOMAINS, startDaysAgo: 0, days: 90 }));
    const { manager, installed, logLine } = run(acme, () => Date.now() + 61 * DAY);
    await manager.start();
    assert.equal(installed.length, 1);
    await logLine('the renewal attempt', (line) => line.msg === 'acme: renewing the certificate');
    const warning = await logLine('its failure', (line) => line.level === 40);
    manager.close();
    assert.match(String(warning.msg), /^acme: renewal failed: /);
    const status = manager.status();
    assert.equal(status.state, 'failing');
    assert.ok(status.notAfter, 'the installed certificate is still on show');
  });

  it('abandons an order in flight on close(): the request is cut, nothing is installed or counted', async () => {
    const served = authority.issue({ names: ['IP:127.0.0.1'] });
    // Wrapped in an object: resolving with a bare promise would wait for it.
    let requestArrived: (request: { socketClosed: Promise<void> }) => void = () => undefined;
    const arrived = new Promise<{ socketClosed: Promise<void> }>((resolve) => (requestArrived = resolve));
    const silent = https.createServer({ cert: served.cert, key: served.key }, (req) => {
      requestArrived({ socketClosed: new Promise((resolve) => req.socket.once('close', () => resolve())) });
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const directory = `https://127.0.0.1:${(silent.address() as AddressInfo).port}/dir`;
      const { manager, installed, lines } = run({ ...config('abandon', directory), ca: authority.caPath });
      await manager.start();
      const { socketClosed } = await arrived;
      assert.equal(manager.status().state, 'obtaining');
      manager.close();
      await socketClosed;
      // Let the abandoned attempt's rejection run its course before looking for its traces.
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(installed.length, 0);
      assert.deepEqual(lines.filter((line) => Number(line.level) >= 40), []);
      assert.equal(manager.status().consecutiveFailures, 0);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

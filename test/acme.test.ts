// Certificates from a real ACME CA: Debian's pebble on 127.0.0.1, validating
// HTTP-01 against a small server of this test that answers from the
// managers' challengeAnswer(), as weir's plain listener does.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { AcmeConfig } from '../src/config/types.ts';
import { AcmeManager, type AcmeCertificate } from '../src/tls/acme/acme-manager.ts';
import { AcmeStorage } from '../src/tls/acme/acme-storage.ts';
import { CertAuthority } from './helpers/certs.ts';
import { startPebble, type TestPebble } from './helpers/pebble.ts';

const DOMAINS = ['www.weir.test', 'api.weir.test'];
const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

/** A manager under test with what it installed and logged, each awaitable. */
interface Harness {
  manager: AcmeManager;
  installed: AcmeCertificate[];
  lines: Array<Record<string, unknown>>;
  /** Resolves with the nth certificate installed (1-based), or fails after a bound. */
  nthInstall(n: number, timeoutMs?: number): Promise<AcmeCertificate>;
  /** Resolves with the first log line (old or new) that matches, or fails after a bound. */
  logLine(what: string, match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

describe('ACME certificates from pebble', () => {
  let challengeServer: http.Server;
  let pebble: TestPebble;
  let root: string;
  const live = new Set<AcmeManager>();
  const challengeRequests: string[] = [];

  before(async () => {
    // Pebble validates every name on 127.0.0.1 at this port; any live manager may own the token.
    challengeServer = http.createServer((req, res) => {
      challengeRequests.push(`${req.headers.host ?? ''} ${req.url ?? ''}`);
      const token = req.url?.startsWith(CHALLENGE_PREFIX) ? req.url.slice(CHALLENGE_PREFIX.length) : '';
      const answer = [...live].map((manager) => manager.challengeAnswer(token)).find((found) => found !== undefined);
      res.writeHead(answer === undefined ? 404 : 200, { 'content-type': 'text/plain' });
      res.end(answer ?? 'no such challenge');
    });
    await new Promise<void>((resolve) => challengeServer.listen(0, '127.0.0.1', resolve));
    pebble = await startPebble({ httpPort: (challengeServer.address() as AddressInfo).port });
    root = mkdtempSync(join(tmpdir(), 'weir-acme-test-'));
  });

  after(async () => {
    for (const manager of live) manager.close();
    await pebble?.close();
    challengeServer?.closeAllConnections();
    await new Promise<void>((resolve) => challengeServer?.close(() => resolve()));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  function config(storage: string, overrides: Partial<AcmeConfig> = {}): AcmeConfig {
    return { email: 'ops@weir.test', directory: pebble.directoryUrl, domains: DOMAINS, storage, ca: pebble.caPath, renewAfterShare: 2 / 3, ...overrides };
  }

  function harness(acme: AcmeConfig, retry?: { firstMs: number; maxMs: number }): Harness {
    const installed: AcmeCertificate[] = [];
    const lines: Array<Record<string, unknown>> = [];
    const waiters = new Set<() => void>();
    const changed = (): void => {
      for (const waiter of waiters) waiter();
    };
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        changed();
        done();
      },
    });
    const until = <T>(what: string, found: () => T | undefined, timeoutMs: number): Promise<T> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const value = found();
          if (value === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(value);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${what} did not happen within ${timeoutMs} ms; status ${JSON.stringify(manager.status())}; log:\n${lines.map((line) => JSON.stringify(line)).join('\n')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    const manager = new AcmeManager(acme, {
      log: pino({ level: 'debug' }, stream),
      install(certificate) {
        installed.push(certificate);
        changed();
      },
      ...(retry ? { retry } : {}),
    });
    live.add(manager);
    return {
      manager,
      installed,
      lines,
      nthInstall: (n, timeoutMs = 15_000) => until(`install #${n}`, () => installed[n - 1], timeoutMs),
      logLine: (what, match, timeoutMs = 15_000) => until(what, () => lines.find(match), timeoutMs),
    };
  }

  function stop(manager: AcmeManager): void {
    manager.close();
    live.delete(manager);
  }

  function mode(path: string): string {
    return (statSync(path).mode & 0o777).toString(8);
  }

  it('obtains one certificate for two names from pebble over HTTP-01, stored 0600 in a 0700 directory', async () => {
    const storage = join(root, 'obtain', 'acme');
    const { manager, nthInstall } = harness(config(storage));
    await manager.start();
    const certificate = await nthInstall(1);
    stop(manager);

    const leaf = new X509Certificate(certificate.cert);
    assert.deepEqual(certificate.names.sort(), [...DOMAINS].sort());
    assert.equal(leaf.subjectAltName?.split(', ').sort().join(', '), 'DNS:api.weir.test, DNS:www.weir.test');
    const intermediate = new X509Certificate(await pebble.intermediateCertificate());
    assert.match(leaf.issuer, /^CN=Pebble Intermediate CA [0-9a-f]+$/);
    assert.ok(leaf.checkIssued(intermediate) && leaf.verify(intermediate.publicKey), 'signed by this pebble');
    assert.equal(certificate.notAfter.getTime(), leaf.validToDate.getTime());
    for (const name of DOMAINS) {
      assert.ok(challengeRequests.some((request) => request.startsWith(`${name}:`)), `pebble fetched a challenge for ${name}`);
    }
    assert.equal(manager.challengeAnswer(challengeRequests[0]!.split(CHALLENGE_PREFIX)[1]!), undefined, 'answers are forgotten once the order is done');

    const status = manager.status();
    assert.equal(status.state, 'valid');
    assert.equal(status.notAfter, leaf.validToDate.toISOString());
    assert.equal(status.consecutiveFailures, 0);
    assert.equal(status.renewalsFailed, 0);

    assert.equal(mode(storage), '700');
    const files = readdirSync(storage).sort();
    assert.equal(files.length, 3, files.join(', '));
    assert.ok(files.includes('account.key'));
    for (const file of files) assert.equal(mode(join(storage, file)), '600', file);
  });

  it('reuses the stored account key and certificate on restart without asking the CA (pebble is down)', async () => {
    const storage = join(root, 'restart');
    const first = harness(config(storage));
    await first.manager.start();
    const obtained = await first.nthInstall(1);
    stop(first.manager);
    const accountKey = await new AcmeStorage(storage).readAccountKey();

    await pebble.stop();
    try {
      const second = harness(config(storage));
      await second.manager.start();
      // Installed before start() resolved, from storage alone.
      assert.equal(second.installed.length, 1);
      assert.equal(second.installed[0]!.cert, obtained.cert);
      assert.equal(second.installed[0]!.key, obtained.key);
      const status = second.manager.status();
      assert.equal(status.state, 'valid');
      assert.equal(status.consecutiveFailures, 0);
      assert.ok(status.nextAttemptAt && Date.parse(status.nextAttemptAt) > Date.now() + 365 * 86_400_000, `renewal far away: ${status.nextAttemptAt}`);
      assert.ok(second.lines.some((line) => line.msg === 'acme: serving the stored certificate'));
      assert.ok(!second.lines.some((line) => String(line.msg).includes('obtaining')), 'no order placed');
      stop(second.manager);
      assert.equal(await new AcmeStorage(storage).readAccountKey(), accountKey, 'the account key is kept');
    } finally {
      await pebble.start();
    }
  });

  it('renews a stored certificate two thirds through its life, serving the old one meanwhile', async () => {
    const storage = join(root, 'renew');
    const authority = new CertAuthority('an earlier CA');
    try {
      // 30 days of a 40-day life have passed: beyond 2/3.
      const old = authority.issue({ names: DOMAINS, startDaysAgo: 30, days: 10 });
      await new AcmeStorage(storage).prepare();
      await new AcmeStorage(storage).writeCertificate(pebble.directoryUrl, DOMAINS, old);
      const { manager, installed, nthInstall, logLine } = harness(config(storage));
      await manager.start();
      assert.equal(installed.length, 1, 'the stored certificate is served at once');
      assert.equal(installed[0]!.cert, old.cert);
      assert.ok(['renewing', 'valid'].includes(manager.status().state));

      const renewed = await nthInstall(2);
      await logLine('the renewal log line', (line) => line.msg === 'acme: certificate renewed');
      stop(manager);
      assert.match(new X509Certificate(renewed.cert).issuer, /^CN=Pebble Intermediate CA/);
      assert.ok(renewed.notAfter.getTime() > installed[0]!.notAfter.getTime());
      const stored = await new AcmeStorage(storage).readCertificate(pebble.directoryUrl, DOMAINS);
      assert.equal(stored?.cert, renewed.cert, 'the renewed certificate replaced the old one in storage');
      assert.equal(manager.status().state, 'valid');
    } finally {
      authority.close();
    }
  });

  it('shows a CA that is down as failing with the reason and the next attempt, and recovers when it is back', async () => {
    const storage = join(root, 'down');
    await pebble.stop();
    let restarted = false;
    try {
      const { manager, nthInstall, logLine } = harness(config(storage), { firstMs: 100, maxMs: 400 });
      await manager.start();
      const warning = await logLine('a failure warning', (line) => line.level === 40);
      const status = manager.status();
      assert.equal(status.state, 'failing');
      assert.match(status.lastError ?? '', /^GET https:\/\/127\.0\.0\.1:\d+\/dir: cannot reach the CA \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/);
      assert.equal(warning.reason, status.lastError);
      assert.ok(status.lastFailureAt && status.nextAttemptAt);
      assert.ok(Date.parse(status.nextAttemptAt) > Date.parse(status.lastFailureAt));
      assert.ok(status.consecutiveFailures >= 1);
      assert.equal(status.notAfter, undefined, 'nothing installed');

      // Several retries, further apart each time, all while pebble is away.
      await logLine('a third failure', (line) => line.consecutiveFailures === 3);
      await pebble.start();
      restarted = true;
      const certificate = await nthInstall(1);
      stop(manager);
      assert.deepEqual(certificate.names.sort(), [...DOMAINS].sort());
      const after = manager.status();
      assert.equal(after.state, 'valid');
      assert.equal(after.consecutiveFailures, 0);
      assert.ok(after.renewalsFailed >= 3, `renewalsFailed ${after.renewalsFailed}`);
      assert.equal(after.lastError, status.lastError, 'the last error stays on show');
    } finally {
      if (!restarted) await pebble.start();
    }
  });

  it('refuses a directory whose certificate is from an unknown CA, with a clear error in status()', async () => {
    const { ca: _trusted, ...untrusting } = config(join(root, 'untrusted'));
    const { manager, logLine } = harness(untrusting, { firstMs: 60_000, maxMs: 60_000 });
    await manager.start();
    await logLine('a failure warning', (line) => line.level === 40);
    const status = manager.status();
    stop(manager);
    assert.equal(status.state, 'failing');
    assert.match(status.lastError ?? '', /^GET https:\/\/127\.0\.0\.1:\d+\/dir: the CA's TLS certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN: .+\); for a private CA, give its PEM file as acme\.ca$/);
    assert.equal(status.consecutiveFailures, 1);
  });
});

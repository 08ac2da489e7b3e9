// Automatic certificates through the whole of weir, against Debian's pebble:
// weir answers the HTTP-01 challenge on its plain listener (before any rule:
// the firewall here lets no one else in), installs the certificate on its TLS
// listener, and shows the ACME state in the admin API and the metrics. When
// the CA is down weir serves on, and says so.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import tls from 'node:tls';
import { startWeir, type Weir } from '../src/weir.ts';
import { closedPort, startBackend, type TestBackend } from './helpers/backends.ts';
import { eventually, send } from './helpers/client.ts';
import { startPebble, type TestPebble } from './helpers/pebble.ts';

const DOMAIN = 'shop.weir.test';

/** The certificate a handshake for DOMAIN gets, or undefined when the handshake fails (no certificate yet). */
function servedCertificate(port: number): Promise<tls.PeerCertificate | undefined> {
  return new Promise((resolve) => {
    // pebble's roots change at every start: the chain is checked by its issuer here, not verified.
    const socket = tls.connect({ host: '127.0.0.1', port, servername: DOMAIN, rejectUnauthorized: false }, () => {
      const certificate = socket.getPeerCertificate();
      socket.end();
      resolve(certificate);
    });
    socket.on('error', () => resolve(undefined));
  });
}

function tlsPort(weir: Weir): number {
  return Number(new URL(weir.urls.find((url) => url.startsWith('https://'))!).port);
}

interface AcmeView {
  listeners: Array<{ acme?: { state: string; domains: string[]; lastError?: string; nextAttemptAt?: string; notAfter?: string } }>;
}

describe('ACME through weir, against pebble', () => {
  let pebble: TestPebble | undefined;
  let weir: Weir | undefined;
  let backend: TestBackend | undefined;
  const storage = mkdtempSync(join(tmpdir(), 'weir-acme-e2e-'));
  after(async () => {
    await weir?.close();
    await backend?.close();
    await pebble?.close();
    rmSync(storage, { recursive: true, force: true });
  });

  const config = (httpPort: number, directory: string, caPath: string) => ({
    listeners: [{ address: `127.0.0.1:${httpPort}` }, { address: '127.0.0.1:0', tls: { acme: { email: 'ops@weir.test', directory, ca: caPath, storage } } }],
    // Nobody but 10.0.0.0/8 gets through the rules: the CA's challenge request must be answered anyway.
    defaults: { firewall: { ip_allow: ['10.0.0.0/8'] } },
    routes: [{ host: DOMAIN, service: 'app' }],
    services: { app: { servers: [backend!.address] } },
    admin: { listen: '127.0.0.1:0' },
  });

  it('obtains a certificate for the routes\' host, answering HTTP-01 before any rule, and serves it', async () => {
    backend = await startBackend('app');
    const httpPort = await closedPort();
    pebble = await startPebble({ httpPort });
    weir = await startWeir({ config: config(httpPort, pebble.directoryUrl, pebble.caPath), logger: false, drainTimeoutMs: 1_000 });
    const port = tlsPort(weir);
    let served: tls.PeerCertificate | undefined;
    await eventually('weir serves a certificate from pebble', async () => {
      served = await servedCertificate(port);
      return served?.subjectaltname?.includes(`DNS:${DOMAIN}`) === true;
    }, 30_000);
    assert.match(String(served!.issuer.CN), /Pebble/i);

    const admin = `http://127.0.0.1:${weir.adminAddress!.port}`;
    const view = JSON.parse((await send(`${admin}/api/tls`)).body) as AcmeView;
    assert.equal(view.listeners[0]!.acme!.state, 'valid');
    assert.deepEqual(view.listeners[0]!.acme!.domains, [DOMAIN]);
    assert.match(await weir.metrics(), /weir_acme_failing\{listener="127\.0\.0\.1:\d+"\} 0/);
    // The rules still hold for everything else on the plain listener.
    assert.equal((await send(`${weir.url}/`, { headers: { host: DOMAIN } })).status, 403);
  });

  it('with the CA down weir starts and serves, and the admin API and metrics say ACME is failing', async () => {
    await weir?.close();
    weir = undefined;
    rmSync(storage, { recursive: true, force: true });
    await pebble!.stop();
    weir = await startWeir({ config: config(pebble!.httpPort, pebble!.directoryUrl, pebble!.caPath), logger: false, drainTimeoutMs: 1_000 });
    const admin = `http://127.0.0.1:${weir.adminAddress!.port}`;
    let acme: AcmeView['listeners'][number]['acme'];
    await eventually('the ACME state turns failing', async () => {
      acme = (JSON.parse((await send(`${admin}/api/tls`)).body) as AcmeView).listeners[0]!.acme;
      return acme?.state === 'failing';
    }, 15_000);
    assert.ok(acme!.lastError, 'the reason is shown');
    assert.ok(Date.parse(acme!.nextAttemptAt!) > Date.now(), 'and when the next attempt is');
    assert.match(await weir.metrics(), /weir_acme_failing\{listener="127\.0\.0\.1:\d+"\} 1/);
    assert.match(await weir.metrics(), /weir_acme_failures_total\{listener="127\.0\.0\.1:\d+"\} [1-9]/);
    assert.equal(await servedCertificate(tlsPort(weir)), undefined, 'no certificate yet: the handshake fails, weir does not');
    assert.equal((await send(`${weir.url}/`, { headers: { host: DOMAIN } })).status, 403, 'the plain listener serves on');
  });
});

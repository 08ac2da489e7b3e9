// weir at the edge, end to end: a config with plain and TLS listeners, the
// certificate each client gets by SNI, certificates replaced by a reload
// while connections stay open, and what the admin API, the metrics and
// `weir explain` say of them.

import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import https from 'node:https';
import { startWeir, type Weir } from '../src/weir.ts';
import { startBackend, type TestBackend } from './helpers/backends.ts';
import { CertAuthority, type IssuedCert } from './helpers/certs.ts';
import { runCli } from './helpers/cli.ts';
import { send } from './helpers/client.ts';
import { startWatchedWeir } from './helpers/weir.ts';

const ca = new CertAuthority();
after(() => ca.close());

/** The certificate a TLS handshake with `servername` (none: no SNI) gets from `port`, by its subject CN. */
function servedName(port: number, servername: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.caCert, ...(servername ? { servername } : { servername: '' }), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(String(cn));
    });
    socket.on('error', reject);
  });
}

/** GET over HTTPS with the test CA trusted and `servername` checked. */
function httpsGet(port: number, servername: string, path = '/', agent?: https.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, servername, headers: { host: servername }, ca: ca.caCert, ...(agent && { agent }) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

function tlsPort(weir: Weir): number {
  const url = weir.urls.find((candidate) => candidate.startsWith('https://'));
  assert.ok(url, `no https listener in ${weir.urls.join(', ')}`);
  return Number(new URL(url).port);
}

describe('TLS listeners', () => {
  let backend: TestBackend;
  let weir: Weir;
  let exact: IssuedCert;
  let wildcard: IssuedCert;
  let fallback: IssuedCert;
  let servedCert: string;
  let servedKey: string;
  const config = (certificates: Array<{ cert: string; key: string }>) => ({
    listeners: [{ address: '127.0.0.1:0' }, { address: '127.0.0.1:0', tls: { certificates } }],
    routes: [{ service: 'app' }],
    services: { app: { servers: [backend.address] } },
    admin: { listen: '127.0.0.1:0' },
  });

  before(async () => {
    backend = await startBackend('app');
    fallback = ca.issue({ names: ['default.test'] });
    exact = ca.issue({ names: ['api.example.net'] });
    wildcard = ca.issue({ names: ['*.example.net'] });
    // The default certificate lives at paths the test rewrites.
    servedCert = join(ca.dir, 'served.crt');
    servedKey = join(ca.dir, 'served.key');
    copyFileSync(fallback.certPath, servedCert);
    copyFileSync(fallback.keyPath, servedKey);
    weir = await startWeir({ config: config([{ cert: servedCert, key: servedKey }, { cert: wildcard.certPath, key: wildcard.keyPath }, { cert: exact.certPath, key: exact.keyPath }]), logger: false, drainTimeoutMs: 1_000 });
  });
  after(async () => {
    await weir?.close();
    await backend?.close();
  });

  it('listens on every listener: http:// and https:// URLs in config order', async () => {
    assert.equal(weir.urls.length, 2);
    assert.match(weir.urls[0]!, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(weir.urls[1]!, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(weir.url, weir.urls[0]);
    assert.equal((await send(`${weir.url}/plain`)).status, 200);
    const secure = await httpsGet(tlsPort(weir), 'api.example.net', '/secure');
    assert.equal(secure.status, 200);
    assert.equal(secure.body, 'app GET /secure');
    assert.equal(backend.seen.at(-1)?.headers['x-forwarded-proto'], 'https');
  });

  it('picks the certificate by SNI: the exact name before the wildcard, the default for no SNI or an unknown name', async () => {
    const port = tlsPort(weir);
    assert.equal(await servedName(port, 'api.example.net'), 'api.example.net');
    assert.equal(await servedName(port, 'www.example.net'), '*.example.net');
    assert.equal(await servedName(port, 'a.b.example.net'), 'default.test');
    assert.equal(await servedName(port, 'unknown.test'), 'default.test');
    assert.equal(await servedName(port, undefined), 'default.test');
  });

  it('the admin API, the metrics and weir explain show the certificates and when they expire', async () => {
    const admin = `http://127.0.0.1:${weir.adminAddress!.port}`;
    const view = JSON.parse((await send(`${admin}/api/tls`)).body) as { listeners: Array<{ address: string; certificates: Array<{ names: string[]; notAfter: string; source: string }> }> };
    assert.equal(view.listeners.length, 1);
    assert.deepEqual(view.listeners[0]!.certificates.map((certificate) => certificate.names), [['default.test'], ['*.example.net'], ['api.example.net']]);
    assert.ok(view.listeners[0]!.certificates.every((certificate) => certificate.source === 'file' && Date.parse(certificate.notAfter) > Date.now()));

    const metrics = await weir.metrics();
    assert.match(metrics, /weir_tls_certificate_expiry_timestamp_seconds\{listener="127\.0\.0\.1:\d+",name="api\.example\.net",source="file"\} \d{10}/);

    const explained = (await send(`${admin}/api/explain?method=GET&url=${encodeURIComponent('http://www.example.net/')}`)).body;
    assert.match(explained, /^tls: {6}127\.0\.0\.1:\d+: certificate for \*\.example\.net \(.*\), expires .* \(in 29 days\)$/m);
  });

  it('a reload with new certificate files serves them to new handshakes; a connection opened before keeps working', async () => {
    const port = tlsPort(weir);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal((await httpsGet(port, 'api.example.net', '/before', agent)).status, 200);
      const renewed = ca.issue({ names: ['api.example.net', 'renewed.example.net'] });
      await weir.reload(config([{ cert: servedCert, key: servedKey }, { cert: renewed.certPath, key: renewed.keyPath }]));
      assert.equal(await servedName(port, 'renewed.example.net'), 'api.example.net');
      assert.equal(await servedName(port, 'www.example.net'), 'default.test', 'the wildcard certificate left the config');
      // The kept-alive connection of before the reload still carries requests.
      const again = await httpsGet(port, 'api.example.net', '/after', agent);
      assert.equal(again.status, 200);
      assert.equal(tlsPort(weir), port, 'the listener was kept, not bound anew');
    } finally {
      agent.destroy();
    }
  });

  it('a reload naming a bad certificate is refused whole; the old certificates stay in service', async () => {
    const broken = join(ca.dir, 'broken.crt');
    writeFileSync(broken, 'not a certificate\n');
    await assert.rejects(weir.reload(config([{ cert: broken, key: servedKey }])), /broken\.crt/);
    assert.equal(await servedName(tlsPort(weir), 'unknown.test'), 'default.test');
  });
});

describe('weir explain names the certificate a host gets', () => {
  it('from the config\'s files, with its expiry', async () => {
    const cert = ca.issue({ names: ['shop.example.com'], days: 10 });
    const file = join(ca.dir, 'explain.yaml');
    writeFileSync(
      file,
      [
        'listeners:',
        '  - address: 127.0.0.1:8443',
        '    tls:',
        `      certificates: [{ cert: ${cert.certPath}, key: ${cert.keyPath} }]`,
        'routes:',
        '  - service: app',
        '    https_redirect: true',
        'services:',
        '  app:',
        '    servers: [127.0.0.1:9]',
        '',
      ].join('\n'),
    );
    const result = await runCli(['explain', '-c', file, 'GET', 'https://shop.example.com/cart']);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /verdict/, 'an https:// URL arrived over TLS: no redirect');
    const plain = await runCli(['explain', '-c', file, 'GET', 'http://shop.example.com/cart']);
    assert.match(plain.stdout, /^verdict: {2}301 redirect to https:\/\/shop\.example\.com\/cart$/m);
    assert.match(result.stdout, new RegExp(`^tls: {6}127\\.0\\.0\\.1:8443: certificate for shop\\.example\\.com \\(${cert.certPath.replace(/[.]/g, '\\.')}\\), expires .* \\(in 9 days\\)$`, 'm'));
  });
});

describe('insecure_skip_verify', () => {
  it('is said aloud in weir\'s log each time a config with it is loaded', async () => {
    const { weir, lines } = await startWatchedWeir({
      routes: [{ service: 'app' }],
      services: { app: { servers: ['https://127.0.0.1:9'], tls: { insecure_skip_verify: true } } },
    });
    try {
      const warned = () => lines.filter((line) => line.level === 40 && /insecure_skip_verify is on/.test(String(line.msg)));
      assert.equal(warned().length, 1);
      await weir.reload({ routes: [{ service: 'app' }], services: { app: { servers: ['https://127.0.0.1:9'], tls: { insecure_skip_verify: true } } } });
      assert.equal(warned().length, 2);
    } finally {
      await weir.close();
    }
  });
});

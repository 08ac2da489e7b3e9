import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type ConnectionOptions, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import type { CertificateFiles, TlsVersion } from '../config/types.ts';
import { CertAuthority, type IssuedCert } from '../../test/helpers/certs.ts';
import { eventually } from '../../test/helpers/client.ts';
import { captureLog } from '../../test/helpers/log.ts';
import { CertificateError } from './certificates.ts';
import { CertificateStore } from './certificate-store.ts';

let ca: CertAuthority;
let fallback: IssuedCert;
let wildcard: IssuedCert;
let exact: IssuedCert;

before(() => {
  ca = new CertAuthority();
  fallback = ca.issue({ names: ['default.example.org'] });
  wildcard = ca.issue({ names: ['*.example.net'] });
  exact = ca.issue({ names: ['www.example.net'], keyType: 'rsa' });
});
after(() => ca.close());

const fingerprint = (issued: IssuedCert): string => new X509Certificate(issued.cert).fingerprint256;

/** Copies an issued pair into a directory of the test's own, where the store watches it. */
function place(t: TestContext, pairs: Array<[name: string, issued: IssuedCert]>): { dir: string; files: CertificateFiles[] } {
  const dir = mkdtempSync(join(tmpdir(), 'weir-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = pairs.map(([name, issued]) => {
    const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
    writeFileSync(pair.cert, issued.cert);
    writeFileSync(pair.key, issued.key);
    return pair;
  });
  return { dir, files };
}

function openStore(t: TestContext, certificates: CertificateFiles[], minVersion: TlsVersion = 'TLSv1.2') {
  const { logger, lines } = captureLog();
  const store = new CertificateStore({ minVersion, certificates, log: logger });
  t.after(() => store.close());
  return { store, lines };
}

/** A TLS echo server on 127.0.0.1 serving the store's certificates; records the handshakes it refused. */
async function serve(t: TestContext, store: CertificateStore): Promise<{ port: number; server: Server; refused: Error[] }> {
  const refused: Error[] = [];
  const server = createServer(store.serverOptions(), (socket) => socket.pipe(socket));
  store.attach(server);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (error) => refused.push(error));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.close();
    for (const socket of sockets) socket.destroy();
  });
  return { port: (server.address() as AddressInfo).port, server, refused };
}

/** Connects trusting the test CA; the name check is skipped because the tests look at which certificate came, by fingerprint. */
async function handshake(port: number, options: ConnectionOptions = {}): Promise<TLSSocket> {
  const socket = connect({ host: '127.0.0.1', port, ca: ca.caCert, checkServerIdentity: () => undefined, ...options });
  try {
    await once(socket, 'secureConnect');
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return socket;
}

/** The fingerprint of the certificate a new handshake gets; no SNI when servername is undefined (the host is an IP). */
async function served(port: number, servername?: string): Promise<string> {
  const socket = await handshake(port, servername === undefined ? {} : { servername });
  const got = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return got;
}

async function echo(socket: TLSSocket, text: string): Promise<string> {
  socket.write(text);
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  return chunk.toString();
}

test('SNI picks the exact name before a wildcard, and the first certificate otherwise', async (t) => {
  const { files } = place(t, [['default', fallback], ['wildcard', wildcard], ['exact', exact]]);
  const { store } = openStore(t, files);
  const { port } = await serve(t, store);

  assert.equal(await served(port, 'www.example.net'), fingerprint(exact));
  assert.equal(await served(port, 'WWW.Example.NET'), fingerprint(exact));
  assert.equal(await served(port, 'api.example.net'), fingerprint(wildcard));
  assert.equal(await served(port, 'a.b.example.net'), fingerprint(fallback), 'a wildcard covers one label only');
  assert.equal(await served(port, 'unknown.test'), fingerprint(fallback));
  assert.equal(await served(port), fingerprint(fallback), 'no SNI');

  assert.equal(store.forHost('api.example.net')?.fingerprint256, fingerprint(wildcard));
  assert.equal(store.forHost('unknown.test')?.default, true);
  assert.deepEqual(store.describe().map((d) => [d.names, d.source, d.certPath, d.default]), [
    [['default.example.org'], 'file', files[0]?.cert, true],
    [['*.example.net'], 'file', files[1]?.cert, false],
    [['www.example.net'], 'file', files[2]?.cert, false],
  ]);
  const expiry = store.expiries()[2];
  assert.equal(expiry?.name, 'www.example.net');
  assert.equal(expiry?.notAfter, Math.floor(new X509Certificate(exact.cert).validToDate.getTime() / 1000));
});

test('a certificate written over its files is served to the next handshake; an open connection carries on', async (t) => {
  const { files: [site] } = place(t, [['site', fallback]]);
  const { store, lines } = openStore(t, [site!]);
  const { port } = await serve(t, store);
  const before = await handshake(port, { servername: 'default.example.org' });
  t.after(() => before.destroy());

  const renewed = ca.issue({ names: ['default.example.org'] });
  writeFileSync(site!.cert, renewed.cert);
  writeFileSync(site!.key, renewed.key);
  await eventually('the renewed certificate to be served', async () => (await served(port, 'default.example.org')) === fingerprint(renewed));
  assert.equal(await served(port), fingerprint(renewed), 'clients without SNI get the renewed default too');

  assert.equal(await echo(before, 'still here'), 'still here');
  assert.equal(before.getPeerCertificate().fingerprint256, fingerprint(fallback));
  assert.equal(store.describe()[0]?.fingerprint256, fingerprint(renewed));
  assert.ok(lines.some((line) => line.level === 30 && String(line.msg).startsWith(`reloaded certificate ${site!.cert}`)));
});

test('a pair renamed over the files, as certbot and editors do, is picked up', async (t) => {
  const { dir, files: [site] } = place(t, [['site', fallback]]);
  const { store } = openStore(t, [site!]);
  const { port } = await serve(t, store);

  const renewed = ca.issue({ names: ['default.example.org'], keyType: 'rsa' });
  writeFileSync(join(dir, '.site.key.tmp'), renewed.key);
  writeFileSync(join(dir, '.site.crt.tmp'), renewed.cert);
  renameSync(join(dir, '.site.key.tmp'), site!.key);
  renameSync(join(dir, '.site.crt.tmp'), site!.cert);
  await eventually('the renamed-in certificate to be served', async () => (await served(port)) === fingerprint(renewed));

  // The watch survives the rename: a second replacement is seen too.
  const again = ca.issue({ names: ['default.example.org'] });
  writeFileSync(join(dir, '.site.key.tmp'), again.key);
  writeFileSync(join(dir, '.site.crt.tmp'), again.cert);
  renameSync(join(dir, '.site.key.tmp'), site!.key);
  renameSync(join(dir, '.site.crt.tmp'), site!.cert);
  await eventually('the second renamed-in certificate to be served', async () => (await served(port)) === fingerprint(again));
});

test('a bad replacement is refused with a warning and the old certificate stays', async (t) => {
  const { files: [site, other] } = place(t, [['site', fallback], ['other', wildcard]]);
  const { store, lines } = openStore(t, [site!, other!]);
  const { port } = await serve(t, store);

  writeFileSync(site!.cert, 'half a certificate');
  await eventually('a warning about the bad file', () => lines.some((line) => line.level === 40));
  const warning = lines.find((line) => line.level === 40);
  assert.equal(warning?.cert, site!.cert);
  assert.match(String(warning?.msg), /still serving the previous certificate for default\.example\.org: .* is not a PEM certificate/);
  assert.equal(await served(port), fingerprint(fallback));
  assert.equal(await served(port, 'api.example.net'), fingerprint(wildcard));

  // The other pair updates on its own while the bad one keeps its old certificate.
  const renewedOther = ca.issue({ names: ['*.example.net'] });
  writeFileSync(other!.key, renewedOther.key);
  writeFileSync(other!.cert, renewedOther.cert);
  await eventually('the other pair to update', async () => (await served(port, 'api.example.net')) === fingerprint(renewedOther));
  assert.equal(await served(port), fingerprint(fallback));

  // Fixing the file is the next event, and it is picked up.
  const fixed = ca.issue({ names: ['default.example.org'] });
  writeFileSync(site!.key, fixed.key);
  writeFileSync(site!.cert, fixed.cert);
  await eventually('the fixed certificate to be served', async () => (await served(port)) === fingerprint(fixed));
});

test('TLS versions under min_version are refused by the server', async (t) => {
  const { files } = place(t, [['site', fallback]]);
  const { store } = openStore(t, files, 'TLSv1.2');
  const { port, refused } = await serve(t, store);

  const accepted = await handshake(port, { servername: 'default.example.org', maxVersion: 'TLSv1.2' });
  assert.equal(accepted.getProtocol(), 'TLSv1.2');
  assert.equal(accepted.getCipher().name, 'ECDHE-ECDSA-AES128-GCM-SHA256');
  accepted.destroy();

  // SECLEVEL=0 lets this client's OpenSSL offer TLS 1.1 at all, so the refusal is the server's.
  await assert.rejects(
    handshake(port, { servername: 'default.example.org', minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' },
  );
  await eventually('the server to report the refused handshake', () => refused.length === 1);
  assert.match(refused[0]?.message ?? '', /unsupported protocol/);

  const strict = openStore(t, files, 'TLSv1.3');
  const strictServer = await serve(t, strict.store);
  await assert.rejects(handshake(strictServer.port, { maxVersion: 'TLSv1.2' }), { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
  const modern = await handshake(strictServer.port);
  assert.equal(modern.getProtocol(), 'TLSv1.3');
  modern.destroy();
});

test('with no certificate yet handshakes fail cleanly, and an installed one is served', async (t) => {
  const { store } = openStore(t, []);
  const { port, server, refused } = await serve(t, store);

  await assert.rejects(handshake(port, { servername: 'www.example.net' }));
  await assert.rejects(handshake(port));
  await eventually('the server to report both refused handshakes', () => refused.length === 2);
  assert.match(refused.map((error) => error.message).join('\n'), /no TLS certificate to serve for "www\.example\.net" yet/);
  assert.ok(server.listening);

  store.install('acme', { cert: exact.cert, key: exact.key });
  assert.equal(await served(port, 'www.example.net'), fingerprint(exact));
  assert.equal(await served(port), fingerprint(exact), 'the installed certificate became the server default');

  const renewed = ca.issue({ names: ['www.example.net'] });
  store.install('acme', { cert: renewed.cert, key: renewed.key });
  assert.equal(await served(port, 'www.example.net'), fingerprint(renewed));
  assert.deepEqual(store.describe().map((d) => [d.source, d.acmeId, d.fingerprint256]), [['acme', 'acme', fingerprint(renewed)]]);

  assert.throws(() => store.install('acme', { cert: renewed.cert, key: exact.key }), CertificateError);
  assert.equal(await served(port, 'www.example.net'), fingerprint(renewed), 'a bad install changes nothing');

  assert.equal(store.uninstall('acme'), true);
  assert.equal(store.describe().length, 0);
  await assert.rejects(handshake(port, { servername: 'www.example.net' }));
});

test('file certificates come before installed ones', async (t) => {
  const { files } = place(t, [['wildcard', wildcard]]);
  const { store } = openStore(t, files);
  const { port } = await serve(t, store);
  store.install('www', { cert: exact.cert, key: exact.key });
  const sameName = ca.issue({ names: ['*.example.net'] });
  store.install('shadowed', { cert: sameName.cert, key: sameName.key });

  assert.equal(await served(port, 'www.example.net'), fingerprint(exact));
  assert.equal(await served(port, 'api.example.net'), fingerprint(wildcard), 'the file certificate wins a name both have');
  assert.equal(await served(port), fingerprint(wildcard));
  assert.deepEqual(store.expiries().map((e) => [e.name, e.source]), [['*.example.net', 'file'], ['www.example.net', 'acme'], ['*.example.net', 'acme']]);
});

test('replace() swaps the whole set, or throws and keeps the old one', async (t) => {
  const { files: [first, second] } = place(t, [['first', fallback], ['second', exact]]);
  const { store } = openStore(t, [first!]);
  const { port } = await serve(t, store);

  const missing = { cert: join(ca.dir, 'missing.crt'), key: first!.key };
  assert.throws(() => store.replace([second!, missing]), (error: unknown) =>
    error instanceof CertificateError && /cannot read certificate .*missing\.crt \(ENOENT/.test(error.message));
  assert.equal(await served(port), fingerprint(fallback));

  store.replace([second!, first!]);
  assert.equal(await served(port), fingerprint(exact), 'the new first certificate is the default');
  assert.equal(await served(port, 'default.example.org'), fingerprint(fallback));

  store.replace([second!], 'TLSv1.3');
  await assert.rejects(handshake(port, { maxVersion: 'TLSv1.2' }), { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
});

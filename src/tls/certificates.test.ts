import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertAuthority, type IssuedCert } from '../../test/helpers/certs.ts';
import {
  CertificateError,
  certificateNames,
  certificateProblems,
  loadCertificateFiles,
  loadCertificatePem,
  SERVER_TLS12_CIPHERS,
  serverTlsOptions,
} from './certificates.ts';

let now: number;
let ca: CertAuthority;
let ec: IssuedCert;
let rsa: IssuedCert;

before(() => {
  ca = new CertAuthority();
  ec = ca.issue({ names: ['www.example.net', '*.example.net', 'IP:127.0.0.1'] });
  rsa = ca.issue({ names: ['rsa.example.net'], keyType: 'rsa' });
  // After the CA exists: its certificate starts the second it was made.
  now = Date.now();
});
after(() => ca.close());

/** A file in the CA's directory with the given text. */
function file(name: string, text: string): string {
  const path = join(ca.dir, name);
  writeFileSync(path, text);
  return path;
}

describe('certificateProblems', () => {
  test('a good pair, EC or RSA, has none', () => {
    assert.deepEqual(certificateProblems({ cert: ec.certPath, key: ec.keyPath }, now), []);
    assert.deepEqual(certificateProblems({ cert: rsa.certPath, key: rsa.keyPath }, now), []);
  });

  test('a missing file says its path and why', () => {
    const missing = join(ca.dir, 'missing.crt');
    assert.deepEqual(certificateProblems({ cert: missing, key: ec.keyPath }, now), [
      { key: 'cert', message: `cannot read certificate ${missing} (ENOENT: no such file or directory)` },
    ]);
    assert.deepEqual(certificateProblems({ cert: ec.certPath, key: ca.dir }, now), [
      { key: 'key', message: `cannot read key ${ca.dir} (EISDIR: illegal operation on a directory)` },
    ]);
  });

  test('garbage is neither a certificate nor a key', () => {
    const garbage = file('garbage.pem', 'not PEM at all\n');
    const problems = certificateProblems({ cert: garbage, key: garbage }, now);
    assert.deepEqual(problems, [
      { key: 'cert', message: `${garbage} is not a PEM certificate (no "BEGIN CERTIFICATE" block)` },
      { key: 'key', message: `${garbage} is not a PEM private key (no "BEGIN PRIVATE KEY" block)` },
    ]);
  });

  test('a broken PEM block is reported as unparseable', () => {
    const broken = file('broken.crt', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const [problem, ...rest] = certificateProblems({ cert: broken, key: ec.keyPath }, now);
    assert.equal(rest.length, 0);
    assert.equal(problem?.key, 'cert');
    assert.match(problem?.message ?? '', new RegExp(`^${broken}: its first certificate cannot be parsed \\(`));
  });

  test('swapped cert and key are called out', () => {
    const problems = certificateProblems({ cert: ec.keyPath, key: ec.certPath }, now);
    assert.deepEqual(problems, [
      { key: 'cert', message: `${ec.keyPath} is not a PEM certificate (it holds a private key: are cert and key swapped?)` },
      { key: 'key', message: `${ec.certPath} is not a PEM private key (it holds a certificate: are cert and key swapped?)` },
    ]);
  });

  test('a key that belongs to another certificate', () => {
    assert.deepEqual(certificateProblems({ cert: ec.certPath, key: rsa.keyPath }, now), [
      { key: 'key', message: `${rsa.keyPath} does not match the certificate in ${ec.certPath}` },
    ]);
  });

  test('a chain with the CA first is not leaf-first', () => {
    const caFirst = file('ca-first.crt', ca.caCert + readFileSync(ec.certPath, 'utf8').replace(ca.caCert, ''));
    // The key does not match the first certificate, a CA's, but does match the second.
    assert.deepEqual(certificateProblems({ cert: caFirst, key: ec.keyPath }, now), [
      { key: 'cert', message: `${caFirst} is not leaf-first: the key matches certificate #2 of the chain` },
    ]);
  });

  test('an expired certificate says when it expired', () => {
    const expired = ca.issue({ names: ['old.example.net'], startDaysAgo: 30, days: -2 });
    const [problem, ...rest] = certificateProblems({ cert: expired.certPath, key: expired.keyPath }, now);
    assert.equal(rest.length, 0);
    assert.equal(problem?.key, 'cert');
    const notAfter = new X509Certificate(expired.cert).validToDate.toISOString().replace(/\.\d{3}Z$/, 'Z');
    assert.equal(problem?.message, `${expired.certPath}: the certificate expired on ${notAfter}`);
  });

  test('a certificate from the future is not valid yet', () => {
    const future = ca.issue({ names: ['new.example.net'], startDaysAgo: -3, days: 30 });
    const problems = certificateProblems({ cert: future.certPath, key: future.keyPath }, now);
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.message ?? '', new RegExp(`^${future.certPath}: the certificate is not valid until \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z$`));
    // The same files are fine once that time has come.
    assert.deepEqual(certificateProblems({ cert: future.certPath, key: future.keyPath }, now + 4 * 86_400_000), []);
  });

  test('an encrypted key is refused with the reason', () => {
    const encrypted = join(ca.dir, 'encrypted.key');
    execFileSync('openssl', ['pkey', '-in', ec.keyPath, '-aes128', '-passout', 'pass:secret', '-out', encrypted]);
    assert.deepEqual(certificateProblems({ cert: ec.certPath, key: encrypted }, now), [
      { key: 'key', message: `${encrypted} is encrypted with a passphrase; weir needs the key unencrypted` },
    ]);
  });
});

describe('loadCertificateFiles', () => {
  test('reads names, validity, issuer and fingerprint from the leaf of a chain', () => {
    const loaded = loadCertificateFiles({ cert: ec.certPath, key: ec.keyPath }, 'TLSv1.2');
    const leaf = new X509Certificate(ec.cert);
    assert.deepEqual(loaded.names, ['www.example.net', '*.example.net']);
    assert.equal(loaded.issuer, 'CN=weir test CA');
    assert.equal(loaded.fingerprint256, leaf.fingerprint256);
    assert.deepEqual(loaded.notAfter, leaf.validToDate);
    assert.deepEqual(loaded.notBefore, leaf.validFromDate);
    assert.ok(loaded.context.context, 'a SecureContext');
  });

  test('an RSA key loads too', () => {
    assert.deepEqual(loadCertificateFiles({ cert: rsa.certPath, key: rsa.keyPath }, 'TLSv1.3').names, ['rsa.example.net']);
  });

  test('throws CertificateError carrying the problems', () => {
    assert.throws(
      () => loadCertificateFiles({ cert: ec.certPath, key: rsa.keyPath }, 'TLSv1.2'),
      (error: unknown) => error instanceof CertificateError
        && error.problems.length === 1
        && error.message === `${rsa.keyPath} does not match the certificate in ${ec.certPath}`,
    );
  });

  test('loadCertificatePem names the pair by its labels', () => {
    assert.throws(
      () => loadCertificatePem({ cert: ec.cert, key: rsa.key }, 'TLSv1.2', { cert: 'acme cert', key: 'acme key' }),
      { name: 'CertificateError', message: 'acme key does not match the certificate in acme cert' },
    );
    assert.deepEqual(loadCertificatePem({ cert: rsa.cert, key: rsa.key }, 'TLSv1.2').names, ['rsa.example.net']);
  });

  test('a combined file with the key and the chain serves as both', () => {
    const combined = file('combined.pem', ec.key + ec.cert);
    assert.deepEqual(loadCertificateFiles({ cert: combined, key: combined }, 'TLSv1.2').names, ['www.example.net', '*.example.net']);
  });
});

describe('certificateNames', () => {
  test('falls back to the CN only when there is no DNS name', () => {
    const dir = ca.dir;
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=Legacy.Example.NET', '-keyout', join(dir, 'legacy.key'), '-out', join(dir, 'legacy.crt')], { stdio: 'ignore' });
    assert.deepEqual(certificateNames(new X509Certificate(readFileSync(join(dir, 'legacy.crt')))), ['legacy.example.net']);

    const ipOnly = ca.issue({ names: ['IP:127.0.0.1'] });
    assert.deepEqual(certificateNames(new X509Certificate(ipOnly.cert)), ['weir test'], 'IP entries are not DNS names, so the CN counts');
  });

  test('with DNS names the CN is ignored', () => {
    // CertAuthority puts the first name in the CN too; a SAN without it shows the CN is not added.
    const dir = ca.dir;
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=cn.example.net', '-addext', 'subjectAltName=DNS:san.example.net,IP:10.0.0.1',
      '-keyout', join(dir, 'san.key'), '-out', join(dir, 'san.crt')], { stdio: 'ignore' });
    assert.deepEqual(certificateNames(new X509Certificate(readFileSync(join(dir, 'san.crt')))), ['san.example.net']);
  });
});

test('the TLS 1.2 ciphers are forward-secret AEAD suites only', () => {
  for (const cipher of SERVER_TLS12_CIPHERS.split(':')) assert.match(cipher, /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
  assert.deepEqual(serverTlsOptions('TLSv1.3'), { minVersion: 'TLSv1.3', ciphers: SERVER_TLS12_CIPHERS, honorCipherOrder: true });
});

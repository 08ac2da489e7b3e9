// Certificates the tests make for themselves with openssl: a throwaway CA and
// leaf certificates signed by it, with the names, key types and validity a
// test asks for. Everything lives in one temporary directory per CertAuthority.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface IssuedCert {
  /** Path of the leaf certificate followed by the CA certificate (a chain, leaf first). */
  certPath: string;
  /** Path of the leaf's private key (PEM, PKCS#8). */
  keyPath: string;
  /** The chain as PEM text. */
  cert: string;
  /** The key as PEM text. */
  key: string;
}

export interface IssueOptions {
  /** DNS names (and IP addresses, as "IP:127.0.0.1") for subjectAltName; the first DNS name is also the CN. */
  names: string[];
  /** Days of validity from now; negative start with notAfterDays ≤ 0 makes an expired certificate. Default 30. */
  days?: number;
  /** Valid from this many days ago (default 1: no clock-skew surprises). */
  startDaysAgo?: number;
  /** Key type: EC P-256 (default, fast) or RSA 2048. */
  keyType?: 'ec' | 'rsa';
  /** A file name prefix inside the directory (default the first name). */
  file?: string;
  /** Marks the certificate for client authentication too (for mutual TLS tests). */
  clientAuth?: boolean;
}

/** A CA in a temporary directory; close() removes it. */
export class CertAuthority {
  readonly dir: string;
  /** Path of the CA certificate (PEM): what a client trusts. */
  readonly caPath: string;
  readonly caCert: string;
  #serial = 1;

  constructor(name = 'weir test CA') {
    this.dir = mkdtempSync(join(tmpdir(), 'weir-certs-'));
    this.caPath = join(this.dir, 'ca.crt');
    const caKey = join(this.dir, 'ca.key');
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', caKey]);
    openssl(['req', '-x509', '-new', '-key', caKey, '-sha256', '-days', '3650', '-subj', `/CN=${name}`, '-out', this.caPath,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    this.caCert = readFileSync(this.caPath, 'utf8');
    writeFileSync(join(this.dir, 'index.txt'), '');
  }

  /** A leaf certificate signed by this CA. */
  issue(options: IssueOptions): IssuedCert {
    const base = join(this.dir, sanitize(options.file ?? options.names[0] ?? 'cert') + `-${this.#serial}`);
    const keyPath = `${base}.key`;
    const csrPath = `${base}.csr`;
    const leafPath = `${base}.leaf.crt`;
    const certPath = `${base}.crt`;
    const extPath = `${base}.ext`;
    if (options.keyType === 'rsa') openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyPath]);
    else openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath]);
    const cn = options.names.find((name) => !name.startsWith('IP:')) ?? 'weir test';
    openssl(['req', '-new', '-key', keyPath, '-subj', `/CN=${cn}`, '-out', csrPath]);
    const san = options.names.map((name) => (name.startsWith('IP:') ? name : `DNS:${name}`)).join(',');
    // `openssl ca` rather than `x509 -req`: OpenSSL 3.0's x509 cannot set a start date, and expired certificates need one.
    writeFileSync(extPath, [
      '[ca]', 'default_ca=test', '[test]', `dir=${this.dir}`, `database=${join(this.dir, 'index.txt')}`, `new_certs_dir=${this.dir}`,
      `certificate=${this.caPath}`, `private_key=${join(this.dir, 'ca.key')}`, `serial=${join(this.dir, 'serial')}`,
      'default_md=sha256', 'policy=any', 'unique_subject=no', 'copy_extensions=none', 'x509_extensions=leaf',
      '[any]', 'commonName=supplied',
      '[leaf]', `subjectAltName=${san}`, 'basicConstraints=critical,CA:FALSE', `extendedKeyUsage=serverAuth${options.clientAuth ? ',clientAuth' : ''}`,
      '',
    ].join('\n'));
    const start = new Date(Date.now() - (options.startDaysAgo ?? 1) * 86_400_000);
    const end = new Date(Date.now() + (options.days ?? 30) * 86_400_000);
    writeFileSync(join(this.dir, 'serial'), (this.#serial++).toString(16).padStart(2, '0') + '\n');
    openssl(['ca', '-batch', '-notext', '-config', extPath, '-in', csrPath, '-startdate', asn1Time(start), '-enddate', asn1Time(end), '-out', leafPath]);
    const leaf = readFileSync(leafPath, 'utf8');
    writeFileSync(certPath, leaf + this.caCert);
    return { certPath, keyPath, cert: leaf + this.caCert, key: readFileSync(keyPath, 'utf8') };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** YYYYMMDDHHMMSSZ, what openssl ca -startdate/-enddate take. */
function asn1Time(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9.-]/g, '_');
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

// One server certificate: a PEM chain (leaf first) and its private key, read
// from files or handed over by ACME, checked the way a client will check it
// and turned into the SecureContext a handshake uses.
//
// Checking and loading share one path, so `weir validate` refuses exactly
// what a start or a reload would refuse, with the same words. Everything is
// synchronous: the files are a few kilobytes, and a config check wants an
// answer, not a promise.

import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext, type TlsOptions } from 'node:tls';
import type { CertificateFiles, TlsVersion } from '../config/types.ts';
import { normalizeServerName } from './sni.ts';

/**
 * TLS 1.2 suites weir offers: forward-secret key exchange (ECDHE) with an
 * AEAD cipher only, as in Mozilla's "intermediate" profile without the
 * finite-field DHE suites that need extra parameters. TLS 1.3 suites are not
 * set here: Node's defaults are all AEAD already.
 */
export const SERVER_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * The protocol options of a TLS server. They must be on the server itself
 * (`tls.createServer` / `setSecureContext`), not only on the contexts an
 * SNICallback hands out: OpenSSL settles the version and the cipher from the
 * server's own context.
 */
export function serverTlsOptions(minVersion: TlsVersion): Pick<TlsOptions, 'minVersion' | 'ciphers' | 'honorCipherOrder'> {
  return { minVersion, ciphers: SERVER_TLS12_CIPHERS, honorCipherOrder: true };
}

/** A certificate chain and key as PEM text. */
export interface CertificatePem {
  cert: string;
  key: string;
}

/** What is wrong with a certificate pair, by the config field it belongs to. */
export interface CertificateProblem {
  key: 'cert' | 'key';
  message: string;
}

/** A certificate ready to serve. */
export interface LoadedCertificate {
  /** DNS names from subjectAltName, or the subject CN when there is none; lower case. */
  readonly names: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The issuer's distinguished name on one line: "CN=R11, O=Let's Encrypt, C=US". */
  readonly issuer: string;
  /** SHA-256 of the leaf, "AB:CD:…", as browsers show it. */
  readonly fingerprint256: string;
  readonly context: SecureContext;
  /** The chain's certificate blocks and the key, kept for `tls.Server.setSecureContext`, which takes PEM text rather than a context. */
  readonly pem: CertificatePem;
}

/** Thrown by the loaders; `problems` are the same ones certificateProblems returns. */
export class CertificateError extends Error {
  readonly problems: readonly CertificateProblem[];

  constructor(problems: readonly CertificateProblem[]) {
    super(problems.map((problem) => problem.message).join('; '));
    this.name = 'CertificateError';
    this.problems = problems;
  }
}

/** Everything wrong with a certificate pair on disk at time `now` (ms); [] when it can be served. */
export function certificateProblems(files: CertificateFiles, now: number): CertificateProblem[] {
  const read = readCertificateFiles(files);
  if ('problems' in read) return read.problems;
  return inspect(read.pem, { cert: files.cert, key: files.key }, now).problems;
}

/** Reads both files; a file that cannot be read is a problem, not an exception. */
export function readCertificateFiles(files: CertificateFiles): { pem: CertificatePem } | { problems: CertificateProblem[] } {
  const cert = readText(files.cert);
  const key = readText(files.key);
  const problems: CertificateProblem[] = [];
  if (typeof cert !== 'string') problems.push({ key: 'cert', message: `cannot read certificate ${files.cert} (${cert.reason})` });
  if (typeof key !== 'string') problems.push({ key: 'key', message: `cannot read key ${files.key} (${key.reason})` });
  if (typeof cert !== 'string' || typeof key !== 'string') return { problems };
  return { pem: { cert, key } };
}

/** Loads a pair of files; throws CertificateError with every problem found. */
export function loadCertificateFiles(files: CertificateFiles, minVersion: TlsVersion, now = Date.now()): LoadedCertificate {
  const read = readCertificateFiles(files);
  if ('problems' in read) throw new CertificateError(read.problems);
  return loadCertificatePem(read.pem, minVersion, { cert: files.cert, key: files.key }, now);
}

/**
 * Loads a pair given as text (ACME hands certificates over this way).
 * `labels` name the pair in messages: the file paths, or where it came from.
 */
export function loadCertificatePem(
  pem: CertificatePem,
  minVersion: TlsVersion,
  labels: { cert: string; key: string } = { cert: 'the certificate', key: 'the key' },
  now = Date.now(),
): LoadedCertificate {
  const { problems, checked } = inspect(pem, labels, now);
  if (!checked || problems.length > 0) throw new CertificateError(problems);
  const { leaf, chain } = checked;
  let context: SecureContext;
  try {
    context = createSecureContext({ ...serverTlsOptions(minVersion), cert: chain, key: pem.key });
  } catch (error) {
    throw new CertificateError([{ key: 'cert', message: `${labels.cert}: OpenSSL refuses it (${(error as Error).message})` }]);
  }
  return {
    names: certificateNames(leaf),
    notBefore: leaf.validFromDate,
    notAfter: leaf.validToDate,
    issuer: leaf.issuer.split('\n').join(', '),
    fingerprint256: leaf.fingerprint256,
    context,
    pem: { cert: chain, key: pem.key },
  };
}

/**
 * The names a certificate is for, as clients check them: the DNS entries of
 * subjectAltName, or the subject's CN only when there are none (RFC 6125
 * §6.4.4). IP address entries are left out: SNI never carries an address.
 */
export function certificateNames(certificate: X509Certificate): string[] {
  const dns = altNames(certificate.subjectAltName ?? '')
    .filter((entry) => entry.type === 'DNS')
    .map((entry) => entry.value);
  const names = dns.length > 0 ? dns : commonNames(certificate.subject);
  return [...new Set(names.map((name) => normalizeServerName(name.trim())).filter((name) => name !== ''))];
}

interface CheckedPair {
  leaf: X509Certificate;
  /** Only the CERTIFICATE blocks, leaf first, whatever else the file held. */
  chain: string;
  key: KeyObject;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
const PRIVATE_KEY_BEGIN = /-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----/;
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/;

function inspect(pem: CertificatePem, labels: { cert: string; key: string }, now: number): { problems: CertificateProblem[]; checked?: CheckedPair } {
  const problems: CertificateProblem[] = [];
  const chain = parseChain(pem.cert, labels.cert, problems);
  const key = parseKey(pem.key, labels.key, problems);
  const leaf = chain?.[0];
  if (!chain || !leaf || !key) return { problems };

  if (!leaf.checkPrivateKey(key)) {
    const other = chain.findIndex((certificate, index) => index > 0 && certificate.checkPrivateKey(key));
    problems.push(other > 0
      ? { key: 'cert', message: `${labels.cert} is not leaf-first: the key matches certificate #${other + 1} of the chain` }
      : { key: 'key', message: `${labels.key} does not match the certificate in ${labels.cert}` });
  }
  // Only the leaf's dates: an expired certificate further up can be harmless
  // (Let's Encrypt served an expired cross-sign for years; clients build
  // their path to a root they trust and skip it).
  if (leaf.validToDate.getTime() < now) {
    problems.push({ key: 'cert', message: `${labels.cert}: the certificate expired on ${isoSeconds(leaf.validToDate)}` });
  } else if (leaf.validFromDate.getTime() > now) {
    problems.push({ key: 'cert', message: `${labels.cert}: the certificate is not valid until ${isoSeconds(leaf.validFromDate)}` });
  }
  return { problems, checked: { leaf, chain: chain.map((certificate) => certificate.toString()).join(''), key } };
}

function parseChain(text: string, label: string, problems: CertificateProblem[]): X509Certificate[] | undefined {
  const blocks = text.match(CERTIFICATE_BLOCK);
  if (!blocks) {
    const hint = PRIVATE_KEY_BEGIN.test(text) ? ' (it holds a private key: are cert and key swapped?)' : ' (no "BEGIN CERTIFICATE" block)';
    problems.push({ key: 'cert', message: `${label} is not a PEM certificate${hint}` });
    return undefined;
  }
  const chain: X509Certificate[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      chain.push(new X509Certificate(block));
    } catch (error) {
      const which = index === 0 ? 'its first certificate' : `certificate #${index + 1}`;
      problems.push({ key: 'cert', message: `${label}: ${which} cannot be parsed (${(error as Error).message})` });
      return undefined;
    }
  }
  return chain;
}

function parseKey(text: string, label: string, problems: CertificateProblem[]): KeyObject | undefined {
  if (ENCRYPTED_KEY.test(text)) {
    problems.push({ key: 'key', message: `${label} is encrypted with a passphrase; weir needs the key unencrypted` });
    return undefined;
  }
  if (!PRIVATE_KEY_BEGIN.test(text)) {
    const hint = text.includes('-----BEGIN CERTIFICATE-----') ? ' (it holds a certificate: are cert and key swapped?)' : ' (no "BEGIN PRIVATE KEY" block)';
    problems.push({ key: 'key', message: `${label} is not a PEM private key${hint}` });
    return undefined;
  }
  try {
    return createPrivateKey(text);
  } catch (error) {
    problems.push({ key: 'key', message: `${label} is not a usable private key (${(error as Error).message})` });
    return undefined;
  }
}

function readText(path: string): string | { reason: string } {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    // "ENOENT: no such file or directory, open '/x'": the path is said once, by the caller.
    const message = (error as Error).message;
    return { reason: message.split(', ')[0] ?? message };
  }
}

/** subjectAltName as Node prints it: "DNS:a.test, DNS:*.b.test, IP Address:127.0.0.1"; values with odd characters are JSON-quoted. */
function altNames(text: string): Array<{ type: string; value: string }> {
  const entries: Array<{ type: string; value: string }> = [];
  for (const match of text.matchAll(/(?:^|, )([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const [, type = '', raw = ''] = match;
    entries.push({ type, value: raw.startsWith('"') ? unquote(raw) : raw });
  }
  return entries;
}

function commonNames(subject: string): string[] {
  return subject.split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3))
    .map((value) => (value.startsWith('"') ? unquote(value) : value));
}

function unquote(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted;
  }
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

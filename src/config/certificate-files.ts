// What is wrong with a certificate pair on disk, checked the way a client
// will check it: readable files, PEM blocks that parse, a key that matches
// the leaf, a leaf that is valid now. The config loader reports these with
// the key's position; src/tls/certificates.ts turns a pair that passes into
// the SecureContext a handshake uses, through the same checks, so
// `weir validate` refuses exactly what a start or a reload would.

import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { CertificateFiles } from './types.ts';

/** A TLS server name as compared: lower case, without a trailing dot. */
export function normalizeServerName(name: string): string {
  const lower = name.toLowerCase();
  return lower.length > 1 && lower.endsWith('.') ? lower.slice(0, -1) : lower;
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

/** Everything wrong with a certificate pair on disk at time `now` (ms); [] when it can be served. */
export function certificateProblems(files: CertificateFiles, now: number): CertificateProblem[] {
  const read = readCertificateFiles(files);
  if ('problems' in read) return read.problems;
  return inspectCertificatePair(read.pem, { cert: files.cert, key: files.key }, now).problems;
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

export interface CheckedPair {
  leaf: X509Certificate;
  /** Only the CERTIFICATE blocks, leaf first, whatever else the file held. */
  chain: string;
  key: KeyObject;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
const PRIVATE_KEY_BEGIN = /-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----/;
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/;

export function inspectCertificatePair(pem: CertificatePem, labels: { cert: string; key: string }, now: number): { problems: CertificateProblem[]; checked?: CheckedPair } {
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

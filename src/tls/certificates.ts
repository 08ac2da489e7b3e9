// One server certificate: a PEM chain (leaf first) and its private key, read
// from files or handed over by ACME, checked the way a client will check it
// and turned into the SecureContext a handshake uses.
//
// The checks are those of src/config/certificate-files.ts, which the config
// loader runs too, so `weir validate` refuses exactly what a start or a
// reload would refuse, with the same words. Everything is synchronous: the
// files are a few kilobytes, and a config check wants an answer, not a promise.

import { createSecureContext, type SecureContext, type TlsOptions } from 'node:tls';
import {
  certificateNames,
  inspectCertificatePair,
  readCertificateFiles,
  type CertificatePem,
  type CertificateProblem,
} from '../config/certificate-files.ts';
import type { CertificateFiles, TlsVersion } from '../config/types.ts';

export { certificateNames, certificateProblems, readCertificateFiles, type CertificatePem, type CertificateProblem } from '../config/certificate-files.ts';

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
  const { problems, checked } = inspectCertificatePair(pem, labels, now);
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


// The ACME storage directory: the account key and, per CA directory and set
// of names, the certificate chain and its key. The directory is 0700 and
// every file 0600, written to a temporary file, flushed and renamed into
// place, so a crash or a full disk leaves the old file or the new one, never
// half a key. Several weir processes may share the directory: temporary
// names are unique and a rename replaces a file whole.

import { createHash, createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { certificateNames } from '../certificates.ts';

const DIRECTORY_MODE = 0o700;
const FILE_MODE = 0o600;

/** A certificate read back from storage, checked: it parses, its key matches and it names every domain. */
export interface StoredCertificate {
  /** The PEM chain, leaf first. */
  cert: string;
  /** The leaf's private key, PEM. */
  key: string;
  names: string[];
  notBefore: Date;
  notAfter: Date;
}

/** Paths of one certificate's files. */
export interface CertificatePaths {
  cert: string;
  key: string;
}

export class AcmeStorage {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the directory (and parents) if missing, and makes it 0700 either way: it holds private keys. */
  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: DIRECTORY_MODE });
    await chmod(this.dir, DIRECTORY_MODE);
  }

  get accountKeyPath(): string {
    return join(this.dir, 'account.key');
  }

  /** The account key (PEM), or undefined when there is none yet. */
  async readAccountKey(): Promise<string | undefined> {
    return readIfPresent(this.accountKeyPath);
  }

  async writeAccountKey(pem: string): Promise<void> {
    await writeAtomically(this.accountKeyPath, pem);
  }

  /**
   * Where the certificate for these names from this CA lives. The name is
   * readable (the first domain in alphabetical order, so reordering the
   * config changes nothing) and unique (a hash of the CA directory and
   * the sorted names): another listener's names, or a switch from a staging
   * CA to a production one, never picks up the wrong certificate.
   */
  certificatePaths(directoryUrl: string, domains: readonly string[]): CertificatePaths {
    const names = normalizedNames(domains);
    const digest = createHash('sha256').update(`${directoryUrl}\n${names.join(',')}`).digest('hex').slice(0, 12);
    const first = (names[0] ?? 'certificate').replace(/[^a-z0-9.-]/g, '_');
    const stem = join(this.dir, `${first}-${digest}`);
    return { cert: `${stem}.crt`, key: `${stem}.key` };
  }

  /**
   * The stored certificate for these names, or undefined when there is none.
   * Throws with the reason when one is there but cannot be used (corrupt,
   * key from another certificate, names missing): the caller obtains a new one.
   * Expiry is not judged here: that is the schedule's business.
   */
  async readCertificate(directoryUrl: string, domains: readonly string[]): Promise<StoredCertificate | undefined> {
    const paths = this.certificatePaths(directoryUrl, domains);
    const cert = await readIfPresent(paths.cert);
    const key = await readIfPresent(paths.key);
    if (cert === undefined && key === undefined) return undefined;
    if (cert === undefined || key === undefined) {
      throw new Error(`${cert === undefined ? paths.cert : paths.key} is missing while ${cert === undefined ? paths.key : paths.cert} is there`);
    }
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(cert);
    } catch (error) {
      throw new Error(`${paths.cert} cannot be parsed (${(error as Error).message})`, { cause: error });
    }
    let matches: boolean;
    try {
      matches = leaf.checkPrivateKey(createPrivateKey(key));
    } catch (error) {
      throw new Error(`${paths.key} cannot be parsed (${(error as Error).message})`, { cause: error });
    }
    // The key is written before the certificate: a crash between the two renames leaves a new key beside the old certificate.
    if (!matches) throw new Error(`${paths.key} does not match the certificate in ${paths.cert}`);
    const names = certificateNames(leaf);
    const missing = normalizedNames(domains).filter((domain) => !names.includes(domain));
    if (missing.length > 0) throw new Error(`${paths.cert} is not for ${missing.join(', ')}`);
    return { cert, key, names, notBefore: leaf.validFromDate, notAfter: leaf.validToDate };
  }

  /** Stores a certificate and its key: the key first, see readCertificate. */
  async writeCertificate(directoryUrl: string, domains: readonly string[], pem: { cert: string; key: string }): Promise<CertificatePaths> {
    const paths = this.certificatePaths(directoryUrl, domains);
    await writeAtomically(paths.key, pem.key);
    await writeAtomically(paths.cert, pem.cert);
    return paths;
  }
}

/** The names as a certificate lists them: lower case, each once, sorted. */
function normalizedNames(domains: readonly string[]): string[] {
  return [...new Set(domains.map((domain) => domain.trim().toLowerCase()))].sort();
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes `text` to `path` 0600 through a flushed temporary file and a rename. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    // 'wx': never follow or reuse something already there; the mode is set at creation, before a byte is written.
    const file = await open(temporary, 'wx', FILE_MODE);
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

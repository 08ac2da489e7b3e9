import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CertAuthority } from '../../../test/helpers/certs.ts';
import { AcmeStorage, writeAtomically } from './acme-storage.ts';

const DIRECTORY = 'https://ca.example/dir';
const DOMAINS = ['a.weir.test', 'b.weir.test'];

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

describe('the ACME storage directory', () => {
  let authority: CertAuthority;
  let root: string;

  before(() => {
    authority = new CertAuthority();
    root = mkdtempSync(join(tmpdir(), 'weir-acme-storage-'));
  });
  after(() => {
    authority.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('is created 0700 with its parents, and tightened to 0700 when it exists wider', async () => {
    const fresh = new AcmeStorage(join(root, 'fresh', 'acme'));
    await fresh.prepare();
    assert.equal(mode(fresh.dir), '700');

    const wide = join(root, 'wide');
    await new AcmeStorage(wide).prepare();
    chmodSync(wide, 0o755);
    await new AcmeStorage(wide).prepare();
    assert.equal(mode(wide), '700');
  });

  it('writes the account key, certificate and key 0600, leaving no temporary file', async () => {
    const storage = new AcmeStorage(join(root, 'modes'));
    await storage.prepare();
    assert.equal(await storage.readAccountKey(), undefined);
    await storage.writeAccountKey('account key PEM');
    assert.equal(await storage.readAccountKey(), 'account key PEM');
    const issued = authority.issue({ names: DOMAINS });
    const paths = await storage.writeCertificate(DIRECTORY, DOMAINS, issued);
    for (const path of [storage.accountKeyPath, paths.cert, paths.key]) assert.equal(mode(path), '600', path);
    assert.deepEqual(readdirSync(storage.dir).filter((name) => name.endsWith('.tmp')), []);
  });

  it('reads back a stored certificate with its names and validity', async () => {
    const storage = new AcmeStorage(join(root, 'read'));
    await storage.prepare();
    assert.equal(await storage.readCertificate(DIRECTORY, DOMAINS), undefined, 'nothing stored yet');
    const issued = authority.issue({ names: DOMAINS, days: 10 });
    await storage.writeCertificate(DIRECTORY, DOMAINS, issued);
    // The names in another order and case are the same set: the same files.
    const stored = await storage.readCertificate(DIRECTORY, ['B.weir.test', 'a.weir.test']);
    assert.ok(stored);
    assert.deepEqual(stored.names, DOMAINS);
    assert.equal(stored.cert, issued.cert);
    assert.equal(stored.key, issued.key);
    assert.ok(Math.abs(stored.notAfter.getTime() - (Date.now() + 10 * 86_400_000)) < 120_000);
  });

  it('keeps certificates apart per CA directory and per set of names', () => {
    const storage = new AcmeStorage(join(root, 'apart'));
    const production = storage.certificatePaths(DIRECTORY, DOMAINS);
    assert.notEqual(storage.certificatePaths('https://staging.example/dir', DOMAINS).cert, production.cert);
    assert.notEqual(storage.certificatePaths(DIRECTORY, ['a.weir.test']).cert, production.cert);
    assert.match(production.cert, /a\.weir\.test-[0-9a-f]{12}\.crt$/);
  });

  it('refuses a key that does not match (a crash between the two renames), saying which files', async () => {
    const storage = new AcmeStorage(join(root, 'mismatch'));
    await storage.prepare();
    const paths = await storage.writeCertificate(DIRECTORY, DOMAINS, authority.issue({ names: DOMAINS }));
    await writeAtomically(paths.key, authority.issue({ names: DOMAINS }).key);
    await assert.rejects(storage.readCertificate(DIRECTORY, DOMAINS), (error: Error) => {
      assert.equal(error.message, `${paths.key} does not match the certificate in ${paths.cert}`);
      return true;
    });
  });

  it('refuses a certificate that lacks a configured name, and half a pair', async () => {
    const storage = new AcmeStorage(join(root, 'names'));
    await storage.prepare();
    const paths = storage.certificatePaths(DIRECTORY, DOMAINS);
    const onlyA = authority.issue({ names: ['a.weir.test'] });
    writeFileSync(paths.cert, onlyA.cert);
    writeFileSync(paths.key, onlyA.key);
    await assert.rejects(storage.readCertificate(DIRECTORY, DOMAINS), /is not for b\.weir\.test$/);
    rmSync(paths.key);
    await assert.rejects(storage.readCertificate(DIRECTORY, DOMAINS), /\.key is missing while .*\.crt is there/);
  });

  it('replaces a file whole: the old text or the new, never a mix', async () => {
    const path = join(root, 'replace.key');
    await writeAtomically(path, 'old');
    await writeAtomically(path, 'new');
    await new AcmeStorage(root).prepare();
    assert.equal(mode(path), '600');
    assert.deepEqual(readdirSync(root).filter((name) => name.startsWith('replace.key')), ['replace.key']);
  });
});

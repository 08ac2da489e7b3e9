// The certificates one TLS listener serves: those of its config files, kept
// fresh when the files change on disk, and those ACME installs at runtime.
// It answers the one question a handshake asks, "which certificate for this
// server name?", from a table compiled whenever the set changes.
//
// A change never touches a connection already open: only new handshakes see
// the new set. A change that would leave the listener worse off (a file half
// written, a key that does not match) is refused and the previous
// certificate stays in service.
//
// Node asks the SNICallback only when a client sends a server name. A client
// without one (`curl https://203.0.113.7/`) gets the server's own context, so
// the store also keeps the default certificate on every server attached to it.

import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { SecureContext, SecureContextOptions, Server, TlsOptions } from 'node:tls';
import type { CertificateFiles, TlsVersion } from '../config/types.ts';
import type { Logger } from '../log.ts';
import {
  CertificateError,
  loadCertificatePem,
  readCertificateFiles,
  serverTlsOptions,
  type CertificatePem,
  type CertificateProblem,
  type LoadedCertificate,
} from './certificates.ts';
import { SniTable } from './sni.ts';

export interface CertificateStoreOptions {
  minVersion: TlsVersion;
  /** The listener's certificate files; the first is the default. */
  certificates: readonly CertificateFiles[];
  log: Logger;
  /** Reload when the files change on disk. Default true. */
  watch?: boolean;
  /** Quiet time after the last file event before reloading, so one rename-replace or two-file write is one reload. Default 150 ms. */
  debounceMs?: number;
}

export type CertificateSource = 'file' | 'acme';

/** One certificate as the admin API and `weir explain` show it. */
export interface CertificateDescription {
  names: string[];
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  issuer: string;
  fingerprint256: string;
  source: CertificateSource;
  /** The files, for source "file". */
  certPath?: string;
  keyPath?: string;
  /** What ACME installed it as, for source "acme". */
  acmeId?: string;
  /** Served to clients without SNI or with a name no certificate has. */
  default: boolean;
}

/** One certificate's expiry, for metrics. */
export interface CertificateExpiry {
  /** The first name, a label that says which certificate this is. */
  name: string;
  names: string[];
  source: CertificateSource;
  /** Unix time in seconds. */
  notAfter: number;
}

/** A certificate in service and where it came from. */
interface Served {
  readonly certificate: LoadedCertificate;
  readonly source: CertificateSource;
  readonly files?: CertificateFiles;
  readonly acmeId?: string;
}

/** A config certificate entry and what was last read from its files. */
interface FileSlot {
  readonly files: CertificateFiles;
  certificate: LoadedCertificate;
  /** The text (or the read failure) last looked at, so an event that changed nothing costs no parse and no log line. */
  seen: string;
}

const DEFAULT_DEBOUNCE_MS = 150;
/** A directory that never stops changing (a log file beside the certificates) must not postpone a reload forever. */
const MAX_DEBOUNCE_MS = 1000;

export class CertificateStore {
  #minVersion: TlsVersion;
  readonly #log: Logger;
  readonly #watchFiles: boolean;
  readonly #debounceMs: number;
  #slots: FileSlot[];
  readonly #installed = new Map<string, LoadedCertificate>();
  #table = new SniTable<Served>([]);
  #served: Served[] = [];
  #watchers: FSWatcher[] = [];
  #reloadTimer: NodeJS.Timeout | undefined;
  #firstEventAt = 0;
  /** Servers whose own (no-SNI) context follows the default certificate, with the options they were attached with. */
  readonly #servers = new Map<Server, SecureContextOptions>();
  #closed = false;

  /** Loads every certificate file; throws CertificateError, watching nothing, if any is bad. */
  constructor(options: CertificateStoreOptions) {
    this.#minVersion = options.minVersion;
    this.#log = options.log;
    this.#watchFiles = options.watch ?? true;
    this.#debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.#slots = loadSlots(options.certificates, options.minVersion);
    this.#compile();
    this.#watch();
  }

  /**
   * For `tls.createServer({ SNICallback })`: the context for a client's
   * server name. With no certificate at all yet (ACME has not delivered) the
   * handshake fails with an error on that one socket; the server goes on.
   */
  readonly sniCallback = (servername: string, callback: (error: Error | null, context?: SecureContext) => void): void => {
    const served = this.#table.pick(servername);
    if (served) callback(null, served.certificate.context);
    else callback(new Error(`no TLS certificate to serve for "${servername}" yet`));
  };

  /** Options to create a TLS (or HTTP/2 secure) server with; then attach() it so the default follows changes. */
  serverOptions(): TlsOptions {
    return { ...serverTlsOptions(this.#minVersion), ...this.#defaultPem(), SNICallback: this.sniCallback };
  }

  /**
   * Keeps `server`'s own context, the one clients without SNI get, on the
   * default certificate from now on. `setSecureContext` replaces every
   * context option, so anything else the server needs (a client CA for
   * mutual TLS) goes in `extra`.
   */
  attach(server: Server, extra: SecureContextOptions = {}): void {
    this.#servers.set(server, extra);
    this.#applyDefault(server, extra);
  }

  detach(server: Server): void {
    this.#servers.delete(server);
  }

  /** The default certificate's context; undefined while there is no certificate. */
  defaultContext(): SecureContext | undefined {
    return this.#table.default?.certificate.context;
  }

  /**
   * Puts a certificate obtained at runtime (ACME) in service, replacing the
   * one installed before under the same id. Throws CertificateError, changing
   * nothing, when the pair is unusable.
   */
  install(id: string, pem: CertificatePem): void {
    const certificate = loadCertificatePem(pem, this.#minVersion, { cert: `ACME certificate "${id}"`, key: `ACME key "${id}"` });
    const replaced = this.#installed.has(id);
    this.#installed.set(id, certificate);
    this.#compile();
    this.#log.info(
      { acmeId: id, names: certificate.names, notAfter: certificate.notAfter.toISOString(), fingerprint256: certificate.fingerprint256 },
      `${replaced ? 'renewed' : 'installed'} ACME certificate for ${certificate.names.join(', ')}, valid until ${certificate.notAfter.toISOString()}`,
    );
  }

  /** Takes an installed certificate out of service; false if there was none with this id. */
  uninstall(id: string): boolean {
    if (!this.#installed.delete(id)) return false;
    this.#compile();
    return true;
  }

  /**
   * A config reload's new certificate files (and TLS version floor). Loads
   * everything first: if any pair is bad it throws CertificateError with all
   * their problems and the old set stays in service, watched as before.
   */
  replace(files: readonly CertificateFiles[], minVersion: TlsVersion = this.#minVersion): void {
    const slots = loadSlots(files, minVersion);
    if (minVersion !== this.#minVersion) this.#rebuildInstalled(minVersion);
    this.#minVersion = minVersion;
    this.#slots = slots;
    this.#compile();
    this.#watch();
  }

  describe(): CertificateDescription[] {
    return this.#served.map((served, index) => describeServed(served, index === 0));
  }

  /** The certificate a client asking for `host` (a name without port) gets, by the SNI rules. */
  forHost(host: string): CertificateDescription | undefined {
    const served = this.#table.pick(host);
    return served ? describeServed(served, served === this.#table.default) : undefined;
  }

  expiries(): CertificateExpiry[] {
    return this.#served.map(({ certificate, source }) => ({
      name: certificate.names[0] ?? '',
      names: [...certificate.names],
      source,
      notAfter: Math.floor(certificate.notAfter.getTime() / 1000),
    }));
  }

  /** Stops watching the files and following the default on attached servers. Open connections are not touched. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#reloadTimer);
    this.#reloadTimer = undefined;
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers = [];
    this.#servers.clear();
  }

  #compile(): void {
    const previousDefault = this.#table.default?.certificate;
    this.#served = [
      ...this.#slots.map((slot): Served => ({ certificate: slot.certificate, source: 'file', files: slot.files })),
      ...[...this.#installed].map(([acmeId, certificate]): Served => ({ certificate, source: 'acme', acmeId })),
    ];
    this.#table = new SniTable(this.#served.map((served) => ({ names: served.certificate.names, value: served })));
    if (this.#table.default?.certificate !== previousDefault) {
      for (const [server, extra] of this.#servers) this.#applyDefault(server, extra);
    }
  }

  #defaultPem(): Partial<CertificatePem> {
    const certificate = this.#table.default?.certificate;
    return certificate ? { cert: certificate.pem.cert, key: certificate.pem.key } : {};
  }

  #applyDefault(server: Server, extra: SecureContextOptions): void {
    try {
      server.setSecureContext({ ...serverTlsOptions(this.#minVersion), ...this.#defaultPem(), ...extra });
    } catch (error) {
      // The pair was checked when loaded, so this is unexpected; the server keeps its previous context.
      this.#log.warn({ err: error }, `could not put the new default TLS certificate on a listener: ${(error as Error).message}`);
    }
  }

  #rebuildInstalled(minVersion: TlsVersion): void {
    for (const [id, certificate] of this.#installed) {
      try {
        this.#installed.set(id, loadCertificatePem(certificate.pem, minVersion, { cert: `ACME certificate "${id}"`, key: `ACME key "${id}"` }));
      } catch {
        // It has expired since it was installed: keep serving it as it was until ACME renews it.
      }
    }
  }

  /**
   * Watches the directories rather than the files: editors, certbot and
   * Kubernetes secret mounts replace a file by renaming another over it (or
   * a symlink over a symlink), and a watch on the old file would see nothing
   * after the first replacement.
   */
  #watch(): void {
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers = [];
    if (!this.#watchFiles || this.#closed) return;
    const directories = new Set(this.#slots.flatMap((slot) => [slot.files.cert, slot.files.key]).map((path) => dirname(resolve(path))));
    for (const directory of directories) {
      try {
        const watcher = watch(directory, { persistent: false }, () => this.#scheduleReload());
        watcher.on('error', (error) => {
          this.#log.warn({ err: error, directory }, `stopped watching ${directory} for certificate changes: ${error.message}`);
          watcher.close();
        });
        this.#watchers.push(watcher);
      } catch (error) {
        this.#log.warn({ err: error, directory }, `cannot watch ${directory} for certificate changes; a config reload still picks them up`);
      }
    }
  }

  #scheduleReload(): void {
    if (this.#closed) return;
    const now = Date.now();
    if (this.#reloadTimer === undefined) this.#firstEventAt = now;
    clearTimeout(this.#reloadTimer);
    const delay = Math.min(this.#debounceMs, Math.max(0, this.#firstEventAt + MAX_DEBOUNCE_MS - now));
    this.#reloadTimer = setTimeout(() => {
      this.#reloadTimer = undefined;
      this.#reloadChangedFiles();
    }, delay);
    this.#reloadTimer.unref();
  }

  /**
   * Each pair on its own: a bad pair keeps its previous certificate while
   * the others update. A pair caught half-written is tried again on the
   * next event its writer causes.
   */
  #reloadChangedFiles(): void {
    let changed = false;
    for (const slot of this.#slots) {
      const read = readCertificateFiles(slot.files);
      const seen = 'problems' in read ? JSON.stringify(read.problems) : seenText(read.pem);
      if (seen === slot.seen) continue;
      slot.seen = seen;
      const { cert, key } = slot.files;
      const serving = slot.certificate.names.join(', ');
      let certificate: LoadedCertificate;
      try {
        if ('problems' in read) throw new CertificateError(read.problems);
        certificate = loadCertificatePem(read.pem, this.#minVersion, { cert, key });
      } catch (error) {
        const problems: readonly CertificateProblem[] = error instanceof CertificateError ? error.problems : [{ key: 'cert', message: String(error) }];
        this.#log.warn(
          { cert, key, problems: problems.map((problem) => problem.message) },
          `certificate files changed but cannot be served; still serving the previous certificate for ${serving}: ${problems.map((problem) => problem.message).join('; ')}`,
        );
        continue;
      }
      slot.certificate = certificate;
      changed = true;
      this.#log.info(
        { cert, key, names: certificate.names, notAfter: certificate.notAfter.toISOString(), fingerprint256: certificate.fingerprint256 },
        `reloaded certificate ${cert} for ${certificate.names.join(', ')}, valid until ${certificate.notAfter.toISOString()}`,
      );
    }
    if (changed) this.#compile();
  }
}

/** Loads every pair or throws one CertificateError with the problems of all of them. */
function loadSlots(files: readonly CertificateFiles[], minVersion: TlsVersion): FileSlot[] {
  const slots: FileSlot[] = [];
  const problems: CertificateProblem[] = [];
  for (const pair of files) {
    const read = readCertificateFiles(pair);
    if ('problems' in read) {
      problems.push(...read.problems);
      continue;
    }
    try {
      const certificate = loadCertificatePem(read.pem, minVersion, { cert: pair.cert, key: pair.key });
      slots.push({ files: { cert: pair.cert, key: pair.key }, certificate, seen: seenText(read.pem) });
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) throw new CertificateError(problems);
  return slots;
}

function seenText(pem: CertificatePem): string {
  return `${pem.cert}\0${pem.key}`;
}

function describeServed(served: Served, isDefault: boolean): CertificateDescription {
  const { certificate } = served;
  return {
    names: [...certificate.names],
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    issuer: certificate.issuer,
    fingerprint256: certificate.fingerprint256,
    source: served.source,
    ...(served.files ? { certPath: served.files.cert, keyPath: served.files.key } : {}),
    ...(served.acmeId !== undefined ? { acmeId: served.acmeId } : {}),
    default: isDefault,
  };
}

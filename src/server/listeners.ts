// Every address weir accepts clients on, as the config's `listeners` lists
// them: each a listener (plain or TLS, with or without HTTP/2), a TLS one
// with its certificates, and those with `acme` with the manager that keeps
// their certificate valid.
//
// A reload keeps a listener whose address and kind (TLS, HTTP/2, PROXY
// protocol) are unchanged: its open connections go on, new settings and
// certificates apply to what comes next. Anything else is bound anew before
// the reload commits, and the listeners it replaces drain.

import type { ListenerConfig } from '../config/types.ts';
import { formatAddress } from '../config/address.ts';
import type { ClientAnswer } from '../http/client-answer.ts';
import type { Logger } from '../log.ts';
import type { IncomingRequest } from '../runtime/exchange.ts';
import { AcmeManager, type AcmeStatus } from '../tls/acme/acme-manager.ts';
import type { ListenerCertificate, TlsListenerView } from '../tls/tls-report.ts';
import { loadCertificateFiles, SERVER_TLS12_CIPHERS } from '../tls/certificates.ts';
import { CertificateStore, type CertificateExpiry } from '../tls/certificate-store.ts';
import { listenHttp, type ClientSettings, type HttpListener, type RequestServer } from './http-listener.ts';

/** What every listener of a config shares. */
export interface ListenerCommon {
  settings: ClientSettings;
  proxyProtocol: boolean;
  reusePort: boolean;
}

interface Slot {
  readonly key: string;
  readonly config: ListenerConfig;
  readonly listener: HttpListener;
  readonly certificates: CertificateStore | undefined;
  acme: AcmeManager | undefined;
}

/** A listener of the next config: a new one, or one kept from the current config. */
interface Planned {
  slot: Slot;
  previous?: Slot;
}

/** A listener set with every step that can fail done; nothing live changed until commit(). */
export interface PreparedListeners {
  commit(): void;
  cancel(): Promise<void>;
}


export interface ListenersOptions {
  log: Logger;
  /** How long replaced listeners let their requests finish. */
  drainTimeoutMs: number;
  /** Whether ACME runs here (not in the workers of a group). */
  acme: boolean;
}

const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

export class Listeners {
  readonly #requests: RequestServer;
  readonly #options: ListenersOptions;
  #slots: Slot[] = [];
  readonly #draining = new Set<HttpListener>();

  constructor(requests: RequestServer, options: ListenersOptions) {
    // The HTTP-01 challenge is answered before any route or rule: the CA's
    // request must not be redirected to HTTPS, refused by a firewall or rate limited.
    this.#requests = { serve: (request, answer) => this.#answerChallenge(request, answer) || requests.serve(request, answer) };
    this.#options = options;
  }

  /** The listeners in config order. */
  get listeners(): HttpListener[] {
    return this.#slots.map((slot) => slot.listener);
  }

  connections(): number {
    let open = 0;
    for (const slot of this.#slots) open += slot.listener.connections();
    for (const listener of this.#draining) open += listener.connections();
    return open;
  }

  /** Binds the listeners `configs` asks for that are not bound yet, loads every certificate; on failure undoes it all and throws. */
  async prepare(configs: ListenerConfig[], common: ListenerCommon): Promise<PreparedListeners> {
    const next: Planned[] = [];
    const opened: Slot[] = [];
    try {
      for (const config of configs) {
        const key = keyOf(config, common);
        const previous = this.#slots.find((slot) => slot.key === key && !next.some((planned) => planned.previous === slot));
        if (previous) {
          // Read now, so that bad files fail the reload rather than the commit.
          for (const files of config.tls?.certificates ?? []) loadCertificateFiles(files, config.tls!.minVersion);
          next.push({ slot: { ...previous, config }, previous });
          continue;
        }
        const slot = await this.#open(config, common);
        opened.push(slot);
        next.push({ slot });
      }
    } catch (error) {
      await Promise.all(opened.map((slot) => this.#close(slot, 0)));
      throw error;
    }
    let settled = false;
    return {
      commit: () => {
        if (settled) return;
        settled = true;
        this.#commit(next, common);
      },
      cancel: async () => {
        if (settled) return;
        settled = true;
        await Promise.all(opened.map((slot) => this.#close(slot, 0)));
      },
    };
  }

  /** Stops accepting everywhere and lets in-flight requests finish until the deadline. */
  async drain(deadlineMs: number): Promise<void> {
    const slots = this.#slots;
    this.#slots = [];
    await Promise.all([...slots.map((slot) => this.#close(slot, deadlineMs)), ...[...this.#draining].map((listener) => listener.drain(deadlineMs))]);
  }

  /** The TLS listeners, their certificates and ACME state. */
  tls(): TlsListenerView[] {
    return this.#slots
      .filter((slot) => slot.certificates !== undefined)
      .map((slot) => ({
        address: formatAddress(slot.listener.address),
        certificates: slot.certificates!.describe(),
        ...(slot.acme && { acme: slot.acme.status() }),
      }));
  }

  /** Which certificate each TLS listener gives `host`. */
  certificateFor(host: string): ListenerCertificate[] {
    return this.#slots
      .filter((slot) => slot.certificates !== undefined)
      .map((slot) => {
        const acme = slot.config.tls?.acme;
        return { address: formatAddress(slot.listener.address), certificate: slot.certificates!.forHost(host), ...(acme && { acmeDomains: acme.domains }) };
      });
  }

  /** Every certificate in service, for the expiry metric. */
  expiries(): CertificateExpiry[] {
    return this.#slots.flatMap((slot) => slot.certificates?.expiries() ?? []);
  }

  /** ACME states, for the renewal metrics. */
  acmeStatuses(): AcmeStatus[] {
    return this.#slots.flatMap((slot) => (slot.acme ? [slot.acme.status()] : []));
  }

  #commit(next: Planned[], common: ListenerCommon): void {
    for (const { slot, previous } of next) {
      if (!previous) continue;
      slot.listener.configure(common.settings);
      const tls = slot.config.tls;
      if (tls) {
        try {
          slot.certificates!.replace(tls.certificates, tls.minVersion);
        } catch (error) {
          // The files were good a moment ago in prepare(); the ones in service stay.
          this.#options.log.warn({ err: error, listen: formatAddress(slot.listener.address) }, `certificates not reloaded: ${(error as Error).message}`);
        }
      }
      if (JSON.stringify(previous.config.tls?.acme) !== JSON.stringify(tls?.acme)) {
        previous.acme?.close();
        if (previous.acme) slot.certificates?.uninstall('acme');
        slot.acme = this.#acmeFor(slot);
        void slot.acme?.start();
      }
    }
    const keptListeners = new Set(next.map(({ previous }) => previous?.listener));
    for (const old of this.#slots) {
      if (keptListeners.has(old.listener)) continue;
      this.#draining.add(old.listener);
      void this.#close(old, this.#options.drainTimeoutMs).then(() => this.#draining.delete(old.listener));
    }
    this.#slots = next.map(({ slot }) => slot);
    for (const { slot, previous } of next) if (!previous) void slot.acme?.start();
  }

  async #open(config: ListenerConfig, common: ListenerCommon): Promise<Slot> {
    const tls = config.tls;
    const certificates = tls ? new CertificateStore({ minVersion: tls.minVersion, certificates: tls.certificates, log: this.#options.log }) : undefined;
    try {
      const listener = await listenHttp(config.address, this.#requests, common.settings, this.#options.log, {
        proxyProtocol: common.proxyProtocol,
        reusePort: common.reusePort,
        http2: config.http2,
        ...(certificates && { tls: { sniCallback: certificates.sniCallback, minVersion: tls!.minVersion, ciphers: SERVER_TLS12_CIPHERS } }),
      });
      const slot: Slot = { key: keyOf(config, common), config, listener, certificates, acme: undefined };
      slot.acme = this.#acmeFor(slot);
      return slot;
    } catch (error) {
      certificates?.close();
      throw error;
    }
  }

  #acmeFor(slot: Slot): AcmeManager | undefined {
    const acme = slot.config.tls?.acme;
    if (acme === undefined || !this.#options.acme) return undefined;
    const store = slot.certificates!;
    return new AcmeManager(acme, {
      log: this.#options.log,
      install: (certificate) => store.install('acme', { cert: certificate.cert, key: certificate.key }),
    });
  }

  async #close(slot: Slot, deadlineMs: number): Promise<void> {
    slot.acme?.close();
    await slot.listener.drain(deadlineMs);
    slot.certificates?.close();
  }

  /** True when the request was an HTTP-01 challenge this weir knows the answer to, now answered. */
  #answerChallenge(request: IncomingRequest, answer: ClientAnswer): boolean {
    if (!request.url.startsWith(CHALLENGE_PREFIX)) return false;
    const token = request.url.slice(CHALLENGE_PREFIX.length);
    for (const slot of this.#slots) {
      const keyAuthorization = slot.acme?.challengeAnswer(token);
      if (keyAuthorization === undefined) continue;
      const body = Buffer.from(keyAuthorization);
      answer.writeHead(200, undefined, ['content-type', 'text/plain', 'content-length', String(body.length)]);
      answer.write(body);
      answer.end();
      return true;
    }
    return false;
  }
}

/** Listeners with the same key are the same socket: only then can one be kept across a reload. */
function keyOf(config: ListenerConfig, common: ListenerCommon): string {
  return `${formatAddress(config.address)} tls=${config.tls !== undefined} h2=${config.http2} proxy=${common.proxyProtocol} reuse=${common.reusePort}`;
}

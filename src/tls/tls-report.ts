// What weir shows of its TLS listeners: the admin API's view of each, and
// the "tls:" lines of `weir explain` (which certificate each TLS listener
// gives a host, and when it expires). The command line reads the config's
// certificate files; the admin API asks the running listeners, whose
// certificates may have been replaced on disk or obtained by ACME since.

import type { ListenerTlsConfig, WeirConfig } from '../config/types.ts';
import { formatAddress } from '../config/address.ts';
import { createLogger } from '../log.ts';
import type { AcmeStatus } from './acme/acme-manager.ts';
import { CertificateStore, type CertificateDescription } from './certificate-store.ts';

/** What the admin API shows of one TLS listener. */
export interface TlsListenerView {
  address: string;
  certificates: CertificateDescription[];
  acme?: AcmeStatus;
}

/** One TLS listener's answer for a host. */
export interface ListenerCertificate {
  address: string;
  certificate: CertificateDescription | undefined;
  /** The ACME domains of the listener, when it has acme. */
  acmeDomains?: string[];
}

const DAY_MS = 86_400_000;

export function certificateLines(listeners: ListenerCertificate[], now = Date.now()): string[] {
  return listeners.map(({ address, certificate, acmeDomains }) => {
    const where = `tls:      ${address}`;
    if (!certificate) {
      return acmeDomains ? `${where}: no certificate yet; ACME obtains one for ${acmeDomains.join(', ')}` : `${where}: no certificate (the handshake fails)`;
    }
    const days = Math.floor((Date.parse(certificate.notAfter) - now) / DAY_MS);
    const expires = days < 0 ? `expired ${certificate.notAfter}` : `expires ${certificate.notAfter} (in ${days} days)`;
    const from = certificate.source === 'acme' ? 'ACME' : certificate.certPath;
    return `${where}: certificate for ${certificate.names.join(', ')} (${from}), ${expires}`;
  });
}

/** The host a request for `url` with `headers` names: the Host header, or the URL's. */
export function requestHost(url: string, headers: ReadonlyArray<[string, string]>): string | undefined {
  const header = headers.find(([name]) => name.toLowerCase() === 'host')?.[1];
  if (header !== undefined) return header.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return /^https?:\/\//i.test(url) ? new URL(url).hostname.replace(/^\[(.*)\]$/, '$1') : undefined;
}

/** What the config's TLS listeners would give `host`, read from their files now. */
export function configCertificatesFor(config: WeirConfig, host: string): ListenerCertificate[] {
  return eachConfigStore(config, (address, store, tls) => ({ address, certificate: store.forHost(host), ...(tls.acme && { acmeDomains: tls.acme.domains }) }));
}

/** The admin view of the config's TLS listeners, read from their files now (a group's primary, whose workers hold the listeners). */
export function configTlsViews(config: WeirConfig): TlsListenerView[] {
  return eachConfigStore(config, (address, store) => ({ address, certificates: store.describe() }));
}

/** `read` of a store of each TLS listener's certificate files, loaded for the occasion and closed again. */
function eachConfigStore<T>(config: WeirConfig, read: (address: string, store: CertificateStore, tls: ListenerTlsConfig) => T): T[] {
  const silent = createLogger(false);
  return config.listeners.flatMap((listener) => {
    const tls = listener.tls;
    if (!tls) return [];
    const store = new CertificateStore({ minVersion: tls.minVersion, certificates: tls.certificates, log: silent, watch: false });
    try {
      return [read(formatAddress(listener.address), store, tls)];
    } finally {
      store.close();
    }
  });
}

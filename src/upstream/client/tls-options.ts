// How a service's https:// servers are reached, compiled once per config:
// the files are read and the secure context built when the service is
// compiled (a reload reads them again), never per connection. Parsing a CA
// bundle for every handshake would cost more than the handshake.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { UpstreamTlsConfig } from '../../config/types.ts';

export interface UpstreamTls {
  /** The CA (or Node's default roots, NODE_EXTRA_CA_CERTS included) and the client certificate, if any. */
  readonly secureContext: SecureContext;
  /** Sent as SNI and checked against the certificate; undefined: the server's host. */
  readonly serverName: string | undefined;
  /** False only with insecure_skip_verify. */
  readonly verify: boolean;
  /**
   * Tells two ways of reaching a server apart: the settings and what the
   * files hold. Equal keys may share connections; a rotated CA or client
   * certificate gives a new key, so no connection made with the old one is reused.
   */
  readonly key: string;
}

/** A service's TLS settings, files read now. Throws an error naming the service and the file when one cannot be used. */
export function compileUpstreamTls(config: UpstreamTlsConfig | undefined, service: string): UpstreamTls {
  const ca = config?.ca === undefined ? undefined : readSetting(service, 'ca', config.ca);
  const cert = config?.cert === undefined ? undefined : readSetting(service, 'cert', config.cert);
  const key = config?.key === undefined ? undefined : readSetting(service, 'key', config.key);
  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext({ ca, cert, key });
  } catch (error) {
    throw new Error(`service "${service}": tls: ${(error as Error).message}`, { cause: error });
  }
  const verify = config?.insecureSkipVerify !== true;
  const fingerprint = createHash('sha256');
  for (const part of [ca, cert, key]) fingerprint.update(part ?? Buffer.alloc(0)).update('\0');
  fingerprint.update(`${config?.serverName ?? ''}\0${verify}`);
  return { secureContext, serverName: config?.serverName, verify, key: fingerprint.digest('base64url') };
}

function readSetting(service: string, name: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`service "${service}": tls.${name}: cannot read ${path}: ${code}`, { cause: error });
  }
}

// How one server is reached: which protocol on which transport. It is part
// of a backend's identity (a server reached differently is another backend,
// whose health says nothing of the first) and of its pool's key, so two
// services reaching one host:port differently never share a connection.

import type { ServerConfig, ServiceConfig } from '../../config/types.ts';
import { compileUpstreamTls, type UpstreamTls } from './tls-options.ts';

export interface UpstreamEndpoint {
  /** HTTP/1.1, or HTTP/2 (over TLS with ALPN h2, or h2c by prior knowledge on plain TCP). */
  readonly protocol: 'http1' | 'h2';
  /** Undefined: plain TCP. */
  readonly tls: UpstreamTls | undefined;
  /** Equal keys reach a server the same way. */
  readonly key: string;
}

export const PLAIN_HTTP1: UpstreamEndpoint = { protocol: 'http1', tls: undefined, key: 'http1' };

/**
 * The endpoints of a service's servers, its TLS files read once (and only
 * when a server is written https://). Throws when a TLS file cannot be used.
 */
export function serviceEndpoints(service: ServiceConfig): (server: ServerConfig) => UpstreamEndpoint {
  const protocol = service.protocol === 'h2' || service.protocol === 'h2c' ? 'h2' : 'http1';
  const plain: UpstreamEndpoint = protocol === 'http1' ? PLAIN_HTTP1 : { protocol, tls: undefined, key: 'h2c' };
  let secure: UpstreamEndpoint | undefined;
  return (server) => {
    if (!server.tls) return plain;
    if (secure === undefined) {
      const tls = compileUpstreamTls(service.tls, service.name);
      secure = { protocol, tls, key: `${protocol === 'h2' ? 'h2' : 'https'}:${tls.key}` };
    }
    return secure;
  };
}

/** The URL scheme of an endpoint, for :scheme and logs. */
export function schemeOf(endpoint: UpstreamEndpoint): 'http' | 'https' {
  return endpoint.tls === undefined ? 'http' : 'https';
}

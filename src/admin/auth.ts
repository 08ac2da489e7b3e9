// Who may use the admin API: pure rules, tested as units.
//
// - With a token configured, every changing request (POST) needs
//   "Authorization: Bearer TOKEN": 401 without it, 403 with another one.
// - Reading needs the token too when the listener is not on loopback; on
//   loopback, only local processes can connect, so reading is open.
// - Reading a secret (the config's text, which holds the token itself)
//   needs the token whenever one is configured, like a change.
// - Without a token, the listener must be on loopback (startAdmin refuses
//   anything else), and everything is open to local processes.
// - A loopback listener answers only to loopback Host names, so a web page
//   cannot reach it through DNS rebinding; a changing request from a browser
//   must come from the admin's own origin, so another page cannot drain a
//   backend (cross-site request forgery).

import { createHash, timingSafeEqual } from 'node:crypto';
import { isLoopbackHost } from '../config/loopback.ts';

export type Access = 'read' | 'secret' | 'change';

export type Verdict = { ok: true } | { ok: false; status: 401 | 403; error: string };

export interface AuthPolicy {
  /** The configured token, undefined when none. */
  token: string | undefined;
  /** Whether the listener is bound to a loopback address. */
  loopback: boolean;
}

const OK: Verdict = { ok: true };

/** Whether a request of this kind, with this Authorization header, may go ahead. */
export function authorize(access: Access, policy: AuthPolicy, authorization: string | undefined): Verdict {
  if (policy.token === undefined) {
    return policy.loopback ? OK : { ok: false, status: 403, error: 'the admin API is off loopback without a token; configure admin.token' };
  }
  if (access === 'read' && policy.loopback) return OK;
  const given = bearerToken(authorization);
  if (given === undefined) return { ok: false, status: 401, error: 'this needs "Authorization: Bearer <admin.token>"' };
  if (!tokenMatches(given, policy.token)) return { ok: false, status: 403, error: 'the token is wrong' };
  return OK;
}

/** The token of "Bearer TOKEN", or undefined when the header is absent or another scheme. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  return match?.[1];
}

/** Compares in constant time: both sides are hashed first, so neither the length nor a common prefix shows in the timing. */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The host part of a Host header, without brackets: "localhost:9000" → "localhost", "[::1]:9000" → "::1". */
export function hostOfHeader(host: string): string {
  const bracket = /^\[([^\]]*)\](?::\d*)?$/.exec(host);
  if (bracket) return bracket[1]!;
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/** A loopback listener answers only to loopback names (DNS rebinding); any other listener to any name. */
export function acceptsHost(hostHeader: string | undefined, loopback: boolean): boolean {
  if (!loopback) return true;
  return hostHeader !== undefined && isLoopbackHost(hostOfHeader(hostHeader).replace(/\.$/, ''));
}

/**
 * A changing request sent by a browser carries Origin; it must be the
 * admin's own: its scheme, then the Host header (https when a TLS proxy is
 * in front). Requests without Origin (curl, scripts) are not from a page,
 * so no page can have forged them.
 */
export function sameOrigin(origin: string | undefined, hostHeader: string | undefined): boolean {
  if (origin === undefined) return true;
  if (hostHeader === undefined) return false;
  const host = hostHeader.toLowerCase();
  const given = origin.toLowerCase();
  return given === `http://${host}` || given === `https://${host}`;
}

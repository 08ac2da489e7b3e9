// HOST:PORT addresses, for `listen` and for a service's servers. IPv6
// literals are written in brackets ("[::1]:8080") because their own colons
// would make the port ambiguous; they are stored without the brackets, the
// way node:net wants them.

import { isIP } from 'node:net';
import type { Address } from './types.ts';
import { fail, ok, type Result } from './result.ts';

// RFC 1123 host names, plus "_", which container and service-discovery names use.
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/i;

export interface AddressRules {
  /** Port 0 asks the OS for a free port: right for listen, meaningless for a server. */
  allowPortZero: boolean;
}

export function parseAddress(text: string, rules: AddressRules): Result<Address> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    return fail(`"${text}" has a scheme; write HOST:PORT only, like "localhost:8081"`);
  }
  const split = splitHostPort(text);
  if (!split.ok) return split;
  const { host, port } = split.value;

  const checkedHost = checkHost(host);
  if (!checkedHost.ok) return checkedHost;
  const checkedPort = checkPort(port, rules);
  if (!checkedPort.ok) return checkedPort;
  return ok({ host: checkedHost.value, port: checkedPort.value });
}

/** "127.0.0.1:8080", "[::1]:8080". */
export function formatAddress(address: Address): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${host}:${address.port}`;
}

function splitHostPort(text: string): Result<{ host: string; port: string; }> {
  const example = 'write HOST:PORT, like "127.0.0.1:8080" or "[::1]:8080"';
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return fail(`"${text}" is missing the "]" that closes the IPv6 address`);
    const host = text.slice(1, close);
    if (isIP(host) !== 6) return fail(`"${host}" in brackets is not an IPv6 address`);
    const rest = text.slice(close + 1);
    if (!rest.startsWith(':') || rest === ':') return fail(`"${text}" has no port; ${example}`);
    return ok({ host, port: rest.slice(1) });
  }
  const colon = text.lastIndexOf(':');
  if (colon === -1 || colon === text.length - 1) return fail(`"${text}" has no port; ${example}`);
  if (text.indexOf(':') !== colon) {
    return fail(`"${text}": put an IPv6 address in brackets, like "[::1]:8080"`);
  }
  if (colon === 0) return fail(`"${text}" has no host; ${example}`);
  return ok({ host: text.slice(0, colon), port: text.slice(colon + 1) });
}

/** A host name or IP address alone, lower-cased. */
export function checkHost(host: string): Result<string> {
  if (isIP(host) !== 0) return ok(host.toLowerCase());
  // Only digits and dots, yet not an IPv4 address: "10.0.0.300" is a typo,
  // not a host name.
  if (/^[0-9.]+$/.test(host) || !HOST_NAME.test(host)) {
    return fail(`"${host}" is not a valid host name or IP address`);
  }
  return ok(host.toLowerCase());
}

function checkPort(port: string, rules: AddressRules): Result<number> {
  const lowest = rules.allowPortZero ? 0 : 1;
  if (!/^[0-9]+$/.test(port)) return fail(`port "${port}" must be a number from ${lowest} to 65535`);
  const number = Number(port);
  if (number === 0 && !rules.allowPortZero) {
    return fail('port 0 is only allowed for listen (where it picks a free port); a server needs its real port');
  }
  if (number > 65535) return fail(`port ${number} is out of range; use ${lowest} to 65535`);
  return ok(number);
}

// Which certificate a TLS client gets for the server name it sent in SNI.
// The rules are the ones browsers check a certificate against (RFC 6125):
// names compare case-insensitively, a fully-qualified trailing dot changes
// nothing, and "*.example.net" covers exactly one label in front of
// "example.net". An exact name beats a wildcard; a client with no SNI, or a
// name no certificate has, gets the default (the first certificate) and
// decides for itself whether to trust it.
//
// The table is compiled once per certificate set, so a handshake costs two
// Map lookups at most, whatever the number of certificates.

import { normalizeServerName } from '../config/certificate-files.ts';

export { normalizeServerName };

/** One certificate's names and what the table hands out for it. */
export interface SniEntry<T> {
  /** DNS names from the certificate: "www.example.net", "*.example.net". */
  readonly names: readonly string[];
  readonly value: T;
}

export class SniTable<T> {
  readonly #exact = new Map<string, T>();
  /** Wildcard certificates by the parent domain they cover: "*.example.net" → "example.net". */
  readonly #wildcard = new Map<string, T>();
  readonly #default: T | undefined;

  /** Earlier entries win when two certificates share a name, like the default. */
  constructor(entries: ReadonlyArray<SniEntry<T>>) {
    this.#default = entries[0]?.value;
    for (const entry of entries) {
      for (const raw of entry.names) {
        const name = normalizeServerName(raw);
        if (name.startsWith('*.')) {
          const parent = name.slice(2);
          // "*.*.example.net" or "*.": never a valid wildcard, so it matches nothing.
          if (parent === '' || parent.includes('*')) continue;
          if (!this.#wildcard.has(parent)) this.#wildcard.set(parent, entry.value);
        } else if (name !== '' && !name.includes('*')) {
          // Partial wildcards ("w*.example.net") are left out: browsers no longer honour them.
          if (!this.#exact.has(name)) this.#exact.set(name, entry.value);
        }
      }
    }
  }

  /** The entry for a server name: exact, then wildcard, then the default (undefined only for an empty table). */
  pick(serverName: string | undefined): T | undefined {
    return this.match(serverName) ?? this.#default;
  }

  /** The entry whose names cover a server name, without falling back to the default. */
  match(serverName: string | undefined): T | undefined {
    if (!serverName) return undefined;
    const name = normalizeServerName(serverName);
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    // A dot at 0 would be an empty first label, which no wildcard covers.
    return dot > 0 ? this.#wildcard.get(name.slice(dot + 1)) : undefined;
  }

  get default(): T | undefined {
    return this.#default;
  }
}


// The files a config names for TLS, checked when it is loaded: a missing
// file, a key that does not match its certificate or an expired certificate
// is a config error with the key's position, not a failed handshake later.

import { readFileSync } from 'node:fs';
import { certificateProblems } from './certificate-files.ts';
import type { PathIssue } from './issue.ts';
import type { ParsedService } from './schema.ts';
import type { ListenerConfig } from './types.ts';

export function certificateFileIssues(listeners: ListenerConfig[], now = Date.now()): PathIssue[] {
  const issues: PathIssue[] = [];
  listeners.forEach((listener, index) => {
    listener.tls?.certificates.forEach((files, position) => {
      for (const problem of certificateProblems(files, now)) {
        issues.push({ path: ['listeners', index, 'tls', 'certificates', position, problem.key], message: problem.message });
      }
    });
    const ca = listener.tls?.acme?.ca;
    const caProblem = ca === undefined ? undefined : caFileProblem(ca);
    if (caProblem !== undefined) issues.push({ path: ['listeners', index, 'tls', 'acme', 'ca'], message: caProblem });
  });
  return issues;
}

export function upstreamTlsFileIssues(services: Record<string, ParsedService>, now = Date.now()): PathIssue[] {
  const issues: PathIssue[] = [];
  for (const [name, service] of Object.entries(services)) {
    const tls = service.tls;
    if (tls === undefined) continue;
    const caProblem = tls.ca === undefined ? undefined : caFileProblem(tls.ca);
    if (caProblem !== undefined) issues.push({ path: ['services', name, 'tls', 'ca'], message: caProblem });
    if (tls.cert !== undefined && tls.key !== undefined) {
      for (const problem of certificateProblems({ cert: tls.cert, key: tls.key }, now)) {
        issues.push({ path: ['services', name, 'tls', problem.key], message: problem.message });
      }
    }
  }
  return issues;
}

/** A CA file must be readable and hold at least one PEM certificate. */
function caFileProblem(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
  return text.includes('-----BEGIN CERTIFICATE-----') ? undefined : `${path} holds no PEM certificate`;
}

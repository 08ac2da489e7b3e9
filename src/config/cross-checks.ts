// Checks that look at more than one part of the file at a time: routes that
// can never be used because an earlier one matches exactly the same requests,
// repeated route names, and routes that name a service that does not exist.

import { didYouMean } from './did-you-mean.ts';
import { formatKeyPath, type KeyPath, type PathIssue } from './issue.ts';
import type { RouteConfig } from './types.ts';

/** A route together with where it is in the file. */
export interface PlacedRoute {
  route: RouteConfig;
  path: KeyPath;
  /** Whether the name was written in the file (rather than derived from the position). */
  named: boolean;
}

/**
 * Routes with the same host, path matcher and methods match the same
 * requests; the router would always pick the earlier one. Reported on the
 * later one, naming the earlier.
 */
export function findDuplicateRoutes(routes: PlacedRoute[]): PathIssue[] {
  const issues: PathIssue[] = [];
  const firstByMatch = new Map<string, PlacedRoute>();
  for (const placed of routes) {
    const match = matchKey(placed.route);
    const earlier = firstByMatch.get(match);
    if (earlier === undefined) {
      firstByMatch.set(match, placed);
      continue;
    }
    issues.push({
      path: placed.path,
      message: `matches the same requests as ${describe(earlier)} (same host, path and methods), so it would never be used`,
    });
  }
  return issues;
}

export function findRepeatedNames(routes: PlacedRoute[]): PathIssue[] {
  const issues: PathIssue[] = [];
  const firstByName = new Map<string, PlacedRoute>();
  for (const placed of routes) {
    if (!placed.named) continue;
    const earlier = firstByName.get(placed.route.name);
    if (earlier === undefined) firstByName.set(placed.route.name, placed);
    else issues.push({ path: [...placed.path, 'name'], message: `"${placed.route.name}" is already the name of ${formatKeyPath(earlier.path)}` });
  }
  return issues;
}

/** A route's `service` as written, and where. */
export interface ServiceReference {
  service: string;
  path: KeyPath;
}

export function findUnknownServices(references: ServiceReference[], serviceNames: string[]): PathIssue[] {
  const known = new Set(serviceNames);
  return references
    .filter(({ service }) => !known.has(service))
    .map(({ service, path }) => ({ path, message: unknownService(service, serviceNames) }));
}

function unknownService(name: string, serviceNames: string[]): string {
  if (serviceNames.length === 0) return `unknown service "${name}"; no services are defined`;
  const suggestion = didYouMean(name, serviceNames);
  if (suggestion !== '') return `unknown service "${name}"${suggestion}`;
  return `unknown service "${name}"; the services are ${serviceNames.map((known) => `"${known}"`).join(', ')}`;
}

function matchKey(route: RouteConfig): string {
  const methods = route.methods === undefined ? null : [...new Set(route.methods)].sort();
  return JSON.stringify([route.host ?? null, route.path ?? null, methods]);
}

function describe(placed: PlacedRoute): string {
  const where = formatKeyPath(placed.path);
  return placed.named ? `${where} ("${placed.route.name}")` : where;
}

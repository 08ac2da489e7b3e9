// The course's config form ("Creating an HTTP Load Balancer in Python"), kept
// loadable unchanged so that a course file works as is:
//
//   hosts:                      paths:
//     - host: www.mango.com       - path: /mango
//       servers: [...]              servers: [...]
//       header_rules: ...           (same optional rules)
//
// This module is the one place that knows it. It validates the course's keys
// and translates each entry into a route with a service of its own, with the
// course's meanings: a paths entry forwards the rest of the path ("/mango/x"
// reaches the backend as "/x"), header_rules.remove and param_rules.remove
// are maps whose values are ignored, and every service balances by least
// connections and is health-checked with GET /healthcheck.

import * as z from 'zod';
import { findDuplicateRoutes, type PlacedRoute } from './cross-checks.ts';
import { absolutePath, headerName, headerValue, hostPattern, ipRange, nonEmptyText, serverAddress, text } from './fields.ts';
import type { FormReading, PathIssue } from './issue.ts';
import { clientTimeoutsSchema, limitsSchema, listenField, logSchema, serviceFields } from './schema.ts';
import type { RouteConfig, ServiceConfig } from './types.ts';
import { toClientTimeouts, toLimits, toRuleSet, toServiceConfig } from './weir-form.ts';
import { friendlyMessage, fromZodError } from './zod-issues.ts';

// The course writes `remove: { Host: www.mango.com }`: the keys are what is
// removed, the values are not looked at.
const rulesShape = {
  servers: z.array(serverAddress).min(1),
  header_rules: z.strictObject({ add: z.record(headerName, headerValue).optional(), remove: z.record(headerName, z.unknown()).optional() }).optional(),
  param_rules: z.strictObject({ add: z.record(nonEmptyText, text).optional(), remove: z.record(nonEmptyText, z.unknown()).optional() }).optional(),
  rewrite_rules: z.strictObject({ replace: z.record(nonEmptyText, text).optional() }).optional(),
  firewall_rules: z.strictObject({ ip_reject: z.array(ipRange).optional(), path_reject: z.array(absolutePath).optional() }).optional(),
};
const hostEntrySchema = z.strictObject({ host: hostPattern, ...rulesShape });
const pathEntrySchema = z.strictObject({ path: absolutePath, ...rulesShape });

export const courseFileSchema = z.strictObject({
  hosts: z.array(hostEntrySchema).optional(),
  paths: z.array(pathEntrySchema).optional(),
});

type CourseRules = z.output<z.ZodObject<typeof rulesShape>>;

/** One course entry, translated: its route, its own service, and where it is in the file. */
interface Translated {
  placed: PlacedRoute;
  service: ServiceConfig;
}

export function readCourseForm(value: Record<string, unknown>): FormReading {
  const parsed = courseFileSchema.safeParse(value, { error: friendlyMessage });
  const issues: PathIssue[] = parsed.success ? [] : fromZodError(parsed.error, courseFileSchema);

  // As in weir's form, duplicates are looked for among the entries that are
  // valid on their own, whatever else is wrong in the file.
  const entries = [...translateEach(value.hosts, hostEntrySchema, 'hosts'), ...translateEach(value.paths, pathEntrySchema, 'paths')];
  issues.push(...findDuplicateRoutes(entries.map((entry) => entry.placed)));
  if (parsed.success && entries.length === 0) {
    issues.push({ path: [], message: 'hosts and paths are both empty; the config needs at least one entry to route to' });
  }

  if (!parsed.success || issues.length > 0) return { ok: false, issues };
  const listen = listenField.parse(undefined);
  return {
    ok: true,
    config: {
      form: 'course',
      listen,
      listeners: [{ address: listen, http2: false }],
      defaults: toRuleSet({}, 'defaults'),
      trustedProxies: [],
      proxyProtocol: false,
      requestIdHeader: 'X-Request-Id',
      // The course has no limits or client timeouts: weir's defaults.
      limits: toLimits(limitsSchema.parse({})),
      clientTimeouts: toClientTimeouts(clientTimeoutsSchema.parse({})),
      // Nor a log level, access log or admin API: weir's defaults, the last two off.
      log: logSchema.parse({}),
      routes: entries.map((entry) => entry.placed.route),
      services: new Map(entries.map((entry) => [entry.service.name, entry.service])),
    },
  };
}

function translateEach(
  list: unknown,
  schema: typeof hostEntrySchema | typeof pathEntrySchema,
  key: 'hosts' | 'paths',
): Translated[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((raw: unknown, index) => {
    const parsed = schema.safeParse(raw);
    return parsed.success ? [translate(parsed.data, [key, index])] : [];
  });
}

function translate(entry: z.output<typeof hostEntrySchema> | z.output<typeof pathEntrySchema>, path: [string, number]): Translated {
  const name = 'host' in entry ? `host ${entry.host}` : `path ${entry.path}`;
  const route = translateRules(name, entry);
  if ('host' in entry) {
    route.host = entry.host;
  } else {
    route.path = { kind: 'prefix', value: entry.path };
    route.stripPrefix = entry.path;
  }
  return { placed: { route, path, named: false }, service: serviceFor(name, entry.servers) };
}

/** The route for an entry's rules; the caller adds what it matches. */
function translateRules(name: string, rules: CourseRules): RouteConfig {
  return {
    name,
    stripPrefix: '',
    ...toRuleSet(
      {
        request_headers: { add: rules.header_rules?.add, remove: Object.keys(rules.header_rules?.remove ?? {}).map((header) => header.toLowerCase()) },
        query: { add: rules.param_rules?.add, remove: Object.keys(rules.param_rules?.remove ?? {}) },
        firewall: rules.firewall_rules,
      },
      name,
    ),
    rewrite: { replace: Object.entries(rules.rewrite_rules?.replace ?? {}), addPrefix: '' },
    httpsRedirect: false,
    action: { kind: 'forward', service: name },
    timeouts: {},
    retryNonIdempotent: false,
  };
}

function serviceFor(name: string, servers: CourseRules['servers']): ServiceConfig {
  // weir's health check defaults are the course's (GET /healthcheck every 5s),
  // so an empty health_check gives exactly the course's behaviour.
  const defaults = serviceFields.omit({ servers: true }).parse({ balance: 'least_connections', health_check: {} });
  return toServiceConfig(name, { ...defaults, servers: servers.map((address) => ({ address, tls: false, weight: 1, backup: false })) });
}

// weir's own config form, as one zod schema. This is the single description
// of that form: the loader validates with it, its defaults are the defaults,
// and schema/weir.schema.json (for editors) is generated from it. Keys are
// snake_case as written in YAML; weir-form.ts turns the parsed result into
// the WeirConfig the runtime reads.

import * as z from 'zod';
import {
  absolutePath,
  duration,
  headerName,
  headerValue,
  hostPattern,
  ipRange,
  listenAddress,
  method,
  nonEmptyText,
  pathRegex,
  serverAddress,
  statusRange,
  text,
} from './fields.ts';
import { formatDuration } from './duration.ts';
import type { BalanceAlgorithm } from './types.ts';

export const DEFAULT_LISTEN = '127.0.0.1:8080';

export const listenField = listenAddress.prefault(DEFAULT_LISTEN).meta({
  title: 'Listen address',
  description: 'HOST:PORT where weir accepts client connections. Port 0 picks a free port. IPv6 in brackets: "[::1]:8080".',
});

const requestHeadersSchema = z
  .strictObject({
    add: z.record(headerName, headerValue).optional().meta({
      description: 'Headers added to the request before it is forwarded: name to value.',
    }),
    remove: z
      .array(headerName.transform((name) => name.toLowerCase()))
      .optional()
      .meta({ description: 'Header names removed from the request (any case). Removing "Host" sends the backend its own address.' }),
  })
  .meta({ title: 'Request headers', description: 'Headers to add to or remove from the forwarded request.' });

const querySchema = z
  .strictObject({
    add: z.record(nonEmptyText, text).optional().meta({ description: 'Query parameters appended: name to value.' }),
    remove: z.array(nonEmptyText).optional().meta({ description: 'Query parameter names removed (every occurrence).' }),
  })
  .meta({ title: 'Query', description: 'Query parameters to add to or remove from the forwarded request.' });

const rewriteSchema = z
  .strictObject({
    replace: z.record(nonEmptyText, text).optional().meta({
      description: 'Text to replacement, applied to the path in order, every occurrence: { /v1/: /v2/ }.',
    }),
  })
  .meta({ title: 'Rewrite', description: 'Changes to the path before it is forwarded.' });

const firewallSchema = z
  .strictObject({
    ip_reject: z.array(ipRange).optional().meta({
      description: 'Client addresses or CIDR ranges, IPv4 or IPv6, refused with 403: 10.0.0.0/8, 192.168.1.7, "2001:db8::/32".',
    }),
    path_reject: z.array(absolutePath).optional().meta({
      description: 'Path prefixes refused with 403, matched on segment boundaries: /admin also refuses /admin/x.',
    }),
  })
  .meta({ title: 'Firewall', description: 'Requests refused before they reach a backend.' });

export const routeSchema = z
  .strictObject({
    name: nonEmptyText.optional().meta({ description: 'A name for logs and `weir explain`. Default: derived from the position, host and path.' }),
    host: hostPattern.optional().meta({
      description: 'Host to match, exact ("api.example.com") or wildcard ("*.example.com"), case-insensitive, without port. Absent: any host.',
    }),
    path: absolutePath.optional().meta({
      description: 'Path prefix to match on segment boundaries: "/api" matches /api and /api/x, not /apix. Use at most one of path, path_exact, path_regex.',
    }),
    path_exact: absolutePath.optional().meta({ description: 'Exact path to match.' }),
    path_regex: pathRegex.optional().meta({ description: 'JavaScript regular expression the path must match, like "^/users/[0-9]+$".' }),
    methods: z.array(method).min(1).optional().meta({ description: 'HTTP methods to match, like [GET, POST]. Absent: every method.' }),
    strip_prefix: z
      .union([z.boolean(), absolutePath], { error: 'must be true (strip the route\'s path) or a prefix starting with "/"' })
      .optional()
      .meta({
        description: 'Prefix removed from the path before forwarding: true strips the route\'s `path`, or give the prefix. The backend always gets at least "/".',
      }),
    request_headers: requestHeadersSchema.optional(),
    query: querySchema.optional(),
    rewrite: rewriteSchema.optional(),
    firewall: firewallSchema.optional(),
    service: nonEmptyText.meta({ description: 'The service (a key of `services`) that answers this route.' }),
  })
  .superRefine((route, ctx) => {
    const matchers = (['path', 'path_exact', 'path_regex'] as const).filter((key) => route[key] !== undefined);
    for (const extra of matchers.slice(1)) {
      ctx.addIssue({ code: 'custom', path: [extra], message: `use only one of path, path_exact and path_regex; this route already has ${matchers[0]}` });
    }
    if (route.strip_prefix === true && route.path === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['strip_prefix'],
        message: 'true strips the route\'s path, but this route has no `path`; write the prefix to strip instead, like "/api"',
      });
    }
  })
  .meta({ title: 'Route', description: 'Which requests go to which service, and what is changed on the way.' });

export const healthCheckSchema = z
  .strictObject({
    path: absolutePath.default('/healthcheck').meta({ description: 'Path requested with GET on each server.' }),
    interval: duration.prefault('5s').meta({ description: 'Time between checks of one server: a number and a unit (ms, s, m, h).' }),
    timeout: duration.prefault('2s').meta({ description: 'How long one check may take. Must not exceed interval.' }),
    healthy_threshold: z.int().min(1).default(2).meta({ description: 'Consecutive passes that bring a down server back.' }),
    unhealthy_threshold: z.int().min(1).default(3).meta({ description: 'Consecutive failures that take an up server out.' }),
    expected_statuses: z.array(statusRange).min(1).prefault(['200-399']).meta({
      description: 'Statuses that count as healthy: a status (200) or an inclusive range ("200-299").',
    }),
  })
  .superRefine((check, ctx) => {
    if (check.timeout > check.interval) {
      ctx.addIssue({
        code: 'custom',
        path: ['timeout'],
        message: `${formatDuration(check.timeout)} is longer than the interval (${formatDuration(check.interval)}); a check must end before the next one starts`,
      });
    }
  })
  .meta({ title: 'Health check', description: 'Active health checks. Absent: none, every server is taken as up. {} uses every default.' });

export const timeoutsSchema = z
  .strictObject({
    connect: duration.prefault('5s').meta({ description: 'How long connecting to a server may take.' }),
    response_headers: duration.prefault('60s').meta({ description: 'How long a server may take to start its response.' }),
    idle: duration.prefault('60s').meta({ description: 'Longest silence while a body streams, in either direction.' }),
  })
  .meta({ title: 'Timeouts' });

const BALANCE_ALGORITHMS = ['round_robin', 'least_connections', 'random'] as const satisfies readonly BalanceAlgorithm[];

export const serviceSchema = z
  .strictObject({
    servers: z.array(serverAddress).min(1).meta({ description: 'Backends as HOST:PORT, like "127.0.0.1:8081" or "[::1]:8083".' }),
    balance: z.enum(BALANCE_ALGORITHMS).default('round_robin').meta({ description: 'How a server is picked for each request.' }),
    health_check: healthCheckSchema.optional(),
    timeouts: timeoutsSchema.prefault({}),
  })
  .meta({ title: 'Service', description: 'A group of interchangeable servers.' });

export const weirFileSchema = z
  .strictObject({
    listen: listenField,
    routes: z.array(routeSchema).min(1).meta({ description:
        'Routes. The most specific one that fits a request wins (exact host over wildcard, exact path over regex over prefix, longer prefix over shorter), then file order.' }),
    services: z.record(nonEmptyText, serviceSchema).meta({ description: 'Services by name; routes name them in `service`.' }),
  })
  .meta({ title: 'weir configuration', description: 'Configuration of the weir load balancer (weir.yaml).' });

export type ParsedRoute = z.output<typeof routeSchema>;
export type ParsedService = z.output<typeof serviceSchema>;
export type ParsedWeirFile = z.output<typeof weirFileSchema>;

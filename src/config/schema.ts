// weir's own config form, as one zod schema. This is the single description
// of that form: the loader validates with it, its defaults are the defaults,
// and schema/weir.schema.json (for editors) is generated from it. Keys are
// snake_case as written in YAML; weir-form.ts turns the parsed result into
// the WeirConfig the runtime reads.

import * as z from 'zod';
import {
  absolutePath,
  duration,
  hashKey,
  headerName,
  headerValue,
  hostPattern,
  ipRange,
  listenAddress,
  method,
  nonEmptyText,
  pathRegex,
  percent,
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
    timeouts: z
      .strictObject({
        connect: duration.optional(),
        response_headers: duration.optional(),
        idle: duration.optional(),
      })
      .optional()
      .meta({ title: 'Route timeouts', description: 'Timeouts for this route only, each overriding the service\'s.' }),
    retry_non_idempotent: z.boolean().default(false).meta({
      description: 'Retry POST, PATCH and other non-idempotent requests like idempotent ones. Off: they are retried only when they never reached a backend (connection refused).',
    }),
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
    type: z.enum(['http', 'tcp']).default('http').meta({ description: 'http sends a request and checks the answer; tcp only checks that a connection opens.' }),
    method: method.default('GET').meta({ description: 'Method of the check request.' }),
    path: absolutePath.default('/healthcheck').meta({ description: 'Path requested on each server.' }),
    host: nonEmptyText.optional().meta({ description: 'Host header to send. Default: the server\'s own address.' }),
    expected_body: nonEmptyText.optional().meta({ description: 'Text the answer\'s body must contain to pass.' }),
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

const BALANCE_ALGORITHMS = [
  'round_robin',
  'weighted_round_robin',
  'random',
  'least_connections',
  'power_of_two',
  'ewma',
  'ip_hash',
  'consistent_hash',
] as const satisfies readonly BalanceAlgorithm[];

const serverSchema = z
  .union([
    serverAddress.transform((address) => ({ address, weight: 1, backup: false })),
    z.strictObject({
      address: serverAddress.meta({ description: 'HOST:PORT.' }),
      weight: z.int().min(0).max(1000).default(1).meta({ description: 'Share of traffic for the weighted algorithms; 0 drains the server.' }),
      backup: z.boolean().default(false).meta({ description: 'Takes traffic only while no primary server is available.' }),
    }),
  ], { error: 'must be "HOST:PORT" or a mapping like { address: "HOST:PORT", weight: 2 }' })
  .meta({ description: 'A backend: "HOST:PORT", or { address, weight, backup }.' });

export const passiveHealthSchema = z
  .strictObject({
    consecutive_failures: z.int().min(1).default(5).meta({ description: 'Failed requests in a row (connection failures, resets, timeouts, 5xx answers) that eject a server.' }),
    base_ejection: duration.prefault('10s').meta({ description: 'How long the first ejection lasts; each further one lasts longer by as much.' }),
    max_ejection: duration.prefault('5m').meta({ description: 'The longest an ejection lasts.' }),
    max_ejected_percent: percent.default(50).meta({ description: 'Never eject more than this share of the servers.' }),
  })
  .meta({ title: 'Passive health', description: 'Outlier detection from real traffic. On by default; false turns it off.' });

const retriesSchema = z
  .strictObject({
    attempts: z.int().min(0).max(10).default(2).meta({ description: 'Retries after the first try, each on another server when there is one. 0 turns retries off.' }),
    on_statuses: z.array(z.int().min(500).max(599)).default([]).meta({ description: 'Backend statuses retried for idempotent requests without a body, like [502, 503].' }),
    budget: percent.default(20).meta({ description: 'Retries may add at most this share to the requests of the last 10 s.' }),
    min_per_second: z.int().min(0).default(10).meta({ description: 'Retries allowed per second whatever the budget.' }),
  })
  .meta({ title: 'Retries', description: 'Failed attempts retried on another server. Idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) are retried on connection failures, resets and timeouts before the answer starts; others only when they never reached a server.' });

export const serviceSchema = z
  .strictObject({
    servers: z.array(serverSchema).min(1).meta({ description: 'Backends as HOST:PORT, like "127.0.0.1:8081" or "[::1]:8083", or { address, weight, backup }.' }),
    balance: z.enum(BALANCE_ALGORITHMS).default('round_robin').meta({ description: 'How a server is picked for each request.' }),
    hash_key: hashKey.prefault('client_ip').meta({ description: 'For ip_hash and consistent_hash: client_ip, path, header:NAME or cookie:NAME.' }),
    sticky: z
      .strictObject({ cookie: headerName.meta({ description: 'Name of the cookie weir sets.' }) })
      .optional()
      .meta({ title: 'Sticky sessions', description: 'A client carrying the cookie returns to the same server while that server is available.' }),
    health_check: healthCheckSchema.optional(),
    passive_health: z.union([z.literal(false), passiveHealthSchema]).prefault({}),
    panic_threshold: percent.default(0).meta({ description: 'Below this share of available primary servers, balance over all of them, down or not (0: never).' }),
    slow_start: duration.optional().meta({ description: 'A server that comes back ramps its share up from 10% over this window.' }),
    retries: retriesSchema.prefault({}),
    max_connections: z.int().min(1).optional().meta({ description: 'Requests in flight per server. Past it requests wait in the queue.' }),
    queue: z
      .strictObject({
        size: z.int().min(0).default(100).meta({ description: 'Requests that may wait for a server below max_connections.' }),
        timeout: duration.prefault('5s').meta({ description: 'How long a request may wait; then 503 with Retry-After.' }),
      })
      .prefault({})
      .meta({ title: 'Queue' }),
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

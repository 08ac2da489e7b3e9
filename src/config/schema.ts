// weir's own config form, as one zod schema. This is the single description
// of that form: the loader validates with it, its defaults are the defaults,
// and schema/weir.schema.json (for editors) is generated from it. Keys are
// snake_case as written in YAML; weir-form.ts turns the parsed result into
// the WeirConfig the runtime reads.

import * as z from 'zod';
import {
  absolutePath,
  byteSize,
  duration,
  hashKey,
  headerName,
  headerTemplate,
  headerValue,
  hostPattern,
  ipRange,
  listenAddress,
  method,
  nonEmptyText,
  pathRegex,
  percent,
  rate,
  rateLimitKeyPart,
  rateLimitStore,
  serverTarget,
  hostName,
  statusRange,
  text,
  textTemplate,
} from './fields.ts';
import { formatAddress } from './address.ts';
import { formatDuration } from './duration.ts';
import { isLoopbackHost } from './loopback.ts';
import { describe } from './zod-issues.ts';
import type { BalanceAlgorithm, LogLevel, TlsVersion, UpstreamProtocol } from './types.ts';

export const DEFAULT_LISTEN = '127.0.0.1:8080';

export const listenField = listenAddress.prefault(DEFAULT_LISTEN).meta({
  title: 'Listen address',
  description: 'HOST:PORT where weir accepts client connections. Port 0 picks a free port. IPv6 in brackets: "[::1]:8080".',
});

function headerRulesSchema(direction: 'request' | 'response') {
  const what = direction === 'request' ? 'the forwarded request' : 'the response sent to the client';
  return z
    .strictObject({
      add: z.record(headerName, headerTemplate).optional().meta({
        description: `Headers appended to ${what}, name to value; values may use variables like \${client_ip}.`,
      }),
      set: z.record(headerName, headerTemplate).optional().meta({
        description: `Headers set on ${what}, replacing any of the same name; values may use variables like \${request_id}.`,
      }),
      remove: z
        .array(headerName.transform((name) => name.toLowerCase()))
        .optional()
        .meta({ description: `Header names removed from ${what} (any case).${direction === 'request' ? ' Removing "Host" sends the backend its own address.' : ''}` }),
    })
    .meta({ title: `${direction === 'request' ? 'Request' : 'Response'} headers`, description: `Headers to remove, set and add (in that order) on ${what}.` });
}

const querySchema = z
  .strictObject({
    add: z.record(nonEmptyText, textTemplate).optional().meta({ description: 'Query parameters appended: name to value (variables allowed).' }),
    set: z.record(nonEmptyText, textTemplate).optional().meta({ description: 'Query parameters set, replacing every parameter of that name.' }),
    remove: z.array(nonEmptyText).optional().meta({ description: 'Query parameter names removed (every occurrence).' }),
  })
  .meta({ title: 'Query', description: 'Query parameters to remove, set and add (in that order) on the forwarded request.' });

const stripPrefixField = z
  .union([z.boolean(), absolutePath], { error: 'must be true (strip the route\'s path) or a prefix starting with "/"' })
  .optional()
  .meta({
    description: 'Prefix removed from the path before forwarding: true strips the route\'s `path`, or give the prefix. The backend always gets at least "/".',
  });

const rewriteSchema = z
  .strictObject({
    strip_prefix: stripPrefixField,
    replace: z.record(nonEmptyText, text).optional().meta({
      description: 'Text to replacement, applied to the path in order, every occurrence: { /v1/: /v2/ }.',
    }),
    regex: pathRegex.optional().meta({ description: 'A JavaScript regular expression matched against the path, like "^/old/(.*)". Needs `to`.' }),
    to: z.string().optional().meta({ description: 'What a path matching `regex` becomes; $1, $2 are its capture groups: "/new/$1".' }),
    add_prefix: absolutePath.optional().meta({ description: 'Prefix put in front of the path, like "/api".' }),
  })
  .superRefine((rewrite, ctx) => {
    if (rewrite.regex !== undefined && rewrite.to === undefined) ctx.addIssue({ code: 'custom', path: ['regex'], message: 'needs `to`, the path a match becomes' });
    if (rewrite.to !== undefined && rewrite.regex === undefined) ctx.addIssue({ code: 'custom', path: ['to'], message: 'needs `regex`, the pattern whose matches it replaces' });
  })
  .meta({ title: 'Rewrite', description: 'Changes to the path before it is forwarded, in this order: strip_prefix, replace, regex, add_prefix.' });

const pathRuleSchema = z
  .union([absolutePath, z.strictObject({ regex: pathRegex })], { error: 'must be a path like "/admin", a glob like "/**/*.php" or { regex: "..." }' })
  .meta({ description: 'A path prefix ("/admin", on segment boundaries), a glob ("/**/*.php": * within a segment, ** across) or { regex: "..." }. Matched case-insensitively on the decoded, normalized path.' });

const firewallSchema = z
  .strictObject({
    ip_allow: z.array(ipRange).optional().meta({
      description: 'When given, only these client addresses or CIDR ranges pass; others get 403.',
    }),
    ip_reject: z.array(ipRange).optional().meta({
      description: 'Client addresses or CIDR ranges, IPv4 or IPv6, refused with 403: 10.0.0.0/8, 192.168.1.7, "2001:db8::/32".',
    }),
    path_reject: z.array(pathRuleSchema).optional().meta({
      description: 'Paths refused with 403: prefixes on segment boundaries (/admin also refuses /admin/x), globs, or regexes.',
    }),
    methods: z.array(method).min(1).optional().meta({ description: 'Methods allowed; others get 405 with an Allow header.' }),
    max_url_length: byteSize.optional().meta({ description: 'Longest request target (path and query); longer gets 414.' }),
    max_header_size: byteSize.optional().meta({ description: 'Largest request head (names and values of every header); larger gets 431. weir never reads more than 16k whatever is set.' }),
    max_body_size: byteSize.optional().meta({ description: 'Largest request body, checked while it streams; larger gets 413: "10m".' }),
  })
  .meta({ title: 'Firewall', description: 'Requests refused before they reach a backend.' });

const rateLimitSchema = z
  .strictObject({
    key: z.union([rateLimitKeyPart, z.array(rateLimitKeyPart).min(1)]).prefault('client_ip').meta({
      description: 'What a bucket is kept per: client_ip, route, header:NAME, or a list of these combined.',
    }),
    rate: rate.meta({ description: 'Requests allowed per unit, sustained: "100/s", "6000/m", "50000/h".' }),
    burst: z.int().min(1).optional().meta({ description: 'Requests allowed at once after a quiet spell (the bucket size). Default: one second of the rate, at least 1.' }),
    store: rateLimitStore.prefault('local').meta({ description: 'local (this process) or "redis://host:port" to share the limit between weir instances.' }),
    on_store_error: z.enum(['allow', 'deny']).default('allow').meta({
      description: 'When Redis cannot be reached: allow keeps serving with local limits, deny answers 503.',
    }),
  })
  .meta({ title: 'Rate limit', description: 'A token bucket per key; over the limit: 429 with Retry-After and RateLimit headers.' });

const rateLimitField = z.union([rateLimitSchema, z.array(rateLimitSchema).min(1)]).optional().meta({
  description: 'A rate limit, or a list of them (each counted on its own).',
});

const ruleShape = {
  request_headers: headerRulesSchema('request').optional(),
  response_headers: headerRulesSchema('response').optional(),
  query: querySchema.optional(),
  firewall: firewallSchema.optional(),
  rate_limit: rateLimitField,
};

export const defaultsSchema = z
  .strictObject(ruleShape)
  .meta({ title: 'Defaults', description: 'Rules applied to every route, before the route\'s own.' });

const redirectSchema = z
  .strictObject({
    to: textTemplate.meta({ description: 'Where to: a URL that may use variables, like "https://www.example.com${request_uri}".' }),
    // One literal of four values, not a union of four literals: a union would
    // report only its first branch ("303 is not one of 301").
    status: z
      .literal([301, 302, 307, 308], { error: (issue) => `must be 301, 302, 307 or 308, not ${describe(issue.input)}` })
      .default(302)
      .meta({ description: 'The redirect status: 301 or 308 (permanent), 302 or 307 (temporary); 307 and 308 keep the method and body.' }),
  })
  .meta({ title: 'Redirect', description: 'Answer every request with a redirect.' });

const respondSchema = z
  .strictObject({
    status: z.int().min(200).max(599).default(200),
    body: text.default(''),
    headers: z.record(headerName, headerValue).optional().meta({ description: 'Headers of the answer. Content-Type defaults to text/plain.' }),
  })
  .meta({ title: 'Respond', description: 'weir answers by itself: maintenance pages, fixed endpoints.' });

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
    strip_prefix: stripPrefixField,
    ...ruleShape,
    rewrite: rewriteSchema.optional(),
    https_redirect: z.boolean().default(false).meta({ description: 'Redirect plain-HTTP requests to https (301, or 308 for methods other than GET and HEAD).' }),
    canonical_host: hostPattern.optional().meta({ description: 'Redirect requests for another host to this one with 301: www.example.com.' }),
    service: nonEmptyText.optional().meta({ description: 'The service (a key of `services`) that answers this route. Exactly one of service, redirect, respond.' }),
    redirect: redirectSchema.optional(),
    respond: respondSchema.optional(),
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
    const actions = (['service', 'redirect', 'respond'] as const).filter((key) => route[key] !== undefined);
    if (actions.length === 0) ctx.addIssue({ code: 'custom', path: [], message: 'needs one of service, redirect or respond: what to do with the requests it matches' });
    for (const extra of actions.slice(1)) {
      ctx.addIssue({ code: 'custom', path: [extra], message: `use only one of service, redirect and respond; this route already has ${actions[0]}` });
    }
    for (const conditional of ['https_redirect', 'canonical_host'] as const) {
      if (route.redirect !== undefined && route[conditional] !== undefined && route[conditional] !== false) {
        ctx.addIssue({ code: 'custom', path: [conditional], message: 'this route already redirects every request with `redirect`' });
      }
    }
    if (route.canonical_host?.startsWith('*.')) ctx.addIssue({ code: 'custom', path: ['canonical_host'], message: 'must be one host, not a wildcard' });
    if (route.strip_prefix !== undefined && route.rewrite?.strip_prefix !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['rewrite', 'strip_prefix'], message: 'strip_prefix is already set on the route; keep one' });
    }
    const stripPrefix = route.strip_prefix ?? route.rewrite?.strip_prefix;
    if (stripPrefix === true && route.path === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: route.strip_prefix === undefined ? ['rewrite', 'strip_prefix'] : ['strip_prefix'],
        message: 'true strips the route\'s path, but this route has no `path`; write the prefix to strip instead, like "/api"',
      });
    }
  })
  .meta({ title: 'Route', description: 'Which requests go to which service, and what is changed on the way.' });

/** A health check's timeout when none is written, unless the interval is shorter. */
const DEFAULT_HEALTH_CHECK_TIMEOUT_MS = 2000;

export const healthCheckSchema = z
  .strictObject({
    type: z.enum(['http', 'tcp']).default('http').meta({ description: 'http sends a request and checks the answer; tcp only checks that a connection opens.' }),
    method: method.default('GET').meta({ description: 'Method of the check request.' }),
    path: absolutePath.default('/healthcheck').meta({ description: 'Path requested on each server.' }),
    host: nonEmptyText.optional().meta({ description: 'Host header to send. Default: the server\'s own address.' }),
    expected_body: nonEmptyText.optional().meta({ description: 'Text the answer\'s body must contain to pass.' }),
    interval: duration.prefault('5s').meta({ description: 'Time between checks of one server: a number and a unit (ms, s, m, h).' }),
    timeout: duration.optional().meta({
      description: `How long one check may take. Must not exceed interval. Default: ${formatDuration(DEFAULT_HEALTH_CHECK_TIMEOUT_MS)}, or the interval when that is shorter.`,
    }),
    healthy_threshold: z.int().min(1).default(2).meta({ description: 'Consecutive passes that bring a down server back.' }),
    unhealthy_threshold: z.int().min(1).default(3).meta({ description: 'Consecutive failures that take an up server out.' }),
    expected_statuses: z.array(statusRange).min(1).prefault(['200-399']).meta({
      description: 'Statuses that count as healthy: a status (200) or an inclusive range ("200-299").',
    }),
  })
  .superRefine((check, ctx) => {
    // Only a timeout that was written can be wrong; the default fits any interval.
    if (check.timeout !== undefined && check.timeout > check.interval) {
      ctx.addIssue({
        code: 'custom',
        path: ['timeout'],
        message: `${formatDuration(check.timeout)} is longer than the interval (${formatDuration(check.interval)}); a check must end before the next one starts`,
      });
    }
  })
  .transform(({ timeout, ...check }) => ({ ...check, timeout: timeout ?? Math.min(DEFAULT_HEALTH_CHECK_TIMEOUT_MS, check.interval) }))
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
    serverTarget.transform((target) => ({ ...target, weight: 1, backup: false })),
    z
      .strictObject({
        address: serverTarget.meta({ description: 'HOST:PORT, or https://HOST:PORT for TLS.' }),
        weight: z.int().min(0).max(1000).default(1).meta({ description: 'Share of traffic for the weighted algorithms; 0 drains the server.' }),
        backup: z.boolean().default(false).meta({ description: 'Takes traffic only while no primary server is available.' }),
      })
      .transform((server) => ({ ...server.address, weight: server.weight, backup: server.backup })),
  ], { error: 'must be "HOST:PORT", "https://HOST:PORT" or a mapping like { address: "HOST:PORT", weight: 2 }' })
  .meta({ description: 'A backend: "HOST:PORT", "https://HOST:PORT" (reached over TLS), or { address, weight, backup }.' });

export const UPSTREAM_PROTOCOLS = ['http1', 'h2', 'h2c'] as const satisfies readonly UpstreamProtocol[];

const upstreamTlsSchema = z
  .strictObject({
    ca: nonEmptyText.optional().meta({ description: 'A PEM file of the CA certificates that sign the servers\' certificates, trusted instead of the system CAs.' }),
    cert: nonEmptyText.optional().meta({ description: 'A client certificate (PEM file, with its chain) for servers that ask for one; needs key.' }),
    key: nonEmptyText.optional().meta({ description: 'The client certificate\'s private key (PEM file); needs cert.' }),
    server_name: hostName.optional().meta({ description: 'The name sent in SNI and checked against the servers\' certificates. Default: each server\'s host.' }),
    insecure_skip_verify: z.boolean().default(false).meta({ description: 'Accept any certificate, unverified. Only for tests; weir warns at start.' }),
  })
  .superRefine((tls, ctx) => {
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      ctx.addIssue({ code: 'custom', path: [tls.cert === undefined ? 'cert' : 'key'], message: `is needed with ${tls.cert === undefined ? 'key' : 'cert'}: a client certificate is a certificate and its key` });
    }
  })
  .meta({ title: 'Backend TLS', description: 'How servers written https:// are reached. Absent: verified against the system CAs, SNI from the host.' });

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

/** A service's keys, without the checks across them (the course's form builds on it). */
export const serviceFields = z
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
    protocol: z.enum(UPSTREAM_PROTOCOLS).default('http1').meta({
      description: 'What the servers speak: http1 (HTTP/1.1, the default), h2 (HTTP/2 over TLS: servers written https://) or h2c (HTTP/2 on plain TCP, prior knowledge). HTTP/2 carries gRPC.',
    }),
    tls: upstreamTlsSchema.optional(),
  });

export const serviceSchema = serviceFields
  .superRefine((service, ctx) => {
    const plain = service.servers.findIndex((server) => !server.tls);
    const secure = service.servers.findIndex((server) => server.tls);
    if (service.protocol === 'h2' && plain !== -1) {
      ctx.addIssue({ code: 'custom', path: ['servers', plain], message: 'protocol h2 is HTTP/2 over TLS: write the server as https://HOST:PORT (or use protocol h2c for plain HTTP/2)' });
    }
    if (service.protocol === 'h2c' && secure !== -1) {
      ctx.addIssue({ code: 'custom', path: ['servers', secure], message: 'protocol h2c is HTTP/2 without TLS: write the server as HOST:PORT (or use protocol h2 for HTTP/2 over TLS)' });
    }
    if (service.tls !== undefined && secure === -1) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'applies only to servers written https://HOST:PORT, and this service has none' });
    }
  })
  .meta({ title: 'Service', description: 'A group of interchangeable servers.' });

export const DEFAULT_ACME_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';
export const DEFAULT_ACME_STORAGE = '/var/lib/weir/acme';
export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const satisfies readonly TlsVersion[];

const acmeSchema = z
  .strictObject({
    email: z.string().regex(/^[^@\s]+@[^@\s]+$/, { error: (issue) => `"${String(issue.input)}" is not an email address` }).meta({
      description: 'The ACME account\'s contact address: the CA writes there about expiring certificates and changes.',
    }),
    directory: z.url({ protocol: /^https$/, error: 'must be the https:// URL of an ACME directory' }).default(DEFAULT_ACME_DIRECTORY).meta({
      description: `The ACME directory URL. Default Let's Encrypt (${DEFAULT_ACME_DIRECTORY}); its staging directory is https://acme-staging-v02.api.letsencrypt.org/directory.`,
    }),
    domains: z.array(hostName).min(1).optional().meta({ description: 'The names the certificate is for. Default: every exact host of the routes.' }),
    storage: nonEmptyText.default(DEFAULT_ACME_STORAGE).meta({
      description: `Directory of the account key, certificates and keys (created with mode 0700, files 0600); a restart reuses them. Default ${DEFAULT_ACME_STORAGE}.`,
    }),
    ca: nonEmptyText.optional().meta({ description: 'A PEM file of CA certificates trusted for the directory\'s own HTTPS, besides the system ones (a private or test CA).' }),
  })
  .meta({
    title: 'ACME',
    description: 'Certificates obtained and renewed automatically (Let\'s Encrypt or another ACME CA), with the HTTP-01 challenge answered on weir\'s plain listener (port 80 for a public CA).',
  });

const certificateFilesSchema = z
  .strictObject({
    cert: nonEmptyText.meta({ description: 'The PEM certificate chain, leaf first.' }),
    key: nonEmptyText.meta({ description: 'The PEM private key.' }),
  })
  .meta({ title: 'Certificate files' });

const listenerTlsSchema = z
  .strictObject({
    certificates: z.array(certificateFilesSchema).default([]).meta({
      description: 'Certificate files. A client\'s SNI name picks one by the certificates\' own names (exact before wildcard); the first is the default. Reloaded when the files change.',
    }),
    acme: acmeSchema.optional(),
    min_version: z.enum(TLS_VERSIONS).default('TLSv1.2').meta({ description: 'The oldest TLS version accepted: TLSv1.2 (default) or TLSv1.3.' }),
  })
  .superRefine((tls, ctx) => {
    if (tls.certificates.length === 0 && tls.acme === undefined) {
      ctx.addIssue({ code: 'custom', path: ['certificates'], message: 'a TLS listener needs certificates (files) or acme' });
    }
  })
  .meta({ title: 'Listener TLS', description: 'HTTPS on this listener: certificates from files or from ACME.' });

const listenerSchema = z
  .strictObject({
    address: listenAddress.meta({ description: 'HOST:PORT. Port 0 picks a free port.' }),
    tls: listenerTlsSchema.optional(),
    http2: z.boolean().optional().meta({
      description: 'HTTP/2. With tls: offered by ALPN beside HTTP/1.1, on by default. Without: h2c by prior knowledge, off by default. Upgrade: h2c is never honoured.',
    }),
  })
  .meta({ title: 'Listener', description: 'An address weir accepts clients on, plain or TLS.' });

export const limitsSchema = z
  .strictObject({
    client_connections: z.int().min(1).default(10_000).meta({
      description: 'Client connections open at once. Past it a new connection is closed as soon as it is accepted (as nginx\'s worker_connections).',
    }),
    pipelined_requests: z.int().min(0).default(16).meta({
      description: 'Requests a client may send ahead on one keep-alive connection while one is being served. Past it weir closes the connection after the answers it owes. 0: no pipelining; a request sent ahead closes the connection after the first answer.',
    }),
    upstream_requests: z.int().min(1).default(4096).meta({
      description: 'Requests in flight to backends at once, over all services. Past it weir answers 503 with Retry-After.',
    }),
    http2_streams: z.int().min(1).max(10_000).default(100).meta({
      description: 'Concurrent streams (requests) a client may open on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS).',
    }),
    http2_header_list: byteSize.prefault('32k').meta({
      description: 'The largest header list an HTTP/2 request may carry, decompressed (SETTINGS_MAX_HEADER_LIST_SIZE). Default 32k.',
    }),
  })
  .meta({ title: 'Limits', description: 'Bounds on what clients can make weir hold at once. {} uses every default.' });

export const clientTimeoutsSchema = z
  .strictObject({
    header: duration.prefault('30s').meta({ description: 'The whole request head must arrive within this; otherwise 408 and the connection is closed.' }),
    body_idle: duration.prefault('60s').meta({
      description: 'Longest silence while a request body arrives; then 408. The client\'s fault, never counted against the backend.',
    }),
    keep_alive: duration.prefault('5s').meta({ description: 'A keep-alive client connection with no request is closed after this.' }),
  })
  .meta({ title: 'Client timeouts', description: 'How long weir waits on clients. {} uses every default.' });

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const satisfies readonly LogLevel[];

export const logSchema = z
  .strictObject({
    level: z.enum(LOG_LEVELS).default('info').meta({
      description: 'The least severe of weir\'s own events that is logged: trace, debug, info, warn, error, fatal, or silent for none.',
    }),
  })
  .meta({ title: 'Log', description: 'weir\'s own log: start, stop, reloads, backend health changes and failed requests, as JSON lines on stderr. {} uses every default.' });

export const accessLogSchema = z
  .strictObject({
    path: nonEmptyText.default('stdout').meta({
      description: 'stdout, stderr, or a file path (relative to the directory weir runs in). A file is appended to, created with its directory if missing, and reopened on SIGUSR1 (for logrotate).',
    }),
    min_status: z.int().min(0).max(599).default(0).meta({
      description: 'Only requests answered with at least this status are logged: 400 logs errors only. 0 logs every request.',
    }),
    sample: z.number().min(0, { error: 'must be between 0 and 1' }).max(1, { error: 'must be between 0 and 1' }).default(1).meta({
      description: 'The share of the requests that did not fail which is logged, from 0 to 1 (0.01: one in a hundred). Failures (400 and up, broken or abandoned answers) are always logged when min_status lets them.',
    }),
  })
  .meta({ title: 'Access log', description: 'One JSON line per finished request. Absent: no access log. {} logs every request to stdout.' });

export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:9901';

export const adminSchema = z
  .strictObject({
    listen: listenAddress.prefault(DEFAULT_ADMIN_LISTEN).meta({
      description: 'HOST:PORT of the admin API. Keep it on a loopback address (127.0.0.1, ::1, localhost) unless it has a token.',
    }),
    token: nonEmptyText.optional().meta({
      description: 'A bearer token every admin request must carry (Authorization: Bearer TOKEN). Required when listen is not a loopback address. Write "${WEIR_ADMIN_TOKEN}" to keep it out of the file.',
    }),
  })
  .superRefine((admin, ctx) => {
    if (admin.token === undefined && !isLoopbackHost(admin.listen.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['token'],
        message: `is required when listen is not a loopback address (${formatAddress(admin.listen)} can be reached from other machines); set a token, or listen on 127.0.0.1`,
      });
    }
  })
  .meta({ title: 'Admin API', description: 'The admin API: health, backends, drain, reload, metrics. Absent: no admin listener. {} listens on 127.0.0.1:9901.' });

export const weirFileSchema = z
  .strictObject({
    listen: listenField,
    listeners: z.array(listenerSchema).min(1).optional().meta({
      description: 'Addresses weir accepts clients on, each plain or TLS, with or without HTTP/2. Instead of listen, which is the shorthand for one plain listener.',
    }),
    workers: z
      .union([z.literal('auto'), z.int().min(1).max(1024)], { error: 'must be a number of worker processes (1 or more) or "auto" (one per CPU)' })
      .optional()
      .meta({
        description:
          'Worker processes that serve the listen address together, each on a socket of its own (SO_REUSEPORT on Linux); a primary process loads the config, runs health checks and the admin API. "auto": one per CPU. Default 1: one process. `weir start --workers` wins over it; read at start only.',
      }),
    trusted_proxies: z.array(ipRange).default([]).meta({
      description: 'Addresses or CIDR ranges of proxies in front of weir. Only from these are X-Forwarded-For, X-Forwarded-Proto and PROXY protocol headers believed; from anyone else they are ignored and overwritten.',
    }),
    proxy_protocol: z.boolean().default(false).meta({
      description: 'Every connection starts with a PROXY protocol header (v1 or v2), as sent by HAProxy or a cloud TCP load balancer. Needs trusted_proxies.',
    }),
    request_id: z
      .union([z.literal(false), z.strictObject({ header: headerName.default('X-Request-Id') })])
      .prefault({})
      .meta({ description: 'The request id header: kept from the client when well formed, otherwise generated; sent to the backend and returned to the client. false turns it off.' }),
    limits: limitsSchema.prefault({}),
    client_timeouts: clientTimeoutsSchema.prefault({}),
    defaults: defaultsSchema.optional(),
    routes: z.array(routeSchema).min(1).meta({ description:
        'Routes. The most specific one that fits a request wins (exact host over wildcard, exact path over regex over prefix, longer prefix over shorter), then file order.' }),
    services: z.record(nonEmptyText, serviceSchema).meta({ description: 'Services by name; routes name them in `service`.' }),
    log: logSchema.prefault({}),
    access_log: accessLogSchema.optional(),
    admin: adminSchema.optional(),
  })
  .superRefine((file, ctx) => {
    if (file.proxy_protocol && file.trusted_proxies.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['proxy_protocol'], message: 'needs trusted_proxies: the addresses of the proxies that send the PROXY header' });
    }
    const admin = file.admin?.listen;
    const addresses = file.listeners?.map((listener) => listener.address) ?? [file.listen];
    if (admin !== undefined && admin.port !== 0 && addresses.some((address) => admin.port === address.port && admin.host === address.host)) {
      ctx.addIssue({ code: 'custom', path: ['admin', 'listen'], message: `${formatAddress(admin)} is also weir's listen address; give the admin API a port of its own` });
    }
    const seen = new Map<string, number>();
    file.listeners?.forEach((listener, index) => {
      const key = formatAddress(listener.address);
      const earlier = seen.get(key);
      if (listener.address.port !== 0 && earlier !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['listeners', index, 'address'], message: `${key} is already the address of listeners[${earlier}]` });
      }
      seen.set(key, index);
      if (listener.tls?.acme !== undefined && !file.listeners!.some((other) => other.tls === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['listeners', index, 'tls', 'acme'], message: 'needs a plain listener too (port 80 for a public CA): the CA checks the HTTP-01 challenge over plain HTTP' });
      }
    });
  })
  .meta({ title: 'weir configuration', description: 'Configuration of the weir load balancer (weir.yaml).' });

export type ParsedRoute = z.output<typeof routeSchema>;
export type ParsedRules = z.output<typeof defaultsSchema>;
export type ParsedService = z.output<typeof serviceSchema>;
export type ParsedWeirFile = z.output<typeof weirFileSchema>;
export type ParsedLimits = z.output<typeof limitsSchema>;
export type ParsedClientTimeouts = z.output<typeof clientTimeoutsSchema>;
export type ParsedLog = z.output<typeof logSchema>;
export type ParsedAccessLog = z.output<typeof accessLogSchema>;
export type ParsedAdmin = z.output<typeof adminSchema>;
export type ParsedListener = z.output<typeof listenerSchema>;

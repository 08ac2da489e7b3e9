// The validated, normalized configuration: what the loader produces from either
// YAML form and what the runtime compiler consumes. Durations are milliseconds,
// addresses are split, every optional section has its defaults filled in, so
// nothing downstream ever looks at raw YAML.

export interface Address {
  host: string;
  port: number;
}

export interface WeirConfig {
  /** Where weir accepts client connections: the first listener's address. Default 127.0.0.1:8080. */
  listen: Address;
  /**
   * Every listener, the first at `listen`. `listen: HOST:PORT` alone is one
   * plain HTTP/1.1 listener; `listeners:` may add TLS and HTTP/2.
   */
  listeners: ListenerConfig[];
  /**
   * Worker processes sharing the listen address (`weir start` only; the
   * command line's --workers wins): a number, or "auto" for one per CPU.
   * Absent: one process. Read at start; a reload does not change it.
   */
  workers?: number | 'auto';
  /** Routes in file order. Matching priority is decided by the router, not by order. */
  routes: RouteConfig[];
  /** Services by name. */
  services: Map<string, ServiceConfig>;
  /** Rules applied to every route, before the route's own. */
  defaults: RuleSet;
  /**
   * Peers (CIDR ranges or addresses) whose X-Forwarded-* headers and PROXY
   * protocol headers are believed. Empty: the client is always the socket's peer.
   */
  trustedProxies: string[];
  /** The listener expects a PROXY protocol (v1 or v2) header on every connection. */
  proxyProtocol: boolean;
  /** The request id header kept or generated, sent to the backend and returned; undefined: off. */
  requestIdHeader: string | undefined;
  /** Bounds on connections and requests held at once. */
  limits: LimitsConfig;
  /** How long weir waits on clients. */
  clientTimeouts: ClientTimeoutsConfig;
  /** weir's own log (start, stop, health changes, failed requests). */
  log: LogConfig;
  /** One JSON line per finished request; undefined: no access log. */
  accessLog?: AccessLogConfig;
  /** The admin API's listener; undefined: none. */
  admin?: AdminConfig;
  /** Where the config came from, for messages: a file path or "<object>". */
  source: string;
  /**
   * Which YAML form it was written in: weir's own, or the course's hosts/paths
   * form. Only for messages (`weir validate`); both mean the same at runtime.
   * The loader always sets it; absent is taken as "weir".
   */
  form?: ConfigForm;
}

export type ConfigForm = 'weir' | 'course';

/** pino's levels, least severe first; silent logs nothing. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface LogConfig {
  /** The least severe of weir's own events that is logged. Default info. */
  level: LogLevel;
}

export interface AccessLogConfig {
  /** "stdout", "stderr", or a file path (appended to; reopened on SIGUSR1 for logrotate). */
  path: string;
  /** Only requests answered with at least this status are logged (0: all; 400: errors only). */
  minStatus: number;
  /**
   * The share (0 to 1) of the requests that did not fail which is logged.
   * Failures (status 400 and up, broken or abandoned answers) are always
   * logged when minStatus lets them.
   */
  sample: number;
}

export interface AdminConfig {
  /** Where the admin API listens. Default 127.0.0.1:9901. */
  listen: Address;
  /** The bearer token every admin request must carry; always set when listen is not a loopback address. */
  token?: string;
}

export interface LimitsConfig {
  /** Client connections open at once; past it a new connection is closed at once. */
  clientConnections: number;
  /**
   * Requests a client may send ahead on one keep-alive connection while one
   * is served; past it the connection is closed after the answers owed. 0:
   * no pipelining, a request sent ahead closes the connection after the first answer.
   */
  pipelinedRequests: number;
  /** Requests in flight to backends at once, over all services; past it 503 with Retry-After. */
  upstreamRequests: number;
  /** Concurrent streams a client may open on one HTTP/2 connection. */
  http2Streams: number;
  /** The largest decompressed header list of an HTTP/2 request, in bytes. */
  http2HeaderListBytes: number;
}

export interface ClientTimeoutsConfig {
  /** The whole request head must arrive within this; otherwise 408 and close. */
  headerMs: number;
  /** Longest silence while a request body arrives; then 408 (the client's fault, never the backend's). */
  bodyIdleMs: number;
  /** An idle keep-alive client connection is closed after this. */
  keepAliveMs: number;
}

export type PathMatch =
  | { kind: 'prefix'; value: string }
  | { kind: 'exact'; value: string }
  | { kind: 'regex'; value: string };

/**
 * Header edits, applied remove, then set, then add. Values are templates:
 * "${client_ip}" and the other variables of middleware/template.ts are
 * expanded per request.
 */
export interface HeaderRules {
  /** Header name (as written) to value template; appended, whatever is already there. */
  add: Array<[string, string]>;
  /** Header name to value template; replaces every header of that name (any case). */
  set: Array<[string, string]>;
  /** Lower-cased header names to remove. Removing "host" makes the backend receive its own address as Host. */
  remove: string[];
}

export interface QueryRules {
  /** Parameter name to value, appended. */
  add: Array<[string, string]>;
  /** Parameter name to value; replaces every parameter of that name. */
  set: Array<[string, string]>;
  /** Parameter names to remove (every occurrence). */
  remove: string[];
}

/** Path changes, applied in this order: strip prefix, replace, regex, add prefix. */
export interface RewriteRules {
  /** Text to replacement, applied to the path in order, every occurrence. */
  replace: Array<[string, string]>;
  /** A JavaScript regular expression on the path and its replacement ("$1" for a capture group). */
  regex?: { pattern: string; to: string };
  /** Prefix put in front of the path ("" = none). */
  addPrefix: string;
}

/** A path_reject entry: a segment prefix ("/admin"), a glob ("/**\/*.php") or a regular expression. */
export type PathRule =
  | { kind: 'prefix'; value: string }
  | { kind: 'glob'; value: string }
  | { kind: 'regex'; value: string };

export interface FirewallRules {
  /** When non-empty, only these addresses or CIDR ranges may pass (403 otherwise). */
  ipAllow: string[];
  /** Single addresses or CIDR ranges, IPv4 or IPv6, as written (validated). */
  ipReject: string[];
  /** Matched against the firewall's form of the path (see routing/firewall-path.ts). */
  pathReject: PathRule[];
  /** Upper-case methods allowed (405 otherwise); undefined allows every method. */
  methods?: string[];
  /** Longest request target (path and query) in bytes; longer gets 414. */
  maxUrlLength?: number;
  /** Largest request head (header names and values) in bytes; larger gets 431. */
  maxHeaderBytes?: number;
  /** Largest request body in bytes, enforced while it streams; larger gets 413. */
  maxBodyBytes?: number;
}

/** One part of a rate limit's key. */
export type RateLimitKeyPart = { kind: 'client_ip' } | { kind: 'header'; name: string } | { kind: 'route' };

export interface RateLimitConfig {
  /** Where it was written ("defaults.rate_limit", "routes[2].rate_limit"): names the limit in logs and keeps limits apart. */
  id: string;
  /** The key's parts, combined; a request is limited per distinct key. */
  key: RateLimitKeyPart[];
  /** Tokens added per second. */
  ratePerSecond: number;
  /** The rate as written, like "100/s". */
  rateText: string;
  /** The unit of the rate in seconds (1 for /s, 60 for /m, 3600 for /h): the window of RateLimit-Policy. */
  windowSeconds: number;
  /** The bucket's size: how many requests may come at once after a quiet spell. */
  burst: number;
  /** Where the buckets live: this process, or a Redis shared by every weir instance. */
  store: { kind: 'local' } | { kind: 'redis'; url: string };
  /** When the store cannot be reached: serve with local limits (allow) or refuse with 503 (deny). */
  onStoreError: 'allow' | 'deny';
}

/** The rules a route has, and the ones `defaults` gives every route. */
export interface RuleSet {
  requestHeaders: HeaderRules;
  responseHeaders: HeaderRules;
  query: QueryRules;
  firewall: FirewallRules;
  rateLimits: RateLimitConfig[];
}

/** What a route does with a request that passes its rules. */
export type RouteAction =
  | { kind: 'forward'; service: string }
  | { kind: 'redirect'; status: 301 | 302 | 307 | 308; to: string }
  | { kind: 'respond'; status: number; body: string; headers: Array<[string, string]> };

export interface RouteConfig extends RuleSet {
  /** A name for logs and explain: given, or derived ("route 1: host www.mango.com"). */
  name: string;
  /** Lower-case host ("www.example.com" or "*.example.com"); undefined matches any host. */
  host?: string;
  /** Path matcher; undefined matches every path. */
  path?: PathMatch;
  /** Upper-case methods; undefined allows every method. */
  methods?: string[];
  /** Prefix removed from the path before forwarding ("" = none). The backend always gets at least "/". */
  stripPrefix: string;
  rewrite: RewriteRules;
  /** Redirect plain-HTTP requests to https (301 for GET and HEAD, 308 otherwise). */
  httpsRedirect: boolean;
  /** Redirect requests for any other host to this one with 301 (example.com to www.example.com). */
  canonicalHost?: string;
  /** Forward to a service (validated to exist), redirect, or answer by itself. */
  action: RouteAction;
  /** Timeouts set on the route, each overriding the service's. */
  timeouts: Partial<TimeoutsConfig>;
  /** Lets the service's retries apply to methods that are not idempotent (POST, PATCH) once the backend may have seen them. */
  retryNonIdempotent: boolean;
}

export type BalanceAlgorithm =
  | 'round_robin'
  | 'weighted_round_robin'
  | 'random'
  | 'least_connections'
  | 'power_of_two'
  | 'ewma'
  | 'ip_hash'
  | 'consistent_hash';

/** What the hash algorithms hash. */
export type HashKey =
  | { kind: 'client_ip' }
  | { kind: 'header'; name: string }
  | { kind: 'cookie'; name: string }
  | { kind: 'path' };

export interface HealthCheckConfig {
  /** "http" sends a request and checks the answer; "tcp" only checks that a connection opens. */
  type: 'http' | 'tcp';
  method: string;
  path: string;
  /** Host header to send; undefined sends the server's own address. */
  host?: string;
  /** Text the answer's body must contain; undefined checks the status only. */
  expectedBody?: string;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive passes that mark a down backend up. */
  healthyThreshold: number;
  /** Consecutive failures that mark an up backend down. */
  unhealthyThreshold: number;
  /** Inclusive status ranges that count as healthy. Default [[200, 399]]. */
  expectedStatuses: Array<[number, number]>;
}

export interface TimeoutsConfig {
  connectMs: number;
  responseHeadersMs: number;
  /** Longest silence while a body streams, either direction. */
  idleMs: number;
}

export interface ServerConfig {
  address: Address;
  /** Written "https://HOST:PORT": reached over TLS (with the service's `tls` settings). */
  tls: boolean;
  /** Share of traffic relative to the others, for the weighted algorithms. 0 drains: no new requests. */
  weight: number;
  /** Takes traffic only while no primary server is available. */
  backup: boolean;
}

/** Outlier detection: requests that fail take a backend out for a while. */
export interface PassiveHealthConfig {
  /** Consecutive failed requests (connection failures, resets, timeouts, 5xx answers) that eject a backend. */
  consecutiveFailures: number;
  /** First ejection's length; the n-th ejection lasts n times this, up to maxEjectionMs. */
  baseEjectionMs: number;
  maxEjectionMs: number;
  /** Never eject more than this share of the service's backends (0-100). */
  maxEjectedPercent: number;
}

export interface RetryConfig {
  /** Retries after the first try, each on a different backend when there is one. 0 disables retries. */
  attempts: number;
  /** Backend statuses that are retried (for idempotent requests without a body), like 502, 503. */
  onStatuses: number[];
  /** Retries may add at most this percent to the requests of the last 10 s (the retry budget). */
  budgetPercent: number;
  /** Retries allowed per second whatever the budget, so a quiet service can still retry. */
  minRetriesPerSecond: number;
}

export interface QueueConfig {
  /** Requests that may wait for a free connection when every backend is at max_connections. */
  size: number;
  timeoutMs: number;
}

export interface ServiceConfig {
  name: string;
  servers: ServerConfig[];
  balance: BalanceAlgorithm;
  hashKey: HashKey;
  /** Undefined: no stickiness. */
  sticky?: { cookie: string };
  /** Undefined: no active checks, every server is taken as up. */
  healthCheck?: HealthCheckConfig;
  /** Undefined: passive health is off. */
  passiveHealth?: PassiveHealthConfig;
  /** Below this percent of available primaries, balance over all of them, down or not (0 = never). */
  panicThresholdPercent: number;
  /** A backend that comes back ramps its weight up from 10% over this window (0 = at once). */
  slowStartMs: number;
  retries: RetryConfig;
  /** Requests in flight per backend; undefined = unlimited. */
  maxConnections?: number;
  queue: QueueConfig;
  timeouts: TimeoutsConfig;
  /**
   * What the service's servers speak: HTTP/1.1 (default), HTTP/2 over TLS
   * ("h2", servers written https://) or HTTP/2 with prior knowledge on plain
   * TCP ("h2c"). HTTP/2 carries gRPC (trailers, streaming both ways).
   */
  protocol: UpstreamProtocol;
  /** How servers written https:// are reached; undefined: system CAs, SNI from the host. */
  tls?: UpstreamTlsConfig;
}

export type UpstreamProtocol = 'http1' | 'h2' | 'h2c';

export interface UpstreamTlsConfig {
  /** A PEM file of CA certificates trusted instead of the system ones (and NODE_EXTRA_CA_CERTS). */
  ca?: string;
  /** A client certificate (PEM, with its chain) and its key, both files, for backends that ask for one. */
  cert?: string;
  key?: string;
  /** The name sent in SNI and checked against the server's certificate; default the server's host (none for an IP address, which is checked as an IP). */
  serverName?: string;
  /** Accept any certificate. Only when written explicitly; weir warns at start. */
  insecureSkipVerify: boolean;
}

/** One address weir accepts clients on. */
export interface ListenerConfig {
  address: Address;
  /**
   * HTTP/2: on a TLS listener offered by ALPN ("h2" before "http/1.1"),
   * default true; on a plain listener it is h2c with prior knowledge,
   * default false. `Upgrade: h2c` is never honoured.
   */
  http2: boolean;
  /** Undefined: plain TCP. */
  tls?: ListenerTlsConfig;
}

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface ListenerTlsConfig {
  /** The oldest TLS version accepted. Default TLSv1.2. */
  minVersion: TlsVersion;
  /**
   * Certificate files, each a PEM chain (leaf first) and its key. A client's
   * SNI name picks one by the certificates' own names (exact before
   * wildcard); the first is the default for clients without SNI or with a
   * name none has.
   */
  certificates: CertificateFiles[];
  /** Certificates obtained and renewed from an ACME CA (Let's Encrypt), besides or instead of files. */
  acme?: AcmeConfig;
}

export interface CertificateFiles {
  /** Path of the PEM certificate chain, leaf first. */
  cert: string;
  /** Path of the PEM private key. */
  key: string;
}

export interface AcmeConfig {
  /** The account's contact address. */
  email: string;
  /** The ACME directory URL. Default Let's Encrypt's production directory. */
  directory: string;
  /** The names the certificate is for; default every exact host of the routes. */
  domains: string[];
  /** Directory of the account key, certificates and keys (created 0700, files 0600). */
  storage: string;
  /** A PEM file of CA certificates trusted for the directory's own HTTPS, besides the system ones (for a private or test CA). */
  ca?: string;
  /** Renewal begins once this share of a certificate's lifetime has passed. Default 2/3. */
  renewAfterShare: number;
}

/** One problem found in a config file, with where it is. */
export interface ConfigIssue {
  file: string;
  /** 1-based; 0 when the config was not read from text (loadConfigObject), so there is no position. */
  line: number;
  /** 1-based; 0 together with line. */
  column: number;
  /** The key's path, like "services.api.timeouts.connect" or "routes[2].host". */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatConfigIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * "file:line:column: key.path: message", the form editors and terminals turn
 * into a link. Without a position (line 0) it is "source: key.path: message".
 */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  return `${where}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

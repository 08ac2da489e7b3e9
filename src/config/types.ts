// The validated, normalized configuration: what the loader produces from either
// YAML form and what the runtime compiler consumes. Durations are milliseconds,
// addresses are split, every optional section has its defaults filled in, so
// nothing downstream ever looks at raw YAML.

export interface Address {
  host: string;
  port: number;
}

export interface WeirConfig {
  /** Where weir accepts client connections. Default 127.0.0.1:8080. */
  listen: Address;
  /** Routes in file order. Matching priority is decided by the router, not by order. */
  routes: RouteConfig[];
  /** Services by name. */
  services: Map<string, ServiceConfig>;
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

export type PathMatch =
  | { kind: 'prefix'; value: string }
  | { kind: 'exact'; value: string }
  | { kind: 'regex'; value: string };

export interface HeaderRules {
  /** Header name (as written) to value; appended to the request. */
  add: Array<[string, string]>;
  /** Lower-cased header names to remove. Removing "host" makes the backend receive its own address as Host. */
  remove: string[];
}

export interface QueryRules {
  /** Parameter name to value, appended. */
  add: Array<[string, string]>;
  /** Parameter names to remove (every occurrence). */
  remove: string[];
}

export interface RewriteRules {
  /** Text to replacement, applied to the path in order, every occurrence. */
  replace: Array<[string, string]>;
}

export interface FirewallRules {
  /** Single addresses or CIDR ranges, IPv4 or IPv6, as written (validated). */
  ipReject: string[];
  /** Path prefixes, matched on segment boundaries against the normalized path. */
  pathReject: string[];
}

export interface RouteConfig {
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
  requestHeaders: HeaderRules;
  query: QueryRules;
  rewrite: RewriteRules;
  firewall: FirewallRules;
  /** Name of a service in WeirConfig.services (validated to exist). */
  service: string;
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

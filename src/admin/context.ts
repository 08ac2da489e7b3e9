// What the admin server may see and do, in one interface. The admin server
// knows weir only through this: weir.ts builds it from the live pieces
// (runtime, registry, reload, metrics), and a test builds it from the same
// real objects without a proxy listener (context.fixtures.ts).

import type { Runtime } from '../runtime/compile.ts';
import type { TlsListenerView } from '../tls/tls-report.ts';
import type { Backend } from '../upstream/backend.ts';
import type { RouteTraffic } from './route-stats.ts';

/** The request `weir explain` is asked about. */
export interface ExplainQuery {
  method: string;
  /** "http://host/path?query" or "/path?query". */
  url: string;
  clientIp: string;
  /** Extra headers, [name, value] in order. */
  headers: Array<[string, string]>;
}

/** How the last reload went; `at` is Date.now(). */
import type { ReloadOutcome } from '../observe/reload-history.ts';

export type { ReloadOutcome };

/** One worker process of a group (`weir start --workers`), for GET /api/status; times are Date.now(). */
export interface WorkerInfo {
  slot: number;
  pid: number;
  startedAt: number;
}

/** What the admin API shows of a worker group, where requests are served by workers and the primary answers. */
export interface GroupView {
  /** The workers running now. */
  workers(): WorkerInfo[];
  /** Workers started to replace one that exited. */
  restarts(): number;
  /** A backend's requests in flight and latency over every worker (the primary's own Backend serves none). */
  load(backend: Backend): { inflight: number; latencyMs: number };
}

/** One request weir refused (firewall, rate limit, ...); `at` is Date.now(). */
export interface RecentRefusal {
  at: number;
  status: number;
  reason: string;
  client: string;
  url: string;
}

export interface AdminContext {
  version: string;
  /** Date.now() when weir started. */
  startedAt: number;
  /** The config's file path, or "<object>". */
  configSource(): string;
  /**
   * The running config's text, as `weir plan --admin URL` reads it from GET
   * /api/config: the file's text as last loaded successfully (before
   * `${NAME}` expansion, so secrets from the environment stay out), or the
   * config object as JSON (which YAML reads too).
   */
  configText(): string;
  /** 1 at start, +1 per successful reload. */
  generation(): number;
  lastReload(): ReloadOutcome | undefined;
  /** The runtime served now: routes and services; the services' backends are the live Backend objects. */
  runtime(): Runtime;
  /** Re-reads the config file and applies it whole; rejects with a ConfigError (with issues) when it is invalid, and changes nothing then. */
  reload(): Promise<void>;
  /**
   * Drains one backend (Backend.drain: no new requests, survives reloads).
   * `address` is the backend's label as the API shows it: "host:port", IPv6 in
   * brackets. False when the service has no such backend.
   */
  drain(service: string, address: string): boolean;
  /** Undoes drain(); false when the service has no such backend. */
  enable(service: string, address: string): boolean;
  /** `weir explain` against the live runtime and the live backend states. */
  explain(request: ExplainQuery): Promise<string>;
  /** Each TLS listener: its certificates (names, expiry, source) and its ACME state. */
  tls(): TlsListenerView[];
  /** The Prometheus exposition. */
  metrics(): Promise<{ contentType: string; text: string }>;
  /** Requests refused lately, newest last (the context keeps the list bounded). */
  recentRefusals(): RecentRefusal[];
  /** Per-route traffic over the last few seconds: a RouteStats (route-stats.ts) that the driver tells of every request. */
  routeStats(): RouteTraffic[];
  /**
   * The bearer token of `admin.token`; undefined when none is configured. Read
   * on every request, so a getter that follows the running config rotates it
   * on reload.
   */
  readonly token: string | undefined;
  /** Set in a worker group's primary: the workers, and the backends' load over them. */
  group?: GroupView;
}

/**
 * drain() and enable() on the live backends: the backend of `service` whose
 * label is `address`. The Backend object outlives reloads, so the operator's
 * drain does too.
 */
export function backendControls(runtime: () => Runtime): Pick<AdminContext, 'drain' | 'enable'> {
  const backendOf = (service: string, address: string) => runtime().services.get(service)?.backends.find((backend) => backend.label === address);
  return {
    drain(service, address) {
      const backend = backendOf(service, address);
      backend?.drain('drained by an operator (admin API)');
      return backend !== undefined;
    },
    enable(service, address) {
      const backend = backendOf(service, address);
      backend?.enable('enabled by an operator (admin API)');
      return backend !== undefined;
    },
  };
}

import { summarizeFirewall, without } from '../config/summary.ts';
import type { FirewallRules, RateLimitConfig, WeirConfig } from '../config/types.ts';
import { createLogger } from '../log.ts';
import type { UpstreamRequest } from '../middleware/types.ts';
import { RateLimitStores } from '../ratelimit/stores.ts';
import { compileRuntime, type CompiledRoute, type Runtime } from './compile.ts';
import { upstreamTarget } from '../http/request-target.ts';
import { planRequest } from './plan-request.ts';
import { ActiveHealthChecker } from '../upstream/health/active-checker.ts';
import { applyBackendSettings } from '../upstream/backend-settings.ts';
import { BackendRegistry } from '../upstream/registry.ts';

export interface ExplainRequest {
  /** Run one round of the services' active health checks first, to show each backend's state and why. */
  check?: boolean;
  method: string;
  /** "http://host/path?query" or "/path?query". */
  url: string;
  /** The address the request comes from (the connection's peer). */
  clientIp: string;
  /** Extra headers, [name, value] in order. */
  headers: Array<[string, string]>;
}

/**
 * What weir would do with a request, in words, without sending anything:
 * who the client is, the route, every rule in the order it applies and what
 * it changed, and the request as the backend receives it. It runs the same
 * planRequest() the proxy runs, so what it prints is what happens.
 */
export async function explainRequest(config: WeirConfig, request: ExplainRequest): Promise<string> {
  const stores = new RateLimitStores();
  try {
    return await explainWith(config, request, stores);
  } finally {
    await stores.close();
  }
}

async function explainWith(config: WeirConfig, request: ExplainRequest, stores: RateLimitStores): Promise<string> {
  const registry = new BackendRegistry();
  const runtime = compileRuntime(config, registry, stores, createLogger(false));
  applyBackendSettings(registry, runtime.backendSettings);
  if (request.check) {
    await Promise.all(
      [...runtime.services.values()].map(async (service) => {
        if (!service.config.healthCheck) return;
        const checker = new ActiveHealthChecker(service.name, service.backends, service.config.healthCheck, createLogger(false));
        await checker.start();
        await checker.stop();
      }),
    );
  }
  return explainWithRuntime(runtime, request, request.check ? 'checked' : 'unknown');
}

/**
 * What the running weir would do: the same as explainRequest, against a
 * live runtime, whose backends carry their live states (the admin API).
 */
export function explainLive(runtime: Runtime, request: Omit<ExplainRequest, 'check'>): string {
  return explainWithRuntime(runtime, request, 'live');
}

/** Where the backend states shown come from: a round of checks just now, the running weir, or nowhere. */
type StateSource = 'checked' | 'live' | 'unknown';

function explainWithRuntime(runtime: Runtime, request: Omit<ExplainRequest, 'check'>, states: StateSource): string {
  const { config } = runtime;
  const { target, host } = splitUrl(request.url);
  const rawHeaders: string[] = [];
  const hasHost = request.headers.some(([name]) => name.toLowerCase() === 'host');
  if (!hasHost && host) rawHeaders.push('Host', host);
  for (const [name, value] of request.headers) rawHeaders.push(name, value);

  const method = request.method.toUpperCase();
  const lines: string[] = [];
  lines.push(`request:  ${method} ${target} from ${request.clientIp}`);
  for (let i = 0; i < rawHeaders.length; i += 2) lines.push(`          ${rawHeaders[i]}: ${rawHeaders[i + 1]}`);

  const effects: string[] = [];
  let before: Snapshot | undefined;
  // An https:// URL is a request that arrived over TLS.
  const secure = /^https:\/\//i.test(request.url);
  const plan = planRequest(runtime, { method, url: target, rawHeaders, peer: request.clientIp, secure }, (label, upstream) => {
    const after = snapshot(upstream);
    if (before !== undefined) effects.push(`${label}: ${describeChange(before, after)}`);
    before = after;
  });
  const { context } = plan;
  if (context && context.clientIp !== request.clientIp) lines.push(`client:   ${context.clientIp} (from X-Forwarded-For: ${request.clientIp} is a trusted proxy)`);
  if (context && context.requestId) lines.push(`id:       ${runtime.requestIdHeader?.name}: ${context.requestId}`);
  if (plan.kind === 'refuse') {
    if (plan.route) lines.push(`route:    ${plan.route.name}`);
    lines.push(`verdict:  ${plan.failure.status} (${plan.failure.reason})`);
    return lines.join('\n');
  }
  const { route } = plan;
  lines.push(`path:     ${plan.context.normalizedPath} (normalized, used for matching)`);
  lines.push(`route:    ${route.name}${plan.kind === 'forward' ? `, because ${plan.why}` : ''}`);
  lines.push('rules, in order:');
  const rules = [
    ...firewallLines('defaults firewall', config.defaults.firewall),
    ...firewallLines('route firewall', route.config.firewall),
    ...route.rateLimits.map(({ config: limit }) => `rate_limit ${limit.id}: ${describeLimit(limit)} (checked when served, not by explain)`),
    ...redirectLines(route),
    ...effects,
    ...responseLines(config, route),
  ];
  if (rules.length === 0) rules.push('none');
  rules.forEach((rule, i) => lines.push(`  ${String(i + 1).padStart(2)}. ${rule}`));

  if (plan.kind === 'redirect') {
    lines.push(`verdict:  ${plan.status} redirect to ${plan.location}`);
    return lines.join('\n');
  }
  if (plan.kind === 'respond') {
    lines.push(`verdict:  ${plan.status} answered by weir (respond), ${Buffer.byteLength(plan.body)} bytes`);
    return lines.join('\n');
  }
  const { upstream, service } = plan;
  lines.push('backend receives:');
  lines.push(`          ${upstream.method} ${upstreamTarget(upstream)}`);
  const headers = upstream.headers;
  const sendsHost = headers.some((name, i) => i % 2 === 0 && name.toLowerCase() === 'host');
  for (let i = 0; i < headers.length; i += 2) lines.push(`          ${headers[i]}: ${headers[i + 1]}`);
  if (!sendsHost) lines.push("          host: <the backend's own address>");
  lines.push(`service:  ${service.name} (${service.config.balance})`);
  const check = service.config.healthCheck;
  const checking = check ? `${check.type === 'tcp' ? 'TCP connect' : `${check.method} ${check.path}`} every ${check.intervalMs}ms` : 'no active checks';
  lines.push(`health:   ${checking}${check && states === 'unknown' ? ' (add --check to run one round now)' : ''}`);
  const { retries, passiveHealth } = service.config;
  lines.push(`retries:  ${retries.attempts === 0 ? 'off' : `up to ${retries.attempts} on other servers${retries.onStatuses.length ? `, also on ${retries.onStatuses.join(', ')}` : ''}`}`);
  lines.push(`passive:  ${passiveHealth ? `eject after ${passiveHealth.consecutiveFailures} failed requests in a row` : 'off'}`);
  lines.push('candidates:');
  for (const backend of service.backends) {
    const role = [backend.backup ? 'backup' : '', backend.weight !== 1 ? `weight ${backend.weight}` : ''].filter(Boolean).join(', ');
    const state =
      states === 'live' || backend.state === 'draining' || (states === 'checked' && check) ? `${backend.state}: ${backend.reason}` : check ? 'not checked' : 'taken as up';
    lines.push(`          ${backend.label}${role ? ` (${role})` : ''}  ${state}`);
  }
  return lines.join('\n');
}

interface Snapshot {
  path: string;
  query: string;
  headers: string[];
}

function snapshot(upstream: UpstreamRequest): Snapshot {
  return { path: upstream.path, query: upstream.query, headers: upstream.headers.slice() };
}

/** "path /old/x → /new/x; + X-A: 1; - Cookie: a=1", or "no change". */
function describeChange(before: Snapshot, after: Snapshot): string {
  const changes: string[] = [];
  if (before.path !== after.path) changes.push(`path ${before.path} → ${after.path}`);
  if (before.query !== after.query) changes.push(`query ${before.query ? `?${before.query}` : '(none)'} → ${after.query ? `?${after.query}` : '(none)'}`);
  const pairs = (headers: string[]): string[] => headers.flatMap((name, i) => (i % 2 === 0 ? [`${name}: ${headers[i + 1]}`] : []));
  const was = pairs(before.headers);
  const now = pairs(after.headers);
  for (const line of without(was, now)) changes.push(`- ${line}`);
  for (const line of without(now, was)) changes.push(`+ ${line}`);
  return changes.length === 0 ? 'no change' : changes.join('; ');
}

function firewallLines(label: string, rules: FirewallRules): string[] {
  const summary = summarizeFirewall(rules);
  return summary === '' ? [] : [`${label}: passed (${summary})`];
}

function describeLimit(limit: RateLimitConfig): string {
  const key = limit.key.map((part) => (part.kind === 'header' ? `header:${part.name}` : part.kind)).join(' + ');
  return `${limit.rateText}, burst ${limit.burst}, per ${key}, ${limit.store.kind === 'redis' ? `shared in ${limit.store.url}` : 'in this process'}`;
}

function redirectLines(route: CompiledRoute): string[] {
  const lines: string[] = [];
  if (route.config.httpsRedirect) lines.push('https_redirect: plain HTTP is redirected to https');
  if (route.config.canonicalHost !== undefined) lines.push(`canonical_host: other hosts are redirected to ${route.config.canonicalHost}`);
  return lines;
}

function responseLines(config: WeirConfig, route: CompiledRoute): string[] {
  const lines: string[] = [];
  for (const [label, rules] of [['defaults', config.defaults.responseHeaders], ['route', route.config.responseHeaders]] as const) {
    const parts = [
      ...rules.remove.map((name) => `- ${name}`),
      ...rules.set.map(([name, value]) => `= ${name}: ${value}`),
      ...rules.add.map(([name, value]) => `+ ${name}: ${value}`),
    ];
    if (parts.length) lines.push(`${label} response_headers (on the answer): ${parts.join('; ')}`);
  }
  return lines;
}

function splitUrl(url: string): { target: string; host: string | undefined } {
  const match = /^https?:\/\/([^/?#]*)(.*)$/i.exec(url);
  if (!match) return { target: url.startsWith('/') ? url : `/${url}`, host: undefined };
  const rest = match[2] ?? '';
  return { target: rest.startsWith('/') ? rest : `/${rest}`, host: match[1] };
}

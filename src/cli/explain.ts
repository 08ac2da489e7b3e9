import type { WeirConfig } from '../config/types.ts';
import { createLogger } from '../log.ts';
import { compileRuntime } from '../runtime/compile.ts';
import { planRequest } from '../runtime/plan-request.ts';
import { ActiveHealthChecker } from '../upstream/health/active-checker.ts';
import { BackendRegistry } from '../upstream/registry.ts';

export interface ExplainRequest {
  /** Run one round of the services' active health checks first, to show each backend's state and why. */
  check?: boolean;
  method: string;
  /** "http://host/path?query" or "/path?query". */
  url: string;
  clientIp: string;
  /** Extra headers, [name, value] in order. */
  headers: Array<[string, string]>;
}

/**
 * What weir would do with a request, in words, without sending anything.
 * It runs the same planRequest() the proxy runs, so what it prints is what
 * happens.
 */
export async function explainRequest(config: WeirConfig, request: ExplainRequest): Promise<string> {
  const runtime = compileRuntime(config, new BackendRegistry(), createLogger(false));
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
  const { target, host } = splitUrl(request.url);
  const rawHeaders: string[] = [];
  const hasHost = request.headers.some(([name]) => name.toLowerCase() === 'host');
  if (!hasHost && host) rawHeaders.push('Host', host);
  for (const [name, value] of request.headers) rawHeaders.push(name, value);

  const method = request.method.toUpperCase();
  const lines: string[] = [];
  lines.push(`request:  ${method} ${target} from ${request.clientIp}`);
  for (let i = 0; i < rawHeaders.length; i += 2) lines.push(`          ${rawHeaders[i]}: ${rawHeaders[i + 1]}`);

  const plan = planRequest(runtime, { method, url: target, rawHeaders, clientIp: request.clientIp, protocol: 'http' });
  if (plan.kind === 'refuse') {
    if (plan.route) lines.push(`route:    ${plan.route.name}`);
    lines.push(`verdict:  ${plan.status} (${plan.reason})`);
    return lines.join('\n');
  }
  const { route, upstream, context } = plan;
  lines.push(`path:     ${context.normalizedPath} (normalized, used for matching and the firewall)`);
  lines.push(`route:    ${route.name}, because ${plan.why}`);
  const firewall = route.config.firewall;
  const rules = firewall.ipReject.length + firewall.pathReject.length;
  lines.push(`firewall: ${rules === 0 ? 'no rules' : `passed (${firewall.ipReject.length} ip_reject, ${firewall.pathReject.length} path_reject rules)`}`);
  lines.push('backend receives:');
  lines.push(`          ${upstream.method} ${upstream.query ? `${upstream.path}?${upstream.query}` : upstream.path}`);
  const headers = upstream.headers;
  const sendsHost = headers.some((name, i) => i % 2 === 0 && name.toLowerCase() === 'host');
  for (let i = 0; i < headers.length; i += 2) lines.push(`          ${headers[i]}: ${headers[i + 1]}`);
  if (!sendsHost) lines.push("          host: <the backend's own address>");
  const service = route.service;
  lines.push(`service:  ${service.name} (${service.config.balance})`);
  const check = service.config.healthCheck;
  const checking = check ? `${check.type === 'tcp' ? 'TCP connect' : `${check.method} ${check.path}`} every ${check.intervalMs}ms` : 'no active checks';
  lines.push(`health:   ${checking}${check && !request.check ? ' (add --check to run one round now)' : ''}`);
  const { retries, passiveHealth } = service.config;
  lines.push(`retries:  ${retries.attempts === 0 ? 'off' : `up to ${retries.attempts} on other servers${retries.onStatuses.length ? `, also on ${retries.onStatuses.join(', ')}` : ''}`}`);
  lines.push(`passive:  ${passiveHealth ? `eject after ${passiveHealth.consecutiveFailures} failed requests in a row` : 'off'}`);
  lines.push('candidates:');
  for (const backend of service.backends) {
    const role = [backend.backup ? 'backup' : '', backend.weight !== 1 ? `weight ${backend.weight}` : ''].filter(Boolean).join(', ');
    const state = request.check && check ? `${backend.state}: ${backend.reason}` : check ? 'not checked' : 'taken as up';
    lines.push(`          ${backend.label}${role ? ` (${role})` : ''}  ${state}`);
  }
  return lines.join('\n');
}

function splitUrl(url: string): { target: string; host: string | undefined } {
  const match = /^https?:\/\/([^/?#]*)(.*)$/i.exec(url);
  if (!match) return { target: url.startsWith('/') ? url : `/${url}`, host: undefined };
  const rest = match[2] ?? '';
  return { target: rest.startsWith('/') ? rest : `/${rest}`, host: match[1] };
}

import { formatAddress } from './address.ts';
import type { FirewallRules, WeirConfig } from './types.ts';

/** One line for `weir validate`: "valid weir config: 3 routes, 3 services, 7 servers, listen 127.0.0.1:8080". */
export function summarizeConfig(config: WeirConfig): string {
  const servers = [...config.services.values()].reduce((total, service) => total + service.servers.length, 0);
  const form = config.form === 'course' ? 'config (course form)' : 'weir config';
  const counts = [count(config.routes.length, 'route'), count(config.services.size, 'service'), count(servers, 'server')];
  return `valid ${form}: ${counts.join(', ')}, listen ${formatAddress(config.listen)}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** "ip_reject 2, path_reject 3, max_url_length 8192": which firewall rules there are ("" for none). */
export function summarizeFirewall(rules: FirewallRules): string {
  const parts: string[] = [];
  if (rules.ipAllow.length) parts.push(`ip_allow ${rules.ipAllow.length}`);
  if (rules.ipReject.length) parts.push(`ip_reject ${rules.ipReject.length}`);
  if (rules.methods) parts.push(`methods ${rules.methods.join(',')}`);
  if (rules.pathReject.length) parts.push(`path_reject ${rules.pathReject.length}`);
  if (rules.maxUrlLength !== undefined) parts.push(`max_url_length ${rules.maxUrlLength}`);
  if (rules.maxHeaderBytes !== undefined) parts.push(`max_header_size ${rules.maxHeaderBytes}`);
  if (rules.maxBodyBytes !== undefined) parts.push(`max_body_size ${rules.maxBodyBytes}`);
  return parts.join(', ');
}

/** The items of `a` not in `b`, counting repeats: what a list lost or gained. */
export function without(a: readonly string[], b: readonly string[]): string[] {
  const left = [...b];
  return a.filter((item) => {
    const at = left.indexOf(item);
    if (at === -1) return true;
    left.splice(at, 1);
    return false;
  });
}

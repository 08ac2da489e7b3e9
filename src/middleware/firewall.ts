// Refuses requests before they reach a backend: by client address, method,
// path, and the size of the request's URL, head and body. The checks are
// compiled once; a request that passes (almost all of them) costs one lookup
// per kind of rule.

import type { FirewallRules, PathRule } from '../config/types.ts';
import { IpSet } from '../net/ip-set.ts';
import { firewallPath, firewallRulePath } from '../routing/firewall-path.ts';
import { compilePathPrefix } from '../routing/path-prefix.ts';
import type { Refusal, RequestContext, RequestGuard } from './types.ts';

/**
 * One guard for a set of firewall rules, or undefined when there are none.
 * `label` goes in front of the rule's name in refusals ("defaults: ", or "").
 * Checks run cheapest first, and the first refusal wins:
 * URL length (414), head size (431), declared body size (413), ip_allow and
 * ip_reject (403), methods (405), path_reject (403). A chunked body over
 * max_body_size is cut off while it streams (proxy/body-limit.ts).
 *
 * Addresses: IPv4 and IPv6, single or CIDR; an IPv4-mapped IPv6 client is
 * checked as its IPv4 address (net/ip-set.ts). Paths: in the firewall's
 * loose reading (routing/firewall-path.ts), so encodings, case, "\" and
 * ";params" do not get around a rule.
 */
export function compileFirewall(rules: FirewallRules, label = ''): RequestGuard | undefined {
  const checks: RequestGuard[] = [];
  const refuse = (status: Refusal['status'], rule: string, headers?: string[]): Refusal => ({ status, rule: label + rule, ...(headers && { headers }) });

  const { maxUrlLength, maxHeaderBytes, maxBodyBytes, methods } = rules;
  if (maxUrlLength !== undefined) {
    const refusal = refuse(414, `max_url_length ${maxUrlLength}`);
    checks.push((ctx) => (targetLength(ctx) > maxUrlLength ? refusal : undefined));
  }
  if (maxHeaderBytes !== undefined) {
    const refusal = refuse(431, `max_header_size ${maxHeaderBytes}`);
    checks.push((ctx) => (headBytes(ctx.rawHeaders) > maxHeaderBytes ? refusal : undefined));
  }
  if (maxBodyBytes !== undefined) {
    const refusal = refuse(413, `max_body_size ${maxBodyBytes}`);
    checks.push((ctx) => (ctx.contentLength !== undefined && ctx.contentLength > maxBodyBytes ? refusal : undefined));
  }
  if (rules.ipAllow.length > 0) {
    const allowed = IpSet.from(rules.ipAllow);
    const refusal = refuse(403, `ip_allow (${rules.ipAllow.length === 1 ? rules.ipAllow[0] : `${rules.ipAllow.length} entries`}) does not list the client`);
    checks.push((ctx) => (allowed.has(ctx.clientIp) ? undefined : refusal));
  }
  if (rules.ipReject.length > 0) {
    const rejected = IpSet.from(rules.ipReject);
    checks.push((ctx) => {
      if (!rejected.has(ctx.clientIp)) return undefined;
      return refuse(403, `ip_reject ${rejected.firstMatch(ctx.clientIp) ?? ''}`);
    });
  }
  if (methods !== undefined) {
    const allowed = new Set(methods);
    const refusal = refuse(405, `methods ${methods.join(', ')}`, ['allow', methods.join(', ')]);
    checks.push((ctx) => (allowed.has(ctx.method) ? undefined : refusal));
  }
  if (rules.pathReject.length > 0) {
    const pathRules = rules.pathReject.map((rule) => ({ test: compilePathRule(rule), refusal: refuse(403, `path_reject ${describePathRule(rule)}`) }));
    checks.push((ctx) => {
      const path = firewallPath(ctx.path);
      for (const rule of pathRules) if (rule.test(path)) return rule.refusal;
      return undefined;
    });
  }

  if (checks.length === 0) return undefined;
  if (checks.length === 1) return checks[0];
  return (ctx) => {
    for (const check of checks) {
      const refusal = check(ctx);
      if (refusal !== undefined) return refusal;
    }
    return undefined;
  };
}

/** The request target's length as sent: path, "?" and query. */
function targetLength(ctx: RequestContext): number {
  return ctx.query === '' ? ctx.path.length : ctx.path.length + 1 + ctx.query.length;
}

/** The head's size as it was on the wire: "Name: value\r\n" per header. */
function headBytes(raw: readonly string[]): number {
  let bytes = 0;
  for (let i = 0; i < raw.length; i++) bytes += (raw[i] as string).length + 2;
  return bytes;
}

/**
 * A prefix matches on segment boundaries ("/admin" refuses /admin and
 * /admin/x, not /adminx); a rule written with a trailing slash also refuses
 * the bare directory: a deny rule errs on the side of what its author meant.
 * A glob matches the whole path, "*" within a segment and "**" across them.
 * A regex is searched for in the path, case-insensitively like the rest.
 */
function compilePathRule(rule: PathRule): (path: string) => boolean {
  if (rule.kind === 'regex') {
    const pattern = new RegExp(rule.value, 'i');
    return (path) => pattern.test(path);
  }
  if (rule.kind === 'glob') {
    const pattern = globPattern(firewallRulePath(rule.value));
    return (path) => pattern.test(path);
  }
  let prefix = firewallRulePath(rule.value);
  if (prefix.length > 1 && prefix.endsWith('/')) prefix = prefix.slice(0, -1);
  return compilePathPrefix(prefix);
}

export function globPattern(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === '*' && glob[i + 1] === '*') {
      // "/**/" also matches a single "/", so "/**/*.php" covers "/x.php".
      if (glob[i + 2] === '/' && source.endsWith('/')) {
        source = source.slice(0, -1) + '(?:/.*)?/';
        i += 2;
      } else {
        source += '.*';
        i++;
      }
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function describePathRule(rule: PathRule): string {
  return rule.kind === 'regex' ? `regex ${rule.value}` : rule.value;
}

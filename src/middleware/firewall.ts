// Refuses requests from listed addresses or for listed paths before they
// reach a backend. Paths are checked in their normalized form (see
// routing/normalize-path.ts) so that "/%6Dessages", "//messages" or
// "/x/../messages" cannot slip past a rule for "/messages".

import { BlockList, isIP } from 'node:net';
import type { FirewallRules } from '../config/types.ts';
import type { FirewallCheck } from './types.ts';
import { normalizePath } from '../routing/normalize-path.ts';
import { compilePathPrefix } from '../routing/path-prefix.ts';

interface NamedRule<Test> {
  test: Test;
  /** The reason given when this rule refuses a request: "ip_reject 10.192.0.0/16". */
  reason: string;
}

/**
 * Compiles ip_reject and path_reject into one check, or undefined when there
 * are no rules. The reason names the first rule (in file order) that refuses
 * the request, IP rules before path rules.
 *
 * ip_reject takes addresses and CIDRs, IPv4 and IPv6. An IPv4-mapped IPv6
 * client ("::ffff:10.0.0.1") is also checked as its IPv4 address: node's
 * BlockList does this itself for both the dotted and the hex spelling.
 *
 * path_reject rules match on segment boundaries against the normalized path:
 * "/messages" refuses "/messages" and "/messages/1", not "/messagesx". A rule
 * written with a trailing slash ("/admin/") also refuses the bare "/admin":
 * a deny rule should err on the side of covering what its author meant.
 */
export function compileFirewall(rules: FirewallRules): FirewallCheck | undefined {
  const ipRules = rules.ipReject.map(compileIpRule);
  const pathRules = rules.pathReject.map(compilePathRule);
  if (ipRules.length === 0 && pathRules.length === 0) return undefined;

  // Almost every request passes, so it is answered by one lookup in a list
  // holding every rule; the rule-by-rule search only runs to name a refusal.
  const anyIpRule = new BlockList();
  for (const rule of rules.ipReject) addIpRule(anyIpRule, rule);

  return (ctx) => {
    if (ipRules.length > 0) {
      const family = ctx.clientIp.includes(':') ? 'ipv6' : 'ipv4';
      if (anyIpRule.check(ctx.clientIp, family)) {
        for (const rule of ipRules) {
          if (rule.test.check(ctx.clientIp, family)) return rule.reason;
        }
      }
    }
    for (const rule of pathRules) {
      if (rule.test(ctx.normalizedPath)) return rule.reason;
    }
    return undefined;
  };
}

function compileIpRule(rule: string): NamedRule<BlockList> {
  const list = new BlockList();
  addIpRule(list, rule);
  return { test: list, reason: `ip_reject ${rule}` };
}

function addIpRule(list: BlockList, rule: string): void {
  const slash = rule.indexOf('/');
  const address = slash === -1 ? rule : rule.slice(0, slash);
  const version = isIP(address);
  if (version === 0) throw new Error(`firewall: ip_reject "${rule}" is not an IP address or CIDR range`);
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (slash === -1) {
    list.addAddress(address, family);
    return;
  }
  const bitsText = rule.slice(slash + 1);
  const bits = Number(bitsText);
  if (!/^\d+$/.test(bitsText) || bits > (version === 4 ? 32 : 128)) {
    throw new Error(`firewall: ip_reject "${rule}" has an invalid prefix length`);
  }
  list.addSubnet(address, bits, family);
}

function compilePathRule(rule: string): NamedRule<(path: string) => boolean> {
  let prefix = normalizePath(rule);
  if (prefix.length > 1 && prefix.endsWith('/')) prefix = prefix.slice(0, -1);
  return { test: compilePathPrefix(prefix), reason: `path_reject ${rule}` };
}

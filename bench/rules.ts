// The rule set of the "rule cost" scenario (issue 4): what a typical site puts
// in `defaults` in front of its app, sized like production rather than like a
// demo. Kept here as data so that bench/README.md can quote it exactly and the
// unit test can check its shape against weir's own loader.

import type { Upstream } from './configs.ts';

/**
 * Ten header rules in all: request headers set and added with and without
 * variables, two removed; response headers set and added, one removed.
 */
export const HEADER_RULES = {
  request_headers: {
    set: { 'X-Real-IP': '${client_ip}', 'X-Env': 'production' },
    add: { 'X-Trace-Id': '${request_id}', 'X-Via': 'weir' },
    remove: ['Proxy', 'X-Debug'],
  },
  response_headers: {
    set: { 'X-Frame-Options': 'DENY', 'X-Content-Type-Options': 'nosniff' },
    add: { 'X-Served-Host': '${host}' },
    remove: ['Server'],
  },
} as const;

export const PATH_REJECT = ['/admin', '/**/*.php', { regex: '^/\\.(git|env)' }] as const;

/**
 * One bucket per client, far above what wrk can send from its one address:
 * the scenario measures what checking the limit costs, and a refused request
 * would make the figures meaningless (the run fails if any is refused).
 */
export const RATE_LIMIT = { key: 'client_ip', rate: '1000000/s', burst: 1_000_000 } as const;

export const REJECT_ENTRIES = 10_000;
/** Every tenth ip_reject entry is an IPv6 /48, the rest IPv4 /24s. */
const IPV6_EVERY = 10;

/**
 * `count` distinct CIDR ranges, none holding 127.0.0.1 (wrk's address, which
 * must pass): IPv4 /24s counting up from 11.0.0.0/24, and every tenth entry an
 * IPv6 /48 counting up from 2001:db8::/48. Deterministic, so every run and the
 * README describe the same list.
 */
export function rejectedRanges(count = REJECT_ENTRIES): string[] {
  const out: string[] = [];
  let v4 = 0;
  let v6 = 0;
  for (let i = 0; i < count; i++) {
    if (i % IPV6_EVERY === IPV6_EVERY - 1) {
      out.push(`2001:db8:${(v6++).toString(16)}::/48`);
    } else {
      const n = (11 << 16) + v4++;
      out.push(`${n >>> 16}.${(n >>> 8) & 0xff}.${n & 0xff}.0/24`);
    }
  }
  return out;
}

/**
 * Which rules an instance runs: `none` and `all` are the scenario; the others
 * are one kind of rule each, for the per-rule breakdown (--rules-breakdown).
 */
export const RULE_VARIANTS = ['none', 'all', 'headers', 'ip_reject', 'path_reject', 'rate_limit'] as const;
export type RuleVariant = (typeof RULE_VARIANTS)[number];

export const VARIANT_LABELS: Record<RuleVariant, string> = {
  none: 'no rules',
  all: 'typical rule set',
  headers: '10 header rules only',
  ip_reject: `${REJECT_ENTRIES.toLocaleString('en-US')}-entry ip_reject only`,
  path_reject: `${PATH_REJECT.length} path_reject rules only`,
  rate_limit: 'rate limit only',
};

/** The `defaults` section of a variant; undefined for `none`. */
export function variantDefaults(variant: RuleVariant): Record<string, unknown> | undefined {
  const has = (kind: RuleVariant) => variant === 'all' || variant === kind;
  const firewall: Record<string, unknown> = {};
  if (has('ip_reject')) firewall.ip_reject = rejectedRanges();
  if (has('path_reject')) firewall.path_reject = PATH_REJECT;
  const defaults: Record<string, unknown> = {
    ...(has('headers') && HEADER_RULES),
    ...(Object.keys(firewall).length > 0 && { firewall }),
    ...(has('rate_limit') && { rate_limit: RATE_LIMIT }),
  };
  return Object.keys(defaults).length > 0 ? defaults : undefined;
}

/** The whole config, as weir's loader reads a parsed YAML file: the main scenario's, plus the variant's `defaults`. */
export function ruleCostConfig(port: number, upstreams: Upstream[], variant: RuleVariant): Record<string, unknown> {
  const defaults = variantDefaults(variant);
  return {
    listen: `127.0.0.1:${port}`,
    ...(defaults && { defaults }),
    routes: [{ path: '/', service: 'app' }],
    services: { app: { balance: 'round_robin', servers: upstreams.map((u) => `${u.host}:${u.port}`) } },
  };
}

/** JSON is a subset of YAML, so this is a weir.yaml without a YAML writer. */
export function ruleCostYaml(port: number, upstreams: Upstream[], variant: RuleVariant): string {
  return `${JSON.stringify(ruleCostConfig(port, upstreams, variant), null, 2)}\n`;
}

/** Header rules in a rule set: each set or add entry and each removed name counts one. */
export function headerRuleCount(defaults: Record<string, unknown> | undefined): number {
  let count = 0;
  for (const key of ['request_headers', 'response_headers']) {
    const rules = defaults?.[key] as { set?: object; add?: object; remove?: readonly string[] } | undefined;
    if (!rules) continue;
    count += Object.keys(rules.set ?? {}).length + Object.keys(rules.add ?? {}).length + (rules.remove?.length ?? 0);
  }
  return count;
}

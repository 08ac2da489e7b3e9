import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { test } from 'node:test';
import { loadConfigObject, loadConfigText } from '../src/config/load.ts';
import { createLogger } from '../src/log.ts';
import { RateLimitStores } from '../src/ratelimit/stores.ts';
import { compileRuntime } from '../src/runtime/compile.ts';
import { planRequest } from '../src/runtime/plan-request.ts';
import type { ClientRequest } from '../src/runtime/plan-request.ts';
import { BackendRegistry } from '../src/upstream/registry.ts';
import {
  headerRuleCount,
  PATH_REJECT,
  REJECT_ENTRIES,
  rejectedRanges,
  RULE_VARIANTS,
  ruleCostConfig,
  ruleCostYaml,
  variantDefaults,
} from './rules.ts';
import type { RuleVariant } from './rules.ts';

const UPSTREAMS = [
  { host: '127.0.0.1', port: 9001 },
  { host: '127.0.0.1', port: 9002 },
];

function runtimeOf(variant: RuleVariant) {
  const config = loadConfigObject(ruleCostConfig(8080, UPSTREAMS, variant));
  return compileRuntime(config, new BackendRegistry(), new RateLimitStores(), createLogger(false));
}

const request = (over: Partial<ClientRequest> = {}): ClientRequest => ({
  method: 'GET',
  url: '/',
  rawHeaders: ['Host', 'a', 'X-Debug', '1'],
  peer: '127.0.0.1',
  ...over,
});

test('the typical rule set has 10 header rules, 10,000 ip_reject entries, path rules and a rate limit', () => {
  const defaults = variantDefaults('all');
  assert.equal(headerRuleCount(defaults), 10);
  const firewall = defaults?.firewall as { ip_reject: string[]; path_reject: unknown[] };
  assert.equal(firewall.ip_reject.length, REJECT_ENTRIES);
  assert.equal(firewall.path_reject.length, PATH_REJECT.length);
  assert.ok(defaults?.rate_limit);
  assert.equal(variantDefaults('none'), undefined);
  assert.equal(headerRuleCount(variantDefaults('ip_reject')), 0);
  assert.deepEqual(Object.keys(variantDefaults('rate_limit') ?? {}), ['rate_limit']);
});

test('the ip_reject entries are distinct, mixed IPv4 and IPv6, and none holds 127.0.0.1', () => {
  const ranges = rejectedRanges();
  assert.equal(new Set(ranges).size, ranges.length);
  assert.deepEqual(rejectedRanges(), ranges, 'deterministic');
  const v6 = ranges.filter((r) => r.includes(':'));
  assert.equal(v6.length, REJECT_ENTRIES / 10);
  // node:net's BlockList as an independent reading of the same ranges.
  const list = new BlockList();
  for (const range of ranges) {
    const [address, bits] = range.split('/') as [string, string];
    list.addSubnet(address, Number(bits), address.includes(':') ? 'ipv6' : 'ipv4');
  }
  assert.equal(list.check('127.0.0.1', 'ipv4'), false);
  assert.equal(list.check('11.0.0.1', 'ipv4'), true);
  assert.equal(list.check(ranges.at(-2)!.replace('.0/24', '.9'), 'ipv4'), true);
  assert.equal(list.check('2001:db8:3e7::1', 'ipv6'), true);
});

test('weir loads every variant, also from the YAML file the harness writes', () => {
  for (const variant of RULE_VARIANTS) {
    assert.doesNotThrow(() => loadConfigObject(ruleCostConfig(8080, UPSTREAMS, variant)), variant);
  }
  const config = loadConfigText(ruleCostYaml(8080, UPSTREAMS, 'all'), 'weir.yaml');
  assert.equal(config.defaults.firewall.ipReject.length, REJECT_ENTRIES);
  assert.equal(config.defaults.rateLimits.length, 1);
});

test('wrk\'s request is forwarded with the header rules applied; listed clients and paths are refused', () => {
  const runtime = runtimeOf('all');
  const plan = planRequest(runtime, request());
  assert.equal(plan.kind, 'forward');
  if (plan.kind !== 'forward') return;
  const headers = plan.upstream.headers;
  const value = (name: string): string | undefined => {
    const at = headers.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === name.toLowerCase());
    return at === -1 ? undefined : headers[at + 1];
  };
  assert.equal(value('X-Real-IP'), '127.0.0.1');
  assert.equal(value('X-Via'), 'weir');
  assert.equal(value('X-Debug'), undefined);
  assert.ok(value('X-Trace-Id'));

  assert.equal(planRequest(runtime, request({ peer: '11.0.0.7' })).kind, 'refuse');
  assert.equal(planRequest(runtime, request({ peer: '2001:db8:1::5' })).kind, 'refuse');
  assert.equal(planRequest(runtime, request({ url: '/admin/users' })).kind, 'refuse');
  assert.equal(planRequest(runtime, request({ url: '/wp/login.php' })).kind, 'refuse');
  assert.equal(planRequest(runtime, request({ url: '/.env' })).kind, 'refuse');
  assert.equal(planRequest(runtimeOf('none'), request({ peer: '11.0.0.7' })).kind, 'forward');
});

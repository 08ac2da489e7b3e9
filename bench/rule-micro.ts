// What the rules' own code costs per request, measured in process without any
// I/O: for each variant of bench/rules.ts, the per-request work that depends
// on the rules, as the proxy does it for wrk's GET / (plan the request, check
// the rate limits, edit the backend's response headers). Run as its own
// process by the rule-cost scenario (`node bench/rule-micro.ts [variant...]`,
// JSON on stdout), so its JIT state and heap are nobody else's.
//
// Through the network the noise of a small virtual machine is several times
// the cost of any single rule; here a rule's cost is a difference of
// nanoseconds that repeats to a few percent. What it leaves out is the cost of
// the extra header bytes in Node's HTTP server and the upstream client, and of the larger
// heap; the load runs show the whole.

import { loadConfigObject } from '../src/config/load.ts';
import { createLogger } from '../src/log.ts';
import { checkRateLimits } from '../src/ratelimit/rate-limit.ts';
import { RateLimitStores } from '../src/ratelimit/stores.ts';
import { compileRuntime } from '../src/runtime/compile.ts';
import type { Runtime } from '../src/runtime/compile.ts';
import { planRequest } from '../src/runtime/plan-request.ts';
import type { ClientRequest } from '../src/runtime/plan-request.ts';
import { BackendRegistry } from '../src/upstream/registry.ts';
import { RULE_VARIANTS, ruleCostConfig } from './rules.ts';
import type { RuleVariant } from './rules.ts';

export interface MicroResult {
  variant: RuleVariant;
  /** Median over the batches, in nanoseconds per request. */
  nsPerRequest: number;
  batches: number[];
}

// What wrk sends and what the backend nginx answers, as the proxy sees them.
const REQUEST: ClientRequest = { method: 'GET', url: '/', rawHeaders: ['Host', '127.0.0.1:8080'], peer: '127.0.0.1' };
const BACKEND_HEADERS = [
  'server', 'nginx/1.22.1',
  'date', 'Tue, 25 Nov 2026 03:00:00 GMT',
  'content-type', 'text/plain',
  'content-length', '21',
];

function compile(variant: RuleVariant): Runtime {
  const upstreams = [{ host: '127.0.0.1', port: 9001 }, { host: '127.0.0.1', port: 9002 }];
  const config = loadConfigObject(ruleCostConfig(8080, upstreams, variant));
  return compileRuntime(config, new BackendRegistry(), new RateLimitStores(), createLogger(false));
}

/** One request's rule-dependent work; returns something to keep the JIT from dropping it. */
function oneRequest(runtime: Runtime): number {
  const plan = planRequest(runtime, REQUEST);
  if (plan.kind !== 'forward') throw new Error(`wrk's request was not forwarded: ${plan.kind}`);
  const { route, context } = plan;
  if (route.rateLimits.length > 0) {
    const verdict = checkRateLimits(route.rateLimits, { clientIp: context.clientIp, rawHeaders: context.rawHeaders, routeName: route.name });
    if (verdict instanceof Promise || verdict.kind !== 'pass') throw new Error('the rate limit refused a request');
  }
  const headers = BACKEND_HEADERS.slice();
  route.answerHeaders(headers, context);
  return headers.length + plan.upstream.headers.length;
}

function batch(runtime: Runtime, iterations: number): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += oneRequest(runtime);
  const ns = Number(process.hrtime.bigint() - start);
  if (sink === 0) throw new Error('unreachable');
  return ns / iterations;
}

/** Batches of the variants interleaved, so that a slow second of the machine hits them all. */
export function measureRuleCode(variants: readonly RuleVariant[], batches = 9, iterations = 50_000): MicroResult[] {
  const runtimes = variants.map((variant) => ({ variant, runtime: compile(variant), batches: [] as number[] }));
  for (const r of runtimes) batch(r.runtime, iterations); // warm-up: JIT
  for (let b = 0; b < batches; b++) for (const r of runtimes) r.batches.push(batch(r.runtime, iterations));
  return runtimes.map(({ variant, batches: times }) => {
    const sorted = [...times].sort((x, y) => x - y);
    return { variant, nsPerRequest: sorted[Math.floor(sorted.length / 2)] as number, batches: times };
  });
}

if (import.meta.main) {
  const asked = process.argv.slice(2) as RuleVariant[];
  const variants = asked.length > 0 ? asked : [...RULE_VARIANTS];
  for (const v of variants) if (!RULE_VARIANTS.includes(v)) throw new Error(`unknown variant ${v}`);
  process.stdout.write(`${JSON.stringify(measureRuleCode(variants))}\n`);
}

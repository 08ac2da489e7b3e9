// `weir test`: route tests for a config. A spec lists requests and what must
// happen to each; every request runs through planRequest(), the decision
// code the proxy runs (client → route → guard → rewrite), with nothing sent
// and no rate limit counted:
//
//   tests:
//     - name: the api gets the rest of the path
//       request: { method: GET, url: "http://api.example.com/v1/users?x=1", headers: { X-Api-Key: k }, client_ip: 10.0.0.5 }
//       expect: { route: api, status: forward, service: api, backend_path: /users?x=1, backend_headers: { X-Api-Key: k, Cookie: null } }
//
// The spec is validated like a config (zod, file:line:column issues), and
// the route and service names it expects are checked against the config.

import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import * as z from 'zod';
import { didYouMean } from '../config/did-you-mean.ts';
import { headerName, method, nonEmptyText, text } from '../config/fields.ts';
import { formatKeyPath, type PathIssue } from '../config/issue.ts';
import { isPlainObject } from '../config/plain-object.ts';
import { ConfigError, type ConfigIssue, type WeirConfig } from '../config/types.ts';
import { readYaml, type Position } from '../config/yaml-document.ts';
import { friendlyMessage, fromZodError } from '../config/zod-issues.ts';
import { upstreamTarget } from '../http/request-target.ts';
import { createLogger } from '../log.ts';
import { RateLimitStores } from '../ratelimit/stores.ts';
import { compileRuntime, type Runtime } from '../runtime/compile.ts';
import { planRequest, type RequestPlan } from '../runtime/plan-request.ts';
import { BackendRegistry } from '../upstream/registry.ts';

export interface RouteTestRequest {
  method: string;
  /** "http://host/path?query" or "/path?query". */
  url: string;
  /** [name, value] in order, as written. */
  headers: Array<[string, string]>;
  clientIp: string;
}

export interface Expectations {
  route?: string;
  /** The status weir answers with itself, or "forward": the request reaches a backend. */
  status?: number | 'forward';
  service?: string;
  /** Path and query as the backend receives them. */
  backendPath?: string;
  /** Header name (as written) to value, or null: the backend must not receive it. */
  backendHeaders?: Array<[string, string | null]>;
  /** The Location of a redirect. */
  redirect?: string;
}

export interface RouteTest {
  name: string;
  /** "spec.yaml:12:5": where the test is written. */
  where: string;
  request: RouteTestRequest;
  expect: Expectations;
}

export interface RouteSpec {
  file: string;
  tests: RouteTest[];
}

export interface RouteTestReport {
  /** One line per test, the differences under each failure, and a summary line. */
  output: string;
  passed: number;
  failed: number;
}

const REDIRECT_STATUSES = [301, 302, 307, 308];

const statusSchema = z.unknown().transform((value, ctx): number | 'forward' => {
  if (value === 'forward' || (Number.isInteger(value) && (value as number) >= 100 && (value as number) <= 599)) return value as number | 'forward';
  ctx.addIssue({ code: 'custom', message: 'must be "forward" or a status from 100 to 599', input: value });
  return z.NEVER;
});

const urlSchema = z.string().superRefine((url, ctx) => {
  if (/^https:\/\//i.test(url)) {
    ctx.addIssue({
      code: 'custom',
      message: "weir's listener takes plain http://; for a request that came through a TLS proxy, write http://, a client_ip in trusted_proxies and the header X-Forwarded-Proto: https",
    });
  } else if (!/^http:\/\/[^/?#]+([/?].*)?$/i.test(url) && !url.startsWith('/')) {
    ctx.addIssue({ code: 'custom', message: 'must be "http://host/path" or "/path"' });
  }
});

const requestSchema = z.strictObject({
  method: method.default('GET').meta({ description: 'The method; default GET.' }),
  url: urlSchema.meta({ description: '"http://host/path?query" (the host becomes the Host header) or "/path?query".' }),
  headers: z
    .record(headerName, z.union([text, z.array(text).min(1)], { error: 'must be a value, or a list of values for a repeated header' }))
    .optional(),
  client_ip: z
    .string()
    .refine((ip) => isIP(ip) !== 0, { error: (issue) => `"${String(issue.input)}" is not an IP address` })
    .default('127.0.0.1'),
});

/** A header the backend must receive with this value, or (null) must not receive. */
const headerExpectation = z.unknown().transform((value, ctx): string | null => {
  if (value === null) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  ctx.addIssue({ code: 'custom', message: 'must be the value (text) or null for "absent"', input: value });
  return z.NEVER;
});

const EXPECT_KEYS = ['route', 'status', 'service', 'backend_path', 'backend_headers', 'redirect'] as const;

const expectSchema = z
  .strictObject({
    route: nonEmptyText.optional(),
    status: statusSchema.optional(),
    service: nonEmptyText.optional(),
    backend_path: z.string().regex(/^\//, { error: 'must start with "/"' }).optional(),
    backend_headers: z.record(headerName, headerExpectation).optional(),
    redirect: nonEmptyText.optional(),
  })
  .superRefine((expect, ctx) => {
    const status = expect.status;
    if (typeof status === 'number') {
      for (const key of ['service', 'backend_path', 'backend_headers'] as const) {
        if (expect[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `only a forwarded request reaches a backend; status is ${status}` });
      }
    }
    if (expect.redirect !== undefined && status !== undefined && !REDIRECT_STATUSES.includes(status as number)) {
      ctx.addIssue({ code: 'custom', path: ['redirect'], message: `only a redirect (${REDIRECT_STATUSES.join(', ')}) has a Location; status is ${status}` });
    }
  });

export const routeSpecSchema = z.strictObject({
  tests: z.array(z.strictObject({ name: nonEmptyText, request: requestSchema, expect: expectSchema })).min(1),
});

/** The config a spec is for when none is given: weir.test.yaml → weir.yaml; undefined for other names. */
export function specConfigFile(specFile: string): string | undefined {
  const match = /^(.*)\.test\.(ya?ml)$/.exec(specFile);
  return match ? `${match[1]}.${match[2]}` : undefined;
}

/** readRouteSpec() of a file; a file that cannot be read is a ConfigError too. */
export async function loadRouteSpecFile(file: string, config: WeirConfig): Promise<RouteSpec> {
  let specText: string;
  try {
    specText = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new ConfigError([{ file, line: 0, column: 0, path: '', message: `cannot read the spec: ${reason}` }]);
  }
  return readRouteSpec(specText, file, config);
}

/**
 * Reads and validates a spec; `config` is what it will run against, for the
 * route and service names it expects. Throws a ConfigError with every issue.
 */
export function readRouteSpec(specText: string, file: string, config: WeirConfig): RouteSpec {
  const yaml = readYaml(specText);
  const issueAt = (issue: PathIssue, position: Position): ConfigIssue => ({
    file,
    line: position.line,
    column: position.column,
    path: formatKeyPath(issue.path),
    message: issue.message,
  });
  if (!yaml.ok) throw new ConfigError(yaml.issues.map((issue) => issueAt(issue, issue)));
  const value = yaml.value ?? {};
  const parsed = routeSpecSchema.safeParse(value, { error: friendlyMessage });
  const issues: PathIssue[] = parsed.success ? [] : fromZodError(parsed.error, routeSpecSchema);
  const tests = Array.isArray((value as { tests?: unknown }).tests) ? ((value as { tests: unknown[] }).tests) : [];
  issues.push(...emptyExpectations(tests), ...repeatedNames(tests), ...unknownNames(tests, config));
  if (!parsed.success || issues.length > 0) {
    const located = issues.map((issue) => issueAt(issue, yaml.locate(issue)));
    throw new ConfigError(located.sort((a, b) => a.line - b.line || a.column - b.column));
  }
  return {
    file,
    tests: parsed.data.tests.map((test, index) => {
      const at = yaml.locate({ path: ['tests', index], message: '' });
      const expect: Expectations = {};
      if (test.expect.route !== undefined) expect.route = test.expect.route;
      if (test.expect.status !== undefined) expect.status = test.expect.status;
      if (test.expect.service !== undefined) expect.service = test.expect.service;
      if (test.expect.backend_path !== undefined) expect.backendPath = test.expect.backend_path;
      if (test.expect.backend_headers !== undefined) expect.backendHeaders = Object.entries(test.expect.backend_headers);
      if (test.expect.redirect !== undefined) expect.redirect = test.expect.redirect;
      return {
        name: test.name,
        where: `${file}:${at.line}:${at.column}`,
        request: {
          method: test.request.method,
          url: test.request.url,
          headers: Object.entries(test.request.headers ?? {}).flatMap(([name, values]) =>
            (Array.isArray(values) ? values : [values]).map((value): [string, string] => [name, value]),
          ),
          clientIp: test.request.client_ip,
        },
        expect,
      };
    }),
  };
}

/** `expect: {}` passes the schema, but a test that expects nothing cannot fail. */
function emptyExpectations(tests: unknown[]): PathIssue[] {
  return tests.flatMap((test, index) => {
    const expect = (test as { expect?: unknown } | null)?.expect;
    if (!isPlainObject(expect) || Object.keys(expect).length > 0) return [];
    return [{ path: ['tests', index, 'expect'], message: `expects nothing; give at least one of ${EXPECT_KEYS.join(', ')}` }];
  });
}

function repeatedNames(tests: unknown[]): PathIssue[] {
  const first = new Map<string, number>();
  const issues: PathIssue[] = [];
  tests.forEach((test, index) => {
    const name = (test as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    const earlier = first.get(name);
    if (earlier === undefined) first.set(name, index);
    else issues.push({ path: ['tests', index, 'name'], message: `"${name}" is already the name of tests[${earlier}]` });
  });
  return issues;
}

/** Expected routes and services the config does not have: a typo would otherwise read as a failed test. */
function unknownNames(tests: unknown[], config: WeirConfig): PathIssue[] {
  const routes = config.routes.map((route) => route.name);
  const services = [...config.services.keys()];
  const issues: PathIssue[] = [];
  tests.forEach((test, index) => {
    const expect = (test as { expect?: unknown } | null)?.expect as Record<string, unknown> | null | undefined;
    for (const [key, known] of [['route', routes], ['service', services]] as const) {
      const name = expect?.[key];
      if (typeof name !== 'string' || name === '' || known.includes(name)) continue;
      const hint = didYouMean(name, known) || `; the ${key}s are ${known.map((k) => `"${k}"`).join(', ')}`;
      issues.push({ path: ['tests', index, 'expect', key], message: `the config has no ${key} "${name}"${hint}` });
    }
  });
  return issues;
}

/** Runs every test of the spec against the config. */
export function runRouteSpec(config: WeirConfig, spec: RouteSpec): RouteTestReport {
  const runtime = compileForTests(config);
  const lines: string[] = [];
  let failed = 0;
  for (const test of spec.tests) {
    const plan = planFor(runtime, test.request);
    const differences = compareWith(test.expect, plan);
    if (differences.length === 0) {
      lines.push(`ok   ${test.name}`);
      continue;
    }
    failed++;
    lines.push(`FAIL ${test.name} (${test.where})`, ...differences.map((line) => `       ${line}`), `       happened: ${describePlan(plan)}`);
  }
  const passed = spec.tests.length - failed;
  lines.push(`${spec.tests.length} test${spec.tests.length === 1 ? '' : 's'}: ${passed} passed, ${failed} failed`);
  return { output: lines.join('\n'), passed, failed };
}

/**
 * The runtime without rate limits: they are not what a route test is
 * about, and a limit kept in Redis would open a connection.
 */
export function compileForTests(config: WeirConfig): Runtime {
  const withoutLimits: WeirConfig = {
    ...config,
    defaults: { ...config.defaults, rateLimits: [] },
    routes: config.routes.map((route) => ({ ...route, rateLimits: [] })),
  };
  const stores = new RateLimitStores();
  try {
    return compileRuntime(withoutLimits, new BackendRegistry(), stores, createLogger(false));
  } finally {
    // Nothing was put in them; this only stops their sweep timer.
    void stores.close();
  }
}

function planFor(runtime: Runtime, request: RouteTestRequest): RequestPlan {
  const match = /^http:\/\/([^/?#]*)(.*)$/i.exec(request.url);
  const rest = match ? match[2] || '/' : request.url;
  const target = rest.startsWith('/') ? rest : `/${rest}`;
  const rawHeaders: string[] = [];
  if (match && !request.headers.some(([name]) => name.toLowerCase() === 'host')) rawHeaders.push('Host', match[1] ?? '');
  for (const [name, value] of request.headers) rawHeaders.push(name, value);
  return planRequest(runtime, { method: request.method, url: target, rawHeaders, peer: request.clientIp });
}

/** "status: expected 403, got forward", one line per expectation not met. */
function compareWith(expect: Expectations, plan: RequestPlan): string[] {
  const differences: string[] = [];
  const check = (key: string, expected: string | undefined, actual: string): void => {
    if (expected !== undefined && expected !== actual) differences.push(`${key}: expected ${expected}, got ${actual}`);
  };
  const quoted = (value: string | undefined): string | undefined => (value === undefined ? undefined : JSON.stringify(value));
  const forward = plan.kind === 'forward' ? plan : undefined;
  const notForwarded = 'nothing (not forwarded)';

  check('route', quoted(expect.route), plan.route ? JSON.stringify(plan.route.name) : 'no route');
  check('status', expect.status === undefined ? undefined : String(expect.status), statusOf(plan));
  check('service', quoted(expect.service), forward ? JSON.stringify(forward.service.name) : notForwarded);
  check('backend_path', quoted(expect.backendPath), forward ? JSON.stringify(upstreamTarget(forward.upstream)) : notForwarded);
  for (const [name, value] of expect.backendHeaders ?? []) {
    const actual = forward ? headerValue(forward.upstream.headers, name) : undefined;
    const expected = value === null ? 'absent' : JSON.stringify(value);
    const got = forward === undefined ? notForwarded : actual === undefined ? 'absent' : JSON.stringify(actual);
    if (expected !== got) differences.push(`backend_headers.${name}: expected ${expected}, got ${got}`);
  }
  check('redirect', quoted(expect.redirect), plan.kind === 'redirect' ? JSON.stringify(plan.location) : 'no redirect');
  return differences;
}

function statusOf(plan: RequestPlan): string {
  switch (plan.kind) {
    case 'refuse':
      return String(plan.failure.status);
    case 'redirect':
    case 'respond':
      return String(plan.status);
    case 'forward':
      return 'forward';
  }
}

/** Every value of the header (any case), joined with ", " as a list; undefined when there is none. */
function headerValue(headers: readonly string[], name: string): string | undefined {
  const lower = name.toLowerCase();
  const values = headers.filter((_, i) => i % 2 === 1 && headers[i - 1]?.toLowerCase() === lower);
  return values.length === 0 ? undefined : values.join(', ');
}

/** What happened, in one line, for a failed test. */
function describePlan(plan: RequestPlan): string {
  const route = plan.route ? `route "${plan.route.name}"` : 'no route';
  switch (plan.kind) {
    case 'refuse':
      return `${route} → ${plan.failure.status} (${plan.failure.reason})`;
    case 'redirect':
      return `${route} → ${plan.status} redirect to ${plan.location}`;
    case 'respond':
      return `${route} → ${plan.status} answered by weir`;
    case 'forward':
      return `${route} → service ${plan.service.name}, backend receives ${plan.upstream.method} ${upstreamTarget(plan.upstream)}`;
  }
}

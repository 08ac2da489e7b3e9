// npm run bench: weir against nginx, HAProxy and http-proxy on the same two
// backends, one process each, in interleaved rounds; nginx, HAProxy and weir
// with two workers (or threads) each; nginx, HAProxy and weir terminating
// TLS; weir without and with a typical rule set, and without and with its
// access log and metrics; then a backend killed and restarted under load.
// Markdown report on stdout (progress on stderr), raw results in
// bench/results/<timestamp>.json. See bench/README.md.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAULT_NOT_RUN, FAULT_VICTIM, faultPlan, faultTable, runFaultScenario } from './fault.ts';
import type { FaultRun } from './fault.ts';
import { deadError, startBackends, startLb, startSink, startWeirWith, TLS_LBS } from './lbs.ts';
import type { Context, LbName, Running, TlsLbName } from './lbs.ts';
import {
  accessLogFigures,
  MetricsScraper,
  OBSERVE_BASELINE,
  OBSERVE_VARIANTS,
  observeErrorsText,
  observeRunProblem,
  observeSection,
  observeVerdict,
  observeYaml,
  settledSize,
  summarizeAccessLog,
  waitForAdminUrl,
} from './observe-cost.ts';
import type { ObserveFigures, ObserveVariant } from './observe-cost.ts';
import { parseOptions, USAGE } from './options.ts';
import type { Options } from './options.ts';
import { allowedCpus, cpuPlan, pinTree } from './pinning.ts';
import type { CpuPlan } from './pinning.ts';
import { isAlive, killAllNow, runCommand, stopAll, stopProcess } from './processes.ts';
import { TreeSampler, treeRssBytes, whileSampling } from './procfs.ts';
import { formatTopFunctions, readProfile, summarizeProfile } from './profile.ts';
import { median, summarizeUpload, summarizeWrk, targets, targetsSection, uploadTable, wrkTable } from './report.ts';
import type { TargetInput, UploadRun, WrkRun, WrkScenario, WrkSummary } from './report.ts';
import { checkRulesApply, refusedText, roundSchedule, ruleCostSection, ruleCostVariants, ruleCostVerdict } from './rule-cost.ts';
import type { MicroResult } from './rule-micro.ts';
import { ruleCostYaml } from './rules.ts';
import type { RuleVariant } from './rules.ts';
import { ensureTools, formatMachine, machineInfo } from './setup.ts';
import type { MachineInfo } from './setup.ts';
import { runTlsScenario, tlsInformational, tlsSection, tlsSummaries } from './tls.ts';
import type { TlsOutcome } from './tls.ts';
import { streamUpload } from './upload.ts';
import {
  endLeftovers,
  NGINX_1,
  processesWith,
  snapshotDescendants,
  WORKER_LBS,
  WORKERS,
  WORKERS_LOADS,
  workersExplanation,
  workersLabel,
  workersTable,
} from './workers.ts';
import type { ProcId } from './workers.ts';
import { runWrk } from './wrk.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const UPLOAD_TIMEOUT_MS = 300_000;
const WRK_THREADS = 2;
const DIRECT = 'direct';
/**
 * The rule-cost scenario loads processes that just started: over their first
 * seconds V8 grows its heap and tiers up the hot code, which put the p99 of a
 * 5 s run after a 2 s warm-up at 14-87 ms, and at 11-28 ms after 10 s.
 */
const RULES_MIN_WARMUP_S = 5;
/** wrk's connections in the paired scenarios, as in the throughput table: also the most requests in flight when wrk stops. */
const PAIRED_CONNECTIONS = 64;

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Round r starts one load balancer further along, so none always runs first. */
function rotate<T>(items: T[], by: number): T[] {
  if (items.length === 0) return items;
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

interface State {
  opts: Options;
  ctx: Context;
  wrkRuns: WrkRun[];
  uploadRuns: UploadRun[];
  /** Load balancers left out, with the reason. */
  skipped: Map<string, string>;
  /** Resident memory of each instance once it answered its first request, by instance ("main", "upload", "fault") and name. */
  startRss: Record<string, Record<string, number>>;
  faultRuns: FaultRun[];
  /** Load balancers without a backend-failure run, with the reason for the table. */
  faultSkipped: Map<string, string>;
  /** Why a load balancer did not start with its failover config (its log), for the notes. */
  faultStartErrors: Map<string, string>;
  /** Rule-cost variants left out (did not start, or their rules were not in force), with the reason. */
  rulesSkipped: Map<string, string>;
  /** The rule-cost scenario's CPUs, or why it ran unpinned. */
  rulesPinning?: CpuPlan | string;
  /** The rules' own code per request, in process (rule-micro.ts), or why it has no figures. */
  ruleMicro?: MicroResult[] | string;
  /** Observability-cost variants left out (did not start, or no admin listener or access log), with the reason. */
  observeSkipped: Map<string, string>;
  /** The observability scenario's CPUs, or why it ran unpinned. */
  observePinning?: CpuPlan | string;
  /** Rows of the workers scenario left out ("weir-2": did not start), with the reason for the table. */
  workersSkipped: Map<string, string>;
  /** Why a row of the workers scenario did not start (its log), for the notes. */
  workersStartErrors: Map<string, string>;
  /** Processes of a workers instance still running after its primary was stopped, which the harness had to kill. */
  workersLeftovers: string[];
  /** The TLS scenario's runs, probes and load balancers left out. */
  tls?: TlsOutcome;
  /** tsc's output when dist/ did not build. */
  buildError?: string;
}

async function startAll(state: State, instance: string, upstreams: Parameters<typeof startLb>[2]) {
  const running = new Map<LbName, Running>();
  for (const name of state.opts.only) {
    if (state.skipped.has(name)) continue;
    try {
      const lb = await startLb(name, instance, upstreams, state.ctx);
      running.set(name, lb);
      const rss = treeRssBytes(lb.proc.pid);
      (state.startRss[instance] ??= {})[name] = rss;
      log(`${name} (${instance}) ready on ${lb.url} (pid ${lb.proc.pid}, RSS ${mib(rss)})`);
    } catch (err) {
      state.skipped.set(name, `failed to start (${instance})`);
      log(`SKIPPING ${name}: it did not start.\n${errorText(err)}`);
    }
  }
  return running;
}


/** `label` names the run's row: the load balancer, or the rule variant in the rule-cost scenario; `cpus` pins wrk. */
async function measureWrk(
  state: State,
  lb: Running,
  round: number,
  scenario: WrkScenario,
  connections: number,
  label = lb.name.split(' ')[0] as string,
  cpus?: string,
): Promise<WrkRun> {
  const run: WrkRun = { round, lb: label, scenario };
  const measured = await whileSampling(lb.proc.pid, () =>
    runWrk({
      url: lb.url,
      threads: WRK_THREADS,
      connections,
      durationS: state.opts.durationS,
      latency: true,
      cpus,
    }),
  );
  if (measured.result) run.wrk = measured.result;
  else run.error = errorText(measured.error);
  Object.assign(run, measured.cost);
  if (!isAlive(lb.proc)) {
    run.error = deadError(lb);
    delete run.wrk;
  }
  // A refused request is answered by weir without a backend: cheaper, so it would flatter the rules;
  // a failed one is not what the observability scenario compares either.
  const invalid = !run.wrk
    ? undefined
    : scenario === 'rules'
      ? refusedText(run.wrk.socketErrors, run.wrk.non2xx3xx)
      : scenario === 'observe'
        ? observeErrorsText(run.wrk.socketErrors, run.wrk.non2xx3xx)
        : undefined;
  if (invalid) {
    run.error = invalid;
    log(`  ${scenario === 'rules' ? 'RULE COST' : 'OBSERVABILITY COST'} RUN NOT VALID (${label}, round ${round}): ${invalid}`);
  }
  if (run.wrk) {
    const w = run.wrk;
    const errs = w.socketErrors + w.non2xx3xx;
    log(
      `  ${scenario === 'rules' ? `weir with rules: ${label}` : scenario === 'observe' ? `weir with observability ${label}` : `${run.lb} ${scenario}`}: ${Math.round(w.requestsPerSec)} req/s, p50 ${w.p50Ms} ms, p99 ${w.p99Ms} ms, ` +
        `peak RSS ${mib(measured.cost.peakRssBytes)}, CPU ${(measured.cost.cpuCores * 100).toFixed(0)}%` +
        (errs > 0 ? `, ${errs} errors` : '') +
        `, other processes ${((run.otherCores ?? 0) * 100).toFixed(0)}% CPU`,
    );
  } else {
    log(`  ${run.lb} ${scenario} FAILED: ${run.error}`);
  }
  state.wrkRuns.push(run);
  return run;
}

/**
 * The throughput tables' rounds, for the main tables and the workers scenario:
 * in each round every instance in turn (one further along each round) gets a
 * warm-up at 64 connections, then the measured run at 64 and the one at 256,
 * recorded as `scenarios` under the instance's label.
 */
async function interleavedRounds(
  state: State,
  lbs: Array<[string, Running]>,
  scenarios: ReadonlyArray<{ scenario: WrkScenario; connections: number }>,
  what = '',
): Promise<void> {
  const { opts } = state;
  for (let round = 1; round <= opts.rounds; round++) {
    for (const [name, lb] of rotate(lbs, round - 1)) {
      log(`${what}round ${round}/${opts.rounds}: ${name}`);
      if (!isAlive(lb.proc)) {
        for (const { scenario } of scenarios) state.wrkRuns.push({ round, lb: name, scenario, error: deadError(lb) });
        continue;
      }
      try {
        await runWrk({ url: lb.url, threads: WRK_THREADS, connections: 64, durationS: opts.warmupS, latency: false });
      } catch (err) {
        log(`  ${name} warm-up failed: ${errorText(err)}`);
      }
      for (const { scenario, connections } of scenarios) await measureWrk(state, lb, round, scenario, connections, name);
    }
  }
}

async function loadScenarios(state: State, upstreams: Parameters<typeof startLb>[2]): Promise<void> {
  const lbs = await startAll(state, 'main', upstreams);
  try {
    await interleavedRounds(state, [...lbs], [
      { scenario: 'throughput', connections: 64 },
      { scenario: 'memory256', connections: 256 },
    ]);
  } finally {
    // Stopping weir here also makes it write its CPU profile (with --profile).
    await Promise.all([...lbs.values()].map((lb) => stopProcess(lb.proc, 15_000)));
  }
}

/** weir's config file of the workers instance: a path unique to this run, on its workers' command lines too if they are forked from it. */
function workersConfigPath(ctx: Context): string {
  return path.join(ctx.tmp, 'weir-workers', 'weir.yaml');
}

/**
 * Stops a workers instance by its pid, then ends (by pid) any of its
 * processes still running 2 s later, and records them: weir's workers must
 * exit with their primary.
 */
async function stopWorkersInstance(state: State, label: string, lb: Running): Promise<void> {
  const tree = snapshotDescendants(lb.proc.pid);
  await stopProcess(lb.proc, 15_000);
  await endWorkersLeftovers(state, label, tree);
}

async function endWorkersLeftovers(state: State, label: string, tree: ProcId[]): Promise<void> {
  const byConfig = label === workersLabel('weir') ? processesWith(workersConfigPath(state.ctx)) : [];
  const candidates = [...tree, ...byConfig.filter((p) => !tree.some((t) => t.pid === p.pid))];
  const killed = await endLeftovers(candidates);
  if (killed.length > 0) {
    const text = `${label}: ${killed.length} process(es) (pid ${killed.join(', ')}) still ran 2 s after the primary had exited; the harness killed them`;
    state.workersLeftovers.push(text);
    log(`WARNING ${text}`);
  }
}

/**
 * nginx, HAProxy and weir with WORKERS workers (threads for HAProxy) each, in
 * front of the main tables' backends, in the same kind of rounds. With
 * --workers-only nginx with one worker is measured in the same rounds, as the
 * reference the main table would otherwise give.
 */
async function workersScenario(state: State, upstreams: Parameters<typeof startLb>[2]): Promise<void> {
  const { opts, ctx } = state;
  const instances: Array<[string, Running]> = [];
  const startRss = (state.startRss.workers ??= {});
  try {
    if (!opts.throughput && opts.only.includes('nginx')) {
      try {
        const lb = await startLb('nginx', 'main', upstreams, ctx);
        instances.push([NGINX_1, lb]);
        startRss[NGINX_1] = treeRssBytes(lb.proc.pid);
        log(`nginx with one worker (reference) ready on ${lb.url} (pid ${lb.proc.pid}, RSS ${mib(startRss[NGINX_1])})`);
      } catch (err) {
        state.workersSkipped.set(NGINX_1, 'skipped: did not start (its output is in the notes)');
        state.workersStartErrors.set(NGINX_1, errorText(err));
        log(`SKIPPING nginx with one worker: it did not start.\n${errorText(err)}`);
      }
    }
    for (const name of WORKER_LBS) {
      if (!opts.only.includes(name)) continue;
      const label = workersLabel(name);
      if (name === 'weir' && state.buildError) {
        state.workersSkipped.set(label, 'skipped: dist/ did not build (tsc errors in the notes)');
        continue;
      }
      try {
        const lb = await startLb(name, 'workers', upstreams, ctx, 'plain', WORKERS);
        instances.push([label, lb]);
        // The workers may still be starting; the load's sampler re-reads the tree.
        startRss[label] = treeRssBytes(lb.proc.pid);
        log(`${label} ready on ${lb.url} (pid ${lb.proc.pid}, RSS ${mib(startRss[label])})`);
      } catch (err) {
        state.workersSkipped.set(label, `skipped: did not start with ${WORKERS} workers (its output is in the notes)`);
        state.workersStartErrors.set(label, errorText(err));
        log(`SKIPPING ${label}: it did not start.\n${errorText(err)}`);
        // It was stopped by its pid; anything it forked must be gone too.
        if (name === 'weir') await endWorkersLeftovers(state, label, []);
      }
    }
    await interleavedRounds(state, instances, WORKERS_LOADS, 'workers ');
  } finally {
    await Promise.all(instances.map(([label, lb]) => stopWorkersInstance(state, label, lb)));
  }
}

function tlsLbs(opts: Options): TlsLbName[] {
  return TLS_LBS.filter((n) => opts.only.includes(n));
}

/** nginx, HAProxy and weir terminating TLS in front of the main tables' backends (bench/tls.ts). */
async function tlsScenario(state: State, upstreams: Parameters<typeof startLb>[2]): Promise<void> {
  const { opts } = state;
  const notRun = new Map<string, string>();
  if (state.buildError) notRun.set('weir', 'skipped: dist/ did not build (tsc errors in the notes)');
  state.tls = await runTlsScenario({
    rounds: opts.rounds,
    durationS: opts.durationS,
    warmupS: opts.warmupS,
    lbs: tlsLbs(opts),
    ctx: state.ctx,
    upstreams,
    notRun,
    log,
  });
  state.startRss.tls = state.tls.startRss;
}

function tlsReport(state: State): string[] {
  const outcome = state.tls;
  if (outcome?.notRun) return ['## TLS', '', `The TLS scenario did ${outcome.notRun}.`, ''];
  return tlsSection({
    durationS: state.opts.durationS,
    rounds: state.opts.rounds,
    lbs: tlsLbs(state.opts),
    runs: outcome?.runs ?? [],
    missing: outcome?.missing ?? new Map(),
    probes: outcome?.probes ?? {},
    startRss: outcome?.startRss ?? {},
  });
}

async function uploadScenario(state: State): Promise<void> {
  const { opts } = state;
  const sink = await startSink(state.ctx);
  const lbs = await startAll(state, 'upload', sink.upstreams);
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      // "direct" is the client straight to the sink: the ceiling the load balancers are measured against.
      const entries: Array<[string, Running]> = [[DIRECT, sink.proc], ...lbs];
      for (const [name, lb] of rotate(entries, round - 1)) {
        const run: UploadRun = { round, lb: name };
        if (!isAlive(lb.proc)) {
          run.error = deadError(lb);
        } else {
          const sampler = name === DIRECT ? undefined : new TreeSampler(lb.proc.pid);
          try {
            run.result = await streamUpload(lb.url, opts.uploadBytes, UPLOAD_TIMEOUT_MS);
          } catch (err) {
            run.error = errorText(err);
          }
          const sample = sampler?.stop();
          run.peakRssBytes = sample?.peakRssBytes;
          run.cpuCores = sample?.cpuCores;
        }
        if (run.result) {
          log(
            `round ${round}/${opts.rounds}: ${name} upload ${run.result.durationS.toFixed(2)} s, ` +
              `${run.result.mbPerS.toFixed(0)} MB/s` +
              (run.peakRssBytes === undefined ? '' : `, peak RSS ${mib(run.peakRssBytes)}`),
          );
        } else {
          log(`round ${round}/${opts.rounds}: ${name} upload FAILED: ${run.error}`);
        }
        state.uploadRuns.push(run);
      }
    }
  } finally {
    await Promise.all([...lbs.values(), sink.proc].map((lb) => stopProcess(lb.proc, 15_000)));
  }
}

/** Runs bench/rule-micro.ts on weir's CPU before any load; its figures, or why there are none. */
async function ruleMicro(variants: RuleVariant[], ctx: Context, pin: CpuPlan | undefined): Promise<MicroResult[] | string> {
  const script = path.join(ctx.repoRoot, 'bench', 'rule-micro.ts');
  const [command, args] = pin ? ['taskset', ['-c', pin.lb, ctx.nodeBin, script, ...variants]] : [ctx.nodeBin, [script, ...variants]];
  log(`rule cost: the rules' own code, in process (${variants.join(', ')}) ...`);
  try {
    const { code, output } = await runCommand(command, args, 120_000);
    if (code !== 0) return `bench/rule-micro.ts exited with ${code}: ${output.trim().split('\n').slice(-3).join(' ')}`;
    const results = JSON.parse(output) as MicroResult[];
    for (const r of results) log(`  ${r.variant}: ${(r.nsPerRequest / 1000).toFixed(2)} µs per request`);
    return results;
  } catch (err) {
    return `bench/rule-micro.ts failed: ${errorText(err)}`;
  }
}

/** weir on a CPU of its own, wrk and the backends on the others (pinning.ts); or why that cannot be done. */
function pinPairs(backendPid: number): CpuPlan | string {
  const plan = cpuPlan(allowedCpus() ?? []);
  if (!plan) return 'not pinned: fewer than two CPUs, or no taskset';
  const problem = pinTree(backendPid, plan.rest);
  return problem ? `not pinned: ${problem}` : plan;
}

/** What a paired scenario does around one instance's load, besides wrk (the observability scenario's scrapes and access log). */
interface LoadHooks {
  /** Before the warm-up. */
  beforeWarmup?(): void;
  /** Between the warm-up and the measured run. */
  beforeMeasure?(): Promise<void>;
  /** After the measured run, with its record (already in state.wrkRuns): may add figures, or an error that voids it. */
  afterMeasure?(run: WrkRun): Promise<void>;
  /** Always, once the instance is done with (stops what the hooks started). */
  dispose?(): Promise<void>;
}

interface PairedInstance {
  lb: Running;
  /** Resident memory once it answered, checked and pinned. */
  rss: number;
  hooks?: LoadHooks;
}

/**
 * A scenario of paired runs (rule-cost.ts): every round starts a fresh process
 * per variant, then runs each variant right next to the baseline
 * (roundSchedule), each after a warm-up of at least RULES_MIN_WARMUP_S, under
 * the throughput table's load.
 */
interface PairedPlan<V extends string> {
  /** "rule cost", "observability cost": for the log. */
  name: string;
  scenario: 'rules' | 'observe';
  variants: readonly V[];
  baseline: V;
  /** Variants left out, with the reason; `start` adds to it. */
  skipped: Map<string, string>;
  pin: CpuPlan | undefined;
  /** Starts, pins and checks one instance; undefined (after recording why in `skipped`) when that failed. */
  start(variant: V, round: number): Promise<PairedInstance | undefined>;
}

/** Runs the rounds; returns each variant's median RSS at start. */
async function pairedRounds<V extends string>(state: State, plan: PairedPlan<V>): Promise<Record<string, number>> {
  const { opts } = state;
  const startRss: Record<string, number[]> = {};
  for (let round = 1; round <= opts.rounds; round++) {
    // Fresh processes every round: two weir processes with the same config
    // measured several percent apart for their whole life, so one pair of
    // processes would measure that rather than the variant.
    const running = new Map<V, PairedInstance>();
    try {
      for (const variant of plan.variants) {
        if (plan.skipped.has(variant)) continue;
        const started = await plan.start(variant, round);
        if (!started) continue;
        running.set(variant, started);
        (startRss[variant] ??= []).push(started.rss);
      }
      for (const variant of roundSchedule([...running.keys()], round, plan.baseline)) {
        const instance = running.get(variant);
        if (!instance) continue;
        const { lb, hooks } = instance;
        log(`${plan.name} round ${round}/${opts.rounds}: ${variant}`);
        if (!isAlive(lb.proc)) {
          state.wrkRuns.push({ round, lb: variant, scenario: plan.scenario, error: deadError(lb) });
          continue;
        }
        hooks?.beforeWarmup?.();
        try {
          const durationS = Math.max(opts.warmupS, RULES_MIN_WARMUP_S);
          await runWrk({ url: lb.url, threads: WRK_THREADS, connections: PAIRED_CONNECTIONS, durationS, latency: false, cpus: plan.pin?.rest });
        } catch (err) {
          log(`  ${variant} warm-up failed: ${errorText(err)}`);
        }
        await hooks?.beforeMeasure?.();
        const run = await measureWrk(state, lb, round, plan.scenario, PAIRED_CONNECTIONS, variant, plan.pin?.rest);
        await hooks?.afterMeasure?.(run);
      }
    } finally {
      await Promise.all([...running.values()].map(async ({ lb, hooks }) => {
        await hooks?.dispose?.();
        await stopProcess(lb.proc, 15_000);
      }));
    }
  }
  return Object.fromEntries(Object.entries(startRss).map(([variant, values]) => [variant, median(values)]));
}

/** One weir of the rule-cost scenario, pinned, its rules checked; undefined (and the variant skipped) when that fails. */
async function startRuleInstance(
  state: State,
  variant: RuleVariant,
  upstreams: Parameters<typeof startLb>[2],
  pin: CpuPlan | undefined,
): Promise<PairedInstance | undefined> {
  let lb: Running | undefined;
  try {
    lb = await startWeirWith(`rules-${variant}`, (port) => ruleCostYaml(port, upstreams, variant), state.ctx);
    const pinError = pin && pinTree(lb.proc.pid, pin.lb);
    if (pinError) throw new Error(`cannot pin it: ${pinError}`);
    const rss = treeRssBytes(lb.proc.pid);
    const problem = await checkRulesApply(lb.url, variant);
    if (problem) throw new Error(`its rules are not in force: ${problem}`);
    log(`weir (rules: ${variant}) ready on ${lb.url} (pid ${lb.proc.pid}, RSS ${mib(rss)})`);
    return { lb, rss };
  } catch (err) {
    if (lb) await stopProcess(lb.proc, 15_000);
    state.rulesSkipped.set(variant, `skipped: ${errorText(err).split('\n')[0]}`);
    log(`SKIPPING weir with rules "${variant}": ${errorText(err)}`);
    return undefined;
  }
}

async function ruleCostScenario(state: State, backends: { proc: Running; upstreams: Parameters<typeof startLb>[2] }): Promise<void> {
  const variants = ruleCostVariants(state.opts.rulesBreakdown);
  state.rulesPinning = pinPairs(backends.proc.proc.pid);
  const pin = typeof state.rulesPinning === 'string' ? undefined : state.rulesPinning;
  log(pin ? `rule cost: weir on CPU ${pin.lb}, wrk and backends on ${pin.rest}` : `rule cost: ${state.rulesPinning as string}`);
  state.ruleMicro = await ruleMicro(variants, state.ctx, pin);
  state.startRss.rules = await pairedRounds(state, {
    name: 'rule cost',
    scenario: 'rules',
    variants,
    baseline: 'none',
    skipped: state.rulesSkipped,
    pin,
    start: (variant) => startRuleInstance(state, variant, backends.upstreams, pin),
  });
}

/**
 * The observability scenario's hooks for an "on" instance: /metrics scraped
 * from before the warm-up to the end of the measured run; the access log's
 * size taken once it is still after the warm-up, and the lines written
 * during the run counted against wrk's requests after it.
 */
function observeHooks(adminUrl: string, accessLog: string): LoadHooks {
  const scraper = new MetricsScraper(new URL('/metrics', adminUrl).href);
  let before = 0;
  return {
    beforeWarmup: () => scraper.start(),
    beforeMeasure: async () => {
      before = await settledSize(accessLog);
    },
    afterMeasure: async (run) => {
      const scrapes = await scraper.stop();
      const after = await settledSize(accessLog);
      const figures: ObserveFigures = { scrapes };
      if (run.wrk) figures.accessLog = await accessLogFigures(accessLog, before, after, run.wrk, PAIRED_CONNECTIONS);
      run.observe = figures;
      const a = figures.accessLog;
      log(
        `  access log: ${a ? `${a.lines} lines for ${a.requests} requests (${a.lines - a.requests >= 0 ? '+' : ''}${a.lines - a.requests}), ` +
          `${mib(a.bytes)} in the run, file ${mib(a.fileBytes)}` : 'not read (no wrk result)'}; ` +
          `/metrics: ${scrapes.scrapes - scrapes.failed}/${scrapes.scrapes} scrapes, median ${scrapes.medianMs.toFixed(1)} ms`,
      );
      const problem = run.wrk ? observeRunProblem(figures) : undefined;
      if (problem) {
        run.error = run.error ? `${run.error}; ${problem}` : problem;
        log(`  OBSERVABILITY COST RUN NOT VALID (round ${run.round}): ${problem}`);
      }
    },
    dispose: async () => {
      await scraper.stop();
    },
  };
}

/** One weir of the observability scenario, pinned; for "on", its admin listener found and answering and its access log written. */
async function startObserveInstance(
  state: State,
  variant: ObserveVariant,
  round: number,
  upstreams: Parameters<typeof startLb>[2],
  pin: CpuPlan | undefined,
): Promise<PairedInstance | undefined> {
  let lb: Running | undefined;
  // A directory per round: a fresh access log, and weir's own log with this process's admin address only.
  const instance = `observe-${variant}-r${round}`;
  const accessLog = path.join(state.ctx.tmp, `weir-${instance}`, 'access.log');
  try {
    lb = await startWeirWith(instance, (port) => observeYaml(port, upstreams, variant, accessLog), state.ctx);
    const pinError = pin && pinTree(lb.proc.pid, pin.lb);
    if (pinError) throw new Error(`cannot pin it: ${pinError}`);
    const rss = treeRssBytes(lb.proc.pid);
    let hooks: LoadHooks | undefined;
    if (variant === 'on') {
      const adminUrl = await waitForAdminUrl(lb.proc.logFile);
      if (!adminUrl) throw new Error(`no "admin" address in its log ${lb.proc.logFile} within 5 s`);
      const probe = new MetricsScraper(new URL('/metrics', adminUrl).href);
      probe.start();
      const first = await probe.stop();
      if (first.failed > 0) throw new Error(`its admin listener does not serve the metrics: ${first.firstError ?? '?'}`);
      // The readiness probe's GET / must have its line.
      if ((await settledSize(accessLog)) === 0) throw new Error(`its access log ${accessLog} is empty after GET / was answered`);
      hooks = observeHooks(adminUrl, accessLog);
      log(`weir (observability on) ready on ${lb.url}, admin ${adminUrl}, access log ${accessLog} (pid ${lb.proc.pid}, RSS ${mib(rss)})`);
    } else {
      log(`weir (observability off) ready on ${lb.url} (pid ${lb.proc.pid}, RSS ${mib(rss)})`);
    }
    return { lb, rss, ...(hooks && { hooks }) };
  } catch (err) {
    if (lb) await stopProcess(lb.proc, 15_000);
    state.observeSkipped.set(variant, `skipped: ${errorText(err).split('\n')[0]}`);
    log(`SKIPPING weir with observability "${variant}": ${errorText(err)}`);
    return undefined;
  }
}

async function observeCostScenario(state: State, backends: { proc: Running; upstreams: Parameters<typeof startLb>[2] }): Promise<void> {
  state.observePinning = pinPairs(backends.proc.proc.pid);
  const pin = typeof state.observePinning === 'string' ? undefined : state.observePinning;
  log(pin ? `observability cost: weir on CPU ${pin.lb}, wrk and backends on ${pin.rest}` : `observability cost: ${state.observePinning as string}`);
  state.startRss.observe = await pairedRounds(state, {
    name: 'observability cost',
    scenario: 'observe',
    variants: OBSERVE_VARIANTS,
    baseline: OBSERVE_BASELINE,
    skipped: state.observeSkipped,
    pin,
    start: (variant, round) => startObserveInstance(state, variant, round, backends.upstreams, pin),
  });
}

function observeSummaries(state: State): WrkSummary[] {
  return OBSERVE_VARIANTS.flatMap((v) => summarizeWrk(state.wrkRuns, v, 'observe') ?? []);
}

function ruleCostSummaries(state: State): WrkSummary[] {
  return ruleCostVariants(state.opts.rulesBreakdown).flatMap((v) => summarizeWrk(state.wrkRuns, v, 'rules') ?? []);
}

/**
 * weir is measured as it is deployed: the compiled dist/, not the TypeScript
 * sources that Node strips types from on the fly. Returns tsc's output when the
 * build failed (weir is then skipped and the others still run).
 */
function buildDist(): string | undefined {
  process.stderr.write('building dist/ ...\n');
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(repoRoot, 'tsconfig.build.json')], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status === 0) return undefined;
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  return output || (r.error ? r.error.message : `tsc exited with ${r.status ?? r.signal}`);
}

async function faultScenario(state: State): Promise<void> {
  const plan = faultPlan(state.opts.faultDurationS);
  log(
    `backend failure under load: ${plan.concurrency} requests in flight for ${plan.durationMs / 1000} s, backend ${FAULT_VICTIM} ` +
      `of 3 killed at ${plan.killAtMs / 1000} s and restarted at ${plan.restartAtMs / 1000} s`,
  );
  for (const name of state.opts.only) {
    if (state.faultSkipped.has(name)) continue;
    const notRun = FAULT_NOT_RUN[name];
    if (notRun) {
      state.faultSkipped.set(name, notRun);
      log(`backend failure: ${name} ${notRun}`);
      continue;
    }
    log(`backend failure: ${name}`);
    try {
      const run = await runFaultScenario(name, plan, state.ctx, {
        log,
        onStarted: (lb) => ((state.startRss.fault ??= {})[name] = treeRssBytes(lb.proc.pid)),
      });
      state.faultRuns.push(run);
    } catch (err) {
      state.faultSkipped.set(name, 'skipped: did not start with its failover config (its output is in the notes)');
      state.faultStartErrors.set(name, errorText(err));
      log(`SKIPPING ${name} for the backend-failure scenario: it did not start.\n${errorText(err)}`);
    }
  }
}

function findProfiles(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => path.join(dir, f))
      .sort();
  } catch {
    return [];
  }
}

function workersRows(opts: Options): string[] {
  return WORKER_LBS.filter((n) => opts.only.includes(n)).map(workersLabel);
}

/** nginx with one worker at each load of the workers scenario: the main tables' nginx, or (--workers-only) the one measured beside the rows. */
function workersReference(state: State): { c64?: WrkSummary; c256?: WrkSummary; source: 'main' | 'here' } {
  if (state.opts.throughput) {
    return {
      c64: summarizeWrk(state.wrkRuns, 'nginx', 'throughput'),
      c256: summarizeWrk(state.wrkRuns, 'nginx', 'memory256'),
      source: 'main',
    };
  }
  return { c64: summarizeWrk(state.wrkRuns, NGINX_1, 'workers64'), c256: summarizeWrk(state.wrkRuns, NGINX_1, 'workers256'), source: 'here' };
}

function workersSummaries(state: State, scenario: WrkScenario): WrkSummary[] {
  return workersRows(state.opts).flatMap((label) => summarizeWrk(state.wrkRuns, label, scenario) ?? []);
}

function workersReport(state: State, nproc: number): string[] {
  const { opts } = state;
  const rounds = `median of ${opts.rounds} round${opts.rounds === 1 ? '' : 's'}`;
  const ref = workersReference(state);
  const missing = new Map(state.workersSkipped);
  if (ref.source === 'main' && !opts.only.includes('nginx')) missing.set(NGINX_1, 'not measured: nginx is not in --only');
  else if (ref.source === 'main' && state.skipped.has('nginx')) missing.set(NGINX_1, `not measured: ${state.skipped.get('nginx') ?? ''}`);
  const startRss = { ...state.startRss.workers, ...(ref.source === 'main' && { [NGINX_1]: state.startRss.main?.nginx ?? Number.NaN }) };
  const out = [
    `## Workers: ${WORKERS} worker processes (HAProxy: threads) each, ` +
      `${ref.source === 'main' ? 'after the tables above, same backends' : 'beside nginx with one worker'}, ${rounds}`,
    '',
  ];
  for (const { scenario, connections } of WORKERS_LOADS) {
    out.push(
      `### ${connections} connections: wrk -t${WRK_THREADS} -c${connections} -d${opts.durationS}s --latency`,
      '',
      workersTable({
        summaries: workersSummaries(state, scenario),
        nginx1: connections === 64 ? ref.c64 : ref.c256,
        nginx1Source: ref.source === 'main' ? (connections === 64 ? 'throughput table' : '256-connection table') : 'measured in these rounds',
        rows: workersRows(opts),
        missing,
        startRss,
        nproc,
      }),
      '',
    );
  }
  out.push(...workersExplanation(nproc, ref.source), '');
  return out;
}

/** weir's backend-failure figures for the targets: its counts, why it has none, or undefined when the scenario did not run. */
function weirFaultFigures(state: State): TargetInput['weirFault'] {
  if (!state.opts.fault) return undefined;
  const run = state.faultRuns.find((r) => r.lb === 'weir');
  if (run?.load) return { requests: run.load.requests, failed: run.load.failed };
  if (run?.error) return `its run failed: ${run.error.split('\n')[0]}`;
  return state.faultSkipped.get('weir') ?? 'weir was not in this run';
}

function targetInput(state: State): TargetInput {
  const { opts } = state;
  const lbs = [...opts.only];
  const main = (scenario: WrkScenario) => (opts.throughput ? lbs.flatMap((lb) => summarizeWrk(state.wrkRuns, lb, scenario) ?? []) : []);
  return {
    throughput: main('throughput'),
    memory256: main('memory256'),
    ...(opts.upload && {
      upload: { summaries: lbs.flatMap((lb) => summarizeUpload(state.uploadRuns, lb) ?? []), bytes: opts.uploadBytes },
    }),
    weirFault: weirFaultFigures(state),
  };
}

function report(state: State, machine: MachineInfo, machineText: string, fatal: string | undefined): string {
  const { opts } = state;
  const lbs = [...opts.only];
  const out: string[] = [];
  const missing = state.skipped;
  const rounds = `median of ${opts.rounds} round${opts.rounds === 1 ? '' : 's'}`;
  for (const [scenario, title] of [
    ['throughput', `Throughput: wrk -t${WRK_THREADS} -c64 -d${opts.durationS}s --latency, ${rounds}`],
    ['memory256', `Memory at 256 connections: wrk -t${WRK_THREADS} -c256 -d${opts.durationS}s --latency, ${rounds}`],
  ] as const) {
    if (!opts.throughput) break;
    const summaries = lbs.flatMap((lb) => summarizeWrk(state.wrkRuns, lb, scenario) ?? []);
    out.push(`## ${title}`, '', wrkTable(summaries, missing, lbs, state.startRss.main), '');
  }
  if (opts.workers) out.push(...workersReport(state, machine.nproc));
  if (opts.tls) out.push(...tlsReport(state));
  if (opts.rules) {
    const variants = ruleCostVariants(opts.rulesBreakdown);
    const missing = new Map(state.rulesSkipped);
    if (state.buildError) for (const v of variants) missing.set(v, 'skipped: dist/ did not build');
    out.push(
      ...ruleCostSection({
        title: `wrk -t${WRK_THREADS} -c64 -d${opts.durationS}s --latency, ${rounds}`,
        variants,
        summaries: ruleCostSummaries(state),
        runs: state.wrkRuns,
        missing,
        startRss: state.startRss.rules,
        pinning: state.rulesPinning,
        micro: state.ruleMicro,
      }),
    );
  }
  if (opts.observe) {
    const missing = new Map(state.observeSkipped);
    if (state.buildError) for (const v of OBSERVE_VARIANTS) missing.set(v, 'skipped: dist/ did not build');
    out.push(
      ...observeSection({
        title: `wrk -t${WRK_THREADS} -c${PAIRED_CONNECTIONS} -d${opts.durationS}s --latency, ${rounds}`,
        summaries: observeSummaries(state),
        runs: state.wrkRuns,
        missing,
        startRss: state.startRss.observe,
        pinning: state.observePinning,
        logDir: opts.keepTmp ? state.ctx.tmp : 'the temp dir (--keep-tmp keeps it)',
      }),
    );
  }
  if (opts.upload) {
    const rows = [DIRECT, ...lbs];
    const summaries = rows.flatMap((lb) => summarizeUpload(state.uploadRuns, lb) ?? []);
    const size = opts.uploadBytes >= 2 ** 30 ? `${opts.uploadBytes / 2 ** 30} GiB` : `${opts.uploadBytes / 2 ** 20} MiB`;
    out.push(
      `## Streamed upload: ${size} POST (Content-Length) to a discarding sink, ${rounds}`,
      '',
      uploadTable(summaries, missing, rows, state.startRss.upload, { [DIRECT]: 'direct: client → sink, no LB' }),
      '',
      'MB/s is 10^6 bytes per second. The direct row is the client straight to the sink, for reference: a load balancer can beat it, as it may hand the sink larger reads.',
      '',
    );
  }
  if (opts.fault) {
    const plan = faultPlan(opts.faultDurationS);
    out.push(
      `## Backend failure under load: backend ${FAULT_VICTIM} of 3 killed (SIGKILL) at ${plan.killAtMs / 1000} s, ` +
        `restarted at ${plan.restartAtMs / 1000} s; ${plan.concurrency} requests in flight for ${plan.durationMs / 1000} s, one run`,
      '',
      faultTable(state.faultRuns, state.faultSkipped, lbs),
      '',
      `Each load balancer configured for failover as its manual recommends (bench/README.md). A request fails on a ` +
        `non-2xx/3xx answer, a connection error or no complete answer within ${plan.requestTimeoutMs / 1000} s. ` +
        `"Outage" runs from the kill until the restarted backend ${FAULT_VICTIM} answered its health check directly; ` +
        `its requests are those it counted after that (traffic came back), with the delay before the first.`,
      '',
    );
  }
  const notes: string[] = [];
  for (const [lb, why] of state.skipped) if (!(lb === 'weir' && state.buildError)) notes.push(`- ${lb}: ${why}; see the log above.`);
  for (const [variant, why] of state.rulesSkipped) notes.push(`- weir with rules "${variant}": ${why}; see the log above.`);
  for (const [variant, why] of state.observeSkipped) notes.push(`- weir with observability "${variant}": ${why}; see the log above.`);
  if (state.buildError) {
    const lines = state.buildError.split('\n');
    notes.push(
      '- weir: dist/ did not build, so weir was not measured:',
      '',
      '  ```',
      ...lines.slice(0, 20).map((l) => `  ${l}`),
      ...(lines.length > 20 ? [`  ... (${lines.length - 20} more lines)`] : []),
      '  ```',
      '',
    );
  }
  for (const [label, text] of state.workersStartErrors) {
    notes.push(
      `- ${label} did not start, so it has no figures in the workers tables:`,
      '',
      '  ```',
      ...text.split('\n').map((l) => `  ${l}`),
      '  ```',
      '',
    );
  }
  for (const text of state.workersLeftovers) notes.push(`- ${text}.`);
  for (const [lb, text] of state.tls?.startErrors ?? []) {
    notes.push(
      `- ${lb} did not start terminating TLS, so it has no figures in the TLS tables:`,
      '',
      '  ```',
      ...text.split('\n').map((l) => `  ${l}`),
      '  ```',
      '',
    );
  }
  for (const [lb, text] of state.faultStartErrors) {
    notes.push(
      `- ${lb} did not start with its backend-failure config, so it has no row there:`,
      '',
      '  ```',
      ...text.split('\n').map((l) => `  ${l}`),
      '  ```',
      '',
    );
  }
  const failed = [...state.wrkRuns, ...state.uploadRuns, ...state.faultRuns, ...(state.tls?.runs ?? [])].filter((r) => r.error);
  if (failed.length > 0) notes.push(`- ${failed.length} run(s) failed; details in the JSON file.`);
  if (opts.profile) notes.push('- --profile: weir ran under the CPU profiler, so its figures carry profiler overhead.');
  if (fatal) notes.push(`- the run stopped early: ${fatal.split('\n')[0]}`);
  if (notes.length > 0) out.push('## Notes', '', ...notes, '');
  out.push(...targetsSection(targets(targetInput(state)), opts.tls ? tlsInformational(tlsSummaries(state.tls?.runs ?? [], tlsLbs(opts))) : []));
  return [`# weir benchmark`, '', machineText, '', ...out].join('\n');
}

async function main(argv: string[]): Promise<number> {
  let opts: Options | undefined;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    console.error(`${errorText(err)}\n\n${USAGE}`);
    return 2;
  }
  if (!opts) return 0;
  const toolError = ensureTools();
  if (toolError) {
    console.error(toolError);
    return 1;
  }
  const buildError = opts.only.includes('weir') ? buildDist() : undefined;

  const machine = machineInfo();
  const machineText = formatMachine(machine);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(repoRoot, 'bench', 'results');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'weir-bench-'));
  const profileDir = opts.profile ? path.join(resultsDir, `${stamp}-profile`) : undefined;
  const ctx: Context = {
    tmp,
    repoRoot,
    nodeBin: process.execPath,
    profileDir,
    readyTimeoutMs: 10_000,
  };
  const state: State = {
    opts,
    ctx,
    wrkRuns: [],
    uploadRuns: [],
    skipped: new Map(),
    startRss: {},
    faultRuns: [],
    faultSkipped: new Map(),
    faultStartErrors: new Map(),
    rulesSkipped: new Map(),
    observeSkipped: new Map(),
    workersSkipped: new Map(),
    workersStartErrors: new Map(),
    workersLeftovers: [],
  };

  if (buildError) {
    state.skipped.set('weir', 'skipped: dist/ did not build (tsc errors in the notes)');
    state.faultSkipped.set('weir', 'skipped: dist/ did not build (tsc errors in the notes)');
    state.buildError = buildError;
    log(`SKIPPING weir: dist/ did not build.\n${buildError}`);
  }

  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping every process this run started ...`);
    void stopAll(3000).finally(() => {
      if (!opts.keepTmp) rmSync(tmp, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', killAllNow);

  process.stderr.write(`${machineText}\n`);
  log(
    `load balancers: ${opts.only.join(', ')}; ` +
      (opts.throughput || opts.workers || opts.tls || opts.rules || opts.observe ? `${opts.rounds} round(s) of ${opts.durationS}s (+${opts.warmupS}s warm-up); ` : '') +
      ((opts.rules || opts.observe) && opts.warmupS < RULES_MIN_WARMUP_S ? `cost scenarios' warm-up ${RULES_MIN_WARMUP_S}s; ` : '') +
      `workers ${opts.workers ? `${workersRows(opts).join(', ')}${opts.throughput ? '' : ` (and ${NGINX_1})`}` : 'skipped'}; ` +
      `TLS ${opts.tls ? tlsLbs(opts).join(', ') : 'skipped'}; ` +
      `rule cost ${opts.rules ? ruleCostVariants(opts.rulesBreakdown).join(' vs ') : 'skipped'}; ` +
      `observability cost ${opts.observe ? OBSERVE_VARIANTS.join(' vs ') : 'skipped'}; ` +
      `upload ${opts.upload ? mib(opts.uploadBytes) : 'skipped'}; ` +
      `backend failure ${opts.fault ? `${opts.faultDurationS}s each` : 'skipped'}; temp dir ${tmp}`,
  );

  let fatal: string | undefined;
  try {
    const rules = opts.rules && !state.buildError;
    const observe = opts.observe && !state.buildError;
    if (opts.throughput || opts.workers || opts.tls || rules || observe) {
      const backends = await startBackends(ctx);
      log(`backends ready on ports ${backends.upstreams.map((u) => u.port).join(', ')} (pid ${backends.proc.proc.pid})`);
      if (opts.throughput) await loadScenarios(state, backends.upstreams);
      // Before the cost scenarios, which pin the backends to some of the CPUs.
      if (opts.workers) await workersScenario(state, backends.upstreams);
      if (opts.tls) await tlsScenario(state, backends.upstreams);
      if (rules) await ruleCostScenario(state, backends);
      if (observe) await observeCostScenario(state, backends);
      await stopProcess(backends.proc.proc);
    }
    if (opts.upload) await uploadScenario(state);
    if (opts.fault) await faultScenario(state);
  } catch (err) {
    fatal = errorText(err);
    log(`FATAL: ${fatal}`);
  } finally {
    await stopAll(15_000);
  }

  const text = report(state, machine, machineText, fatal);
  console.log(text);

  const profiles = profileDir ? findProfiles(profileDir) : [];
  if (profileDir) {
    if (profiles.length === 0) {
      console.log(
        `## weir CPU profile\n\nno .cpuprofile was written under ${profileDir}: weir must exit normally ` +
          `(process.exit or an empty event loop) on SIGTERM for --cpu-prof to write it.\n`,
      );
    }
    for (const file of profiles) {
      const instance = path.basename(path.dirname(file));
      console.log(`## weir CPU profile (${instance} instance): top 25 functions by self time\n`);
      console.log(`profile: ${file} (open it in Chrome DevTools or VS Code for the call tree)\n`);
      try {
        console.log(`${formatTopFunctions(summarizeProfile(readProfile(file), repoRoot), 25)}\n`);
      } catch (err) {
        console.log(`cannot read the profile: ${errorText(err)}\n`);
      }
    }
  }

  mkdirSync(resultsDir, { recursive: true });
  const jsonFile = path.join(resultsDir, `${stamp}.json`);
  const lbs = [...opts.only];
  const json = {
    timestamp: new Date().toISOString(),
    machine,
    options: opts,
    skipped: Object.fromEntries(state.skipped),
    rulesSkipped: Object.fromEntries(state.rulesSkipped),
    rulesPinning: state.rulesPinning,
    ruleMicro: state.ruleMicro,
    observeSkipped: Object.fromEntries(state.observeSkipped),
    observePinning: state.observePinning,
    workersSkipped: Object.fromEntries(state.workersSkipped),
    workersStartErrors: Object.fromEntries(state.workersStartErrors),
    workersLeftovers: state.workersLeftovers,
    fatal,
    summary: {
      throughput: lbs.flatMap((lb) => summarizeWrk(state.wrkRuns, lb, 'throughput') ?? []),
      memory256: lbs.flatMap((lb) => summarizeWrk(state.wrkRuns, lb, 'memory256') ?? []),
      upload: [DIRECT, ...lbs].flatMap((lb) => summarizeUpload(state.uploadRuns, lb) ?? []),
      workers: opts.workers
        ? {
            reference: workersReference(state),
            ...Object.fromEntries(WORKERS_LOADS.map(({ scenario }) => [scenario, workersSummaries(state, scenario)])),
          }
        : undefined,
      targets: targets(targetInput(state)),
      tls: opts.tls
        ? {
            summaries: tlsSummaries(state.tls?.runs ?? [], tlsLbs(opts)),
            informational: tlsInformational(tlsSummaries(state.tls?.runs ?? [], tlsLbs(opts))),
            probes: state.tls?.probes,
            notRun: state.tls?.notRun,
            missing: Object.fromEntries(state.tls?.missing ?? []),
            startErrors: Object.fromEntries(state.tls?.startErrors ?? []),
          }
        : undefined,
      rules: opts.rules ? { summaries: ruleCostSummaries(state), verdict: ruleCostVerdict(ruleCostSummaries(state), state.wrkRuns) } : undefined,
      observe: opts.observe
        ? {
            summaries: observeSummaries(state),
            verdict: observeVerdict(observeSummaries(state), state.wrkRuns),
            accessLog: summarizeAccessLog(state.wrkRuns),
          }
        : undefined,
    },
    fault: opts.fault
      ? {
          plan: faultPlan(opts.faultDurationS),
          table: faultTable(state.faultRuns, state.faultSkipped, lbs),
          notRun: Object.fromEntries(state.faultSkipped),
          startErrors: Object.fromEntries(state.faultStartErrors),
        }
      : undefined,
    startRss: state.startRss,
    runs: { wrk: state.wrkRuns, upload: state.uploadRuns, fault: state.faultRuns, tls: state.tls?.runs ?? [] },
    profiles,
  };
  writeFileSync(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  log(`results written to ${path.relative(repoRoot, jsonFile)}`);

  // Non-zero whenever the comparison is incomplete, so a script can tell; the logs are kept then.
  // Failed requests in the backend-failure run are its measurement, not a failed run;
  // a load balancer that did not start with its failover config is.
  const failedRuns = [...state.wrkRuns, ...state.uploadRuns, ...state.faultRuns, ...(state.tls?.runs ?? [])].some((r) => r.error);
  const incomplete =
    fatal !== undefined ||
    state.skipped.size > 0 ||
    state.faultStartErrors.size > 0 ||
    state.rulesSkipped.size > 0 ||
    state.observeSkipped.size > 0 ||
    state.workersSkipped.size > 0 ||
    state.workersLeftovers.length > 0 ||
    (state.tls !== undefined && (state.tls.notRun !== undefined || state.tls.startErrors.size > 0)) ||
    state.buildError !== undefined ||
    failedRuns;
  if (opts.keepTmp || incomplete) log(`temp dir with configs and logs kept: ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
  return incomplete ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));

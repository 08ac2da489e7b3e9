// Command-line options of `npm run bench -- ...`.

import { parseArgs } from 'node:util';
import { LB_NAMES, TLS_LBS } from './lbs.ts';
import type { LbName } from './lbs.ts';
import { WORKER_LBS } from './workers.ts';

export interface Options {
  durationS: number;
  warmupS: number;
  rounds: number;
  only: LbName[];
  upload: boolean;
  uploadBytes: number;
  profile: boolean;
  keepTmp: boolean;
  quick: boolean;
  /** Run the backend-failure scenario. */
  fault: boolean;
  /** Run only the backend-failure scenario (no throughput, memory or upload runs). */
  faultOnly: boolean;
  /** Length of each load balancer's backend-failure run, in seconds. */
  faultDurationS: number;
  /** Run the throughput and 256-connection tables (everything but --fault-only and --rules-only). */
  throughput: boolean;
  /** Run the rule-cost scenario (weir with no rules against weir with a typical rule set). */
  rules: boolean;
  /** Run only the rule-cost scenario. */
  rulesOnly: boolean;
  /** Add one weir instance per kind of rule to the rule-cost scenario. */
  rulesBreakdown: boolean;
  /** Run the observability-cost scenario (weir without and with the access log and the admin listener). */
  observe: boolean;
  /** Run only the observability-cost scenario (with --rules-only: only the two cost scenarios). */
  observeOnly: boolean;
  /** Run the workers scenario (nginx, HAProxy and weir with two workers or threads each, bench/workers.ts). */
  workers: boolean;
  /** Run only the workers scenario (with nginx-1 measured beside it as the reference). */
  workersOnly: boolean;
  /** Run the TLS scenario (nginx, HAProxy and weir terminating TLS, bench/tls.ts). */
  tls: boolean;
  /** Run only the TLS scenario. */
  tlsOnly: boolean;
}

/** The backend-failure run kills backend 2 at 2 s and restarts it at half the duration; below this there is no "after". */
export const MIN_FAULT_DURATION_S = 6;

export const USAGE = `usage: npm run bench -- [options]

  --duration <t>      length of each measured wrk run (default 10s; "500ms", "10s", "1m")
  --warmup <t>        wrk warm-up before each load balancer's throughput run (default 2s)
  --rounds <n>        interleaved rounds; the report shows the median (default 3)
  --only <list>       comma-separated subset of ${LB_NAMES.join(',')}
  --skip-upload       leave out the streamed-upload scenario
  --skip-fault        leave out the backend-failure scenario
  --fault-only        run only the backend-failure scenario
  --fault-duration <t>  length of each backend-failure run (default 12s, --quick 6s, at least 6s)
  --skip-rules        leave out the rule-cost scenario (weir without and with a typical rule set)
  --rules-only        run only the rule-cost scenario (weir only)
  --rules-breakdown   add to it one weir per kind of rule (headers, ip_reject, path_reject, rate limit)
  --skip-observe      leave out the observability-cost scenario (weir without and with access log and metrics)
  --observe-only      run only the observability-cost scenario (weir only; with --rules-only, both cost scenarios)
  --skip-workers      leave out the workers scenario (nginx, HAProxy and weir with 2 workers or threads)
  --workers-only      run only the workers scenario (nginx with one worker measured beside it, as the reference)
  --skip-tls          leave out the TLS scenario (nginx, HAProxy and weir terminating TLS: HTTP/1.1, HTTP/2, handshakes)
  --tls-only          run only the TLS scenario
  --upload-mb <n>     upload size in MiB (default 1024)
  --quick             smoke check: 2s runs, 1s warm-up, 1 round, 256 MiB upload, 6s failure runs
  --profile           run weir with --cpu-prof and print its top 25 functions by self time
  --keep-tmp          keep the temp dir with configs and logs
  -h, --help          this text
`;

/** "10s" | "500ms" | "1m" | "10" (seconds) → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`bad duration ${JSON.stringify(text)} (use e.g. 10s, 500ms, 1m)`);
  const n = Number(m[1]);
  const seconds = m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
  if (seconds <= 0) throw new Error(`duration must be positive: ${text}`);
  // wrk takes whole seconds.
  return Math.max(1, Math.round(seconds));
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return n;
}

/** Returns the options, or undefined after printing the usage for --help. */
export function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      only: { type: 'string' },
      'skip-upload': { type: 'boolean', default: false },
      'skip-fault': { type: 'boolean', default: false },
      'fault-only': { type: 'boolean', default: false },
      'fault-duration': { type: 'string' },
      'skip-rules': { type: 'boolean', default: false },
      'rules-only': { type: 'boolean', default: false },
      'rules-breakdown': { type: 'boolean', default: false },
      'skip-observe': { type: 'boolean', default: false },
      'observe-only': { type: 'boolean', default: false },
      'skip-workers': { type: 'boolean', default: false },
      'workers-only': { type: 'boolean', default: false },
      'skip-tls': { type: 'boolean', default: false },
      'tls-only': { type: 'boolean', default: false },
      'upload-mb': { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'keep-tmp': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  const quick = values.quick;
  let only: LbName[] = [...LB_NAMES];
  if (values.only !== undefined) {
    const names = values.only.split(',').map((s) => s.trim()).filter(Boolean);
    for (const n of names) {
      if (!(LB_NAMES as readonly string[]).includes(n)) {
        throw new Error(`--only: unknown load balancer ${JSON.stringify(n)} (known: ${LB_NAMES.join(', ')})`);
      }
    }
    // Keep the canonical order (nginx first: it is the reference).
    only = LB_NAMES.filter((n) => names.includes(n));
  }
  if (values['skip-fault'] && values['fault-only']) throw new Error('--skip-fault and --fault-only exclude each other');
  const rulesOnly = values['rules-only'];
  const observeOnly = values['observe-only'];
  if (rulesOnly && values['fault-only']) throw new Error('--rules-only and --fault-only exclude each other');
  if (observeOnly && values['fault-only']) throw new Error('--observe-only and --fault-only exclude each other');
  if (values['skip-rules'] && (rulesOnly || values['rules-breakdown'])) {
    throw new Error('--skip-rules excludes --rules-only and --rules-breakdown');
  }
  if (values['skip-observe'] && observeOnly) throw new Error('--skip-observe excludes --observe-only');
  if (observeOnly && !rulesOnly && values['rules-breakdown']) {
    throw new Error('--observe-only leaves out the rule-cost scenario; add --rules-only for --rules-breakdown');
  }
  const workersOnly = values['workers-only'];
  if (values['skip-workers'] && workersOnly) throw new Error('--skip-workers and --workers-only exclude each other');
  if (workersOnly) {
    for (const flag of ['fault-only', 'rules-only', 'observe-only'] as const) {
      if (values[flag]) throw new Error(`--workers-only and --${flag} exclude each other`);
    }
    if (!only.some((n) => (WORKER_LBS as readonly string[]).includes(n))) {
      throw new Error(`--workers-only measures ${WORKER_LBS.join(', ')}; --only must include one of them`);
    }
  }
  const tlsOnly = values['tls-only'];
  if (values['skip-tls'] && tlsOnly) throw new Error('--skip-tls and --tls-only exclude each other');
  if (tlsOnly) {
    for (const flag of ['fault-only', 'rules-only', 'observe-only', 'workers-only'] as const) {
      if (values[flag]) throw new Error(`--tls-only and --${flag} exclude each other`);
    }
    if (!only.some((n) => (TLS_LBS as readonly string[]).includes(n))) {
      throw new Error(`--tls-only measures ${TLS_LBS.join(', ')}; --only must include one of them`);
    }
  }
  // --rules-only and --observe-only: only the cost scenarios named (both when both are given).
  const costOnly = rulesOnly || observeOnly;
  if (costOnly) {
    // The scenarios compare weir with itself.
    const flag = rulesOnly ? '--rules-only' : '--observe-only';
    if (values.only !== undefined && !only.includes('weir')) throw new Error(`${flag} measures weir; --only must include it`);
    only = ['weir'];
  }
  const faultDurationS = parseDuration(values['fault-duration'] ?? (quick ? '6s' : '12s'));
  if (faultDurationS < MIN_FAULT_DURATION_S) {
    throw new Error(`--fault-duration must be at least ${MIN_FAULT_DURATION_S}s (backend 2 dies at 2 s and restarts at half the run)`);
  }
  return {
    durationS: parseDuration(values.duration ?? (quick ? '2s' : '10s')),
    warmupS: parseDuration(values.warmup ?? (quick ? '1s' : '2s')),
    rounds: positiveInt('rounds', values.rounds ?? (quick ? '1' : '3')),
    only,
    upload: !values['skip-upload'] && !values['fault-only'] && !costOnly && !workersOnly && !tlsOnly,
    uploadBytes: positiveInt('upload-mb', values['upload-mb'] ?? (quick ? '256' : '1024')) * 2 ** 20,
    profile: values.profile,
    keepTmp: values['keep-tmp'],
    quick,
    fault: !values['skip-fault'] && !costOnly && !workersOnly && !tlsOnly,
    faultOnly: values['fault-only'],
    faultDurationS,
    throughput: !values['fault-only'] && !costOnly && !workersOnly && !tlsOnly,
    rules:
      !values['skip-rules'] && !values['fault-only'] && !workersOnly && !tlsOnly && (!observeOnly || rulesOnly) && only.includes('weir'),
    rulesOnly,
    rulesBreakdown: values['rules-breakdown'],
    observe:
      !values['skip-observe'] && !values['fault-only'] && !workersOnly && !tlsOnly && (!rulesOnly || observeOnly) && only.includes('weir'),
    observeOnly,
    workers:
      !values['skip-workers'] &&
      !values['fault-only'] &&
      !costOnly &&
      !tlsOnly &&
      only.some((n) => (WORKER_LBS as readonly string[]).includes(n)),
    workersOnly,
    tls:
      !values['skip-tls'] &&
      !values['fault-only'] &&
      !costOnly &&
      !workersOnly &&
      only.some((n) => (TLS_LBS as readonly string[]).includes(n)),
    tlsOnly,
  };
}

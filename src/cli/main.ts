import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { loadConfigFile, summarizeConfig } from '../config/load.ts';
import { ConfigError, formatConfigIssue, type Address } from '../config/types.ts';
import { startDemo } from './demo.ts';
import { explainRequest } from '../runtime/explain.ts';
import { certificateLines, configCertificatesFor, requestHost } from '../tls/tls-report.ts';
import { fetchRunningConfig } from './admin-config.ts';
import { formatPlan, planConfigChange } from './plan.ts';
import { loadRouteSpecFile, runRouteSpec, specConfigFile } from './route-test.ts';
import { createLogger } from '../log.ts';
import { startWeir } from '../weir.ts';
import { VERSION } from '../version.ts';
import { watchConfigFile, type ConfigWatch } from './watch.ts';
import { relaunchWithHeapFlags } from '../heap-flags.ts';
import { startGroup, workerCount } from '../cluster/primary.ts';

const USAGE = `weir: an HTTP load balancer and reverse proxy

Usage:
  weir start [-c FILE] [--listen HOST:PORT] [--watch] [--workers N|auto]
                                              run weir; without -c, run the demo;
                                              --watch reloads when FILE changes;
                                              --workers: N processes serve the port
                                              (auto: one per CPU; default 1)
  weir validate FILE                          check a config; exit 0 if valid, 2 if not
  weir explain -c FILE METHOD URL [--client-ip IP] [-H 'Name: value']... [--check]
                                              show what weir would do with a request;
                                              --check first runs one round of health checks
  weir plan NEW.yaml (-c RUNNING.yaml | --admin URL)
                                              what would change from the running config to NEW,
                                              and NEW's warnings; exit 0 if NEW is valid, 2 if not
  weir test SPEC.yaml [-c FILE]               run the route tests in SPEC; without -c, against the
                                              config beside it (x.test.yaml → x.yaml); exit 0 if
                                              all pass, 1 if some fail, 2 if SPEC or config invalid
  weir --version, -v                          print the version (of the weir-lb package)
  weir help                                   this text

SIGINT or SIGTERM stops weir gracefully; SIGHUP reloads the config file;
SIGUSR1 reopens the access log file (for logrotate).
Set NODE_OPTIONS=--enable-source-maps for stack traces that name src/*.ts lines.`;

/** Exit codes: 0 done, 1 could not run (port taken, ...), 2 bad config or bad usage. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await start(rest);
      case 'validate':
        return await validate(rest);
      case 'explain':
        return await explain(rest);
      case 'plan':
        return await plan(rest);
      case 'test':
        return await routeTest(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      case '--version':
      case '-v':
        process.stdout.write(`${VERSION}\n`);
        return 0;
      default:
        process.stderr.write(`weir: unknown command "${command}"\n\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`weir: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`weir: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

class UsageError extends Error {}

function parse<T extends ParseArgsOptionsConfig>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

async function start(args: string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string', short: 'c' }, listen: { type: 'string' }, watch: { type: 'boolean' }, workers: { type: 'string' } });
  const listen = typeof values.listen === 'string' ? parseListen(values.listen) : undefined;
  const file = typeof values.config === 'string' ? values.config : undefined;
  const workersFlag = typeof values.workers === 'string' ? parseWorkers(values.workers) : undefined;
  if (values.watch && !file) throw new UsageError('--watch needs -c FILE');
  if (workersFlag !== undefined && !file) throw new UsageError('--workers needs -c FILE');
  // Failures to start are JSON lines too; once running, weir logs with its own logger, at the config's level.
  const log = createLogger(undefined);

  let stop: () => Promise<void>;
  let reload: (() => Promise<void>) | undefined;
  let reopenLogs: (() => void) | undefined;
  let watching: ConfigWatch | undefined;
  // Listening before weir starts: a SIGHUP sent as soon as weir says it listens
  // must not meet the default action, which ends the process. weir logs a failed
  // reload itself, in one line with the issues. logrotate moves the access log
  // and sends SIGUSR1: weir opens a new file.
  const onReloadSignal = (): void => void reload?.().catch(() => undefined);
  const onReopenSignal = (): void => reopenLogs?.();
  if (file) {
    process.on('SIGHUP', onReloadSignal);
    process.on('SIGUSR1', onReopenSignal);
  }
  // Likewise SIGINT and SIGTERM: one that comes while weir starts stops it once started.
  let stopAsked!: () => void;
  const stopped = new Promise<void>((resolve) => (stopAsked = resolve));
  const onStop = (): void => {
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    stopAsked();
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  try {
    // The command line's --workers wins over the file's `workers`; 1 is weir in this one process.
    const workers = file ? workerCount(workersFlag ?? (await loadConfigFile(file)).workers ?? 1) : 1;
    if (file && workers > 1) {
      const group = await startGroup({ file, workers, listen });
      stop = () => group.close();
      reload = () => group.reload();
      reopenLogs = () => group.reopenLogs();
      if (values.watch) watching = await watchConfigFile(file, () => void group.reload().catch(() => undefined));
    } else if (file) {
      const weir = await startWeir({ config: file, listen });
      stop = () => weir.close();
      reload = () => weir.reload(file);
      reopenLogs = () => weir.reopenLogs();
      if (values.watch) watching = await watchConfigFile(file, () => void weir.reload(file).catch(() => undefined));
    } else {
      const demo = await startDemo(listen ?? { host: '127.0.0.1', port: 8080 });
      process.stdout.write(`${demo.instructions}\n`);
      stop = () => demo.close();
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      log.error({ issues: error.issues.map(formatConfigIssue) }, `weir cannot start: the config is invalid\n${error.message}`);
      return 2;
    }
    log.error({ err: error }, `weir cannot start: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }

  await stopped;
  watching?.close();
  await stop();
  return 0;
}

async function validate(args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  const [file] = positionals;
  if (!file || positionals.length > 1) throw new UsageError('validate takes one file');
  const config = await loadConfigFile(file);
  process.stdout.write(`${file}: ${summarizeConfig(config)}\n`);
  return 0;
}

async function explain(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    config: { type: 'string', short: 'c' },
    'client-ip': { type: 'string' },
    header: { type: 'string', short: 'H', multiple: true },
    check: { type: 'boolean' },
  });
  const [method, url] = positionals;
  if (typeof values.config !== 'string' || !method || !url || positionals.length > 2) {
    throw new UsageError('explain needs -c FILE, a METHOD and a URL');
  }
  const headers = ((values.header as string[] | undefined) ?? []).map((line): [string, string] => {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new UsageError(`-H takes 'Name: value', got ${JSON.stringify(line)}`);
    return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
  });
  const config = await loadConfigFile(values.config);
  const clientIp = typeof values['client-ip'] === 'string' ? values['client-ip'] : '127.0.0.1';
  const host = requestHost(url, headers);
  const tls = host === undefined ? [] : certificateLines(configCertificatesFor(config, host));
  process.stdout.write(`${[await explainRequest(config, { method, url, clientIp, headers, check: values.check === true }), ...tls].join('\n')}\n`);
  return 0;
}

async function plan(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { config: { type: 'string', short: 'c' }, admin: { type: 'string' } });
  const [file] = positionals;
  const running = typeof values.config === 'string' ? values.config : undefined;
  const admin = typeof values.admin === 'string' ? values.admin : undefined;
  if (!file || positionals.length > 1 || (running === undefined) === (admin === undefined)) {
    throw new UsageError('plan takes the new config file and either -c RUNNING.yaml or --admin URL');
  }
  if (admin !== undefined && !URL.canParse(admin)) throw new UsageError(`--admin takes a URL like http://127.0.0.1:9000, got ${JSON.stringify(admin)}`);
  // The new config first: when it is invalid, that is the answer, whatever is running.
  const next = await loadConfigFile(file);
  const current = running !== undefined ? { config: await loadConfigFile(running), label: running } : await fetchRunningConfig(admin as string);
  process.stdout.write(`${formatPlan(planConfigChange(current.config, next), current.label, file)}\n`);
  return 0;
}

async function routeTest(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { config: { type: 'string', short: 'c' } });
  const [specFile] = positionals;
  if (!specFile || positionals.length > 1) throw new UsageError('test takes one spec file');
  const configFile = typeof values.config === 'string' ? values.config : specConfigFile(specFile);
  if (configFile === undefined) throw new UsageError(`test needs -c FILE: ${specFile} is not named like weir.test.yaml, beside weir.yaml`);
  const config = await loadConfigFile(configFile);
  const report = runRouteSpec(config, await loadRouteSpecFile(specFile, config));
  process.stdout.write(`${report.output}\n`);
  return report.failed > 0 ? 1 : 0;
}

function parseWorkers(value: string): number | 'auto' {
  if (value === 'auto') return value;
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > 1024) throw new UsageError(`--workers takes a number from 1 to 1024 or "auto", got ${JSON.stringify(value)}`);
  return Number(value);
}

function parseListen(value: string): Address {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new UsageError(`--listen takes HOST:PORT, got ${JSON.stringify(value)}`);
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}



if (import.meta.main) {
  // Only as the process's entry point: main() called in someone else's process must not replace it.
  if (process.argv[2] === 'start') relaunchWithHeapFlags();
  process.exitCode = await main(process.argv.slice(2));
}

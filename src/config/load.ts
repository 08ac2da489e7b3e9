// Loading a config: from a file, from YAML text, or from an object given to
// the library API. Either way the value is checked as one of the two forms
// (weir's own, or the course's hosts/paths form) and comes out as the same
// WeirConfig; every problem found is reported at once in one ConfigError.

import { readFile } from 'node:fs/promises';
import { readCourseForm } from './course.ts';
import { expandEnv, type Environment, type SourcePosition } from './env.ts';
import { formatKeyPath, type FormReading, type PathIssue } from './issue.ts';
import { isPlainObject } from './plain-object.ts';
import { ConfigError, type ConfigIssue, type WeirConfig } from './types.ts';
import { readWeirForm } from './weir-form.ts';
import { readYaml } from './yaml-document.ts';

export { summarizeConfig } from './summary.ts';

export interface LoadOptions {
  /** Where `${NAME}` references in the text are looked up. Default: process.env. */
  env?: Environment;
}

export async function loadConfigFile(path: string, options: LoadOptions = {}): Promise<WeirConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError([{ file: path, line: 0, column: 0, path: '', message: `cannot read the file: ${readFailure(error)}` }]);
  }
  return loadConfigText(text, path, options);
}

/**
 * `file` names the text in messages. Environment variables (`${NAME}`,
 * `${NAME:-default}`, see env.ts) are expanded first; issues point at the
 * text as written.
 */
export function loadConfigText(text: string, file: string, options: LoadOptions = {}): WeirConfig {
  const expanded = expandEnv(text, options.env ?? process.env);
  if (!expanded.ok) {
    throw new ConfigError(expanded.issues.map((issue) => toConfigIssue(issue, file, issue)));
  }
  const yaml = readYaml(expanded.text);
  if (!yaml.ok) {
    throw new ConfigError(yaml.issues.map((issue) => toConfigIssue(issue, file, expanded.toSource(issue))).sort(byPosition));
  }
  return loadValue(yaml.value, file, (issue) => expanded.toSource(yaml.locate(issue)));
}

/**
 * For a config built in code, in either form, as YAML would have parsed it.
 * There are no positions then: issues read "<object>: routes[0].host: ...".
 */
export function loadConfigObject(value: unknown, source = '<object>'): WeirConfig {
  return loadValue(value, source, () => ({ line: 0, column: 0 }));
}

function loadValue(value: unknown, source: string, locate: (issue: PathIssue) => SourcePosition): WeirConfig {
  const reading = readEitherForm(value);
  if (!reading.ok) {
    const issues = reading.issues.map((issue) => toConfigIssue(issue, source, locate(issue)));
    throw new ConfigError(issues.sort(byPosition));
  }
  return { ...reading.config, source };
}

function readEitherForm(value: unknown): FormReading {
  if (value === null || value === undefined) {
    return fail('the config is empty; it needs routes and services (or the course form\'s hosts and paths)');
  }
  if (!isPlainObject(value)) {
    return fail(`the config must be a mapping with routes and services, not ${Array.isArray(value) ? 'a list' : 'a single value'}`);
  }
  return isCourseForm(value) ? readCourseForm(value) : readWeirForm(value);
}

/**
 * The course's form has hosts and/or paths at the top and nothing of weir's
 * own. A file that mixes both is read as weir's form, where hosts and paths
 * are reported as unknown keys.
 */
function isCourseForm(value: Record<string, unknown>): boolean {
  const has = (key: string) => Object.hasOwn(value, key);
  return (has('hosts') || has('paths')) && !has('routes') && !has('services');
}

function fail(message: string): FormReading {
  return { ok: false, issues: [{ path: [], message }] };
}

/** A value that came from an environment variable says so: the variable is where to look. */
function toConfigIssue(issue: PathIssue, file: string, position: SourcePosition): ConfigIssue {
  const message = position.variable === undefined ? issue.message : `${issue.message} (the value comes from \${${position.variable}})`;
  return { file, line: position.line, column: position.column, path: formatKeyPath(issue.path), message };
}

function byPosition(a: ConfigIssue, b: ConfigIssue): number {
  return a.line - b.line || a.column - b.column;
}

function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return (error as Error).message;
}

// Turns zod's issues into weir's: messages written for someone editing a YAML
// file ("must be a list, not a string" rather than "expected array"), one
// issue per unknown key with a did-you-mean, paths as plain keys and indexes.

import * as z from 'zod';
import { didYouMean } from './did-you-mean.ts';
import type { KeyPath, PathIssue } from './issue.ts';

/** Pass as `error` to safeParse: the messages for zod's own checks. Schemas with messages of their own keep them. */
export const friendlyMessage: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required';
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (issue.input === null) {
        return issue.expected === 'object' ? 'is empty; expected a mapping (write {} for an empty one)' : `is empty; expected ${expected}`;
      }
      return `must be ${expected}, not ${describe(issue.input)}`;
    }
    case 'too_small':
      if (issue.origin === 'array' || issue.origin === 'string') return 'must not be empty';
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    case 'invalid_value': {
      const choices = issue.values.map((value) => JSON.stringify(value)).join(', ');
      const hint = typeof issue.input === 'string' ? didYouMean(issue.input, issue.values.map(String)) : '';
      return `${describe(issue.input)} is not one of ${choices}${hint}`;
    }
    default:
      return undefined;
  }
};

const EXPECTED: Record<string, string> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/** A value as a message names it: "text", 42, true, a list, a mapping, nothing. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (value === null || value === undefined) return 'nothing';
  return 'a mapping';
}

/**
 * weir's issues for a failed parse of `schema`. The schema is needed to name
 * the keys that would have been right where an unknown one was found.
 */
export function fromZodError(error: z.ZodError, schema: z.ZodType): PathIssue[] {
  return convert(error.issues, schema, []);
}

function convert(issues: readonly z.core.$ZodIssue[], schema: z.ZodType, base: KeyPath): PathIssue[] {
  return issues.flatMap((issue): PathIssue[] => {
    const path = [...base, ...issue.path.map((segment) => (typeof segment === 'number' ? segment : String(segment)))];
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeysAt(schema, path);
        return issue.keys.map((key) => ({
          path: [...path, key],
          message: `unknown key${didYouMean(key, known)}`,
          atKey: true,
        }));
      }
      case 'invalid_key':
        // A record key that failed its own schema (a bad header name): the
        // reason is in the nested issue; the outer one only says "invalid key".
        return [{ path, message: issue.issues[0]?.message ?? issue.message, atKey: true }];
      case 'invalid_union': {
        // A value that may be written two ways (a server as "HOST:PORT" or
        // as a mapping): report the problems of the way it was written,
        // that is of the branch that did not reject the value's type outright.
        const written = issue.errors.find((branch) => !branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0));
        return written ? convert(written, schema, path) : [{ path, message: issue.message }];
      }
      default:
        return [{ path, message: issue.message }];
    }
  });
}

/** The keys an object at `path` in the schema may have; [] when there is no object there. */
function knownKeysAt(schema: z.ZodType, path: KeyPath): string[] {
  let current = unwrap(schema);
  for (const segment of path) {
    // A value written two ways (a string or a mapping): the mapping's keys are the ones that count.
    if (current instanceof z.ZodUnion) current = unwrap((current.options as z.ZodType[]).find((option) => unwrap(option) instanceof z.ZodObject) ?? current);
    let next: z.ZodType | undefined;
    if (current instanceof z.ZodObject && Object.hasOwn(current.shape, segment)) next = current.shape[segment] as z.ZodType;
    else if (current instanceof z.ZodArray) next = current.element as z.ZodType;
    else if (current instanceof z.ZodRecord) next = current.valueType as z.ZodType;
    if (next === undefined) return [];
    current = unwrap(next);
  }
  if (current instanceof z.ZodUnion) current = unwrap((current.options as z.ZodType[]).find((option) => unwrap(option) instanceof z.ZodObject) ?? current);
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

/** Looks through optional, default and transform wrappers to the schema that checks the input. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodPrefault) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}

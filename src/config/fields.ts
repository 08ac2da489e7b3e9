// Zod schemas for single values, shared by weir's form (schema.ts) and the
// course's form (course.ts). Each one checks a value and turns it into what
// the runtime wants (milliseconds, split addresses, lower-case names), so the
// two forms cannot drift apart on what a valid server or duration is.

import * as z from 'zod';
import { parseAddress, type AddressRules } from './address.ts';
import { DURATION_PATTERN, missingUnit, parseDuration } from './duration.ts';
import { parseHostPattern } from './host-pattern.ts';
import { parseIpRange } from './ip-range.ts';
import type { Result } from './result.ts';
import type { HashKey } from './types.ts';
import { parseStatusRange, STATUS_RANGE_PATTERN } from './status-range.ts';

/** A zod transform from one of the small Result-returning parsers. */
function parsedBy<In, Out>(parse: (input: In) => Result<Out>) {
  return (input: In, ctx: z.RefinementCtx<In>): Out => {
    const result = parse(input);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.message, input });
    return z.NEVER;
  };
}

/** A string schema whose message for a number input is `forNumber`; other wrong types get the general message. */
function stringOr(forNumber: (input: number) => string) {
  return z.string({ error: (issue) => (typeof issue.input === 'number' ? forNumber(issue.input) : undefined) });
}

export const duration = stringOr(missingUnit).transform(parsedBy(parseDuration)).meta({ pattern: DURATION_PATTERN });

function address(rules: AddressRules) {
  return stringOr((port) => `${port} is only a port; write HOST:PORT, like "127.0.0.1:${port}"`).transform(
    parsedBy((text: string) => parseAddress(text, rules)),
  );
}

/** Port 0 allowed: the OS picks a free port. */
export const listenAddress = address({ allowPortZero: true });
export const serverAddress = address({ allowPortZero: false });

export const hostPattern = z.string().transform(parsedBy(parseHostPattern));

/** A path or path prefix as written; it must be absolute. */
export const absolutePath = z.string().regex(/^\//, { error: (issue) => `"${String(issue.input)}" must start with "/"` });

export const pathRegex = z.string().superRefine((source, ctx) => {
  try {
    new RegExp(source);
  } catch (error) {
    // V8 says "Invalid regular expression: /([a/: Unterminated character class"; the reason is the last part.
    const message = (error as Error).message;
    const reason = message.slice(message.lastIndexOf(': ') + 2);
    ctx.addIssue({ code: 'custom', message: `"${source}" is not a valid regular expression: ${reason}` });
  }
});

// RFC 9110 "token": what header names and methods may consist of.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export const headerName = z.string().regex(TOKEN, {
  error: (issue) => `"${String(issue.input)}" is not a valid header name (letters, digits and !#$%&'*+-.^_\`|~ only)`,
});

export const method = z
  .string()
  .regex(TOKEN, { error: (issue) => `"${String(issue.input)}" is not a valid HTTP method` })
  .transform((name) => name.toUpperCase());

/**
 * A value written in YAML as a string, number or boolean, used as text:
 * `page: 1` means the query value "1" without making anyone quote it.
 */
export const text = z
  .union([z.string(), z.number(), z.boolean()], { error: 'must be a string, number or boolean' })
  .transform((value) => String(value));

/** Header values go onto the wire as they are: a line break would let one value inject another header. */
export const headerValue = text.refine((value) => !/[\r\n\0]/.test(value), {
  error: 'must not contain line breaks or NUL characters',
});

export const nonEmptyText = z.string().min(1, { error: 'must not be empty' });

export const ipRange = z.string().transform(parsedBy(parseIpRange));

export const statusRange = z
  .union([z.number(), z.string()], { error: 'must be a status like 200 or a range like "200-299"' })
  .transform(parsedBy(parseStatusRange))
  .meta({ pattern: STATUS_RANGE_PATTERN });

/** "header:NAME", "cookie:NAME", "client_ip" or "path": what a hash algorithm hashes. */
export const hashKey = z.string().transform((text, ctx): HashKey => {
  if (text === 'client_ip') return { kind: 'client_ip' };
  if (text === 'path') return { kind: 'path' };
  const match = /^(header|cookie):(.+)$/.exec(text);
  if (match && (match[1] === 'cookie' || TOKEN.test(match[2]!))) {
    return match[1] === 'header' ? { kind: 'header', name: match[2]!.toLowerCase() } : { kind: 'cookie', name: match[2]! };
  }
  ctx.addIssue({ code: 'custom', message: `"${text}" is not a hash key; use client_ip, path, header:NAME or cookie:NAME`, input: text });
  return z.NEVER;
});

/** A percentage, written 50 or "50%". */
export const percent = z
  .union([z.number(), z.string().regex(/^\d+(\.\d+)?%$/, { error: 'write a percentage like 50 or "50%"' }).transform((text) => Number(text.slice(0, -1)))])
  .pipe(z.number().min(0, { error: 'must be between 0 and 100' }).max(100, { error: 'must be between 0 and 100' }));

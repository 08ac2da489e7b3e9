// Zod schemas for single values, shared by weir's form (schema.ts) and the
// course's form (course.ts). Each one checks a value and turns it into what
// the runtime wants (milliseconds, split addresses, lower-case names), so the
// two forms cannot drift apart on what a valid server or duration is.

import * as z from 'zod';
import { checkHost, parseAddress, type AddressRules } from './address.ts';
import { DURATION_PATTERN, missingUnit, parseDuration } from './duration.ts';
import { parseHostPattern } from './host-pattern.ts';
import { parseIpRange } from './ip-range.ts';
import type { Result } from './result.ts';
import type { HashKey, RateLimitConfig, RateLimitKeyPart } from './types.ts';
import { parseTemplate } from './template-syntax.ts';
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

/** A server of weir's own form: HOST:PORT (plain HTTP), or with a scheme, http:// or https:// (TLS). */
export const serverTarget = stringOr((port) => `${port} is only a port; write HOST:PORT, like "127.0.0.1:${port}"`).transform(
  parsedBy((text: string) => {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
    const tls = scheme?.[1]?.toLowerCase() === 'https';
    if (scheme && !tls && scheme[1]!.toLowerCase() !== 'http') {
      return { ok: false as const, message: `"${text}": the scheme must be http:// or https://` };
    }
    const rest = scheme ? text.slice(scheme[0].length).replace(/\/$/, '') : text;
    if (rest.includes('/')) return { ok: false as const, message: `"${text}" has a path; a server is HOST:PORT or https://HOST:PORT only` };
    const parsed = parseAddress(rest, { allowPortZero: false });
    return parsed.ok ? { ok: true as const, value: { address: parsed.value, tls } } : parsed;
  }),
);

/** A host name (or IP address) alone, without port: a TLS server name, an ACME domain. */
export const hostName = z.string().transform(parsedBy(checkHost));

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

/** A value with ${variables}; refused at load when a variable is unknown. */
function templated<T extends z.ZodType<string>>(schema: T) {
  return schema.superRefine((value, ctx) => {
    const parsed = parseTemplate(value);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
  });
}

/** A header value that may use ${variables}; line breaks refused as in headerValue. */
export const headerTemplate = templated(headerValue);

/** A query value or URL that may use ${variables}. */
export const textTemplate = templated(text);

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** A size in bytes: 8192, "8k", "10m", "1g" (units of 1024, as in nginx). */
export const byteSize = z
  .union([z.int().min(1), z.string()], { error: 'must be a size like 8192, "8k" or "10m"' })
  .transform((value, ctx) => {
    if (typeof value === 'number') return value;
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    const unit = SIZE_UNITS[match?.[2]?.toLowerCase() ?? 'none'];
    if (!match || unit === undefined || Number(match[1]) * unit < 1) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a size; write bytes (8192) or a number with k, m or g ("8k", "10m")`, input: value });
      return z.NEVER;
    }
    return Math.floor(Number(match[1]) * unit);
  })
  .meta({ pattern: '^\\s*\\d+(\\.\\d+)?\\s*([kKmMgG]([iI]?[bB])?|[bB])?\\s*$' });

const RATE_UNITS: Record<string, number> = { s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600 };

/** A rate like "100/s", "6000/m" or "50000/h". */
export const rate = z
  .string({ error: 'must be a rate like "100/s" or "6000/m"' })
  .transform((text, ctx) => {
    const match = /^\s*(\d+(?:\.\d+)?)\s*\/\s*([a-z]+)\s*$/i.exec(text);
    const windowSeconds = RATE_UNITS[match?.[2]?.toLowerCase() ?? ''];
    const count = Number(match?.[1]);
    if (!match || windowSeconds === undefined || !(count > 0)) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a rate; write requests per unit, like "100/s", "6000/m" or "50000/h"`, input: text });
      return z.NEVER;
    }
    return { text: text.trim(), count, windowSeconds, perSecond: count / windowSeconds };
  })
  .meta({ pattern: '^\\s*\\d+(\\.\\d+)?\\s*/\\s*(s|sec|second|m|min|minute|h|hour)\\s*$' });

/** One part of a rate limit key: client_ip, route or header:NAME. */
export const rateLimitKeyPart = z.string().transform((text, ctx): RateLimitKeyPart => {
  if (text === 'client_ip') return { kind: 'client_ip' };
  if (text === 'route') return { kind: 'route' };
  const match = /^header:(.+)$/.exec(text);
  if (match && TOKEN.test(match[1]!)) return { kind: 'header', name: match[1]!.toLowerCase() };
  ctx.addIssue({ code: 'custom', message: `"${text}" is not a rate limit key; use client_ip, route or header:NAME`, input: text });
  return z.NEVER;
});

/** "local", or "redis://host:port" (also with a database number, user and password as in redis URLs). */
export const rateLimitStore = z.string().transform((text, ctx): RateLimitConfig['store'] => {
  if (text === 'local') return { kind: 'local' };
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url && (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '') return { kind: 'redis', url: text };
  ctx.addIssue({ code: 'custom', message: `"${text}" is not a store; use local or a Redis URL like "redis://127.0.0.1:6379"`, input: text });
  return z.NEVER;
});

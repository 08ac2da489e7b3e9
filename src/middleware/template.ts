// Values in rules may use variables: `X-Client: ${client_ip}`,
// `to: https://www.example.com${request_uri}`. A template is parsed once when
// the config is compiled; per request it is a join of constant parts and
// looked-up facts.
//
// Client-controlled facts (host, path, query) must never let a client add a
// header line: llhttp already refuses CR, LF and NUL in what it parses, and
// expansion removes every control character as well, so no variable can
// carry a line break onto the wire whatever a future caller feeds it.

import { parseTemplate, type TemplateVariable } from '../config/template-syntax.ts';
import type { RequestContext } from './types.ts';

export { parseTemplate, TEMPLATE_VARIABLES } from '../config/template-syntax.ts';

/** Where each variable's value comes from: a read of the request's context, no object built per request. */
const READ: Record<TemplateVariable, (ctx: RequestContext) => string> = {
  client_ip: (ctx) => ctx.clientIp,
  remote_addr: (ctx) => ctx.remoteAddr,
  host: (ctx) => ctx.host,
  path: (ctx) => ctx.path,
  query: (ctx) => ctx.query,
  request_uri: (ctx) => (ctx.query === '' ? ctx.path : `${ctx.path}?${ctx.query}`),
  method: (ctx) => ctx.method,
  scheme: (ctx) => ctx.scheme,
  request_id: (ctx) => ctx.requestId,
  route: (ctx) => ctx.routeName,
};

export type Template = (ctx: RequestContext) => string;

/** Compiles a template that parseTemplate accepted (the config loader checked it). */
export function compileTemplate(text: string): Template {
  const parsed = parseTemplate(text);
  if (!parsed.ok) throw new Error(`template "${text}": ${parsed.message}`);
  const parts = parsed.value;
  if (parts.every((part) => typeof part === 'string')) return () => text;
  const compiled = parts.map((part) => (typeof part === 'string' ? part : READ[part.variable]));
  return (ctx) => {
    let out = '';
    for (const part of compiled) out += typeof part === 'string' ? part : withoutControlCharacters(part(ctx));
    return out;
  };
}

/** Whether the text uses any variable (a constant one can be worked out once). */
export function isConstantTemplate(text: string): boolean {
  const parsed = parseTemplate(text);
  return parsed.ok && parsed.value.every((part) => typeof part === 'string');
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/g;

/** Removes control characters other than tab: a value can then never end a header line. */
export function withoutControlCharacters(value: string): string {
  CONTROL.lastIndex = 0;
  return CONTROL.test(value) ? value.replace(CONTROL, '') : value;
}

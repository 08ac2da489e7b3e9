// The syntax of values with variables (`X-Client: ${client_ip}`): which
// variables exist and how a template splits into text and variables. The
// config loader checks templates with it; middleware/template.ts compiles
// them for the hot path.

import { fail, ok, type Result } from './result.ts';

/** What a template can refer to, with what it means (for docs and error messages). */
export const TEMPLATE_VARIABLES = {
  client_ip: "the client's address (behind trusted_proxies: taken from X-Forwarded-For or the PROXY header)",
  remote_addr: 'the address of the connection\'s peer',
  host: 'the Host header without the port, lower-case',
  path: 'the path as the client sent it',
  query: 'the query string without "?" ("" when there is none)',
  request_uri: 'the path and query as the client sent them',
  method: 'the request method',
  scheme: 'http or https, as the client reached weir',
  request_id: 'the request id (kept from the client when well formed, otherwise generated)',
  route: "the route's name",
} as const;

export type TemplateVariable = keyof typeof TEMPLATE_VARIABLES;

export type TemplatePart = string | { variable: TemplateVariable };

const VARIABLE = /\$\{([^}]*)\}/g;

/** The template's parts, or why it is not one (an unknown variable, an unclosed "${"). */
export function parseTemplate(text: string): Result<TemplatePart[]> {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of text.matchAll(VARIABLE)) {
    const name = match[1] as string;
    if (!Object.hasOwn(TEMPLATE_VARIABLES, name)) {
      const known = Object.keys(TEMPLATE_VARIABLES).map((known) => `\${${known}}`).join(', ');
      return fail(`unknown variable \${${name}}; the variables are ${known}`);
    }
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push({ variable: name as TemplateVariable });
    last = match.index + match[0].length;
  }
  const rest = text.slice(last);
  if (rest.includes('${')) return fail('has "${" without a closing "}"');
  if (rest !== '') parts.push(rest);
  return ok(parts);
}


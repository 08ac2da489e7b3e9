// The running config of a live weir, for `weir plan --admin URL`: its admin
// API answers GET /api/config with the config's text (YAML, or JSON in the
// same shape, which YAML reads too). It is loaded like a file, with
// `${NAME}` references expanded from this process's environment. An admin
// API that wants a token for reading (one not on loopback) gets the one in
// WEIR_ADMIN_TOKEN, as "Authorization: Bearer ...".

import { loadConfigText } from '../config/load.ts';
import type { WeirConfig } from '../config/types.ts';

const TIMEOUT_MS = 10_000;

export async function fetchRunningConfig(adminUrl: string, token = process.env.WEIR_ADMIN_TOKEN): Promise<{ config: WeirConfig; label: string }> {
  const url = new URL('api/config', adminUrl.endsWith('/') ? adminUrl : `${adminUrl}/`);
  const headers: Record<string, string> = { accept: 'application/yaml, application/json, text/plain' };
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), headers });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach the admin API at ${url.href}: ${cause?.code ?? cause?.message ?? (error as Error).message}`, { cause: error });
  }
  if (!response.ok) {
    const hint = response.status === 401 || response.status === 403 ? ' (set WEIR_ADMIN_TOKEN to the admin token)' : '';
    throw new Error(`the admin API at ${url.href} answered ${response.status}${hint}`);
  }
  return { config: loadConfigText(await response.text(), url.href), label: url.href };
}

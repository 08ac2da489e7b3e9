// How weir's ACME requests reach the CA. acme-client sends everything through
// one module-wide axios instance, so options set on it would apply to every
// ACME client in the process. Instead, each AcmeManager runs its order inside
// an AsyncLocalStorage scope, and one request interceptor gives the requests
// made in that scope that manager's own settings:
//
// - an https.Agent trusting Node's default CAs plus the listener's `acme.ca`
//   file, so a private or test CA is trusted for that listener only and TLS
//   verification is never switched off;
// - a timeout per request, so a CA that accepts and stays silent cannot hold
//   an attempt for ever;
// - an AbortSignal, so close() abandons an order in flight.
//
// Requests outside such a scope (anything else in the process using
// acme-client) are left alone.
//
// The adapter is wrapped as well, because acme-client's response interceptor
// retries transport failures, 429 and 5xx itself, up to five times over more
// than a minute, and then answers a transport failure with a TypeError that
// has lost the reason. weir has its own backoff with its status on show, so
// those failures are turned here into one readable error that acme-client
// passes straight through (it retries only errors that carry an axios config).

import { AsyncLocalStorage } from 'node:async_hooks';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { createRequire } from 'node:module';
import { getCACertificates } from 'node:tls';
import type * as AcmeClient from 'acme-client';
import type { AxiosAdapter, AxiosResponse, InternalAxiosRequestConfig } from 'axios';

type AcmeClientModule = typeof AcmeClient;

/** What one manager's requests to the CA use. */
export interface AcmeTransport {
  readonly agent: https.Agent;
  readonly signal: AbortSignal;
  readonly requestTimeoutMs: number;
}

/** A failure to talk to the CA at all, or a CA that answered "later" (429, 5xx). */
export class AcmeTransportError extends Error {
  /** From the CA's Retry-After header, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AcmeTransportError';
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Every wait on the CA is bounded; 30 s is far beyond a healthy CA's answer. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

const scope = new AsyncLocalStorage<AcmeTransport>();
let loaded: Promise<AcmeClientModule> | undefined;

/**
 * acme-client with weir's interceptor installed, loaded on first use: it
 * brings axios, node-forge and @peculiar/x509 (about 300 ms and 40 MB), which
 * a weir without `acme:` never pays for.
 */
export function loadAcmeClient(): Promise<AcmeClientModule> {
  loaded ??= import('acme-client').then((acme) => {
    // The http adapter of the very axios acme-client uses (resolved from acme-client's own location).
    const axiosOfAcmeClient = createRequire(import.meta.resolve('acme-client'))('axios') as { getAdapter(name: 'http'): AxiosAdapter };
    const httpAdapter = axiosOfAcmeClient.getAdapter('http');
    acme.axios.interceptors.request.use((config) => {
      const transport = scope.getStore();
      if (!transport) return config;
      config.httpsAgent = transport.agent;
      config.timeout = transport.requestTimeoutMs;
      config.adapter = (request) => send(httpAdapter, request, transport);
      return config;
    });
    return acme;
  });
  return loaded;
}

/** Runs `work` with every acme-client request inside it going through `transport`. */
export function withAcmeTransport<T>(transport: AcmeTransport, work: () => Promise<T>): Promise<T> {
  return scope.run(transport, work);
}

/**
 * An agent that verifies the CA's certificate against Node's default CAs
 * and, when given, the PEM certificates in `caFile` as well.
 */
export async function createCaAgent(caFile: string | undefined): Promise<https.Agent> {
  if (caFile === undefined) return new https.Agent({ keepAlive: true });
  let text: string;
  try {
    text = await readFile(caFile, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the acme.ca file ${caFile} (${(error as Error).message})`, { cause: error });
  }
  const extra = text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
  if (!extra) throw new Error(`the acme.ca file ${caFile} holds no PEM certificate ("BEGIN CERTIFICATE")`);
  // `ca` replaces the default list rather than adding to it, hence the defaults first.
  return new https.Agent({ keepAlive: true, ca: [...getCACertificates('default'), ...extra] });
}

async function send(httpAdapter: AxiosAdapter, config: InternalAxiosRequestConfig, transport: AcmeTransport): Promise<AxiosResponse> {
  const target = describeTarget(config);
  if (transport.signal.aborted) throw new AcmeTransportError(`${target}: abandoned, the certificate manager was closed`);
  let response: AxiosResponse;
  try {
    // The signal goes to the adapter only: on axios's own config, a cancellation would look retryable to acme-client.
    response = await httpAdapter({ ...config, signal: transport.signal });
  } catch (error) {
    // acme-client makes the adapter reject every answer (validateStatus) and sorts them out in its interceptor.
    const answered = (error as { response?: AxiosResponse }).response;
    if (!answered) throw new AcmeTransportError(describeTransportFailure(target, error, transport), { cause: error });
    refuseLater(target, answered);
    throw error;
  }
  refuseLater(target, response);
  return response;
}

/** Throws for a CA's "not now" (429, 5xx), which acme-client would otherwise sleep on and retry itself. */
function refuseLater(target: string, response: AxiosResponse): void {
  if (response.status !== 429 && response.status < 500) return;
  const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
  const detail = problemDetail(response.data);
  const later = retryAfterMs === undefined ? '' : ` (the CA asks to retry in ${Math.round(retryAfterMs / 1000)} s)`;
  throw new AcmeTransportError(`${target}: the CA answered ${response.status}${detail ? `: ${detail}` : ''}${later}`, { retryAfterMs });
}

function describeTarget(config: InternalAxiosRequestConfig): string {
  return `${(config.method ?? 'get').toUpperCase()} ${config.url ?? '(no url)'}`;
}

/** OpenSSL's verdicts on a peer certificate that is not trusted (as opposed to a network failure). */
const UNTRUSTED_CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function describeTransportFailure(target: string, error: unknown, transport: AcmeTransport): string {
  const failure = error as { code?: string; message?: string };
  const reason = failure.message ?? String(error);
  if (transport.signal.aborted) return `${target}: abandoned, the certificate manager was closed`;
  if (failure.code !== undefined && UNTRUSTED_CERTIFICATE.has(failure.code)) {
    return `${target}: the CA's TLS certificate is not trusted (${failure.code}: ${reason}); for a private CA, give its PEM file as acme.ca`;
  }
  if (failure.code === 'ECONNABORTED' || failure.code === 'ETIMEDOUT') {
    return `${target}: no answer from the CA within ${transport.requestTimeoutMs} ms`;
  }
  return `${target}: cannot reach the CA (${reason})`;
}

/** The `detail` of an RFC 7807 problem document, from the raw body the adapter returns. */
function problemDetail(data: unknown): string | undefined {
  if (typeof data !== 'string' || data === '') return undefined;
  try {
    const problem = JSON.parse(data) as { detail?: unknown };
    return typeof problem.detail === 'string' ? problem.detail : undefined;
  } catch {
    return data.slice(0, 200);
  }
}

/** Retry-After as delta-seconds or an HTTP date, in ms from now. */
function parseRetryAfter(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

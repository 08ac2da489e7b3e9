// What the driver and the forwarding phases share about one request, kept
// apart so that neither imports the other's module.

import type { Readable } from 'node:stream';
import type { HeaderEdit } from '../middleware/headers.ts';
import type { RequestContext } from '../middleware/types.ts';
import type { Failure } from '../failure.ts';
import type { ClientRequest } from './plan-request.ts';

/** A client request as the listener hands it over. */
export interface IncomingRequest extends ClientRequest {
  /** The request body as it arrives (Node's IncomingMessage). */
  body: Readable;
  /** For an Upgrade request: the protocol asked for, and the bytes the client sent after its head. */
  upgrade?: { protocol: string; head: Buffer } | undefined;
}

/** What one request's failure is about, for its log line. */
export interface FailureScene {
  request: IncomingRequest;
  /** Where the log phase will read the failure. */
  record?: RequestRecord | undefined;
  context?: RequestContext | undefined;
  route?: string | undefined;
  service?: string | undefined;
  backend?: string | undefined;
  attempts?: number;
  /** Edits the answer's headers: the request id, and the route's response_headers once it is known. */
  answerHeaders: HeaderEdit;
}

/** Requests in flight to backends, over every service and every reload. */
export class UpstreamGate {
  inFlight = 0;
}


/**
 * One request as the log phase sees it once it is over: filled in by the
 * phases as they go (route, service, backend, attempts, the failure), read
 * by observers (access log, metrics) when the answer is complete or the
 * connection gone.
 */
export class RequestRecord {
  /** Date.now() when the request arrived. */
  readonly startedAt = Date.now();
  /** performance.now() when the request arrived, for the duration. */
  readonly started = performance.now();
  readonly request: IncomingRequest;
  requestId = '';
  clientIp: string;
  host = '';
  route: string | undefined;
  service: string | undefined;
  backend: string | undefined;
  attempts = 0;
  failure: Failure | undefined;
  /** Bytes a tunnel carried to the client after its 101. */
  tunnelledBytes = 0;
  /** The last attempt's time at its backend: from sending the request to the end of the response (or its failure, or the 101). */
  upstreamMs: number | undefined;

  constructor(request: IncomingRequest) {
    this.request = request;
    this.clientIp = request.peer;
  }
}

/** What happens on the way that the metrics count. */
export interface TrafficEvents {
  retried(service: string): void;
  retryBudgetExhausted(service: string): void;
  rateLimitDecision(limitId: string, allowed: boolean): void;
}

/** Hears of every request once it is over: the access log, metrics. */
export interface RequestObserver {
  requestFinished(record: RequestRecord, status: number, bytesSent: number, durationMs: number): void;
}

// What the driver and the forwarding phases share about one request, kept
// apart so that neither imports the other's module.

import type { Readable } from 'node:stream';
import type { HeaderEdit } from '../middleware/headers.ts';
import type { RequestContext } from '../middleware/types.ts';
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


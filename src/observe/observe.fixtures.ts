// Request records for the observe tests, as the driver would leave them.
import { Readable } from 'node:stream';
import type { Failure } from '../failure.ts';
import { RequestRecord, type IncomingRequest } from '../runtime/exchange.ts';
import { pino } from 'pino';

export interface RecordFields {
  method?: string;
  url?: string;
  rawHeaders?: string[];
  peer?: string;
  requestId?: string;
  host?: string;
  route?: string;
  service?: string;
  backend?: string;
  attempts?: number;
  failure?: Failure;
  startedAt?: number;
}

/** A finished request's record; every field has a plausible default. */
export function makeRecord(fields: RecordFields = {}): RequestRecord {
  const request: IncomingRequest = {
    method: fields.method ?? 'GET',
    url: fields.url ?? '/api/users?id=7',
    rawHeaders: fields.rawHeaders ?? ['Host', 'api.example.com', 'User-Agent', 'curl/8.5.0'],
    peer: fields.peer ?? '127.0.0.1',
    body: Readable.from([]),
  };
  const record = new RequestRecord(request);
  record.requestId = fields.requestId ?? 'req-1';
  record.host = fields.host ?? 'api.example.com';
  record.route = fields.route;
  record.service = fields.service;
  record.backend = fields.backend;
  record.attempts = fields.attempts ?? 0;
  record.failure = fields.failure;
  // readonly for the phases; a test sets the arrival time it wants to see.
  if (fields.startedAt !== undefined) Object.assign(record, { startedAt: fields.startedAt });
  return record;
}

/** A forwarded request's record. */
export const forwarded = (fields: RecordFields = {}): RequestRecord =>
  makeRecord({ route: 'api', service: 'api', backend: '127.0.0.1:8081', attempts: 1, ...fields });

/** A logger that keeps what it is given, for asserting on weir's own log lines. */
export function memoryLogger(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'trace' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

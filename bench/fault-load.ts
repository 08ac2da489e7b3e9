// The load client of the backend-failure scenario: keeps `concurrency` GET
// requests in flight over keep-alive connections for a fixed time and counts
// every request, and every failed one by kind (HTTP status, connection error,
// timeout), with the time it failed. Unlike wrk it gives an exact count per
// kind and per moment, which is what this scenario is about.

import http from 'node:http';

/** How one request ended: an HTTP status, or a failure kind when no complete answer came. */
export type Outcome = { status: number } | { error: string };

export interface LoadOptions {
  url: string;
  concurrency: number;
  durationMs: number;
  /** A request that has not completed after this long is abandoned and counted as a timeout. */
  timeoutMs: number;
  /** Width of the timeline buckets (default 100 ms). */
  bucketMs?: number;
}

export interface LoadResult {
  /** Epoch ms when the first request was sent. */
  startedAt: number;
  /** From the start until the last in-flight request ended. */
  elapsedMs: number;
  requests: number;
  ok: number;
  failed: number;
  /** Failed requests by kind: "HTTP 502", "connection reset", "timeout", ... */
  byKind: Record<string, number>;
  /** When each failed request ended, in ms after the start (the scenario splits them into phases). */
  failureTimesMs: number[];
  bucketMs: number;
  /** Requests ended and failed per bucket, index = ms after the start / bucketMs. */
  timeline: Array<{ done: number; failed: number }>;
}

/** A status that counts as a failure: what wrk calls "Non-2xx or 3xx responses". */
export function isFailedStatus(status: number): boolean {
  return status < 200 || status >= 400;
}

/** A short, stable name for a client-side error. */
export function errorKind(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  const code = e?.code;
  const message = e?.message ?? String(err);
  if (code === 'ECONNREFUSED') return 'connection refused';
  // Node says "socket hang up" when the connection closed before any answer.
  if (code === 'ECONNRESET' && message === 'socket hang up') return 'closed before answer';
  if (code === 'ECONNRESET') return 'connection reset';
  if (code === 'EPIPE') return 'broken pipe';
  return code ?? message;
}

/** Outcome of a failed request as its kind, or undefined when it succeeded. */
export function failureKind(outcome: Outcome): string | undefined {
  if ('error' in outcome) return outcome.error;
  return isFailedStatus(outcome.status) ? `HTTP ${outcome.status}` : undefined;
}

function requestOnce(url: string, agent: http.Agent, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: Outcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = http.get(url, { agent }, (res) => {
      const status = res.statusCode ?? 0;
      res.on('data', () => {});
      res.once('end', () => finish({ status }));
      // The connection ended inside the body: the answer was cut off.
      res.once('error', () => finish({ error: 'answer cut off' }));
      res.once('close', () => {
        if (!res.complete) finish({ error: 'answer cut off' });
      });
    });
    const timer = setTimeout(() => {
      finish({ error: 'timeout' });
      req.destroy();
    }, timeoutMs);
    req.once('error', (err) => finish({ error: errorKind(err) }));
  });
}

/** Runs the load and resolves once every request it sent has ended (at most timeoutMs after durationMs). */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const bucketMs = o.bucketMs ?? 100;
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency, maxFreeSockets: o.concurrency });
  const startedAt = Date.now();
  const endAt = startedAt + o.durationMs;
  const result: LoadResult = {
    startedAt,
    elapsedMs: 0,
    requests: 0,
    ok: 0,
    failed: 0,
    byKind: {},
    failureTimesMs: [],
    bucketMs,
    timeline: [],
  };
  const record = (outcome: Outcome): void => {
    const at = Date.now() - startedAt;
    const bucket = Math.floor(at / bucketMs);
    while (result.timeline.length <= bucket) result.timeline.push({ done: 0, failed: 0 });
    const slot = result.timeline[bucket] as { done: number; failed: number };
    slot.done++;
    result.requests++;
    const kind = failureKind(outcome);
    if (kind === undefined) {
      result.ok++;
      return;
    }
    slot.failed++;
    result.failed++;
    result.byKind[kind] = (result.byKind[kind] ?? 0) + 1;
    result.failureTimesMs.push(at);
  };
  const worker = async (): Promise<void> => {
    while (Date.now() < endAt) {
      const outcome = await requestOnce(o.url, agent, o.timeoutMs);
      record(outcome);
      // A load balancer that refuses at once would otherwise make this a busy loop
      // that starves the timers of the scenario; yield to them.
      if ('error' in outcome) await new Promise((r) => setImmediate(r));
    }
  };
  try {
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  result.elapsedMs = Date.now() - startedAt;
  return result;
}

// What the primary and the workers of a group (`weir start --workers N`)
// say to each other over the IPC channel, with Node's "advanced"
// serialization (structured clone: a WeirConfig with its Maps goes as it is).
//
//   primary → worker                       worker → primary
//   start (config, backends' state)        started | start-failed
//   prepare (config) ─┐ a reload: all or   prepared | prepare-failed
//   commit | cancel  ─┘ none (primary.ts)  committed
//   backends: the state the primary owns   passive: a request failed, or succeeded after failures
//   rate: other workers' tokens taken      rate: tokens this worker took lately
//   stats (a /metrics scrape)              stats
//                                          report (every second): load, route traffic, refusals
//   reopen-logs, stop

import type { RecentRefusal } from '../admin/context.ts';
import type { RouteTraffic } from '../admin/route-stats.ts';
import type { Address, WeirConfig } from '../config/types.ts';
import type { MetricsSnapshot } from '../observe/metrics.ts';
import type { RateCounts } from '../ratelimit/stores.ts';
import type { BackendStateSnapshot } from '../upstream/backend.ts';

export type ToWorker =
  | {
      type: 'start';
      /** The worker's place in the group, 1..N; a replacement takes the place of the one it replaces. */
      slot: number;
      generation: number;
      /** Validated by the primary; `listen` is the address to bind, its port already chosen when the config asked for 0. */
      config: WeirConfig;
      text: string;
      reusePort: boolean;
      drainTimeoutMs: number;
      backends: BackendStateSnapshot[];
    }
  | { type: 'prepare'; generation: number; config: WeirConfig; text: string }
  | { type: 'commit'; generation: number; backends: BackendStateSnapshot[] }
  | { type: 'cancel'; generation: number }
  | { type: 'backends'; backends: BackendStateSnapshot[] }
  | { type: 'rate'; counts: RateCounts[] }
  | { type: 'stats'; request: number }
  | { type: 'reopen-logs' }
  | { type: 'stop' };

/** The requests in flight and the latency of one backend, in one worker. */
export interface BackendLoad {
  service: string;
  backend: string;
  inflight: number;
  latencyMs: number;
}

export type FromWorker =
  | { type: 'started'; address: Address }
  | { type: 'start-failed'; message: string }
  | { type: 'prepared'; generation: number; address: Address }
  | { type: 'prepare-failed'; generation: number; message: string }
  | { type: 'committed'; generation: number }
  | { type: 'passive'; service: string; address: Address; failed: boolean; detail: string }
  | { type: 'rate'; counts: RateCounts[] }
  | { type: 'report'; load: BackendLoad[]; routes: RouteTraffic[]; refusals: RecentRefusal[] | undefined }
  | { type: 'stats'; request: number; stats: MetricsSnapshot };

/** Reads a message that came over the channel; anything else (Node's own cluster messages are filtered by Node) is ignored. */
export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

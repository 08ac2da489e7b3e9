import type { WrkSummary } from './report.ts';

/** A wrk summary for the scenario tests: 3 rounds, no failures, the given req/s and errors. */
export const summary = (lb: string, requestsPerSec: number, errors = 0): WrkSummary => ({
  lb,
  rounds: 3,
  failed: 0,
  requestsPerSec,
  minRps: requestsPerSec - 100,
  maxRps: requestsPerSec + 100,
  p50Ms: 4,
  p99Ms: 9,
  peakRssBytes: 200 * 2 ** 20,
  cpuCores: 1,
  errors,
});

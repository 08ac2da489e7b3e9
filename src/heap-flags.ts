import v8 from 'node:v8';

/**
 * V8 flags for `weir start`. V8 sizes its heap from the machine's memory, not
 * from what weir keeps alive: on a host with 24 GiB it lets the young
 * generation grow to 2 × 64 MiB and the old generation to about 4× the live
 * heap between full collections, and keeps the pages it frees for reuse
 * rather than returning them. Bursts of connections then raise RSS burst
 * after burst (five bursts of 10,000 connections, 1,000 at a time: 240, 290,
 * 330, 360, 375 MiB) while the live heap stays at 36 MiB, until it levels off
 * far above what weir uses. With a 16 MiB semi-space and the old generation
 * allowed 50% over the live heap, the first burst reaches the level and the
 * next ones stay there (about 185 MiB). The cost is GC time: none
 * measurable at 64 keep-alive connections; when every request comes on a new
 * connection, 1,000 at a time, GC pauses go from about 20 to 40-50 µs per
 * connection, some 5-10% more CPU.
 */
export const HEAP_FLAGS: readonly string[] = ['--max-semi-space-size=16', '--heap-growing-percent=50'];

/**
 * Restarts this process in place (same pid, stdio and arguments) with those
 * of HEAP_FLAGS not already given in execArgv or NODE_OPTIONS, so that an
 * operator's own values win. For the process's entry point only, before it
 * listens: nothing of the current process survives but stdio. The
 * semi-space size can only be set at startup; without process.execve
 * (Windows), or with an IPC channel to a parent (child_process.fork,
 * node --watch) that a restart would cut, the growing factor, which V8
 * reads at every full collection, is set in place and the young generation
 * keeps V8's default. Returns only if there was no restart.
 */
export function relaunchWithHeapFlags(): void {
  const missing = missingHeapFlags(process.execArgv);
  if (missing.length === 0) return;
  if (typeof process.execve === 'function' && !process.channel) {
    try {
      process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)]);
    } catch {
      // execve(2) failed and this process runs on unchanged: tune what can be tuned in place.
    }
  }
  for (const flag of missing) if (flagName(flag) === '--heap-growing-percent') v8.setFlagsFromString(flag);
}

/**
 * The Node.js flags for a worker process of `weir start --workers`: this
 * process's own (a relaunched primary has HEAP_FLAGS among them), with
 * those of HEAP_FLAGS that neither they nor NODE_OPTIONS give. A worker has
 * an IPC channel, so it could not relaunch itself: it gets them at fork.
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  return [...missingHeapFlags(execArgv), ...execArgv];
}

function missingHeapFlags(execArgv: readonly string[]): string[] {
  const given = [...execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].map(flagName);
  return HEAP_FLAGS.filter((flag) => !given.includes(flagName(flag)));
}

/** "--max_semi_space_size=8" and "--max-semi-space-size" name the same flag. */
function flagName(arg: string): string {
  return arg.split('=')[0]!.replaceAll('_', '-');
}

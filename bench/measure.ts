/** Timing and resident-memory sampling shared by the benches. */
import { performance } from 'node:perf_hooks';

export const MiB = 1024 * 1024;

export interface Measured {
  seconds: number;
  /** The largest RSS seen while the task ran (sampled, and once more when it ended). */
  peakRssMiB: number;
  /** That peak above the RSS before the task started. */
  growthMiB: number;
}

/**
 * Runs `task`, timing it and sampling the process RSS every `intervalMs`. Where V8's gc is exposed
 * (--expose-gc) and `collectFirst` holds, a full collection runs first so that the starting level holds no
 * garbage; a task timed for speed after a warm-up passes false, as a forced full collection throws away
 * some of what the warm-up compiled (its saves then run a third slower for a while).
 */
export async function measure<T>(task: () => Promise<T>, intervalMs: number, collectFirst = true): Promise<Measured & { result: T }> {
  if (collectFirst) globalThis.gc?.();
  const startRss = process.memoryUsage.rss();
  let peak = startRss;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, intervalMs);
  const started = performance.now();
  let result: T;
  try {
    result = await task();
  } finally {
    clearInterval(timer);
  }
  const seconds = (performance.now() - started) / 1000;
  sample();
  return { result, seconds, peakRssMiB: peak / MiB, growthMiB: (peak - startRss) / MiB };
}

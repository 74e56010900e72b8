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

/** Samples the process RSS every `intervalMs` until stopped: the peak seen (once more at the stop), and the start. */
export function sampleRss(intervalMs: number): { stop(): { startRss: number; peakRss: number } } {
  const startRss = process.memoryUsage.rss();
  let peakRss = startRss;
  const sample = (): void => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { startRss, peakRss };
    },
  };
}

/**
 * Runs `task`, timing it and sampling the process RSS every `intervalMs`. Where V8's gc is exposed
 * (--expose-gc), a full collection runs first so that the starting level holds no garbage.
 */
export async function measure<T>(task: () => Promise<T>, intervalMs: number): Promise<Measured & { result: T }> {
  globalThis.gc?.();
  const sampler = sampleRss(intervalMs);
  const started = performance.now();
  let result: T;
  let seconds: number;
  let memory: { startRss: number; peakRss: number };
  try {
    result = await task();
  } finally {
    seconds = (performance.now() - started) / 1000;
    memory = sampler.stop();
  }
  return { result, seconds, peakRssMiB: memory.peakRss / MiB, growthMiB: (memory.peakRss - memory.startRss) / MiB };
}

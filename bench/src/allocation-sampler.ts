/**
 * Preloaded into the service under `npm run bench:allocations`: the first
 * SIGUSR2 starts V8's sampling heap profiler, counting what the garbage
 * collector frees as well (the allocation rate, which is what costs GC time,
 * rather than what stays); the second writes the profile to the file named by
 * ALLOCATION_PROFILE.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

/** One sample per KiB allocated, on average. */
const SAMPLING_INTERVAL_BYTES = 1024;

const out = process.env.ALLOCATION_PROFILE;
if (out) {
  const session = new Session();
  session.connect();
  let sampling = false;
  process.on('SIGUSR2', () => {
    if (!sampling) {
      sampling = true;
      session.post('HeapProfiler.startSampling', {
        samplingInterval: SAMPLING_INTERVAL_BYTES,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
      return;
    }
    sampling = false;
    session.post('HeapProfiler.stopSampling', (error, result) => {
      // Whole or not at all: the benchmark reads the file as soon as it exists.
      writeFileSync(`${out}.partial`, JSON.stringify(error ? { error: String(error) } : result.profile));
      renameSync(`${out}.partial`, out);
    });
  });
}

import { constants } from 'node:os';

/**
 * Calls `stop` on the first SIGTERM or SIGINT, for a graceful stop; a second
 * one exits at once, with 128 + the signal's number as a shell reports it
 * (130 after Ctrl-C), for whoever will not wait.
 */
export function onStopSignals(stop: (signal: NodeJS.Signals) => void): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without waiting\n`);
      process.exit(128 + (constants.signals[signal] ?? 0));
    }
    stopping = true;
    stop(signal);
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}

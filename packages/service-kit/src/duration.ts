/**
 * Durations, one way everywhere: as text (fault specs, the traffic
 * generator's options) and as google.protobuf.Duration (fault.v1, the
 * RetryInfo of errors).
 */
import type { Duration } from '@platform/contracts/google/protobuf/duration';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(\d+\.?\d*|\.\d+)\s*(ms|s|m|h)$/;

/**
 * `200ms`, `1.5s`, `5m` or `1h` in milliseconds; a string says what is wrong.
 * The unit is required: a bare `10` reads as seconds to some and as
 * milliseconds to others.
 */
export function parseDuration(text: string): number | string {
  const match = DURATION.exec(text.trim());
  if (!match) return `"${text.trim()}" is not a duration such as 200ms, 1.5s or 5m`;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  // 1.1s is 1100.0000000000002 in floating point: still a whole number of milliseconds.
  return Math.abs(ms - Math.round(ms)) < 1e-6 ? Math.round(ms) : ms;
}

/** A whole, non-negative number of milliseconds as a google.protobuf.Duration. */
export function protoDurationOf(ms: number): Duration {
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

/** A google.protobuf.Duration in milliseconds, not rounded: a part finer than a millisecond stays a fraction. */
export function millisecondsOf(duration: Duration): number {
  return Number(duration.seconds) * 1000 + duration.nanos / 1_000_000;
}

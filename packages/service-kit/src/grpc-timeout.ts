/**
 * How the server reads the grpc-timeout request header, corrected.
 *
 * grpc-js 1.14 (BaseServerInterceptingCall#handleTimeoutHeader) answers a
 * malformed header with INTERNAL, a server-fault code any client could use
 * to spend the error budget; and it truncates the timeout to 32 bits, so a
 * deadline of about 24.9 days or more (2^31 ms) ends the call at once with
 * DEADLINE_EXCEEDED. Both are the caller's input: a malformed header is
 * INVALID_ARGUMENT before any handler runs, and a deadline beyond what a
 * timer can hold is no practical deadline at all.
 *
 * The one method that reads the header is replaced, once, with this
 * behaviour; the tests in services/order/test/grpc-timeout.test.ts fail if a
 * grpc-js upgrade moves it. Remove this module when grpc-js does the same.
 */
import { status as Code } from '@grpc/grpc-js';
import { BaseServerInterceptingCall } from '@grpc/grpc-js/build/src/server-interceptors';

/** The gRPC over HTTP/2 grammar: at most 8 digits, then one unit. */
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
/** Node's timers hold at most 2^31-1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface TimeoutHandling {
  deadline: number;
  deadlineTimer: NodeJS.Timeout | null;
  sendStatus(status: { code: Code; details: string; metadata: null }): void;
}

let installed = false;

export function correctGrpcTimeoutHandling(): void {
  if (installed) return;
  const prototype = BaseServerInterceptingCall.prototype as unknown as { handleTimeoutHeader?: (value: unknown) => void };
  if (typeof prototype.handleTimeoutHeader !== 'function') {
    throw new Error(
      '@grpc/grpc-js no longer has BaseServerInterceptingCall#handleTimeoutHeader: review packages/service-kit/src/grpc-timeout.ts',
    );
  }
  prototype.handleTimeoutHeader = function handleTimeoutHeader(this: TimeoutHandling, value: unknown): void {
    const match = TIMEOUT.exec(String(value));
    if (match === null) {
      // After the constructor that called this has finished, as grpc-js does.
      process.nextTick(() =>
        this.sendStatus({ code: Code.INVALID_ARGUMENT, details: `invalid grpc-timeout header "${String(value)}"`, metadata: null }),
      );
      return;
    }
    const timeoutMs = Number(match[1]) * UNIT_MS[match[2]!]!;
    if (timeoutMs > MAX_TIMER_MS) return;
    this.deadline = Date.now() + timeoutMs;
    this.deadlineTimer = setTimeout(
      () => this.sendStatus({ code: Code.DEADLINE_EXCEEDED, details: 'Deadline exceeded', metadata: null }),
      timeoutMs,
    );
  };
  installed = true;
}

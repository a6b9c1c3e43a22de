import type { ServiceError } from '@grpc/grpc-js';
import { SERVER_FAULT_CODES, type Logger, type MetricsRegistry } from '@platform/telemetry';
import CircuitBreaker from 'opossum';
import { Counter, Gauge } from 'prom-client';
import { AppError, Code } from '../errors';

export interface CircuitBreakerSettings {
  /** Percentage of failed calls in the rolling window above which the circuit opens. */
  errorThresholdPercent: number;
  /** Calls the rolling window must hold before it may open: a handful of failures at low traffic is not an outage. */
  volumeThreshold: number;
  /** How long the circuit stays open before one probe call may test the dependency again (half-open). */
  resetTimeoutMs: number;
}

export interface GuardOptions {
  /** The `breaker` label, and the name in log lines: `user-service`. */
  name: string;
  settings: CircuitBreakerSettings;
  registry: MetricsRegistry;
  logger: Logger;
  /**
   * Whether a rejection says the dependency is unwell; isDependencyUnwell when
   * left out. Only these count towards opening; the rest (the request was
   * wrong, the caller gave up) show the dependency answering and count as
   * successes.
   */
  isFailure?(error: unknown): boolean;
  /** The UNAVAILABLE message callers get while the circuit is open: `<name> circuit open; retry later` when left out. */
  openMessage?: string;
}

/**
 * The answers that say a dependency, or the way to it, is unwell: its server
 * faults, and RESOURCE_EXHAUSTED, which from the caller's side is a
 * dependency shedding load. The others say it is working: the request was
 * wrong (INVALID_ARGUMENT, NOT_FOUND ...) or our own caller gave up
 * (CANCELLED).
 */
const DEPENDENCY_UNWELL: ReadonlySet<number> = new Set([...SERVER_FAULT_CODES, Code.RESOURCE_EXHAUSTED]);

export function isDependencyUnwell(error: unknown): boolean {
  return DEPENDENCY_UNWELL.has((error as Partial<ServiceError>).code ?? Code.UNKNOWN);
}

/** circuit_breaker_state values: alerting on `== 2` finds open circuits. */
const STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
type State = keyof typeof STATE_VALUE;

/**
 * A circuit breaker (opossum) around the calls to one dependency. While the
 * dependency keeps failing, callers get UNAVAILABLE at once instead of each
 * waiting out a deadline, and the dependency gets room to recover. State and
 * transitions are metrics and log lines, so an open circuit is seen.
 */
export class CircuitBreakerGuard {
  readonly #breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  readonly #options: GuardOptions;
  readonly #openMessage: string;
  readonly #metrics: BreakerMetrics;

  constructor(options: GuardOptions) {
    this.#options = options;
    const { name, settings, isFailure = isDependencyUnwell } = options;
    this.#openMessage = options.openMessage ?? `${name} circuit open; retry later`;
    // The action is the call itself, so one breaker guards whatever call is passed to run().
    this.#breaker = new CircuitBreaker((action: () => Promise<unknown>) => action(), {
      name,
      // gRPC deadlines bound every call already; a second timer would only disagree with them.
      timeout: false,
      errorThresholdPercentage: settings.errorThresholdPercent,
      volumeThreshold: settings.volumeThreshold,
      resetTimeout: settings.resetTimeoutMs,
      errorFilter: (error: unknown) => !isFailure(error),
      // Percentiles would sort every latency of the window on each failure, and nothing reads them.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    });
    this.#metrics = breakerMetrics(options.registry);
    this.#observe();
  }

  /** Runs `action` unless the circuit is open; then throws UNAVAILABLE without running it. */
  async run<T>(action: () => Promise<T>): Promise<T> {
    try {
      return (await this.#breaker.fire(action)) as T;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'EOPENBREAKER') throw AppError.unavailable(this.#openMessage, error);
      throw error;
    }
  }

  get state(): State {
    if (this.#breaker.opened) return 'open';
    return this.#breaker.halfOpen ? 'half_open' : 'closed';
  }

  /** Stops the breaker's timers. */
  close(): void {
    this.#breaker.shutdown();
    this.#metrics.states.delete(this.#options.name);
  }

  #observe(): void {
    const { name, logger, settings } = this.#options;
    const breaker = { breaker: name };
    const metrics = this.#metrics;
    // Read at scrape time from the breaker itself, so the gauge cannot drift from it.
    metrics.states.set(name, () => STATE_VALUE[this.state]);
    // Zero from the start, so rate() and increase() see the first transition.
    for (const to of Object.keys(STATE_VALUE)) metrics.transitions.inc({ ...breaker, to }, 0);
    metrics.rejected.inc(breaker, 0);

    this.#breaker.on('open', () => {
      metrics.transitions.inc({ ...breaker, to: 'open' });
      logger.warn(
        { breaker: name, resetTimeoutMs: settings.resetTimeoutMs },
        `circuit ${name} open: calls fail fast until a probe succeeds`,
      );
    });
    this.#breaker.on('halfOpen', () => {
      metrics.transitions.inc({ ...breaker, to: 'half_open' });
      logger.info({ breaker: name }, `circuit ${name} half-open: the next call probes`);
    });
    this.#breaker.on('close', () => {
      metrics.transitions.inc({ ...breaker, to: 'closed' });
      logger.info({ breaker: name }, `circuit ${name} closed`);
    });
    this.#breaker.on('reject', () => metrics.rejected.inc(breaker));
  }
}

interface BreakerMetrics {
  state: Gauge<'breaker'>;
  /** The state of each breaker on this registry, by name, read when the gauge is collected. */
  states: Map<string, () => number>;
  transitions: Counter<'breaker' | 'to'>;
  rejected: Counter<'breaker'>;
}

/** One set per registry, shared by the breakers on it (prom-client refuses a name registered twice). */
const metricsByRegistry = new WeakMap<MetricsRegistry, BreakerMetrics>();

function breakerMetrics(registry: MetricsRegistry): BreakerMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const states = new Map<string, () => number>();
  const created: BreakerMetrics = {
    states,
    state: new Gauge({
      name: 'circuit_breaker_state',
      help: 'State of a circuit breaker: 0 closed, 1 half-open (one probe call allowed), 2 open (calls fail fast).',
      labelNames: ['breaker'],
      registers,
      collect() {
        for (const [breaker, read] of states) this.set({ breaker }, read());
      },
    }),
    transitions: new Counter({
      name: 'circuit_breaker_transitions_total',
      help: 'Times a circuit breaker changed state, by the state it went to (open, half_open, closed).',
      labelNames: ['breaker', 'to'],
      registers,
    }),
    rejected: new Counter({
      name: 'circuit_breaker_rejected_total',
      help: 'Calls answered UNAVAILABLE at once because the circuit was open, without calling the dependency.',
      labelNames: ['breaker'],
      registers,
    }),
  };
  metricsByRegistry.set(registry, created);
  return created;
}

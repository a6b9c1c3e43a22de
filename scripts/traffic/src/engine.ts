import { setTimeout as sleep } from 'node:timers/promises';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { channelCredentials, type TlsFiles } from '@platform/service-kit';
import { OrderServiceClient } from '@platform/contracts/order/v1/order';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import { Caller } from './calls';
import { Random } from './random';
import { SCENARIOS, watch, type ScenarioName } from './scenarios';
import { Stats, type Summary } from './stats';

export type ScenarioChoice = ScenarioName | 'mixed';

export interface TrafficOptions {
  userAddr: string;
  orderAddr: string;
  /** Scenarios started per second, on schedule whatever the latency (open loop). */
  rate: number;
  /** Stop after this long ... */
  durationMs?: number | undefined;
  /** ... or after this many scenarios. */
  count?: number | undefined;
  /** At most this many scenarios at once; later arrivals wait (and are counted). */
  concurrency: number;
  seed: number;
  scenario: ScenarioChoice;
  /** Probability of each deliberate mistake in a scenario. */
  errorRate: number;
  /** Deadline of every unary call. */
  deadlineMs: number;
  jaegerUrl: string;
  /** Set: mTLS with this certificate, for services that require it. */
  tls?: TlsFiles | undefined;
}

export interface Progress {
  elapsedMs: number;
  started: number;
  completed: number;
  calls: number;
  unexpected: number;
}

/** The mix of `mixed`: mostly shoppers, some browsing, an occasional bulk batch. */
function pickScenario(choice: ScenarioChoice, random: Random): ScenarioName {
  if (choice !== 'mixed') return choice;
  const roll = random.next();
  return roll < 0.75 ? 'shopper' : roll < 0.95 ? 'browser' : 'bulk';
}

/**
 * Runs scenarios at a fixed arrival rate until the count or duration is
 * reached or `signal` aborts, then waits for those in flight and summarises.
 * Each scenario is one trace, rooted in a span of this process.
 */
export async function runTraffic(
  options: TrafficOptions,
  hooks: { signal?: AbortSignal; onProgress?: (progress: Progress) => void } = {},
): Promise<Summary> {
  const tracer = trace.getTracer('traffic-generator');
  const stats = new Stats();
  const call = new Caller(stats, options.deadlineMs);
  const channel = channelCredentials(options);
  const users = new UserServiceClient(options.userAddr, channel);
  const orders = new OrderServiceClient(options.orderAddr, channel);
  const master = new Random(options.seed);
  const runId = options.seed.toString(36) + Date.now().toString(36);
  const stopping = new AbortController();
  const stop = () => stopping.abort();
  hooks.signal?.addEventListener('abort', stop, { once: true });

  const startedAt = new Date();
  const start = performance.now();
  const progress = () =>
    hooks.onProgress?.({
      elapsedMs: performance.now() - start,
      started: stats.scenariosStarted,
      completed: stats.scenariosCompleted,
      calls: stats.calls,
      unexpected: stats.unexpected,
    });
  const ticker = setInterval(progress, 1000);

  const inFlight = new Set<Promise<void>>();
  const watcher =
    options.scenario === 'mixed'
      ? tracer.startActiveSpan('scenario watcher', { kind: SpanKind.INTERNAL, attributes: { 'app.scenario': 'watcher' } }, (span) =>
          watch(orders, call, stats, stopping.signal).finally(() => span.end()),
        )
      : Promise.resolve();

  try {
    const intervalMs = 1000 / options.rate;
    for (let i = 0; !stopping.signal.aborted; i++) {
      if (options.count !== undefined && i >= options.count) break;
      const due = i * intervalMs;
      if (options.durationMs !== undefined && due >= options.durationMs) break;
      const wait = due - (performance.now() - start);
      if (wait > 0) await sleep(wait, undefined, { signal: stopping.signal }).catch(() => undefined);
      if (stopping.signal.aborted) break;
      if (inFlight.size >= options.concurrency) {
        stats.delayedByConcurrencyCap++;
        while (inFlight.size >= options.concurrency && !stopping.signal.aborted) await Promise.race(inFlight);
      }
      // Drawn in arrival order, so the mix depends on the seed and not on timing.
      const random = master.fork();
      const name = pickScenario(options.scenario, random);
      stats.scenariosStarted++;
      const run = tracer.startActiveSpan(
        `scenario ${name}`,
        { kind: SpanKind.INTERNAL, attributes: { 'app.scenario': name } },
        async (span) => {
          try {
            await SCENARIOS[name]({ users, orders, call, random, errorRate: options.errorRate, runId, scenarioNumber: i });
          } catch (error) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
          } finally {
            span.end();
            stats.scenariosCompleted++;
          }
        },
      );
      inFlight.add(run);
      void run.finally(() => inFlight.delete(run));
    }
    await Promise.all(inFlight);
  } finally {
    stop();
    await watcher;
    clearInterval(ticker);
    progress();
    users.close();
    orders.close();
  }
  return stats.summarise({
    seed: options.seed,
    scenario: options.scenario,
    startedAt,
    elapsedMs: performance.now() - start,
    jaegerUrl: options.jaegerUrl,
  });
}

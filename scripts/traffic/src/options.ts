import { parseArgs } from 'node:util';
import { parseDuration, tlsFromEnv, UsageError } from '@platform/service-kit';
import type { ScenarioChoice, TrafficOptions } from './engine';

export interface CliOptions extends TrafficOptions {
  /** Write the summary as JSON here. */
  json?: string | undefined;
  /** Exit 1 when unexpected errors exceed this share of calls. */
  maxErrorRate: number;
  /** Touched every second while running: a container healthcheck reads its age. */
  heartbeatFile?: string | undefined;
}

/** A bad option: the message says which and why. */
export const USAGE = `Usage: npm run traffic -- [options]

  --user-addr HOST:PORT    user service        (TRAFFIC_USER_ADDR, default localhost:50051)
  --order-addr HOST:PORT   order service       (TRAFFIC_ORDER_ADDR, default localhost:50052)
  --rate N                 scenarios per second, open loop (TRAFFIC_RATE, default 5)
  --duration D             e.g. 30s, 5m, 1h    (TRAFFIC_DURATION)
  --count N                number of scenarios (TRAFFIC_COUNT); default: run until Ctrl-C
  --concurrency N          scenarios in flight at most (TRAFFIC_CONCURRENCY, default 50)
  --seed N                 reproducible mix    (TRAFFIC_SEED, default random, printed)
  --scenario NAME          mixed|shopper|browser|bulk (TRAFFIC_SCENARIO, default mixed)
  --error-rate P           chance of each deliberate mistake, 0..1 (TRAFFIC_ERROR_RATE, default 0.05)
  --deadline D             deadline of each call (TRAFFIC_DEADLINE, default 10s)
  --json FILE              write the summary as JSON
  --max-error-rate P       exit 1 above this share of unexpected errors (TRAFFIC_MAX_ERROR_RATE, default 0.01)
  --jaeger-url URL         for trace links    (JAEGER_UI_URL, default http://localhost:16686)
  --heartbeat-file FILE    touched every second while running (TRAFFIC_HEARTBEAT_FILE), for healthchecks

Against services that require mTLS, set TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE
(scripts/gen-certs.sh makes a CA and certificates).`;

const SCENARIOS: readonly ScenarioChoice[] = ['mixed', 'shopper', 'browser', 'bulk'];

/** Flags win over environment variables, which win over defaults. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv, randomSeed = () => Math.floor(Math.random() * 2 ** 31)): CliOptions {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(
        [
          'user-addr',
          'order-addr',
          'rate',
          'duration',
          'count',
          'concurrency',
          'seed',
          'scenario',
          'error-rate',
          'deadline',
          'json',
          'max-error-rate',
          'jaeger-url',
          'heartbeat-file',
        ].map((name) => [name, { type: 'string' as const }]),
      ),
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const pick = (flag: string, variable: string) => values[flag] ?? (env[variable] || undefined);

  const scenario = pick('scenario', 'TRAFFIC_SCENARIO') ?? 'mixed';
  if (!SCENARIOS.includes(scenario as ScenarioChoice))
    throw new UsageError(`--scenario must be one of ${SCENARIOS.join(', ')}, not "${scenario}"`);
  const duration = pick('duration', 'TRAFFIC_DURATION');
  const count = pick('count', 'TRAFFIC_COUNT');
  const seed = pick('seed', 'TRAFFIC_SEED');
  return {
    userAddr: pick('user-addr', 'TRAFFIC_USER_ADDR') ?? 'localhost:50051',
    orderAddr: pick('order-addr', 'TRAFFIC_ORDER_ADDR') ?? 'localhost:50052',
    rate: number('--rate', pick('rate', 'TRAFFIC_RATE') ?? '5', { min: 0.001, max: 100_000 }),
    durationMs: duration === undefined ? undefined : durationMs('--duration', duration),
    count: count === undefined ? undefined : number('--count', count, { min: 1, integer: true }),
    concurrency: number('--concurrency', pick('concurrency', 'TRAFFIC_CONCURRENCY') ?? '50', { min: 1, integer: true }),
    seed: seed === undefined ? randomSeed() : number('--seed', seed, { min: 0, max: 2 ** 31 - 1, integer: true }),
    scenario: scenario as ScenarioChoice,
    errorRate: number('--error-rate', pick('error-rate', 'TRAFFIC_ERROR_RATE') ?? '0.05', { min: 0, max: 1 }),
    deadlineMs: durationMs('--deadline', pick('deadline', 'TRAFFIC_DEADLINE') ?? '10s'),
    json: values['json'],
    maxErrorRate: number('--max-error-rate', pick('max-error-rate', 'TRAFFIC_MAX_ERROR_RATE') ?? '0.01', { min: 0, max: 1 }),
    jaegerUrl: pick('jaeger-url', 'JAEGER_UI_URL') ?? 'http://localhost:16686',
    heartbeatFile: pick('heartbeat-file', 'TRAFFIC_HEARTBEAT_FILE'),
    // A ConfigError is a UsageError, as the others here.
    tls: tlsFromEnv(env),
  };
}

function number(name: string, text: string, limits: { min?: number; max?: number; integer?: boolean }): number {
  const value = Number(text);
  const ok =
    text.trim() !== '' &&
    Number.isFinite(value) &&
    (!limits.integer || Number.isInteger(value)) &&
    value >= (limits.min ?? -Infinity) &&
    value <= (limits.max ?? Infinity);
  if (!ok) {
    const range = `${limits.min ?? '-∞'}..${limits.max ?? '∞'}`;
    throw new UsageError(`${name} must be ${limits.integer ? 'a whole number' : 'a number'} in ${range}, not "${text}"`);
  }
  return value;
}

/** 500ms, 30s, 5m or 1h (parseDuration of the kit: the same durations as a fault spec's). */
export function durationMs(name: string, text: string): number {
  const value = parseDuration(text);
  if (typeof value === 'string') throw new UsageError(`${name}: ${value}`);
  if (value <= 0) throw new UsageError(`${name} must be longer than zero`);
  return value;
}

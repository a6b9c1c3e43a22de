import { status as Code } from '@grpc/grpc-js';
import { grpcCodeName, isServerFaultCode } from '@platform/telemetry';
import { LatencyHistogram, type LatencySummary } from './latency';

export interface MethodSummary {
  count: number;
  latency: LatencySummary;
  /**
   * Status name -> calls, e.g. { OK: 40, InvalidArgument: 2 }: named as the
   * grpc_code label of the metrics and the access log lines, so that what the
   * summary prints can be searched for as it is in Grafana and Kibana.
   */
  codes: Record<string, number>;
}

export interface NotableCall {
  method: string;
  code: string;
  latencyMs: number;
  traceId: string | undefined;
  jaegerUrl: string | undefined;
}

export interface Summary {
  seed: number;
  scenario: string;
  startedAt: string;
  totalSeconds: number;
  scenarios: { started: number; completed: number; delayedByConcurrencyCap: number };
  calls: number;
  achievedCallsPerSecond: number;
  achievedScenariosPerSecond: number;
  methods: Record<string, MethodSummary>;
  codes: Record<string, number>;
  /** `samples`: up to 10 distinct messages, each with how often it occurred. */
  unexpectedErrors: { count: number; rate: number; samples: { message: string; count: number }[] };
  watchedEvents: number;
  traces: { slowest?: NotableCall; failed?: NotableCall; streaming?: NotableCall };
}

interface MethodStats {
  latency: LatencyHistogram;
  codes: Map<number, number>;
}

/** What happened, call by call; summarised at the end. */
export class Stats {
  calls = 0;
  unexpected = 0;
  scenariosStarted = 0;
  scenariosCompleted = 0;
  delayedByConcurrencyCap = 0;
  watchedEvents = 0;
  private readonly methods = new Map<string, MethodStats>();
  private readonly unexpectedSamples = new Map<string, number>();
  private slowest: { method: string; code: number; micros: number; traceId: string | undefined } | undefined;
  private failed: { method: string; code: number; micros: number; traceId: string | undefined } | undefined;
  private streaming: { method: string; code: number; micros: number; traceId: string | undefined } | undefined;

  record(method: string, code: number, micros: number, traceId: string | undefined, detail?: string, streaming = false): void {
    this.calls++;
    let stats = this.methods.get(method);
    if (!stats) {
      stats = { latency: new LatencyHistogram(), codes: new Map() };
      this.methods.set(method, stats);
    }
    stats.latency.record(micros);
    stats.codes.set(code, (stats.codes.get(code) ?? 0) + 1);
    const call = { method, code, micros, traceId };
    // Unexpected: a server fault, the same codes the SLO counts (the traffic's deliberate mistakes are the caller's).
    if (isServerFaultCode(code)) {
      this.unexpected++;
      const message = `${method} ${grpcCodeName(code)}: ${detail ?? ''}`;
      if (this.unexpectedSamples.has(message) || this.unexpectedSamples.size < 10)
        this.unexpectedSamples.set(message, (this.unexpectedSamples.get(message) ?? 0) + 1);
    }
    if (streaming) this.streaming ??= call;
    else if (!this.slowest || micros > this.slowest.micros) this.slowest = call;
    // Prefer an unexpected failure to show; else any failure.
    if (code !== Code.OK && !streaming && (!this.failed || (isServerFaultCode(code) && !isServerFaultCode(this.failed.code))))
      this.failed = call;
  }

  summarise(options: { seed: number; scenario: string; startedAt: Date; elapsedMs: number; jaegerUrl: string }): Summary {
    const seconds = options.elapsedMs / 1000;
    const methods: Record<string, MethodSummary> = {};
    const codes: Record<string, number> = {};
    for (const [method, stats] of [...this.methods].sort(([a], [b]) => a.localeCompare(b))) {
      methods[method] = {
        count: stats.latency.count,
        latency: stats.latency.summary(),
        codes: Object.fromEntries([...stats.codes].map(([code, count]) => [grpcCodeName(code), count])),
      };
      for (const [code, count] of stats.codes) codes[grpcCodeName(code)] = (codes[grpcCodeName(code)] ?? 0) + count;
    }
    const notable = (call: typeof this.slowest): NotableCall | undefined =>
      call && {
        method: call.method,
        code: grpcCodeName(call.code),
        latencyMs: Math.round(call.micros) / 1000,
        traceId: call.traceId,
        jaegerUrl: call.traceId ? `${options.jaegerUrl.replace(/\/$/, '')}/trace/${call.traceId}` : undefined,
      };
    return {
      seed: options.seed,
      scenario: options.scenario,
      startedAt: options.startedAt.toISOString(),
      totalSeconds: Math.round(seconds * 1000) / 1000,
      scenarios: {
        started: this.scenariosStarted,
        completed: this.scenariosCompleted,
        delayedByConcurrencyCap: this.delayedByConcurrencyCap,
      },
      calls: this.calls,
      achievedCallsPerSecond: seconds > 0 ? Math.round((this.calls / seconds) * 100) / 100 : 0,
      achievedScenariosPerSecond: seconds > 0 ? Math.round((this.scenariosCompleted / seconds) * 100) / 100 : 0,
      methods,
      codes,
      unexpectedErrors: {
        count: this.unexpected,
        rate: this.calls ? this.unexpected / this.calls : 0,
        samples: [...this.unexpectedSamples].map(([message, count]) => ({ message, count })),
      },
      watchedEvents: this.watchedEvents,
      traces: {
        ...(this.slowest && { slowest: notable(this.slowest) }),
        ...(this.failed && { failed: notable(this.failed) }),
        ...(this.streaming && { streaming: notable(this.streaming) }),
      },
    };
  }
}

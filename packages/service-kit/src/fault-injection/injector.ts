import { setTimeout as sleep } from 'node:timers/promises';
import { trace } from '@opentelemetry/api';
import { grpcMethodLabels, type MetricsRegistry } from '@platform/telemetry';
import { Counter } from 'prom-client';
import { z } from 'zod';
import { parseDuration } from '../duration';
import { AppError, Code } from '../errors';
import { protoFieldPath } from '../validation';

/** The method name of a fault that applies to every method without a fault of its own. */
export const ALL_METHODS = '*';

/** Long enough to trip any deadline and alert, short enough that a forgotten fault cannot hold a call for ever. */
const MAX_LATENCY_MS = 60_000;

/** A fault in effect: what happens to each call of a method before its handler runs. */
export interface Fault {
  /** `order.v1.OrderService/CreateOrder` (no leading slash), or `*`. */
  readonly method: string;
  /** Added latency in milliseconds, drawn uniformly from [latencyMin, latencyMax]; both 0 for none. */
  readonly latencyMin: number;
  readonly latencyMax: number;
  /** The status injected errors carry; OK when the fault injects none. */
  readonly errorCode: Code;
  /** Share of calls that fail, 0 to 1. */
  readonly errorProbability: number;
}

/** Why `method` cannot carry a fault on a server serving `served`, or undefined when it can. */
export function unservedMethodProblem(method: string, served: ReadonlySet<string>): string | undefined {
  if (method === ALL_METHODS || served.has(method)) return undefined;
  return `${method} is not served here; use ${ALL_METHODS} or one of ${[...served].sort().join(', ')}`;
}

const latency = z
  .number()
  .int({ error: 'must be a whole number of milliseconds' })
  .min(0, { error: 'must be between 0 and 60s' })
  .max(MAX_LATENCY_MS, { error: 'must be between 0 and 60s' });

/** A fault as given, before faultSchema has checked it; an unset latencyMax means a fixed latency. */
export type FaultDraft = z.input<ReturnType<typeof faultSchema>>;

/**
 * The rules every fault obeys, wherever it comes from (SetFault, FAULTS, the
 * CLI), so that each source reports the same problems by the same proto field
 * names. With `served`, the method must also be one this server serves; the
 * set is read when a fault is checked, so it may still grow after this call.
 */
export function faultSchema(served?: ReadonlySet<string>) {
  return z
    .object({
      method: z
        .string()
        .transform((method) => method.replace(/^\//, ''))
        .superRefine((method, ctx) => {
          if (method !== ALL_METHODS && !/^[A-Za-z_][\w.]*\.[A-Za-z_]\w*\/[A-Za-z_]\w*$/.test(method)) {
            ctx.addIssue({
              code: 'custom',
              message: `must be ${ALL_METHODS} or a full method name such as order.v1.OrderService/CreateOrder`,
            });
            return;
          }
          const problem = served && unservedMethodProblem(method, served);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      latencyMin: latency,
      // Unset: the same as latencyMin, a fixed latency.
      latencyMax: latency.optional(),
      errorCode: z
        .number()
        .int()
        .min(Code.OK, { error: 'must be a gRPC status code' })
        .max(Code.UNAUTHENTICATED, { error: 'must be a gRPC status code' }),
      errorProbability: z.number().min(0, { error: 'must be between 0 and 1' }).max(1, { error: 'must be between 0 and 1' }),
    })
    .superRefine((fault, ctx) => {
      const latencyMax = fault.latencyMax ?? fault.latencyMin;
      if (latencyMax < fault.latencyMin) {
        ctx.addIssue({ code: 'custom', path: ['latencyMax'], message: 'must not be less than latency_min' });
      }
      if (fault.errorProbability > 0 && fault.errorCode === Code.OK) {
        ctx.addIssue({
          code: 'custom',
          path: ['errorCode'],
          message: 'must name an error status (not OK) when error_probability is above 0',
        });
      }
      // A code without a probability would silently inject nothing.
      if (fault.errorProbability === 0 && fault.errorCode !== Code.OK) {
        ctx.addIssue({ code: 'custom', path: ['errorProbability'], message: 'must be above 0 when error_code is set' });
      }
      if (latencyMax === 0 && fault.errorProbability === 0 && fault.errorCode === Code.OK) {
        ctx.addIssue({ code: 'custom', message: 'must add latency, inject an error, or both' });
      }
    })
    .transform((fault): Fault => ({ ...fault, latencyMax: fault.latencyMax ?? fault.latencyMin }));
}

/**
 * The compact form of faults, for FAULTS and the CLI:
 *
 * ```text
 * spec        = [ fault *( ";" fault ) ]
 * fault       = method ":" effect *( "," effect )
 * method      = "*" / [ "/" ] package "." Service "/" Method
 * effect      = "latency=" duration [ ".." duration ]   ; fixed, or uniform in [min, max]
 *             / "error=" code [ "@" probability ]       ; probability defaults to 1
 * duration    = number ( "ms" / "s" )                  ; whole milliseconds, at most 60s
 * code        = a gRPC status name: UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL ...
 * probability = a number from 0 to 1
 * ```
 *
 * Whitespace around the parts is ignored, and each method may appear once.
 * Example: `order.v1.OrderService/CreateOrder:latency=200ms..800ms,error=UNAVAILABLE@0.2;*:latency=50ms`.
 * Every problem is reported, each naming the fault it is in.
 */
export const faultSpec = z.string().transform((text, ctx) => {
  const faults: Fault[] = [];
  const rules = faultSchema();
  for (const part of text
    .split(';')
    .map((piece) => piece.trim())
    .filter((piece) => piece !== '')) {
    const report = (message: string) => ctx.addIssue({ code: 'custom', message: `"${part}": ${message}` });
    const draft = parseFault(part);
    if (typeof draft === 'string') {
      report(draft);
      continue;
    }
    const result = rules.safeParse(draft);
    if (!result.success) {
      for (const issue of result.error.issues)
        report(issue.path.length > 0 ? `${protoFieldPath(issue.path)} ${issue.message}` : issue.message);
      continue;
    }
    if (faults.some((fault) => fault.method === result.data.method)) report(`${result.data.method} already has a fault in this spec`);
    else faults.push(result.data);
  }
  return faults;
});

/** One fault of a spec, unchecked but for its syntax; a string says what is wrong. */
function parseFault(text: string): FaultDraft | string {
  const colon = text.indexOf(':');
  if (colon < 0) return 'expected method:effect, e.g. order.v1.OrderService/GetOrder:error=UNAVAILABLE@0.5';
  const fault: FaultDraft = { method: text.slice(0, colon).trim(), latencyMin: 0, errorCode: Code.OK, errorProbability: 0 };
  const seen = new Set<string>();
  for (const effect of text
    .slice(colon + 1)
    .split(',')
    .map((piece) => piece.trim())) {
    const [name = '', value = ''] = effect.split(/=(.*)/).map((piece) => piece.trim());
    if (name !== 'latency' && name !== 'error') return `"${effect}" is not an effect; expected latency=... or error=...`;
    if (seen.has(name)) return `${name} is given twice`;
    seen.add(name);
    if (name === 'latency') {
      const [minText = '', maxText, ...rest] = value.split('..');
      if (rest.length > 0) return `latency "${value}" must be a duration or a range min..max`;
      const [min, max] = [parseDuration(minText), maxText === undefined ? undefined : parseDuration(maxText)];
      if (typeof min === 'string') return min;
      if (typeof max === 'string') return max;
      fault.latencyMin = min;
      fault.latencyMax = max;
    } else {
      const [codeName = '', probability = '1', ...rest] = value.split('@').map((piece) => piece.trim());
      const code = (Code as unknown as Record<string, unknown>)[codeName.toUpperCase()];
      if (typeof code !== 'number' || rest.length > 0)
        return `error "${value}" must be a gRPC status name, optionally with @probability (UNAVAILABLE@0.2)`;
      if (!/^(\d+\.?\d*|\.\d+)$/.test(probability)) return `"${probability}" is not a probability from 0 to 1`;
      fault.errorCode = code;
      fault.errorProbability = Number(probability);
    }
  }
  return fault;
}

/** The spec form of a fault, which faultSpec reads back as the same fault. */
export function formatFault(fault: Fault): string {
  const effects: string[] = [];
  if (fault.latencyMax > 0) {
    effects.push(`latency=${fault.latencyMin}ms${fault.latencyMax === fault.latencyMin ? '' : `..${fault.latencyMax}ms`}`);
  }
  if (fault.errorProbability > 0) effects.push(`error=${Code[fault.errorCode]}@${fault.errorProbability}`);
  return `${fault.method}:${effects.join(',')}`;
}

export function formatFaults(faults: readonly Fault[]): string {
  return faults.map(formatFault).join(';');
}

export interface FaultInjectorOptions {
  /** Where app_faults_injected_total is registered. */
  registry: MetricsRegistry;
  /** In effect from the start (FAULTS). */
  faults?: readonly Fault[];
  /** Source of the latency and error draws, in [0, 1); tests pass a seeded one. */
  random?: () => number;
}

/**
 * The faults in effect on one server, and their application to a call: the
 * handler adapter awaits apply() before every handler of the services it
 * serves, so an injected error is answered like any error a handler throws.
 */
export class FaultInjector {
  readonly #faults = new Map<string, Fault>();
  readonly #random: () => number;
  readonly #injected: Counter<'grpc_service' | 'grpc_method' | 'kind'>;

  constructor(options: FaultInjectorOptions) {
    this.#random = options.random ?? Math.random;
    // grpc_service and grpc_method as on grpc_server_handled_total, so the two can be joined.
    this.#injected = new Counter({
      name: 'app_faults_injected_total',
      help: 'Faults injected into calls by fault injection, by method and kind: latency (a delay was added) or error (the call was failed).',
      labelNames: ['grpc_service', 'grpc_method', 'kind'],
      registers: [options.registry],
    });
    for (const fault of options.faults ?? []) this.set(fault);
  }

  /** Puts a fault on its method, replacing the one it had. */
  set(fault: Fault): void {
    this.#faults.set(fault.method, fault);
  }

  /** The faults in effect, by method. */
  list(): Fault[] {
    return [...this.#faults.values()].sort((a, b) => a.method.localeCompare(b.method));
  }

  /** Removes the fault of one method, or all of them; returns how many were removed. */
  clear(method?: string): number {
    if (method === undefined) {
      const cleared = this.#faults.size;
      this.#faults.clear();
      return cleared;
    }
    return this.#faults.delete(method.replace(/^\//, '')) ? 1 : 0;
  }

  /**
   * Applies the fault of a method (its own, else `*`) to one call: sleeps the
   * latency, then throws the error if one is drawn. Recorded as a
   * `fault.injected` event on the active span (the server span of the call)
   * and in app_faults_injected_total. A cancelled call stops waiting at once.
   */
  async apply(methodPath: string, signal: AbortSignal): Promise<void> {
    if (this.#faults.size === 0) return;
    const method = methodPath.replace(/^\//, '');
    const fault = this.#faults.get(method) ?? this.#faults.get(ALL_METHODS);
    if (fault === undefined) return;
    const spread = fault.latencyMax - fault.latencyMin;
    const latencyMs = spread > 0 ? Math.round(fault.latencyMin + spread * this.#random()) : fault.latencyMin;
    const failing = fault.errorProbability > 0 && this.#random() < fault.errorProbability;
    if (latencyMs === 0 && !failing) return;

    trace.getActiveSpan()?.addEvent('fault.injected', {
      'fault.method': fault.method,
      'fault.latency_ms': latencyMs,
      'fault.error_code': Code[fault.errorCode],
      'fault.error_probability': fault.errorProbability,
      'fault.error_injected': failing,
    });
    const labels = grpcMethodLabels(method);
    if (latencyMs > 0) this.#injected.inc({ ...labels, kind: 'latency' });
    if (failing) this.#injected.inc({ ...labels, kind: 'error' });

    if (latencyMs > 0) {
      try {
        await sleep(latencyMs, undefined, { signal });
      } catch {
        // The reason is the call's own (CANCELLED, or UNAVAILABLE while the server stops).
        throw signal.reason;
      }
    }
    if (failing) {
      throw new AppError(
        fault.errorCode,
        `injected fault: ${Code[fault.errorCode]} with probability ${fault.errorProbability} (fault on ${fault.method})`,
      );
    }
  }
}

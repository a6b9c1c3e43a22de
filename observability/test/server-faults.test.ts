/**
 * "Server fault" is defined once (SERVER_FAULT_CODES, packages/telemetry);
 * everything that decides by it must agree with it on every status code:
 * the server span's status, the kit's logging, the SLO's recording rules,
 * the dashboards, and the traffic generator's exit code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { status as Code } from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode, trace, type TextMapGetter } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { DASHBOARDS } from '@platform/dashboards';
import { AppError, isServerFault } from '@platform/service-kit';
import { grpcCodeName, SERVER_FAULT_CODES, startServerSpan } from '@platform/telemetry';
import { Stats } from '@platform/traffic-generator';

const EVERY_CODE = Object.values(Code).filter((value): value is Code => typeof value === 'number');
const RULES = path.resolve(__dirname, '../../prometheus/rules/recording.yml');

/** The codes a `grpc_code=~"..."` matcher selects, by label value. */
function codesMatchedIn(text: string): Set<string>[] {
  return [...text.matchAll(/grpc_code=~\\?"([^"\\]+)\\?"/g)].map((match) => new Set(match[1]!.split('|')));
}

const spans = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
const NO_PARENT: TextMapGetter<object> = { keys: () => [], get: () => undefined };

/** The status of a served call's span that ended with `code` (the gRPC port and the web endpoint make it alike). */
function spanStatusFor(code: Code): SpanStatusCode | undefined {
  spans.reset();
  startServerSpan('/user.v1.UserService/GetUser', 'grpc', {}, NO_PARENT).end(code, 'what went wrong');
  const [span] = spans.getFinishedSpans();
  assert.equal(span?.kind, SpanKind.SERVER);
  assert.equal(span.attributes['rpc.grpc.status_code'], code);
  return span.status.code;
}

describe('the server-fault definition and everything derived from it', () => {
  const faultLabels = new Set([...SERVER_FAULT_CODES].map(grpcCodeName));

  it('marks a server span ERROR exactly for a server fault', () => {
    for (const code of EVERY_CODE.filter((c) => c !== Code.OK)) {
      assert.equal(spanStatusFor(code) === SpanStatusCode.ERROR, SERVER_FAULT_CODES.has(code), `${Code[code]}`);
    }
  });

  it('logs an AppError with its cause exactly for a server fault', () => {
    for (const code of EVERY_CODE.filter((c) => c !== Code.OK)) {
      assert.equal(isServerFault(new AppError(code, 'x')), SERVER_FAULT_CODES.has(code), `${Code[code]}`);
    }
  });

  it('counts exactly the server faults in the SLO rules', () => {
    const matchers = codesMatchedIn(readFileSync(RULES, 'utf8'));
    assert.ok(matchers.length >= 6, 'one per availability window');
    for (const matched of matchers) assert.deepEqual(matched, faultLabels);
  });

  it('shows exactly the server faults as server errors on the dashboards', () => {
    const queries = DASHBOARDS.flatMap((definition) => definition.panels.flatMap((panel) => panel.queries.map((query) => query.expr)));
    const matchers = queries.flatMap(codesMatchedIn);
    assert.ok(matchers.length >= 2);
    for (const matched of matchers) assert.deepEqual(matched, faultLabels);
  });

  it('fails the traffic generator exactly on server faults', () => {
    for (const code of EVERY_CODE) {
      const stats = new Stats();
      stats.record('/user.v1.UserService/GetUser', code, 1000, undefined);
      const { unexpectedErrors } = stats.summarise({ seed: 1, scenario: 'test', startedAt: new Date(), elapsedMs: 1000, jaegerUrl: '' });
      assert.equal(unexpectedErrors.count, SERVER_FAULT_CODES.has(code) ? 1 : 0, `${Code[code]}`);
    }
  });
});

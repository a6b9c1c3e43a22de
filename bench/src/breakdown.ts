/**
 * node bench/dist/src/breakdown.js [--smoke]
 *
 * What each piece of telemetry costs one call, in microseconds of CPU,
 * measured piece by piece with the platform's own code and the libraries'
 * own classes, on whichever Node.js runs this script (npm run bench runs it
 * on every runtime). Each piece runs in batches; the median batch's CPU time
 * (user + system, so the garbage collector's share of the piece is in it) is
 * divided by the operations in it. Prints one JSON object.
 */
import { fork } from 'node:child_process';
import { openSync } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { Metadata } from '@grpc/grpc-js';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import {
  createLogger,
  createRegistry,
  GrpcClientSpanNames,
  GrpcServerMetrics,
  LogShipper,
  METADATA_GETTER,
  ServerCallObserver,
  startServerSpan,
  StdoutLines,
} from '@platform/telemetry';

const { values } = parseArgs({ options: { smoke: { type: 'boolean', default: false }, sinks: { type: 'string' } } });
const smoke = values.smoke ?? false;
/** Batches per piece; the median is kept. */
const BATCHES = smoke ? 3 : 15;
/** Spans per export, as the batch span processor sends them. */
const EXPORT_BATCH = 512;
/** A batch takes some milliseconds: long enough for the clock, short enough to repeat. Exports stay whole. */
const scale = (operations: number) =>
  smoke ? Math.max(operations % EXPORT_BATCH === 0 ? EXPORT_BATCH : 10, Math.round(operations / 50)) : operations;

const METHOD = { path: '/user.v1.UserService/GetUser', requestStream: false, responseStream: false } as const;
export interface Piece {
  name: string;
  /** Median CPU time per operation, in microseconds. */
  microseconds: number;
}

/** CPU microseconds per operation of `run(operations)`, median over BATCHES. */
async function measure(unscaled: number, run: (operations: number) => void | Promise<void>): Promise<number> {
  const operations = scale(unscaled);
  await run(operations); // warm-up: optimised code, filled caches and pools
  const perOperation: number[] = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    const before = process.cpuUsage();
    await run(operations);
    const used = process.cpuUsage(before);
    perOperation.push((used.user + used.system) / operations);
  }
  perOperation.sort((a, b) => a - b);
  return Math.round(perOperation[Math.floor(perOperation.length / 2)]! * 100) / 100;
}

/** A span exporter that takes every batch and does nothing with it. */
const discardingExporter: SpanExporter = {
  export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: () => Promise.resolve(),
};

/** A tracer provider as tracing.ts builds one: span names first, then batched export (here to nowhere). */
function providerWith(sampled: boolean): BasicTracerProvider {
  return new BasicTracerProvider({
    sampler: sampled ? new AlwaysOnSampler() : new AlwaysOffSampler(),
    spanProcessors: [new GrpcClientSpanNames(), new BatchSpanProcessor(discardingExporter)],
  });
}

/** A served call's span, as the telemetry interceptor makes one: from the caller's traceparent to its end. */
function serverSpan(metadata: Metadata): void {
  startServerSpan(METHOD.path, 'grpc', metadata, METADATA_GETTER).end(0);
}

async function awaitLoop(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

async function pieces(sinks: { otlp: string; bulk: string }): Promise<Piece[]> {
  const results: Piece[] = [];
  /** `baseline`: microseconds of the same work without the piece, subtracted. */
  const add = async (name: string, operations: number, run: (operations: number) => void | Promise<void>, baseline = 0) => {
    results.push({ name, microseconds: Math.round(((await measure(operations, run)) - baseline) * 100) / 100 });
    process.stderr.write(`breakdown: ${name}: ${results.at(-1)!.microseconds} µs\n`);
  };

  // Before any AsyncLocalStorage exists: what an await costs a process without tracing.
  const awaitWithoutContext = await measure(100_000, awaitLoop);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());

  const caller = new Metadata();
  caller.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  const sampled = providerWith(true);
  trace.setGlobalTracerProvider(sampled);
  await add('server span, sampled: traceparent read, started, status, ended, batch-queued', 20_000, async (n) => {
    for (let i = 0; i < n; i++) serverSpan(caller);
    await sampled.forceFlush();
  });
  trace.disable();
  trace.setGlobalTracerProvider(providerWith(false));
  await add('server span, unsampled: the same, a non-recording span', 200_000, (n) => {
    for (let i = 0; i < n; i++) serverSpan(caller);
  });
  const parent = sampled.getTracer('bench').startSpan('parent');
  const active = trace.setSpan(ROOT_CONTEXT, parent);
  const lookup = () => trace.getActiveSpan();
  await add('context: run a handler in the span context (AsyncLocalStorage) and look the span up', 200_000, (n) => {
    for (let i = 0; i < n; i++) context.with(active, lookup);
  });
  await add(
    'context across an await: one promise continuation in the span context, over one before any context manager',
    100_000,
    (n) => context.with(active, awaitLoop, undefined, n),
    awaitWithoutContext,
  );
  const carrier: Record<string, string> = {};
  propagation.inject(active, carrier);
  await add('traceparent: extract from incoming headers and inject into outgoing', 100_000, (n) => {
    for (let i = 0; i < n; i++) propagation.inject(propagation.extract(ROOT_CONTEXT, carrier), {});
  });
  parent.end();

  // Export: spans made once, then sent as the batch processor would, 512 at a time.
  const memory = new InMemorySpanExporter();
  trace.disable();
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] }));
  for (let i = 0; i < EXPORT_BATCH; i++) serverSpan(caller);
  const batch: ReadableSpan[] = memory.getFinishedSpans();
  const otlp = new OTLPTraceExporter({ url: sinks.otlp });
  await add(`export: OTLP/gRPC protobuf serialisation and send, per span (batches of ${EXPORT_BATCH})`, 8 * EXPORT_BATCH, async (n) => {
    for (let sent = 0; sent < n; sent += EXPORT_BATCH) {
      const code = await new Promise<number>((resolve) => otlp.export(batch, (outcome) => resolve(outcome.code)));
      if (code !== ExportResultCode.SUCCESS) throw new Error('the OTLP sink refused an export');
    }
  });
  await otlp.shutdown();

  const registry = createRegistry();
  const metrics = new GrpcServerMetrics(registry);
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  /** `n` unary calls as the interceptor records them; with a trace id, its exemplar too. */
  const unaryCalls = (traceIdOfCall: string | undefined) => (n: number) => {
    for (let i = 0; i < n; i++) {
      const recorder = metrics.start(METHOD);
      recorder.received();
      recorder.sent();
      recorder.finish(0, traceIdOfCall);
    }
  };
  await add('metrics: one unary call (started, received, sent, handled, latency histogram)', 100_000, unaryCalls(undefined));
  await add('metrics: the same with the trace id as the histogram exemplar', 100_000, unaryCalls(traceId));

  const discard = { write: () => true };
  const logger = createLogger({ name: 'user-service', version: '0.1.0', environment: 'bench', level: 'info', destination: discard });
  const peer = () => 'ipv4:127.0.0.1:43210';
  await add('access line: observed, formatted as ECS JSON by pino, written (to nowhere)', 50_000, (n) => {
    for (let i = 0; i < n; i++) new ServerCallObserver({ logger }, METHOD, peer).end(0);
  });

  // As a service writes to stdout (StdoutLines: sonic-boom, asynchronous, lines kept while a write is in flight), with
  // room for a whole batch: written in one loop, it arrives faster than any write completes, and none may be dropped.
  const stdout = new StdoutLines({ fd: openSync('/dev/null', 'w'), maxBacklogBytes: 2 ** 30 });
  const writingLogger = createLogger({ name: 'user-service', version: '0.1.0', environment: 'bench', level: 'info', destination: stdout });
  await add('access line: the same, written to stdout as a service does (StdoutLines; /dev/null here)', 50_000, async (n) => {
    for (let i = 0; i < n; i++) new ServerCallObserver({ logger: writingLogger }, METHOD, peer).end(0);
    await new Promise(setImmediate);
  });
  if (stdout.dropped > 0) throw new Error(`${stdout.dropped} lines dropped: the stdout piece measured dropping, not writing`);

  const line = `${JSON.stringify({
    '@timestamp': new Date().toISOString(),
    'log.level': 'info',
    message: '/user.v1.UserService/GetUser OK',
    rpc: { system: 'grpc', protocol: 'grpc', service: 'user.v1.UserService', method: 'GetUser', grpc: { status_code: 0 } },
    event: { duration: 412345, dataset: 'user_service' },
    client: { address: 'ipv4:127.0.0.1:43210' },
    service: { name: 'user-service', version: '0.1.0', environment: 'bench' },
    'trace.id': traceId,
    'span.id': 'b7ad6b7169203331',
  })}\n`;
  // 5000 lines of ~450 bytes stay below the shipper's 8 MiB buffer, so none is dropped.
  await add('shipping: one access line to Elasticsearch (buffer, bulk body, HTTP), per line', 5_000, async (n) => {
    const shipper = new LogShipper({ url: sinks.bulk, dataStream: 'logs-user_service-bench' });
    for (let i = 0; i < n; i++) shipper.write(line);
    await shipper.close(30_000);
    if (shipper.counts.shipped !== n) throw new Error(`shipped ${shipper.counts.shipped} of ${n} lines: ${JSON.stringify(shipper.counts)}`);
  });
  return results;
}

/** The sinks run in a child process, so that what they do is not charged to the pieces. */
async function startSinks(): Promise<{ otlp: string; bulk: string; close(): void }> {
  const child = fork(__filename, ['--sinks', 'serve'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const [urls] = (await once(child, 'message')) as [{ otlp: string; bulk: string }];
  return { ...urls, close: () => child.kill() };
}

async function serveSinks(): Promise<void> {
  const { startBulkSink, startOtlpSink } = await import('./infrastructure.js');
  const otlp = await startOtlpSink();
  const bulk = await startBulkSink();
  process.send!({ otlp: otlp.url, bulk: bulk.url });
  process.on('disconnect', () => process.exit(0));
}

async function main(): Promise<void> {
  if (values.sinks === 'serve') return serveSinks();
  const sinks = await startSinks();
  try {
    process.stdout.write(`${JSON.stringify({ node: process.version, pieces: await pieces(sinks) })}\n`);
  } finally {
    sinks.close();
  }
}

main().then(
  () => values.sinks === 'serve' || process.exit(0),
  (error: unknown) => {
    process.stderr.write(`breakdown: failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);

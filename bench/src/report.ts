import type { BenchResults, ByRuntime } from './results';
import { formatRatio as ratio, type RatioSummary } from './stats';
import { H2LOAD_CLIENTS, H2LOAD_STREAMS, CONCURRENCY, type Generator } from './user-service';

const GENERATOR_HEADING: Record<Generator, string> = {
  h2load: `h2load (nghttp2, C), ${H2LOAD_CLIENTS} connections × ${H2LOAD_STREAMS} streams`,
  node: `the Node.js grpc-js client, ${CONCURRENCY} calls in flight on one connection`,
};

const microseconds = (value: number | undefined) => (value === undefined ? 'n/a' : `${value.toFixed(1)} µs`);

/** One column per runtime for each of `columns`, in the order the runtimes ran. */
function table(
  runtimes: string[],
  first: string,
  columns: string[],
  rows: Array<[string, (runtime: string, column: number) => string]>,
): string[] {
  const header = [first, ...columns.flatMap((column) => runtimes.map((runtime) => `${column}, ${runtime}`))];
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map(
      ([name, cell]) => `| ${[name, ...columns.flatMap((_, column) => runtimes.map((runtime) => cell(runtime, column)))].join(' | ')} |`,
    ),
  ];
}

/** The results as the Markdown committed under bench/results and summarised in the README. */
export function formatMarkdown(results: BenchResults): string {
  const { runtimes } = results;
  const lines: string[] = [];
  lines.push('# Benchmark results', '');
  lines.push(
    `- Machine: ${results.machine.cpu}, ${results.machine.cores} cores${results.machine.pinned ? ' (servers on CPU 0, load generators on CPU 1)' : ' (not pinned)'}`,
  );
  lines.push(
    `- Servers on ${runtimes.join(' and ')} (interleaved in every round); harness and Node.js client on ${results.node}; ${results.date}`,
  );
  lines.push(`- Command: \`${results.command}\``);
  lines.push(
    `- ${results.rounds} interleaved rounds, ${results.secondsPerMeasurement} s per measurement; ratios as median (min–max over rounds).`,
    '',
  );

  lines.push('## Observability tax (GetUser, user-service, in-memory storage)', '');
  lines.push(
    'CPU capacity is server CPU per call with telemetry off divided by the same with this telemetry (CPU time of the whole',
    'service process, /proc): the share of its capacity a saturated server keeps, whether or not the load generator kept it',
    'busy. allSampled is everything on with 10 % of traces kept (parentbased_traceidratio 0.1), as production would run;',
    'every other row keeps every trace. p99 at half load: each setting held at half of what telemetry off did in the same round.',
    '',
  );
  for (const generator of results.generators) {
    const tax = (runtime: string) => results.observabilityTax[runtime]![generator]!;
    lines.push(`### Load from ${GENERATOR_HEADING[generator]}`, '');
    lines.push(
      `Telemetry off: ${runtimes
        .map(
          (runtime) =>
            `${runtime} ${tax(runtime).baselineMaxThroughput} calls/s, ${microseconds(tax(runtime).baselineServerCpuUsPerCall)} of server CPU per call`,
        )
        .join('; ')}.`,
      '',
    );
    const names = Object.keys(tax(runtimes[0]!).entries);
    lines.push(
      ...table(
        runtimes,
        'Telemetry',
        ['CPU capacity', 'server CPU per call', 'p99 ratio at half load'],
        names.map((name) => [
          name,
          (runtime, column) => {
            const entry = tax(runtime).entries[name]!;
            return [ratio(entry.cpuCapacity), microseconds(entry.serverCpuUsPerCall), ratio(entry.p99AtHalfLoad)][column]!;
          },
        ]),
      ),
      '',
    );
  }

  lines.push('## Where the microseconds go: telemetry per call, piece by piece', '');
  lines.push(
    "Each piece alone, with the platform's own classes and the libraries' (bench/src/breakdown.ts): CPU time per",
    'operation, user + system, median of repeated batches, garbage collection included. Compare with the server CPU per',
    'call above: what the pieces do not add up to is the instrumentation around them (wrapping, closures, allocation).',
    '',
  );
  lines.push(
    ...table(
      runtimes,
      'Piece',
      ['µs per call'],
      results.breakdown[runtimes[0]!]!.map((piece, index) => [
        piece.name,
        (runtime) => results.breakdown[runtime]![index]!.microseconds.toFixed(2),
      ]),
    ),
    '',
  );

  lines.push('## Framework overhead', '');
  lines.push(
    'GetUser through the full service against a bare grpc-js server answering the same pre-encoded bytes on the same',
    'runtime, by the telemetry the full service runs with (names as in the observability tax): CPU capacity is the bare',
    "server's CPU per call over the full service's. 1.000 means the service costs nothing over grpc-js.",
    '',
  );
  for (const generator of results.generators) {
    const framework = (runtime: string) => results.frameworkOverhead[runtime]![generator]!;
    lines.push(`### Load from ${GENERATOR_HEADING[generator]}`, '');
    lines.push(
      `Bare grpc-js: ${runtimes.map((runtime) => `${runtime} ${microseconds(framework(runtime).bareServerCpuUsPerCall)}`).join(', ')} of CPU per call.`,
      '',
    );
    lines.push(
      ...table(
        runtimes,
        'Full service telemetry',
        ['CPU capacity', 'throughput ratio'],
        Object.keys(framework(runtimes[0]!).entries).map((name) => [
          name,
          (runtime, column) => {
            const entry = framework(runtime).entries[name]!;
            return ratio([entry.cpuCapacityRatio, entry.throughputRatio][column]);
          },
        ]),
      ),
      '',
    );
  }

  lines.push('## gRPC against JSON over HTTP/1.1 (same handlers, same repositories, Node.js client)', '');
  const methods = Object.keys(results.grpcVersusJson[runtimes[0]!]!);
  const protocol = (runtime: string, method: string) => results.grpcVersusJson[runtime]![method]!;
  lines.push(
    `Bytes per call (the same on every runtime): ${methods
      .map((method) => {
        const entry = protocol(runtimes[0]!, method);
        return `${method} ${entry.grpcBytesPerCall} over gRPC, ${entry.jsonBytesPerCall} as JSON (${entry.bytesRatio.toFixed(3)})`;
      })
      .join('; ')}.`,
    '',
    ...table(
      runtimes,
      'Method',
      ['throughput ratio (gRPC/JSON)', 'p50 ratio', 'p99 ratio'],
      methods.map((method) => [
        method,
        (runtime, column) => {
          const entry = protocol(runtime, method);
          return ratio([entry.throughputRatio, entry.p50Ratio, entry.p99Ratio][column]);
        },
      ]),
    ),
    '',
    'Bytes are counted by a TCP proxy between client and server (headers and framing included). Latency is one call at a time.',
    '',
  );

  const perRuntime = <T>(section: ByRuntime<T>, cells: (entry: T) => RatioSummary[], columns: string[]) =>
    table(
      runtimes,
      'Measure',
      ['ratio'],
      columns.map((column, index) => [column, (runtime) => ratio(cells(section[runtime]!)[index])]),
    );

  lines.push('## Scrape impact (Node.js client)', '');
  lines.push('/metrics scraped every second against not scraped, at half load.', '');
  lines.push(...perRuntime(results.scrapeImpact, (entry) => [entry.p50Ratio, entry.p99Ratio], ['p50', 'p99']), '');

  lines.push('## Stuck log backend (Node.js client)', '');
  const first = results.stuckLogBackend[runtimes[0]!]!;
  lines.push(
    `Elasticsearch accepting connections and never answering, against one that answers, at 10 % of the baseline's throughput,`,
    `${first.secondsPerMeasurement} s each (the shipper gives up on a request after 10 s); 1.000 means a stuck backend costs the calls`,
    `nothing. Log lines dropped: ${runtimes.map((runtime) => `${runtime} ${results.stuckLogBackend[runtime]!.linesDropped}`).join(', ')}.`,
    '',
  );
  lines.push(
    ...perRuntime(results.stuckLogBackend, (entry) => [entry.p50Ratio, entry.p99Ratio, entry.maxRatio], ['p50', 'p99', 'max']),
    '',
  );
  return `${lines.join('\n')}\n`;
}

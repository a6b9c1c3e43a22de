import type { BenchResults } from './results';
import { formatRatio as ratio } from './stats';

/** The results as the Markdown committed under bench/results and summarised in the README. */
export function formatMarkdown(results: BenchResults): string {
  const lines: string[] = [];
  lines.push('# Benchmark results', '');
  lines.push(
    `- Machine: ${results.machine.cpu}, ${results.machine.cores} cores${results.machine.pinned ? ' (servers on CPU 0, load generator on CPU 1)' : ' (not pinned)'}`,
  );
  lines.push(`- Node.js ${results.node}, ${results.date}`);
  lines.push(`- Command: \`${results.command}\``);
  lines.push(
    `- ${results.rounds} interleaved rounds, ${results.secondsPerMeasurement} s per measurement; ratios as median (min–max over rounds).`,
    '',
  );

  lines.push('## Observability tax (GetUser, user-service, in-memory storage)', '');
  const tax = results.observabilityTax;
  const baselineCpu =
    tax.baselineServerCpuUsPerCall === undefined ? '' : `, ${tax.baselineServerCpuUsPerCall.toFixed(1)} µs of server CPU per call`;
  lines.push(
    `Baseline (telemetry off): ${tax.baselineMaxThroughput} calls/s at concurrency 32${baselineCpu}. Ratios are against telemetry off; 1.000 means no cost.`,
    '',
  );
  lines.push(
    '| Telemetry | Max throughput ratio | CPU capacity ratio | Server CPU per call | p50 ratio at 50 % load | p99 ratio at 50 % load |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const [name, entry] of Object.entries(tax)) {
    if (typeof entry !== 'object') continue;
    const perCall = entry.serverCpuUsPerCall === undefined ? 'n/a' : `${entry.serverCpuUsPerCall.toFixed(1)} µs`;
    lines.push(
      `| ${name} | ${ratio(entry.maxThroughput)} | ${ratio(entry.cpuCapacity)} | ${perCall} | ${ratio(entry.p50AtHalfLoad)} | ${ratio(entry.p99AtHalfLoad)} |`,
    );
  }
  lines.push(
    '',
    'Max throughput is what the load generator observed; CPU capacity is server CPU per call with telemetry off divided by',
    'the same with this telemetry (CPU time of the whole service process, /proc), so it does not depend on the load generator',
    'keeping the server busy. allSampled is everything on with 10 % of traces kept (parentbased_traceidratio 0.1), as production',
    'would run; every other row keeps every trace.',
    '',
  );

  lines.push('## gRPC against JSON over HTTP/1.1 (same handlers, same repositories)', '');
  lines.push(
    '| Method | gRPC bytes/call | JSON bytes/call | Bytes ratio | Throughput ratio (gRPC/JSON) | p50 ratio | p99 ratio |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const [method, entry] of Object.entries(results.grpcVersusJson)) {
    lines.push(
      `| ${method} | ${entry.grpcBytesPerCall} | ${entry.jsonBytesPerCall} | ${entry.bytesRatio.toFixed(3)} | ${ratio(entry.throughputRatio)} | ${ratio(entry.p50Ratio)} | ${ratio(entry.p99Ratio)} |`,
    );
  }
  lines.push(
    '',
    'Bytes are counted by a TCP proxy between client and server (headers and framing included). Latency is one call at a time.',
    '',
  );

  lines.push('## Scrape impact', '');
  lines.push(
    `/metrics scraped every second against not scraped, at 50 % load: p99 ratio ${ratio(results.scrapeImpact.p99Ratio)}, p50 ratio ${ratio(results.scrapeImpact.p50Ratio)}.`,
    '',
  );

  const stuck = results.stuckLogBackend;
  lines.push('## Stuck log backend', '');
  lines.push(
    `Elasticsearch accepting connections and never answering, against one that answers, at 10 % of the baseline's throughput, ${stuck.secondsPerMeasurement} s each`,
    `(the shipper gives up on a request after 10 s): p50 ratio ${ratio(stuck.p50Ratio)}, p99 ratio ${ratio(stuck.p99Ratio)}, max ratio ${ratio(stuck.maxRatio)};`,
    `${stuck.linesDropped} log lines dropped in all. 1.000 means a stuck backend costs the calls nothing.`,
    '',
  );

  lines.push('## Framework overhead', '');
  lines.push(
    'GetUser through the full service against a bare grpc-js server answering the same pre-encoded bytes, by the telemetry',
    'the full service runs with (names as in the observability tax). 1.000 means the service costs nothing over grpc-js.',
    '',
    '| Full service telemetry | Throughput ratio | CPU capacity ratio |',
    '| --- | --- | --- |',
  );
  for (const [name, entry] of Object.entries(results.frameworkOverhead)) {
    lines.push(`| ${name} | ${ratio(entry.throughputRatio)} | ${ratio(entry.cpuCapacityRatio)} |`);
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}

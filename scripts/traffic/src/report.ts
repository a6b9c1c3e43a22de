import type { Summary } from './stats';

/** The end-of-run report, in the spirit of ghz. */
export function formatSummary(summary: Summary): string {
  const lines: string[] = [];
  lines.push('Summary:');
  lines.push(`  Scenario:      ${summary.scenario} (seed ${summary.seed})`);
  lines.push(
    `  Scenarios:     ${summary.scenarios.completed} completed of ${summary.scenarios.started} started` +
      (summary.scenarios.delayedByConcurrencyCap ? `, ${summary.scenarios.delayedByConcurrencyCap} delayed by the concurrency cap` : ''),
  );
  lines.push(`  Calls:         ${summary.calls}`);
  lines.push(`  Total:         ${summary.totalSeconds.toFixed(2)} s`);
  lines.push(`  Rate:          ${summary.achievedScenariosPerSecond} scenarios/s, ${summary.achievedCallsPerSecond} calls/s`);
  lines.push(`  Watched:       ${summary.watchedEvents} order events`);
  lines.push('');
  lines.push('Latency (ms):');
  const header = ['method', 'count', 'min', 'avg', 'p50', 'p90', 'p95', 'p99', 'max'];
  const rows = Object.entries(summary.methods).map(([method, m]) => [
    method,
    String(m.count),
    ...[m.latency.minMs, m.latency.avgMs, m.latency.p50Ms, m.latency.p90Ms, m.latency.p95Ms, m.latency.p99Ms, m.latency.maxMs].map((v) =>
      v.toFixed(2),
    ),
  ]);
  lines.push(...table([header, ...rows]));
  lines.push('');
  lines.push('Status code distribution:');
  for (const [code, count] of Object.entries(summary.codes).sort(([, a], [, b]) => b - a)) lines.push(`  [${code}]  ${count} calls`);
  lines.push('');
  const { unexpectedErrors } = summary;
  lines.push(`Unexpected errors: ${unexpectedErrors.count} (${(unexpectedErrors.rate * 100).toFixed(2)}% of calls)`);
  for (const { message, count } of unexpectedErrors.samples) lines.push(`  ${String(count).padStart(5)} x ${message}`);
  lines.push('');
  lines.push('Traces:');
  for (const [label, call] of Object.entries(summary.traces)) {
    if (!call) continue;
    lines.push(`  ${label.padEnd(10)} ${call.method} ${call.code} ${call.latencyMs.toFixed(2)} ms  ${call.jaegerUrl ?? '(not sampled)'}`);
  }
  return lines.join('\n');
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map(
    (row) => '  ' + row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  '),
  );
}

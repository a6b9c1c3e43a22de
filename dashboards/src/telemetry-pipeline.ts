import { STDOUT_MAX_BACKLOG_BYTES } from '@platform/telemetry';
import { DashboardDefinition } from './dashboard';
import { TimeSeries } from './panels';
import { selector } from './promql';

const target = selector(['job', 'instance']);

export const telemetryPipeline = new DashboardDefinition({
  uid: 'telemetry-pipeline',
  title: 'Telemetry pipeline',
  description: 'Whether the observability itself works: log shipping, span export and scraping.',
  tags: ['grpc-platform', 'telemetry'],
  variables: ['job', 'instance'],
  rows: [
    {
      title: 'Logs to Elasticsearch',
      panels: [
        new TimeSeries({
          title: 'Log lines by outcome',
          description:
            'Lines per second shipped, rejected by Elasticsearch or dropped (buffer full, connection down); anything but shipped means missing logs in Kibana.',
          unit: 'short',
          min: 0,
          stack: true,
          queries: [
            {
              expr: `sum by (job, outcome) (rate(log_shipping_documents_total${target}[$__rate_interval]))`,
              legend: '{{job}} {{outcome}}',
            },
          ],
        }),
        new TimeSeries({
          title: 'Shipping failures',
          description: 'Times per second shipping failed as a whole and restarted; above zero Elasticsearch is down or unreachable.',
          unit: 'short',
          min: 0,
          queries: [{ expr: `sum by (job) (rate(log_shipping_failures_total${target}[$__rate_interval]))`, legend: '{{job}}' }],
        }),
        new TimeSeries({
          title: 'Lines dropped from stdout',
          description: `Lines per second not written to stdout because its reader (the container's log driver) fell ${STDOUT_MAX_BACKLOG_BYTES / 2 ** 20} MiB behind; above zero they are missing from \`docker logs\` and \`kubectl logs\`.`,
          unit: 'short',
          min: 0,
          queries: [{ expr: `sum by (job) (rate(log_stdout_lines_dropped_total${target}[$__rate_interval]))`, legend: '{{job}}' }],
        }),
      ],
    },
    {
      title: 'Spans to the collector',
      panels: [
        new TimeSeries({
          title: 'Spans exported',
          description: 'Spans per second the OTLP exporter delivered (no error type) or lost (with one); losses mean gaps in Jaeger.',
          unit: 'short',
          min: 0,
          stack: true,
          queries: [
            {
              expr: `sum by (job, error_type) (rate(otel_sdk_exporter_span_exported_total${target}[$__rate_interval]))`,
              legend: '{{job}} {{error_type}}',
            },
          ],
        }),
        new TimeSeries({
          title: 'Spans through the batch processor',
          description:
            'Spans per second queued for export (no error type) or dropped because the queue was full (queue_full); drops mean the collector is too slow or down.',
          unit: 'short',
          min: 0,
          stack: true,
          queries: [
            {
              expr: `sum by (job, error_type) (rate(otel_sdk_processor_span_processed_total${target}[$__rate_interval]))`,
              legend: '{{job}} {{error_type}}',
            },
          ],
        }),
      ],
    },
    {
      title: 'Scraping',
      panels: [
        new TimeSeries({
          title: 'Targets up',
          description: 'Whether Prometheus reached each target at its last scrape (1) or not (0).',
          unit: 'short',
          min: 0,
          queries: [{ expr: `up${target}`, legend: '{{job}} {{instance}}' }],
        }),
        new TimeSeries({
          title: 'Scrape duration',
          description: 'How long each /metrics scrape took; near the scrape timeout samples will start going missing.',
          unit: 's',
          min: 0,
          queries: [{ expr: `scrape_duration_seconds${target}`, legend: '{{job}} {{instance}}' }],
        }),
        new TimeSeries({
          title: 'Samples per scrape',
          description: 'Series each target exposes; a sudden rise is usually a label with unbounded values.',
          unit: 'short',
          min: 0,
          queries: [{ expr: `scrape_samples_scraped${target}`, legend: '{{job}} {{instance}}' }],
        }),
      ],
    },
  ],
});

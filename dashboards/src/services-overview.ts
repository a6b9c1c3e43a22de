import { TOOL_URLS } from './datasources';
import { DashboardDefinition } from './dashboard';
import { Heatmap, Stat, Table, Text, TimeSeries } from './panels';
import { quantile, rate, selector } from './promql';
import { AVAILABILITY_OBJECTIVE, errorRatio, LATENCY_OBJECTIVE, LATENCY_THRESHOLD_SECONDS, SERVER_FAULTS } from './slo';

const all = selector(['job', 'method', 'instance']);
const unary = selector(['job', 'method', 'instance'], ['grpc_type="unary"']);
const faults = selector(['job', 'method', 'instance'], [SERVER_FAULTS]);
const notOk = selector(['job', 'method', 'instance'], ['grpc_code!="OK"']);
const jaegerLink = { title: 'Traces of ${job} in Jaeger', url: `${TOOL_URLS.jaeger}/search?service=\${job}` };

export const servicesOverview = new DashboardDefinition({
  uid: 'services-overview',
  title: 'Services overview',
  description: 'Rate, errors and duration of every gRPC service and method.',
  tags: ['grpc-platform', 'red'],
  variables: ['job', 'method', 'instance'],
  rows: [
    {
      title: 'At a glance',
      panels: [
        new Stat({
          title: 'Requests',
          description: 'Calls per second handled by the selected services; a sudden drop means callers cannot reach them.',
          unit: 'reqps',
          queries: [{ expr: rate('grpc_server_handled_total', all) }],
        }),
        new Stat({
          title: 'Server errors (SLI, 5m)',
          description:
            `The availability SLI, per service: share of calls to its own API in the last 5 minutes that failed through the server's fault (${SERVER_FAULTS}); ` +
            `health, reflection and fault admin calls are not counted, and Method and Instance do not apply. The SLO allows ${((1 - AVAILABILITY_OBJECTIVE) * 100).toFixed(1)} %.`,
          unit: 'percentunit',
          queries: [{ expr: `${errorRatio('5m')}{job=~"$job"}`, legend: '{{job}}' }],
          thresholds: [
            { value: 1 - AVAILABILITY_OBJECTIVE, color: 'orange' },
            { value: 10 * (1 - AVAILABILITY_OBJECTIVE), color: 'red' },
          ],
        }),
        new Stat({
          title: 'p99 latency (unary)',
          description: `99th percentile of unary call duration; the latency SLO wants ${LATENCY_OBJECTIVE * 100} % under ${LATENCY_THRESHOLD_SECONDS * 1000} ms.`,
          unit: 's',
          queries: [
            { expr: `histogram_quantile(0.99, sum by (le) (rate(grpc_server_handling_seconds_bucket${unary}[$__rate_interval])))` },
          ],
          thresholds: [
            { value: 0.1, color: 'orange' },
            { value: LATENCY_THRESHOLD_SECONDS, color: 'red' },
          ],
        }),
        new Stat({
          title: 'Instances up',
          description: 'Scrape targets of the selected services that answer; fewer than deployed means a replica is down.',
          unit: 'short',
          queries: [{ expr: 'sum(up{job=~"$job",instance=~"$instance"})' }],
        }),
      ],
    },
    {
      title: 'Rate, errors, duration',
      panels: [
        new TimeSeries({
          title: 'Request rate by method',
          description: 'Calls per second per method; compare shapes across methods to spot a single hot or silent one.',
          unit: 'reqps',
          min: 0,
          stack: true,
          queries: [{ expr: rate('grpc_server_handled_total', all, 'job, grpc_method'), legend: '{{job}} {{grpc_method}}' }],
        }),
        new TimeSeries({
          title: 'Request rate by protocol',
          description:
            'Calls per second by how they arrived: grpc on the gRPC port; grpc_web and connect on the web endpoint, from browsers (the storefront page).',
          unit: 'reqps',
          min: 0,
          stack: true,
          queries: [{ expr: rate('grpc_server_handled_total', all, 'job, protocol'), legend: '{{job}} {{protocol}}' }],
        }),
        new TimeSeries({
          title: 'Error ratio by status code',
          description:
            "Share of calls ending in each non-OK code; InvalidArgument and NotFound are callers' mistakes, Unavailable and Internal are ours.",
          unit: 'percentunit',
          min: 0,
          queries: [
            {
              expr: `${rate('grpc_server_handled_total', notOk, 'job, grpc_code')} / ignoring(grpc_code) group_left ${rate('grpc_server_handled_total', all, 'job')}`,
              legend: '{{job}} {{grpc_code}}',
            },
          ],
        }),
        new TimeSeries({
          title: 'Latency p50 / p95 / p99 (unary)',
          description: 'Percentiles of unary call duration per service; click an exemplar dot to open the trace of that call in Jaeger.',
          unit: 's',
          min: 0,
          links: [jaegerLink],
          queries: [
            { expr: quantile(0.5, 'grpc_server_handling_seconds', unary, 'job'), legend: '{{job}} p50' },
            { expr: quantile(0.95, 'grpc_server_handling_seconds', unary, 'job'), legend: '{{job}} p95' },
            { expr: quantile(0.99, 'grpc_server_handling_seconds', unary, 'job'), legend: '{{job}} p99', exemplar: true },
          ],
        }),
        new TimeSeries({
          title: 'p99 latency by method',
          description: 'The slowest percent of each method; the one that rises first is where to look in the trace.',
          unit: 's',
          min: 0,
          links: [jaegerLink],
          queries: [
            {
              expr: quantile(0.99, 'grpc_server_handling_seconds', unary, 'job, grpc_method'),
              legend: '{{job}} {{grpc_method}}',
              exemplar: true,
            },
          ],
        }),
        new TimeSeries({
          title: 'In flight',
          description: 'Calls started but not finished, including open streams (WatchOrders); steady growth means calls are stuck.',
          unit: 'short',
          min: 0,
          queries: [
            { expr: `sum by (job) (grpc_server_started_total${all}) - sum by (job) (grpc_server_handled_total${all})`, legend: '{{job}}' },
          ],
        }),
        new Heatmap({
          title: 'Latency distribution (unary)',
          description: 'How call durations spread over time; a second band appearing means some calls take a slower path.',
          unit: 's',
          queries: [
            { expr: `sum by (le) (rate(grpc_server_handling_seconds_bucket${unary}[$__rate_interval]))`, legend: '{{le}}', exemplar: true },
          ],
        }),
      ],
    },
    {
      title: 'Methods',
      panels: [
        new Table({
          title: 'Busiest methods',
          description: 'Calls per second per method right now; the top rows are where load is.',
          unit: 'reqps',
          span: 6,
          queries: [{ expr: `sort_desc(${rate('grpc_server_handled_total', all, 'job, grpc_method')})` }],
        }),
        new Table({
          title: 'Methods failing through the server',
          description: 'Server-fault calls per second per method and code right now; any row here needs attention.',
          unit: 'reqps',
          span: 6,
          queries: [{ expr: `sort_desc(${rate('grpc_server_handled_total', faults, 'job, grpc_method, grpc_code')})` }],
        }),
        new TimeSeries({
          title: 'Stream messages',
          description: 'Messages received and sent per second on streams (WatchOrders, BulkCreateOrders) and unary calls alike.',
          unit: 'short',
          min: 0,
          span: 12,
          queries: [
            { expr: rate('grpc_server_msg_received_total', all, 'job, grpc_method'), legend: 'received {{job}} {{grpc_method}}' },
            { expr: rate('grpc_server_msg_sent_total', all, 'job, grpc_method'), legend: 'sent {{job}} {{grpc_method}}' },
          ],
        }),
        new TimeSeries({
          title: 'p99 by method (OpenTelemetry gRPC metrics)',
          description:
            'p99 of grpc.server.call.duration (gRFC A66, as grpc_server_call_duration_seconds), every call type, by full method name: the OpenTelemetry naming, beside the go-grpc-prometheus series the rest of this dashboard reads.',
          unit: 's',
          min: 0,
          span: 12,
          queries: [
            {
              expr: 'histogram_quantile(0.99, sum by (grpc_method, le) (rate(grpc_server_call_duration_seconds_bucket{job=~"$job",instance=~"$instance"}[$__rate_interval])))',
              legend: '{{grpc_method}}',
            },
          ],
        }),
        new Text({
          title: 'How to read this dashboard',
          description: 'Where to go from here.',
          content:
            "Rate, errors and duration per service (**Service**) and method (**Method**). Errors are split by status code: `InvalidArgument`, `NotFound`, `FailedPrecondition` and `AlreadyExists` are the caller's mistakes, `Unavailable`, `Internal` and `DeadlineExceeded` are the platform's.\n\n" +
            `Click an exemplar on a latency panel to open its trace in [Jaeger](${TOOL_URLS.jaeger}); every log line of that call carries the same \`trace.id\` in [Kibana](${TOOL_URLS.kibana}/app/discover).`,
        }),
      ],
    },
  ],
});

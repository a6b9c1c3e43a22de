import { TOOL_URLS } from './datasources';
import { DashboardDefinition } from './dashboard';
import { TimeSeries, Stat } from './panels';
import { quantile, rate } from './promql';
import { SERVER_FAULTS } from './slo';

const calls = '{job="order-service",grpc_service="user.v1.UserService",instance=~"$instance"}';
const faults = `{job="order-service",grpc_service="user.v1.UserService",instance=~"$instance",${SERVER_FAULTS}}`;

export const dependencies = new DashboardDefinition({
  uid: 'order-user-dependency',
  title: 'Order → User dependency',
  description: 'The user service as the order service sees it: client-side rate, errors and latency of GetUser.',
  tags: ['grpc-platform', 'dependencies'],
  variables: ['instance'],
  fixed: { job: 'order-service' },
  rows: [
    {
      title: 'Calls from Order to User',
      panels: [
        new Stat({
          title: 'Calls to User',
          description: 'GetUser calls per second made by the order service; it makes one per order placed.',
          unit: 'reqps',
          queries: [{ expr: rate('grpc_client_handled_total', calls) }],
        }),
        new Stat({
          title: 'Failing calls to User',
          description:
            'Share of calls to User failing with Unavailable, DeadlineExceeded or Internal; above zero, orders fail with UNAVAILABLE.',
          unit: 'percentunit',
          queries: [{ expr: `${rate('grpc_client_handled_total', faults)} / ${rate('grpc_client_handled_total', calls)} or vector(0)` }],
          thresholds: [
            { value: 0.001, color: 'orange' },
            { value: 0.01, color: 'red' },
          ],
        }),
        new Stat({
          title: 'p99 of calls to User',
          description: 'The order service waits this long for User at the 99th percentile; it is part of every CreateOrder.',
          unit: 's',
          queries: [
            { expr: `histogram_quantile(0.99, sum by (le) (rate(grpc_client_handling_seconds_bucket${calls}[$__rate_interval])))` },
          ],
        }),
        new Stat({
          title: 'Calls in flight',
          description: 'Calls to User started and not yet answered; growth means User is slow to answer.',
          unit: 'short',
          queries: [{ expr: `sum(grpc_client_started_total${calls}) - sum(grpc_client_handled_total${calls})` }],
        }),
        new TimeSeries({
          title: 'Calls to User by outcome',
          description: 'GetUser calls per second by status: NotFound is an order for an unknown user, Unavailable means User is down.',
          unit: 'reqps',
          min: 0,
          stack: true,
          queries: [{ expr: rate('grpc_client_handled_total', calls, 'grpc_method, grpc_code'), legend: '{{grpc_method}} {{grpc_code}}' }],
        }),
        new TimeSeries({
          title: 'Latency of calls to User (client side)',
          description:
            "Duration of GetUser as measured by Order, network included; compare with User's own latency in the Services overview.",
          unit: 's',
          min: 0,
          links: [
            {
              title: 'Order traces in Jaeger',
              url: `${TOOL_URLS.jaeger}/search?service=order-service&operation=user.v1.UserService%2FGetUser`,
            },
          ],
          queries: [
            { expr: quantile(0.5, 'grpc_client_handling_seconds', calls, 'grpc_method'), legend: 'p50' },
            { expr: quantile(0.99, 'grpc_client_handling_seconds', calls, 'grpc_method'), legend: 'p99', exemplar: true },
          ],
        }),
        new TimeSeries({
          title: 'Call duration to User by target (OpenTelemetry gRPC metrics)',
          description:
            'p99 of grpc.client.call.duration (gRFC A66, as grpc_client_call_duration_seconds) by channel target and status: the same calls as above, in the OpenTelemetry naming other gRPC stacks emit.',
          unit: 's',
          min: 0,
          span: 12,
          queries: [
            {
              expr: 'histogram_quantile(0.99, sum by (grpc_target, grpc_status, le) (rate(grpc_client_call_duration_seconds_bucket{job="order-service",grpc_method="user.v1.UserService/GetUser",instance=~"$instance"}[$__rate_interval])))',
              legend: '{{grpc_target}} {{grpc_status}}',
            },
          ],
        }),
      ],
    },
  ],
});

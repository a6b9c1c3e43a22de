import { DashboardDefinition } from './dashboard';
import { Stat, TimeSeries } from './panels';
import { rate } from './promql';

export const business = new DashboardDefinition({
  uid: 'business',
  title: 'Business',
  description: 'Users and orders: what the platform is for.',
  tags: ['grpc-platform', 'business'],
  variables: ['job', 'instance'],
  rows: [
    {
      title: 'Users and orders',
      panels: [
        new Stat({
          title: 'Users registered',
          description: 'New users in the selected time range.',
          unit: 'short',
          queries: [{ expr: 'sum(increase(app_users_created_total{instance=~"$instance"}[$__range]))' }],
        }),
        new Stat({
          title: 'Orders placed',
          description: 'New orders in the selected time range (replayed idempotent requests not counted).',
          unit: 'short',
          queries: [{ expr: 'sum(increase(app_orders_created_total{instance=~"$instance"}[$__range]))' }],
        }),
        new Stat({
          title: 'Cancellation rate',
          description: 'Share of orders cancelled over the range; a jump can mean a pricing or stock problem.',
          unit: 'percentunit',
          queries: [
            {
              expr: 'sum(increase(app_orders_cancelled_total{instance=~"$instance"}[$__range])) / sum(increase(app_orders_created_total{instance=~"$instance"}[$__range]))',
            },
          ],
        }),
        new Stat({
          title: 'Average order value',
          description:
            'Mean order total over the range, per currency, in its major unit (euros, yen): amounts in different currencies are never added up.',
          unit: 'none',
          queries: [
            {
              expr: 'sum by (currency) (increase(app_order_value_sum{instance=~"$instance"}[$__range])) / sum by (currency) (increase(app_order_value_count{instance=~"$instance"}[$__range]))',
              legend: '{{currency}}',
            },
          ],
        }),
        new TimeSeries({
          title: 'Registrations per second',
          description: 'Users registered per second; traffic without registrations means CreateUser is failing.',
          unit: 'reqps',
          min: 0,
          queries: [{ expr: rate('app_users_created_total', '{instance=~"$instance"}'), legend: 'users' }],
        }),
        new TimeSeries({
          title: 'Orders by currency',
          description: 'Orders placed per second per currency (currencies outside the reported list are OTHER).',
          unit: 'reqps',
          min: 0,
          stack: true,
          queries: [{ expr: rate('app_orders_created_total', '{instance=~"$instance"}', 'currency'), legend: '{{currency}}' }],
        }),
        new TimeSeries({
          title: 'Cancellations by currency',
          description: 'Orders cancelled per second per currency.',
          unit: 'reqps',
          min: 0,
          stack: true,
          queries: [{ expr: rate('app_orders_cancelled_total', '{instance=~"$instance"}', 'currency'), legend: '{{currency}}' }],
        }),
        new TimeSeries({
          title: 'Order value per second',
          description: 'Value of the orders placed per second, per currency in its major unit; the revenue curve.',
          unit: 'none',
          min: 0,
          queries: [{ expr: rate('app_order_value_sum', '{instance=~"$instance"}', 'currency'), legend: '{{currency}}' }],
        }),
        new TimeSeries({
          title: 'Order value distribution',
          description:
            'Median and 90th percentile of order totals per currency, in its major unit; a shift means baskets changed, not only their number.',
          unit: 'none',
          min: 0,
          span: 12,
          queries: [
            {
              expr: 'histogram_quantile(0.5, sum by (currency, le) (rate(app_order_value_bucket{instance=~"$instance"}[$__rate_interval])))',
              legend: '{{currency}} p50',
            },
            {
              expr: 'histogram_quantile(0.9, sum by (currency, le) (rate(app_order_value_bucket{instance=~"$instance"}[$__rate_interval])))',
              legend: '{{currency}} p90',
            },
          ],
        }),
      ],
    },
  ],
});

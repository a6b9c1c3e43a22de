import { DashboardDefinition } from './dashboard';
import { TimeSeries } from './panels';
import { selector } from './promql';

const target = selector(['job', 'instance']);

export const runtime = new DashboardDefinition({
  uid: 'nodejs-runtime',
  title: 'Node.js runtime',
  description: 'Event loop, memory, garbage collection, CPU and the PostgreSQL pool of every service process.',
  tags: ['grpc-platform', 'runtime'],
  variables: ['job', 'instance'],
  rows: [
    {
      title: 'Event loop and CPU',
      panels: [
        new TimeSeries({
          title: 'Event loop lag',
          description: 'How late the event loop runs callbacks; above 100 ms every call on that process waits that long.',
          unit: 's',
          min: 0,
          queries: [
            { expr: `nodejs_eventloop_lag_p99_seconds${target}`, legend: '{{job}} {{instance}} p99' },
            { expr: `nodejs_eventloop_lag_mean_seconds${target}`, legend: '{{job}} {{instance}} mean' },
          ],
        }),
        new TimeSeries({
          title: 'CPU',
          description: 'CPU seconds per second used by each process; near 1 one core is saturated (Node runs JavaScript on one).',
          unit: 'percentunit',
          min: 0,
          queries: [{ expr: `rate(process_cpu_seconds_total${target}[$__rate_interval])`, legend: '{{job}} {{instance}}' }],
        }),
      ],
    },
    {
      title: 'Memory and garbage collection',
      panels: [
        new TimeSeries({
          title: 'Heap',
          description: 'V8 heap used and allocated; used that climbs and never falls after GC is a leak.',
          unit: 'bytes',
          min: 0,
          queries: [
            { expr: `nodejs_heap_size_used_bytes${target}`, legend: '{{job}} {{instance}} used' },
            { expr: `nodejs_heap_size_total_bytes${target}`, legend: '{{job}} {{instance}} total' },
          ],
        }),
        new TimeSeries({
          title: 'Resident memory',
          description: 'Memory the OS has given each process (heap, buffers, native); compare with the container limit.',
          unit: 'bytes',
          min: 0,
          queries: [{ expr: `process_resident_memory_bytes${target}`, legend: '{{job}} {{instance}}' }],
        }),
        new TimeSeries({
          title: 'Time in garbage collection',
          description: 'Share of time spent collecting garbage, by GC kind; above a few percent allocation pressure is costing latency.',
          unit: 'percentunit',
          min: 0,
          stack: true,
          queries: [
            { expr: `sum by (job, kind) (rate(nodejs_gc_duration_seconds_sum${target}[$__rate_interval]))`, legend: '{{job}} {{kind}}' },
          ],
        }),
        new TimeSeries({
          title: 'Active handles',
          description: 'Sockets, timers and other handles keeping each process busy; growth without load is a leak.',
          unit: 'short',
          min: 0,
          queries: [{ expr: `nodejs_active_handles_total${target}`, legend: '{{job}} {{instance}}' }],
        }),
      ],
    },
    {
      title: 'PostgreSQL pool',
      panels: [
        new TimeSeries({
          title: 'Pool connections',
          description: 'Connections in use and idle per process; used at the maximum means queries queue for a connection.',
          unit: 'short',
          min: 0,
          stack: true,
          queries: [
            { expr: `sum by (job, state) (pg_pool_connections${target})`, legend: '{{job}} {{state}}' },
            { expr: `max by (job) (pg_pool_max_connections${target})`, legend: '{{job}} max' },
          ],
        }),
        new TimeSeries({
          title: 'Queries waiting for a connection',
          description: 'Queries queued for a free pool connection; above zero the pool, not PostgreSQL, is the bottleneck.',
          unit: 'short',
          min: 0,
          queries: [{ expr: `sum by (job) (pg_pool_waiting_requests${target})`, legend: '{{job}}' }],
        }),
      ],
    },
  ],
});

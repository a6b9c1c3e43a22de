import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { freePort } from '@platform/testing';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DATASOURCES, TOOL_URLS } from '@platform/dashboards';
import { datasetOf } from '@platform/telemetry';
import { parse } from 'yaml';
import { RecordingServer, type CannedResponse, type RecordedRequest } from '../support/recording-server';

/**
 * Static checks of the backend configuration the Compose stack mounts (no
 * Docker engine runs here): Jaeger's pipelines, Grafana's provisioning against
 * the generated dashboards, and the Elasticsearch/Kibana set-up script, which
 * also runs for real against recording stand-ins of both REST APIs.
 */

const OBSERVABILITY = path.resolve(__dirname, '../..');
const ROOT = path.resolve(OBSERVABILITY, '..');
const JAEGER_CONFIG = path.join(OBSERVABILITY, 'jaeger/config.yaml');
const GRAFANA_DATASOURCES = path.join(OBSERVABILITY, 'grafana/provisioning/datasources/datasources.yaml');
const GRAFANA_DASHBOARD_PROVIDERS = path.join(OBSERVABILITY, 'grafana/provisioning/dashboards/dashboards.yaml');
const GENERATED_DASHBOARDS = path.join(ROOT, 'dashboards/generated');
const SETUP_DIR = path.join(OBSERVABILITY, 'elasticsearch');
const SETUP_SCRIPT = path.join(SETUP_DIR, 'setup.mjs');

/** Where the Compose file mounts dashboards/generated in the grafana container, and the home dashboard in it. */
const GRAFANA_DASHBOARDS_MOUNT = '/var/lib/grafana/dashboards/platform';
const GRAFANA_HOME_DASHBOARD = `${GRAFANA_DASHBOARDS_MOUNT}/services-overview.json`;

/** The data streams the services ship to (packages/telemetry: logs-<dataset>-default). */
const SERVICE_DATA_STREAMS = ['user-service', 'order-service'].map((service) => `logs-${datasetOf(service)}-default`);

type Yaml = Record<string, unknown>;
const readYaml = (file: string) => parse(readFileSync(file, 'utf8')) as Yaml;
const readJson = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;
const keys = (value: unknown) => Object.keys((value ?? {}) as object);
const at = (value: unknown, ...pathParts: string[]): unknown =>
  pathParts.reduce<unknown>((current, part) => (current as Record<string, unknown> | undefined)?.[part], value);

/** An index or role name pattern (only `*` is special) as a regular expression. */
const globToRegExp = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

describe('Jaeger v2 configuration (observability/jaeger/config.yaml)', () => {
  const config = readYaml(JAEGER_CONFIG);
  const service = config.service as {
    extensions?: string[];
    pipelines?: Record<string, Record<string, string[] | undefined>>;
    telemetry?: unknown;
  };
  const pipelines = Object.entries(service.pipelines ?? {});
  const signalOf = (pipelineId: string) => pipelineId.split('/')[0];

  it('has a traces pipeline and a span-metrics pipeline', () => {
    assert.ok(
      pipelines.some(([id]) => signalOf(id) === 'traces'),
      'no traces pipeline',
    );
    assert.ok(
      pipelines.some(([id]) => signalOf(id) === 'metrics'),
      'no metrics pipeline',
    );
  });

  it('pipelines reference only defined receivers, processors, exporters and connectors, and every one defined is used', () => {
    const problems: string[] = [];
    const used = {
      receivers: new Set<string>(),
      processors: new Set<string>(),
      exporters: new Set<string>(),
      connectors: new Set<string>(),
    };
    const connectors = new Set(keys(config.connectors));
    for (const [id, pipeline] of pipelines) {
      for (const receiver of pipeline.receivers ?? []) {
        if (connectors.has(receiver)) used.connectors.add(receiver);
        else if (keys(config.receivers).includes(receiver)) used.receivers.add(receiver);
        else problems.push(`${id}: receiver ${receiver} is not defined`);
      }
      for (const processor of pipeline.processors ?? []) {
        if (keys(config.processors).includes(processor)) used.processors.add(processor);
        else problems.push(`${id}: processor ${processor} is not defined`);
      }
      for (const exporter of pipeline.exporters ?? []) {
        if (connectors.has(exporter)) used.connectors.add(exporter);
        else if (keys(config.exporters).includes(exporter)) used.exporters.add(exporter);
        else problems.push(`${id}: exporter ${exporter} is not defined`);
      }
      if ((pipeline.receivers ?? []).length === 0) problems.push(`${id}: no receivers`);
      if ((pipeline.exporters ?? []).length === 0) problems.push(`${id}: no exporters`);
    }
    for (const kind of ['receivers', 'processors', 'exporters', 'connectors'] as const) {
      for (const name of keys(config[kind])) if (!used[kind].has(name)) problems.push(`${kind}.${name} is defined but in no pipeline`);
    }
    assert.deepEqual(problems, []);
  });

  it('feeds the spanmetrics connector from a traces pipeline into a metrics pipeline that Prometheus can scrape', () => {
    const exportingTo = pipelines.filter(([, pipeline]) => pipeline.exporters?.includes('spanmetrics')).map(([id]) => signalOf(id));
    const receivingFrom = pipelines.filter(([, pipeline]) => pipeline.receivers?.includes('spanmetrics'));
    assert.deepEqual(exportingTo, ['traces']);
    assert.deepEqual(
      receivingFrom.map(([id]) => signalOf(id)),
      ['metrics'],
    );
    assert.ok(receivingFrom[0]![1].exporters?.includes('prometheus'), 'the span-metrics pipeline exports to the prometheus exporter');
    assert.equal(at(config, 'exporters', 'prometheus', 'endpoint'), '0.0.0.0:8889');
  });

  it('enables exactly the extensions it defines', () => {
    assert.deepEqual([...(service.extensions ?? [])].sort(), keys(config.extensions).sort());
    for (const required of ['jaeger_storage', 'jaeger_query', 'healthcheckv2'])
      assert.ok(service.extensions?.includes(required), `${required} is not enabled`);
  });

  it('receives OTLP over gRPC and HTTP on every interface', () => {
    assert.equal(at(config, 'receivers', 'otlp', 'protocols', 'grpc', 'endpoint'), '0.0.0.0:4317');
    assert.equal(at(config, 'receivers', 'otlp', 'protocols', 'http', 'endpoint'), '0.0.0.0:4318');
  });

  it('stores traces in bounded memory and reads span metrics back from Prometheus for the Monitor tab', () => {
    const storage = at(config, 'extensions', 'jaeger_storage') as { backends?: Yaml; metric_backends?: Yaml };
    const tracesBackend = at(config, 'extensions', 'jaeger_query', 'storage', 'traces') as string;
    const metricsBackend = at(config, 'extensions', 'jaeger_query', 'storage', 'metrics') as string;
    const maxTraces = at(storage.backends, tracesBackend, 'memory', 'max_traces');
    assert.ok(typeof maxTraces === 'number' && maxTraces > 0 && maxTraces <= 1_000_000, `max_traces is ${String(maxTraces)}`);
    assert.equal(
      at(config, 'exporters', 'jaeger_storage_exporter', 'trace_storage'),
      tracesBackend,
      'spans are written where the UI reads them',
    );
    assert.ok(
      keys(storage.metric_backends).includes(metricsBackend),
      `jaeger_query reads metrics from ${metricsBackend}, which is not in metric_backends`,
    );
    assert.equal(at(storage.metric_backends, metricsBackend, 'prometheus', 'endpoint'), 'http://prometheus:9090');
  });

  it('serves the UI, the health check and its own metrics on the ports the Compose file uses', () => {
    assert.equal(at(config, 'extensions', 'jaeger_query', 'http', 'endpoint'), '0.0.0.0:16686');
    assert.equal(at(config, 'extensions', 'healthcheckv2', 'use_v2'), true);
    assert.equal(at(config, 'extensions', 'healthcheckv2', 'http', 'endpoint'), '0.0.0.0:13133');
    const reader = (at(service.telemetry, 'metrics', 'readers') as unknown[] | undefined)?.[0];
    assert.deepEqual(at(reader, 'pull', 'exporter', 'prometheus'), { host: '0.0.0.0', port: 8888 });
  });
});

/**
 * Grafana's interpolation of provisioning values (pkg/services/provisioning/values):
 * split on `$$`, expand environment variables in each part as Go's
 * os.ExpandEnv does, join the parts with `$`.
 */
function grafanaInterpolate(value: string, env: Record<string, string>): string {
  return value
    .split('$$')
    .map((part) =>
      part.replace(
        /\$(?:\{([^}]*)\}|([A-Za-z0-9_]+)|([*#$@!?-]))/g,
        (_match, braced?: string, plain?: string, special?: string) => env[braced ?? plain ?? special ?? ''] ?? '',
      ),
    )
    .join('$');
}

/** Every string in a parsed YAML value, with its path. */
function* strings(value: unknown, at = ''): Generator<[string, string]> {
  if (typeof value === 'string') yield [at, value];
  else if (Array.isArray(value)) for (const [index, item] of value.entries()) yield* strings(item, `${at}[${index}]`);
  else if (value && typeof value === 'object')
    for (const [key, item] of Object.entries(value)) yield* strings(item, at ? `${at}.${key}` : key);
}

interface ProvisionedDatasource {
  name: string;
  type: string;
  uid: string;
  url: string;
  basicAuth?: boolean;
  basicAuthUser?: string;
  jsonData?: Record<string, unknown>;
  secureJsonData?: Record<string, string>;
}

describe('Grafana provisioning (observability/grafana/provisioning)', () => {
  const provisioning = readYaml(GRAFANA_DATASOURCES) as { apiVersion: number; datasources: ProvisionedDatasource[] };
  const datasources = provisioning.datasources;
  const byUid = new Map(datasources.map((datasource) => [datasource.uid, datasource]));
  const dashboardFiles = readdirSync(GENERATED_DASHBOARDS)
    .filter((name) => name.endsWith('.json'))
    .sort();
  const environment = { GRAFANA_ES_PASSWORD: 'from-the-environment' };

  it('provisions each data source once, with a UID and a name of its own', () => {
    assert.equal(provisioning.apiVersion, 1);
    assert.equal(new Set(datasources.map((datasource) => datasource.uid)).size, datasources.length, 'duplicate uid');
    assert.equal(new Set(datasources.map((datasource) => datasource.name)).size, datasources.length, 'duplicate name');
    assert.equal(
      datasources.filter((datasource) => (datasource as { isDefault?: boolean }).isDefault).length,
      1,
      'exactly one default data source',
    );
  });

  it('provisions every data source the dashboards package declares, with its type', () => {
    for (const declared of Object.values(DATASOURCES)) {
      assert.equal(byUid.get(declared.uid)?.type, declared.type, `data source ${declared.uid}`);
    }
  });

  it('provisions every data source a generated dashboard refers to (panels, targets, templating, annotations)', () => {
    assert.ok(dashboardFiles.length > 0, `no dashboards in ${GENERATED_DASHBOARDS}`);
    const missing: string[] = [];
    let references = 0;
    const builtIn = new Set(['-- Grafana --', '-- Mixed --', '-- Dashboard --', 'grafana']);
    const visit = (value: unknown, where: string) => {
      if (Array.isArray(value)) value.forEach((item, index) => visit(item, `${where}[${index}]`));
      else if (value && typeof value === 'object') {
        for (const [key, item] of Object.entries(value)) {
          if (key === 'datasource' && item !== null) {
            const { uid, type } = typeof item === 'string' ? { uid: item, type: undefined } : (item as { uid?: string; type?: string });
            if (!uid || uid.startsWith('$') || builtIn.has(uid)) continue;
            references++;
            const provisioned = byUid.get(uid);
            if (!provisioned) missing.push(`${where}.datasource: ${uid} is not provisioned`);
            else if (type && type !== provisioned.type)
              missing.push(`${where}.datasource: ${uid} is a ${provisioned.type}, the dashboard expects ${type}`);
          } else visit(item, `${where}.${key}`);
        }
      }
    };
    for (const file of dashboardFiles) visit(readJson(path.join(GENERATED_DASHBOARDS, file)), file);
    assert.ok(references > 0, 'the dashboards refer to no data source at all');
    assert.deepEqual(missing, []);
  });

  it('links exemplars to Jaeger, traces to their logs and metrics, and log lines to their traces', () => {
    const prometheus = byUid.get(DATASOURCES.prometheus.uid)!;
    const jaeger = byUid.get(DATASOURCES.jaeger.uid)!;
    const logs = byUid.get(DATASOURCES.elasticsearch.uid)!;
    const exemplars = prometheus.jsonData?.exemplarTraceIdDestinations as { name: string; datasourceUid?: string; url?: string }[];
    // A URL into the Jaeger UI: Grafana's internal exemplar link is a TraceQL query its Jaeger data source ignores (grafana/grafana#111448).
    assert.deepEqual(
      exemplars.map(({ name, datasourceUid, url }) => ({ name, datasourceUid, url: grafanaInterpolate(url ?? '', environment) })),
      [{ name: 'trace_id', datasourceUid: undefined, url: `${TOOL_URLS.jaeger}/trace/\${__value.raw}` }],
    );
    assert.equal(at(jaeger.jsonData, 'tracesToLogsV2', 'datasourceUid'), 'elasticsearch-logs');
    // An exact term: no leading wildcard, which Elasticsearch answers by scanning every term.
    assert.equal(grafanaInterpolate(String(at(jaeger.jsonData, 'tracesToLogsV2', 'query')), environment), 'trace.id:"${__span.traceId}"');
    assert.equal(at(jaeger.jsonData, 'tracesToMetrics', 'datasourceUid'), 'prometheus');
    const dataLinks = logs.jsonData?.dataLinks as { field: string; datasourceUid: string }[];
    assert.deepEqual(
      dataLinks.map(({ field, datasourceUid }) => ({ field, datasourceUid })),
      [{ field: 'trace.id', datasourceUid: 'jaeger' }],
    );
    assert.ok(byUid.has(dataLinks[0]!.datasourceUid), `${dataLinks[0]!.datasourceUid} is not provisioned`);
  });

  it('reads the ECS log data streams as a read-only user whose password comes from the environment', () => {
    const logs = byUid.get(DATASOURCES.elasticsearch.uid)!;
    assert.equal(logs.url, 'http://elasticsearch:9200');
    assert.equal(logs.basicAuth, true);
    assert.equal(logs.basicAuthUser, 'grafana_reader');
    assert.equal(logs.secureJsonData?.basicAuthPassword, '$GRAFANA_ES_PASSWORD');
    assert.deepEqual(
      {
        index: logs.jsonData?.index,
        timeField: logs.jsonData?.timeField,
        logMessageField: logs.jsonData?.logMessageField,
        logLevelField: logs.jsonData?.logLevelField,
      },
      { index: 'logs-*', timeField: '@timestamp', logMessageField: 'message', logLevelField: 'log.level' },
    );
    for (const stream of SERVICE_DATA_STREAMS) assert.match(stream, globToRegExp(String(logs.jsonData?.index)));
  });

  it('escapes Grafana link variables from environment interpolation, so only the password is taken from the environment', () => {
    const interpolatedByPath = new Map<string, string>();
    const changed: string[] = [];
    for (const [where, raw] of strings(datasources)) {
      const interpolated = grafanaInterpolate(raw, environment);
      interpolatedByPath.set(where, interpolated);
      if (interpolated !== raw.replaceAll('$$', '$')) changed.push(where);
    }
    const logsIndex = datasources.findIndex((datasource) => datasource.uid === DATASOURCES.elasticsearch.uid);
    const jaegerIndex = datasources.findIndex((datasource) => datasource.uid === DATASOURCES.jaeger.uid);
    assert.deepEqual(changed, [`[${logsIndex}].secureJsonData.basicAuthPassword`]);
    assert.equal(interpolatedByPath.get(`[${logsIndex}].secureJsonData.basicAuthPassword`), environment.GRAFANA_ES_PASSWORD);
    assert.equal(interpolatedByPath.get(`[${logsIndex}].jsonData.dataLinks[0].url`), '${__value.raw}');
    assert.match(interpolatedByPath.get(`[${jaegerIndex}].jsonData.tracesToLogsV2.query`) ?? '', /\$\{__span\.traceId\}/);
    const metricQueries = [...interpolatedByPath].filter(
      ([where]) => where.startsWith(`[${jaegerIndex}].jsonData.tracesToMetrics.queries`) && where.endsWith('.query'),
    );
    assert.ok(
      metricQueries.length > 0 && metricQueries.every(([, query]) => query.includes('{$__tags}')),
      'trace-to-metrics queries select by $__tags',
    );
  });

  it('points Grafana at the same Jaeger and Prometheus the Jaeger configuration serves and reads', () => {
    const jaegerConfig = readYaml(JAEGER_CONFIG);
    const uiPort = String(at(jaegerConfig, 'extensions', 'jaeger_query', 'http', 'endpoint'))
      .split(':')
      .pop();
    assert.equal(byUid.get('jaeger')?.url, `http://jaeger:${uiPort}`);
    const metricsBackend = at(jaegerConfig, 'extensions', 'jaeger_query', 'storage', 'metrics') as string;
    assert.equal(
      byUid.get('prometheus')?.url,
      at(jaegerConfig, 'extensions', 'jaeger_storage', 'metric_backends', metricsBackend, 'prometheus', 'endpoint'),
    );
  });

  it('loads the generated dashboards into the "gRPC platform" folder, read-only, and has the home dashboard there', () => {
    const { providers } = readYaml(GRAFANA_DASHBOARD_PROVIDERS) as {
      providers: { type?: string; folder?: string; allowUiUpdates?: boolean; options?: { path?: string } }[];
    };
    assert.equal(providers.length, 1);
    const [provider] = providers;
    assert.deepEqual(
      { type: provider!.type, folder: provider!.folder, allowUiUpdates: provider!.allowUiUpdates, path: provider!.options?.path },
      { type: 'file', folder: 'gRPC platform', allowUiUpdates: false, path: GRAFANA_DASHBOARDS_MOUNT },
    );
    const homeFile = path.join(GENERATED_DASHBOARDS, path.posix.relative(GRAFANA_DASHBOARDS_MOUNT, GRAFANA_HOME_DASHBOARD));
    assert.ok(existsSync(homeFile), `${homeFile} (GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH=${GRAFANA_HOME_DASHBOARD}) does not exist`);
    assert.equal(readJson<{ uid: string }>(homeFile).uid, 'services-overview');
  });
});

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Runs setup.mjs as the Compose jobs do, with `env` only (plus PATH) and an optional phase. */
function runSetup(env: Record<string, string>, args: string[] = []): Promise<RunResult> {
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SETUP_SCRIPT, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, durationMs: Date.now() - startedAt });
    });
  });
}

const describeRun = (run: RunResult) => `exit ${run.code}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`;

const PASSWORDS = {
  ELASTIC_PASSWORD: 'elastic-secret',
  KIBANA_SYSTEM_PASSWORD: 'kibana-secret',
  LOG_WRITER_PASSWORD: 'writer-secret',
  GRAFANA_ES_PASSWORD: 'reader-secret',
};
const JAEGER_UI_URL = 'http://localhost:16686';
const basicAuth = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const isMutation = (request: RecordedRequest) => request.method !== 'GET';
const mutationSummary = (requests: RecordedRequest[]) =>
  requests.filter(isMutation).map((request) => ({ method: request.method, url: request.url, body: request.body }));

describe('Elasticsearch and Kibana set-up (observability/elasticsearch/setup.mjs)', () => {
  const template = readJson<{
    index_patterns: string[];
    data_stream?: object;
    priority: number;
    composed_of?: string[];
    template: { settings: Record<string, unknown>; mappings: { properties: Record<string, unknown> } };
  }>(path.join(SETUP_DIR, 'index-template.json'));
  const ilm = readJson<{ policy: { phases: Record<string, { min_age?: string; actions: Record<string, Record<string, unknown>> }> } }>(
    path.join(SETUP_DIR, 'ilm-policy.json'),
  );
  const roles = readJson<Record<string, { cluster: string[]; indices: { names: string[]; privileges: string[] }[] }>>(
    path.join(SETUP_DIR, 'roles.json'),
  );

  it('passes node --check', async () => {
    const result = await new Promise<RunResult>((resolve) => {
      const child = spawn(process.execPath, ['--check', SETUP_SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('close', (code) => resolve({ code, stdout: '', stderr, durationMs: 0 }));
    });
    assert.equal(result.code, 0, result.stderr);
  });

  it('has JSON resources that parse', () => {
    const files = readdirSync(SETUP_DIR).filter((name) => name.endsWith('.json'));
    assert.deepEqual(files.sort(), ['ilm-policy.json', 'index-template.json', 'roles.json']);
    for (const file of files) assert.doesNotThrow(() => readJson(path.join(SETUP_DIR, file)), file);
  });

  it("templates the services' data streams, above the built-in logs template, with the ECS fields they write", () => {
    for (const stream of SERVICE_DATA_STREAMS) {
      assert.ok(
        template.index_patterns.some((pattern) => globToRegExp(pattern).test(stream)),
        `${stream} matches no index pattern`,
      );
    }
    assert.ok(
      !template.index_patterns.some((pattern) => globToRegExp(pattern).test('logs-nginx.access-default')),
      'the template takes over other logs-* data streams',
    );
    assert.deepEqual(template.data_stream, {});
    assert.ok(template.priority > 100, 'the built-in logs template (logs-*-*) has priority 100');
    const typeOf = (field: string) =>
      at(
        template.template.mappings,
        'properties',
        ...field.split('.').flatMap((part, index) => (index === 0 ? [part] : ['properties', part])),
        'type',
      );
    const expected: Record<string, string> = {
      '@timestamp': 'date',
      message: 'text',
      'trace.id': 'keyword',
      'span.id': 'keyword',
      'service.name': 'keyword',
      'log.level': 'keyword',
      'rpc.system': 'keyword',
      'rpc.service': 'keyword',
      'rpc.method': 'keyword',
      'rpc.grpc.status_code': 'keyword',
      'event.duration': 'long',
      'client.address': 'keyword',
    };
    assert.deepEqual(Object.fromEntries(Object.keys(expected).map((field) => [field, typeOf(field)])), expected);
  });

  it('rolls the data streams over at 1 GB or daily and deletes them after 7 days', () => {
    assert.deepEqual(ilm.policy.phases.hot?.actions.rollover, { max_primary_shard_size: '1gb', max_age: '1d' });
    assert.equal(ilm.policy.phases.delete?.min_age, '7d');
    assert.deepEqual(ilm.policy.phases.delete?.actions, { delete: {} });
  });

  it("gives the log writer only create_doc, auto_configure and maintenance on the services' data streams, and Grafana only read access", () => {
    const writer = roles.log_writer!;
    assert.deepEqual(writer.cluster, []);
    // maintenance: pino-elasticsearch refreshes the data stream when the shipper closes (compose/image checks every request the services make).
    assert.deepEqual(
      writer.indices.map(({ privileges }) => [...privileges].sort()),
      [['auto_configure', 'create_doc', 'maintenance']],
    );
    for (const stream of SERVICE_DATA_STREAMS)
      assert.ok(
        writer.indices[0]!.names.some((name) => globToRegExp(name).test(stream)),
        `log_writer cannot write ${stream}`,
      );
    const reader = roles.grafana_reader!;
    assert.deepEqual(reader.cluster, ['monitor']);
    assert.deepEqual(reader.indices, [{ names: ['logs-*'], privileges: ['read', 'view_index_metadata'] }]);
  });

  describe('run against recording Elasticsearch and Kibana APIs', () => {
    const elasticsearch = new RecordingServer((request, previous): CannedResponse | undefined => {
      const headers = { 'x-elastic-product': 'Elasticsearch' };
      if (request.url.startsWith('/_cluster/health')) {
        // Still starting on the first call of each run.
        const earlier = previous.filter((seen) => seen.url.startsWith('/_cluster/health')).length;
        return earlier % 2 === 0 ? { status: 503, headers, body: { error: 'not ready' } } : { headers, body: { status: 'yellow' } };
      }
      if (request.url.startsWith('/_security/user/') && request.method === 'PUT') return { headers, body: { created: true } };
      return { headers, body: { acknowledged: true } };
    });
    const kibana = new RecordingServer((request, previous): CannedResponse | undefined => {
      if (request.url === '/api/status') {
        const earlier = previous.filter((seen) => seen.url === '/api/status').length;
        const level = earlier % 2 === 0 ? 'unavailable' : 'available';
        return { status: level === 'available' ? 200 : 503, body: { status: { overall: { level } } } };
      }
      if (request.url === '/api/data_views/data_view')
        return { body: { data_view: (JSON.parse(request.body) as { data_view: unknown }).data_view } };
      if (request.url.startsWith('/api/saved_objects/_import')) return { body: { success: true, successCount: 1 } };
      return { body: { acknowledged: true } };
    });
    let env: Record<string, string>;
    let first: RunResult;
    let firstElasticsearch: RecordedRequest[];
    let firstKibana: RecordedRequest[];

    before(async () => {
      env = {
        ...PASSWORDS,
        ELASTICSEARCH_URL: await elasticsearch.listen(),
        KIBANA_URL: await kibana.listen(),
        JAEGER_UI_URL,
        SETUP_TIMEOUT_MS: '20000',
        SETUP_RETRY_INTERVAL_MS: '50',
      };
      first = await runSetup(env);
      firstElasticsearch = [...elasticsearch.requests];
      firstKibana = [...kibana.requests];
    });

    after(async () => {
      await elasticsearch.close();
      await kibana.close();
    });

    it('exits 0 after one log line per step', () => {
      assert.equal(first.code, 0, describeRun(first));
      const lines = first.stdout.trim().split('\n');
      assert.ok(
        lines.every((line) => line.startsWith('setup: ')),
        first.stdout,
      );
      assert.equal(lines.at(-1), 'setup: done');
      assert.equal(first.stderr, '');
    });

    it('waits for Elasticsearch and Kibana to be ready before configuring them', () => {
      const health = firstElasticsearch.filter((request) => request.url.startsWith('/_cluster/health'));
      assert.equal(health.length, 2, 'retried once after 503');
      assert.ok(firstElasticsearch.findIndex(isMutation) > firstElasticsearch.indexOf(health[1]!));
      const status = firstKibana.filter((request) => request.url === '/api/status');
      assert.equal(status.length, 2, 'retried once while unavailable');
      assert.ok(firstKibana.findIndex(isMutation) > firstKibana.indexOf(status[1]!));
    });

    it('configures Elasticsearch with upserts, as the elastic user', () => {
      assert.deepEqual(
        firstElasticsearch.filter(isMutation).map((request) => `${request.method} ${request.url}`),
        [
          'POST /_security/user/kibana_system/_password',
          'PUT /_ilm/policy/platform-logs',
          'PUT /_index_template/platform-logs',
          'PUT /_security/role/log_writer',
          'PUT /_security/role/grafana_reader',
          'PUT /_security/user/log_writer',
          'PUT /_security/user/grafana_reader',
        ],
      );
      for (const request of firstElasticsearch)
        assert.equal(request.headers.authorization, basicAuth('elastic', PASSWORDS.ELASTIC_PASSWORD), request.url);
      const body = (url: string) =>
        JSON.parse(firstElasticsearch.find((request) => request.url === url && isMutation(request))!.body) as Record<string, unknown>;
      assert.deepEqual(body('/_security/user/kibana_system/_password'), { password: PASSWORDS.KIBANA_SYSTEM_PASSWORD });
      assert.deepEqual(body('/_ilm/policy/platform-logs'), ilm);
      assert.deepEqual(body('/_index_template/platform-logs'), template);
      assert.equal(template.template.settings['index.lifecycle.name'], 'platform-logs', 'the template uses the policy the script installs');
      assert.deepEqual(body('/_security/role/log_writer'), roles.log_writer);
      assert.deepEqual(body('/_security/role/grafana_reader'), roles.grafana_reader);
      assert.deepEqual(at(body('/_security/user/log_writer'), 'roles'), ['log_writer']);
      assert.equal(at(body('/_security/user/log_writer'), 'password'), PASSWORDS.LOG_WRITER_PASSWORD);
      assert.deepEqual(at(body('/_security/user/grafana_reader'), 'roles'), ['grafana_reader']);
      assert.equal(at(body('/_security/user/grafana_reader'), 'password'), PASSWORDS.GRAFANA_ES_PASSWORD);
    });

    it("creates the user Grafana's Elasticsearch data source logs in with", () => {
      const datasources = (readYaml(GRAFANA_DATASOURCES) as { datasources: ProvisionedDatasource[] }).datasources;
      const user = byUidOf(datasources, DATASOURCES.elasticsearch.uid).basicAuthUser;
      assert.ok(
        firstElasticsearch.some((request) => request.method === 'PUT' && request.url === `/_security/user/${user}`),
        `no PUT /_security/user/${user}`,
      );
    });

    it('creates the logs-* data view with trace.id linking to Jaeger, makes it the default, and imports the "Errors" saved search', () => {
      const mutations = firstKibana.filter(isMutation);
      assert.deepEqual(
        mutations.map((request) => `${request.method} ${request.url}`),
        ['POST /api/data_views/data_view', 'POST /api/data_views/default', 'POST /api/saved_objects/_import?overwrite=true'],
      );
      for (const request of firstKibana)
        assert.equal(request.headers.authorization, basicAuth('elastic', PASSWORDS.ELASTIC_PASSWORD), request.url);
      for (const request of mutations) assert.ok(request.headers['kbn-xsrf'], `${request.url} has no kbn-xsrf header`);

      const dataView = JSON.parse(mutations[0]!.body) as { override?: boolean; data_view: Record<string, unknown> };
      assert.equal(dataView.override, true);
      assert.deepEqual(
        { id: dataView.data_view.id, title: dataView.data_view.title, timeFieldName: dataView.data_view.timeFieldName },
        { id: 'platform-logs', title: 'logs-*', timeFieldName: '@timestamp' },
      );
      assert.deepEqual(at(dataView.data_view, 'fieldFormats', 'trace.id', 'id'), 'url');
      assert.equal(at(dataView.data_view, 'fieldFormats', 'trace.id', 'params', 'urlTemplate'), `${JAEGER_UI_URL}/trace/{{value}}`);

      assert.deepEqual(JSON.parse(mutations[1]!.body), { data_view_id: 'platform-logs', force: true });

      assert.match(String(mutations[2]!.headers['content-type']), /^multipart\/form-data; boundary=/);
      const ndjson = mutations[2]!.body.split('\n').find((line) => line.startsWith('{"type":"search"'));
      assert.ok(ndjson, `no saved search in the import:\n${mutations[2]!.body}`);
      const search = JSON.parse(ndjson) as {
        attributes: { title: string; kibanaSavedObjectMeta: { searchSourceJSON: string } };
        references: { id: string; type: string }[];
      };
      assert.equal(search.attributes.title, 'Errors');
      assert.equal(at(JSON.parse(search.attributes.kibanaSavedObjectMeta.searchSourceJSON), 'query', 'query'), 'log.level: error');
      assert.deepEqual(
        search.references.map(({ id, type }) => ({ id, type })),
        [{ id: 'platform-logs', type: 'index-pattern' }],
      );
    });

    it('issues the same upserts when run again, and exits 0', async () => {
      const second = await runSetup(env);
      assert.equal(second.code, 0, describeRun(second));
      const secondElasticsearch = elasticsearch.requests.slice(firstElasticsearch.length);
      const secondKibana = kibana.requests.slice(firstKibana.length);
      assert.deepEqual(mutationSummary(secondElasticsearch), mutationSummary(firstElasticsearch));
      const withoutBoundary = (requests: RecordedRequest[]) =>
        mutationSummary(requests).map((request) => ({ ...request, body: request.body.replace(/-{2,}[-\w]+/g, '--boundary') }));
      assert.deepEqual(withoutBoundary(secondKibana), withoutBoundary(firstKibana));
      assert.ok(![...elasticsearch.requests, ...kibana.requests].some((request) => request.method === 'DELETE'), 'nothing is deleted');
    });
  });

  it('exits 1 naming Elasticsearch and its URL when it never answers, within the retry budget', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await runSetup({
      ...PASSWORDS,
      ELASTICSEARCH_URL: url,
      KIBANA_URL: url,
      JAEGER_UI_URL,
      SETUP_TIMEOUT_MS: '1500',
      SETUP_RETRY_INTERVAL_MS: '200',
    });
    assert.equal(run.code, 1, describeRun(run));
    assert.match(
      run.stderr,
      new RegExp(
        `^setup: FAILED: Elasticsearch at ${url.replaceAll('.', '\\.')} did not become ready within 1500 ms \\(\\d+ attempts, last: ECONNREFUSED\\)\\n$`,
      ),
    );
    assert.doesNotMatch(run.stdout, /done/);
  });

  it('runs one phase when asked: elasticsearch never contacts Kibana; an unknown phase is refused', async () => {
    const elasticsearch = new RecordingServer((request) =>
      request.url.startsWith('/_cluster/health') ? { body: { status: 'green' } } : { body: { acknowledged: true } },
    );
    const elasticsearchUrl = await elasticsearch.listen();
    try {
      const unreachableKibana = `http://127.0.0.1:${await freePort()}`;
      const run = await runSetup(
        {
          ...PASSWORDS,
          ELASTICSEARCH_URL: elasticsearchUrl,
          KIBANA_URL: unreachableKibana,
          JAEGER_UI_URL,
          SETUP_TIMEOUT_MS: '1500',
          SETUP_RETRY_INTERVAL_MS: '200',
        },
        ['elasticsearch'],
      );
      assert.equal(run.code, 0, describeRun(run));
      assert.match(run.stdout, /done \(elasticsearch\)/);
      const bogus = await runSetup({ ...PASSWORDS, ELASTICSEARCH_URL: elasticsearchUrl }, ['everything']);
      assert.equal(bogus.code, 1, describeRun(bogus));
      assert.match(bogus.stderr, /unknown phase "everything"/);
    } finally {
      await elasticsearch.close();
    }
  });

  it('exits 1 naming the request Elasticsearch refused', async () => {
    const elasticsearch = new RecordingServer((request) => {
      if (request.url.startsWith('/_cluster/health')) return { body: { status: 'green' } };
      if (request.url.startsWith('/_index_template/'))
        return { status: 400, body: { error: { type: 'illegal_argument_exception', reason: 'composable template is invalid' } } };
      return { body: { acknowledged: true } };
    });
    try {
      const url = await elasticsearch.listen();
      const run = await runSetup({ ...PASSWORDS, ELASTICSEARCH_URL: url, KIBANA_URL: url, JAEGER_UI_URL, SETUP_TIMEOUT_MS: '5000' });
      assert.equal(run.code, 1, describeRun(run));
      assert.match(
        run.stderr,
        /^setup: FAILED: PUT http:\/\/127\.0\.0\.1:\d+\/_index_template\/platform-logs answered 400: .*composable template is invalid/,
      );
      assert.ok(!elasticsearch.requests.some((request) => request.url.startsWith('/_security/role/')), 'stopped at the failed step');
    } finally {
      await elasticsearch.close();
    }
  });

  it('exits 1 listing the missing environment variables', async () => {
    const run = await runSetup({ ELASTIC_PASSWORD: PASSWORDS.ELASTIC_PASSWORD });
    assert.equal(run.code, 1, describeRun(run));
    assert.equal(
      run.stderr,
      'setup: FAILED: missing environment variables: KIBANA_SYSTEM_PASSWORD, LOG_WRITER_PASSWORD, GRAFANA_ES_PASSWORD\n',
    );
  });
});

function byUidOf(datasources: ProvisionedDatasource[], uid: string): ProvisionedDatasource {
  const datasource = datasources.find((candidate) => candidate.uid === uid);
  assert.ok(datasource, `data source ${uid} is not provisioned`);
  return datasource;
}

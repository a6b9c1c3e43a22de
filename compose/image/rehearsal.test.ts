/**
 * Every platform container of the Compose file, started from the built image
 * as Compose would start it, here, without a Docker engine (npm run
 * test:image; .ci/run runs it). See support/rehearsal.ts for what stands in
 * for the runtime, and the table printed at the end for what ran.
 *
 * The other containers are real local parts or stand-ins:
 * - postgres: the machine's PostgreSQL, with databases of this run;
 * - jaeger: an OTLP/gRPC receiver on jaeger:4317;
 * - elasticsearch: a bulk-API receiver on elasticsearch:9200;
 * - prometheus: Debian's Prometheus with the project's prometheus.yml, its
 *   DNS discovery replaced by the rehearsed addresses;
 * - kibana, grafana: not run (nothing answers at their names).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeElasticsearch, localPrometheusConfig, OtlpTraceReceiver } from '@platform/observability';
import { dropDatabase } from '@platform/service-kit';
import { eventually, postgresServer, startPrometheus, withDatabase } from '@platform/testing';
import { Client } from 'pg';
import { COMPOSE_DIR, loadCompose, mebibytes, readEnvFile, type ComposeService } from '../support/compose-file';
import {
  baseImages,
  buildImage,
  DOCKERFILE,
  ensureStandinBase,
  imageToolsMissing,
  inspectImage,
  REPO,
  type ImageConfig,
} from '../support/image';
import { durationMs, RehearsedContainer, removeLeftovers, Teardown, type ContainerSpec } from '../support/rehearsal';

const env = readEnvFile();
const { model } = loadCompose(env);
const TAG = env.PLATFORM_IMAGE!;
/** The containers Compose runs from the platform image (profiles aside: mtls has its own check). */
const platformServices = Object.entries(model.services).filter(([, service]) => service.image === TAG && service.profiles === undefined);
const isJob = (service: ComposeService) => service.restart === 'no';
const LOG_WRITER = `Basic ${Buffer.from(`log_writer:${env.LOG_WRITER_PASSWORD}`).toString('base64')}`;

/** Addresses that stand in for the containers' own network namespaces. */
const STANDINS = { postgres: '127.0.0.1', jaeger: '127.0.0.20', elasticsearch: '127.0.0.21' } as const;
/** Backends nothing stands in for: nothing answers at their names. */
const NOT_RUN = ['kibana', 'grafana'];
/** What the setup jobs wait for and cannot get here: the bulk receiver at elasticsearch answers no cluster health. */
const NOT_READY_FOR_JOBS = [...NOT_RUN, 'elasticsearch'];

interface Row {
  container: string;
  ran: string;
  result: string;
}

describe('the Compose stack rehearsed from the built image', { concurrency: false }, () => {
  const missing = imageToolsMissing();
  if (missing) {
    process.stderr.write(`\n*** SKIPPED: the image rehearsal did NOT run: ${missing} ***\n\n`);
    it('needs podman, debootstrap and root', { skip: missing }, () => undefined);
    return;
  }

  const teardown = new Teardown();
  const report: Row[] = [];
  const containers = new Map<string, RehearsedContainer[]>();
  const receiver = new OtlpTraceReceiver();
  const elasticsearch = new FakeElasticsearch();
  let image: ImageConfig;
  const hosts: Record<string, string[]> = {};
  const overridesFor = new Map<string, Record<string, string>>();

  before(async () => {
    removeLeftovers();
    for (const base of baseImages(DOCKERFILE)) await ensureStandinBase(base);
    const build = await buildImage(DOCKERFILE, TAG);
    assert.equal(build.code, 0, `the image does not build:\n${build.output.slice(-6000)}`);
    image = inspectImage(TAG);

    let next = 11;
    for (const [name, service] of platformServices)
      hosts[name] = Array.from({ length: service.deploy?.replicas ?? 1 }, () => `127.0.0.${next++}`);
    for (const [name, address] of Object.entries(STANDINS)) hosts[name] = [address];

    await receiver.listen(4317, STANDINS.jaeger);
    teardown.add('OTLP receiver', () => receiver.close());
    await elasticsearch.listen(9200, STANDINS.elasticsearch);
    teardown.add('Elasticsearch receiver', () => elasticsearch.close());

    // Each service's own database on the machine's server, named for this run; a killed run's are dropped first.
    const server = await postgresServer();
    const admin = new Client({ connectionString: server.url });
    await admin.connect();
    const { rows } = await admin
      .query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'rehearsal\\_%'`)
      .finally(() => admin.end());
    for (const { datname } of rows) await dropDatabase(withDatabase(server.url, datname));
    const run = randomBytes(4).toString('hex');
    for (const [name, service] of platformServices) {
      const overrides: Record<string, string> = {};
      const databaseUrl = service.environment?.DATABASE_URL;
      if (databaseUrl) {
        const database = `rehearsal_${run}_${new URL(databaseUrl).pathname.slice(1)}`;
        overrides.DATABASE_URL = withDatabase(databaseUrl, database);
        // Through the machine's server: the override names the host as the containers resolve it.
        teardown.add(`drop ${database}`, () => dropDatabase(withDatabase(server.url, database)));
      }
      // Jobs wait for backends that do not run here: a short wait shows how they fail.
      if (isJob(service)) Object.assign(overrides, { SETUP_TIMEOUT_MS: '4000', SETUP_RETRY_INTERVAL_MS: '1000' });
      overridesFor.set(name, overrides);
    }
  });

  after(async () => {
    const problems = await teardown.close();
    const width = Math.max(...report.map((row) => row.container.length), 9);
    const lines = report.map((row) => `  ${row.container.padEnd(width)}  ${row.ran}\n  ${' '.repeat(width)}  -> ${row.result}`);
    process.stdout.write(`\nRehearsal of the Compose stack from ${TAG}:\n${lines.join('\n')}\n`);
    process.stdout.write(
      `  Not run here: ${NOT_RUN.join(', ')} (their images cannot be pulled). postgres is the machine's server, jaeger and elasticsearch are receivers, prometheus is Debian's.\n\n`,
    );
    assert.deepEqual(problems, [], 'teardown');
  });

  /** A server's listeners on the container's own address: every 0.0.0.0 here would be the machine's, shared by all containers. */
  function listenersOn(service: ComposeService, address: string): Record<string, string> {
    const environment = service.environment ?? {};
    return {
      ...(environment.GRPC_PORT ? { GRPC_HOST: address } : {}),
      ...(environment.STOREFRONT_PORT ? { STOREFRONT_HOST: address } : {}),
      ...(environment.FAULT_ADMIN_HOST === '0.0.0.0' ? { FAULT_ADMIN_HOST: address } : {}),
    };
  }

  function start(name: string, service: ComposeService): RehearsedContainer[] {
    const limit = limitMiB(service);
    const started = hosts[name]!.map((address, index) => {
      const spec: ContainerSpec = {
        service: name,
        name: `${name}-${index + 1}`,
        address,
        definition: service,
        hosts,
        overrides: { ...overridesFor.get(name), ...listenersOn(service, address) },
        binds: (service.volumes ?? [])
          .filter((volume) => volume.startsWith('.'))
          .map((volume) => {
            const [source, target, mode] = volume.split(':');
            return { source: path.resolve(COMPOSE_DIR, source!), target: target!, readOnly: mode === 'ro' };
          }),
        memoryLimitBytes: limit === undefined ? undefined : limit * 1024 * 1024,
      };
      return RehearsedContainer.start(TAG, image, spec, teardown);
    });
    containers.set(name, started);
    return started;
  }

  /** What a container ran, for the report: its command and the environment it was given beyond Compose's. */
  const ran = (container: RehearsedContainer) =>
    `${(container.spec.definition.command ?? image.cmd).join(' ')} (env overrides: ${Object.keys(container.spec.overrides).join(', ') || 'none'})`;

  // Compose's order: a service starts once those it depends on are healthy.
  const longRunning = platformServices.filter(([, service]) => !isJob(service));
  const ordered = [...longRunning].sort(([a], [b]) => dependencyDepth(a) - dependencyDepth(b));

  for (const [name, service] of ordered) {
    it(`${name}: ${service.deploy?.replicas ?? 1} container(s) start from the image and pass the service's own healthcheck`, async () => {
      const started = start(name, service);
      const results = await Promise.all(started.map((container) => container.healthcheck()));
      results.forEach((result, index) => {
        const container = started[index]!;
        report.push({
          container: container.spec.name,
          ran: ran(container),
          result: result.healthy
            ? `healthy after ${result.attempts} check(s), ${result.seconds.toFixed(1)} s`
            : `NOT healthy after ${result.attempts} checks`,
        });
        assert.ok(
          result.healthy,
          `${container.spec.name} failed its healthcheck ${result.attempts} times:\n${result.lastOutput}\n--- its output ---\n${container.output.slice(-6000)}`,
        );
      });
    });
  }

  it("traffic's scenarios reach the OTLP receiver as traces through order, user and PostgreSQL", async () => {
    const trace = await eventually(
      () => {
        const services = new Map<string, Set<string>>();
        for (const span of receiver.spans) {
          const set = services.get(span.traceId) ?? new Set<string>();
          set.add(String(span.resource['service.name']));
          if (span.attributes['db.system'] === 'postgresql' || span.attributes['db.system.name'] === 'postgresql') set.add('postgresql');
          services.set(span.traceId, set);
        }
        return [...services.entries()].find(([, set]) =>
          ['traffic-generator', 'order-service', 'user-service', 'postgresql'].every((part) => set.has(part)),
        );
      },
      {
        timeoutMs: 60_000,
        intervalMs: 1000,
        failure: () => `no trace through traffic, order, user and PostgreSQL among ${receiver.spans.length} spans`,
      },
    );
    const traces = new Set(receiver.spans.map((span) => span.traceId)).size;
    report.push({
      container: 'jaeger',
      ran: `OTLP/gRPC receiver at jaeger:4317 (${STANDINS.jaeger})`,
      result:
        `${receiver.spans.length} spans in ${traces} traces, ${(receiver.receivedBytes / receiver.spans.length).toFixed(0)} bytes of OTLP per span; ` +
        `trace ${trace[0]} spans ${[...trace[1]].join(', ')}`,
    });
  });

  it('user and order ship their log lines to elasticsearch:9200 as log_writer', async () => {
    const serviceNames = ['user-service', 'order-service'];
    await eventually(
      () =>
        serviceNames.every((name) => elasticsearch.documents.some((document) => document.source['service.name'] === name))
          ? true
          : undefined,
      {
        timeoutMs: 30_000,
        intervalMs: 500,
        failure: () =>
          `documents shipped: ${elasticsearch.documents.length}, from ${[...new Set(elasticsearch.documents.map((document) => document.source['service.name']))].join(', ')}`,
      },
    );
    assert.ok(
      elasticsearch.headers.every((headers) => headers.authorization === LOG_WRITER),
      'every request authenticates as log_writer',
    );
    report.push({
      container: 'elasticsearch',
      ran: `bulk-API receiver at elasticsearch:9200 (${STANDINS.elasticsearch})`,
      result: `${elasticsearch.documents.length} log documents, all as log_writer`,
    });
  });

  it("Prometheus scrapes every replica with the project's configuration", async () => {
    const targets: Record<string, string[]> = {};
    for (const [name, service] of longRunning) {
      const port = service.environment?.METRICS_PORT;
      if (port) targets[`${name}-service`] = hosts[name]!.map((address) => `${address}:${port}`);
    }
    const prometheus = await startPrometheus(localPrometheusConfig(targets));
    teardown.add('prometheus', () => prometheus.stop());
    const expected = Object.values(targets).flat().length;
    const up = await prometheus.waitFor('up == 1', (samples) => samples.length === expected, 60_000);
    const handled = await prometheus.waitFor(
      'sum by (job) (grpc_server_handled_total)',
      (samples) => samples.length === Object.keys(targets).length,
      60_000,
    );
    report.push({
      container: 'prometheus',
      ran: 'Debian Prometheus, observability/prometheus/prometheus.yml with static targets for DNS discovery',
      result: `${up.length} of ${expected} targets up; ${handled.map((sample) => `${sample.metric.job} ${sample.value} calls`).join(', ')}`,
    });
  });

  for (const [name, service] of platformServices.filter(([, definition]) => isJob(definition))) {
    const waitsFor = Object.keys(service.depends_on ?? {}).filter((dependency) => NOT_READY_FOR_JOBS.includes(dependency));
    it(`${name}: the job starts, reads its configuration and fails naming what it waits for (${waitsFor.join(', ')})`, async () => {
      const [container] = start(name, service);
      const [code] = await container!.exited;
      report.push({
        container: container!.spec.name,
        ran: ran(container!),
        result: `exit ${code}: ${container!.output.trim().split('\n').pop()}`,
      });
      assert.equal(code, 1, container!.output);
      for (const dependency of waitsFor)
        assert.match(container!.output, new RegExp(`${dependency}.*did not become ready`, 'i'), container!.output);
    });
  }

  it('every long-running container runs within its Compose memory limit, enforced by a memory cgroup', () => {
    for (const [name, service] of longRunning) {
      for (const container of containers.get(name) ?? []) {
        const memory = container.memory();
        assert.ok(memory, `${container.spec.name} has no memory cgroup`);
        report.push({
          container: container.spec.name,
          ran: 'memory cgroup (memory.limit_in_bytes = the Compose limit)',
          result: `peak ${memory.peakMiB.toFixed(0)} MiB of ${limitMiB(service)} MiB, ${memory.oomKills} out-of-memory kills`,
        });
        assert.equal(memory.oomKills, 0, `${container.spec.name} was killed for memory:\n${container.output.slice(-4000)}`);
        assert.ok(container.running, `${container.spec.name} is no longer running:\n${container.output.slice(-4000)}`);
      }
    }
  });

  it('every long-running container stops on SIGTERM with exit 0 within its stop_grace_period, dependants first', async () => {
    for (const [name, service] of [...ordered].reverse()) {
      const grace = durationMs(service.stop_grace_period, 10_000);
      const stopped = await Promise.all(
        (containers.get(name) ?? []).map((container) => container.stop(grace).then((result) => ({ container, ...result }))),
      );
      for (const { container, code, signal, seconds } of stopped) {
        report.push({
          container: container.spec.name,
          ran: `SIGTERM (stop_grace_period ${grace / 1000} s)`,
          result: `exit ${code ?? signal} after ${seconds.toFixed(1)} s`,
        });
        assert.equal(code, 0, `${container.spec.name} exited ${code ?? signal}:\n${container.output.slice(-4000)}`);
        assert.ok(seconds * 1000 < grace, `${container.spec.name} took ${seconds.toFixed(1)} s`);
      }
    }
  });

  it('log_writer holds every privilege the services used in Elasticsearch, closing included', () => {
    // What each request the shipper makes needs, in Elasticsearch's security privileges.
    const needs: [RegExp, string][] = [
      [/^POST \/_bulk/, 'create_doc'],
      // pino-elasticsearch refreshes the data stream when it closes (refreshOnCompletion).
      [/^(GET|POST) \/[^_/][^/]*\/_refresh/, 'maintenance'],
    ];
    const roles = JSON.parse(readFileSync(path.join(REPO, 'observability/elasticsearch/roles.json'), 'utf8')) as Record<
      string,
      { indices: { names: string[]; privileges: string[] }[] }
    >;
    const granted = new Set(roles.log_writer!.indices.flatMap((entry) => entry.privileges));
    const requests = [
      ...new Set(
        elasticsearch.requests
          .filter((request) => request.headers.authorization === LOG_WRITER)
          .map((request) => `${request.method} ${request.url.split('?')[0]}`),
      ),
    ];
    assert.ok(
      requests.some((request) => request.endsWith('/_refresh')),
      `the services closed their shippers: ${requests.join(', ')}`,
    );
    for (const request of requests) {
      const privilege = needs.find(([pattern]) => pattern.test(request))?.[1];
      assert.ok(privilege, `${request}: which privilege does it need? Add it to this table`);
      assert.ok(granted.has(privilege), `${request} needs ${privilege}, which log_writer lacks (observability/elasticsearch/roles.json)`);
    }
    report.push({ container: 'elasticsearch', ran: 'requests against the log_writer role', result: `${requests.join(', ')}: all granted` });
  });
});

function limitMiB(service: ComposeService): number | undefined {
  const limit = service.deploy?.resources?.limits?.memory;
  return limit === undefined ? undefined : mebibytes(limit);
}

/** How many service_healthy dependencies deep a platform service is. */
function dependencyDepth(name: string): number {
  const service = model.services[name];
  const healthy = Object.entries(service?.depends_on ?? {}).filter(
    ([dependency, { condition }]) => condition === 'service_healthy' && model.services[dependency]?.image === TAG,
  );
  return healthy.length === 0 ? 0 : 1 + Math.max(...healthy.map(([dependency]) => dependencyDepth(dependency)));
}

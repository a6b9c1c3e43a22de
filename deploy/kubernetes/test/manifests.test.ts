import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { OrderServiceClient } from '@platform/contracts/order/v1/order';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import { loadConfig as loadOrderConfig } from '@platform/order-service';
import { serviceEnvShape, tlsEnvShape } from '@platform/service-kit';
import { loadConfig as loadUserConfig } from '@platform/user-service';
import {
  availabilityViolations,
  containerEnv,
  envReferences,
  gracePeriodViolations,
  healthCheckOf,
  podEnvironment,
  probeViolations,
  referenceViolations,
  securityViolations,
  type ServiceWorkload,
  type Workload,
} from '../support/policy';
import { PROMETHEUS_RULE_FILE, prometheusRuleYaml, ruleGroups } from '../support/prometheus-rule';
import { KUBERNETES_DIR, render, type K8sObject } from '../support/render';

/** What users apply: the base, each overlay, and the demo with each optional component. */
const RENDERINGS: { kustomization: string; components?: string[] }[] = [
  { kustomization: 'base' },
  { kustomization: 'overlays/demo' },
  { kustomization: 'overlays/observability' },
  { kustomization: 'overlays/demo', components: ['components/keda'] },
  { kustomization: 'overlays/demo', components: ['components/mtls'] },
];
const PLATFORM_IMAGE = /^PLATFORM_IMAGE=(.+)$/m.exec(readFileSync(path.join(KUBERNETES_DIR, '../../compose/.env'), 'utf8'))![1]!;

const SERVICES = [
  { name: 'user', grpcService: UserServiceClient.serviceName, loadConfig: loadUserConfig, ownVariables: [] as string[] },
  { name: 'order', grpcService: OrderServiceClient.serviceName, loadConfig: loadOrderConfig, ownVariables: ['USER_SERVICE_'] },
];

const clone = <T>(value: T): T => structuredClone(value);
const deployment = (objects: K8sObject[], name: string) =>
  objects.find((object) => object.kind === 'Deployment' && object.metadata.name === name) as Workload | undefined;

function workloads(objects: K8sObject[]): ServiceWorkload[] {
  return SERVICES.map(({ name, grpcService }) => {
    const found = deployment(objects, name);
    assert.ok(found, `no Deployment ${name}`);
    return { deployment: found, grpcService };
  });
}

/** Where the schemas of the custom resources are: each operator's own kubernetes-models package. */
const CUSTOM_RESOURCE_MODELS: Record<string, string> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'keda.sh': '@kubernetes-models/keda',
  'cert-manager.io': '@kubernetes-models/cert-manager',
};

/**
 * The kubernetes-models class of an object's apiVersion and kind, which
 * validates it against the Kubernetes OpenAPI schema (or the operator's CRD
 * schema). An unknown group fails: nothing is let through unvalidated.
 */
async function modelOf(object: K8sObject): Promise<new (data: unknown) => { validate(): void }> {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : [undefined, object.apiVersion];
  const models = group && group.includes('.') && !group.endsWith('.k8s.io') ? CUSTOM_RESOURCE_MODELS[group] : 'kubernetes-models';
  assert.ok(models, `no schema for ${object.apiVersion} ${object.kind}`);
  const module = (await import(`${models}/${group ? `${group}/` : ''}${version}/${object.kind}`)) as Record<
    string,
    new (data: unknown) => { validate(): void }
  >;
  return module[object.kind]!;
}

for (const { kustomization, components = [] } of RENDERINGS) {
  describe(['deploy/kubernetes/' + kustomization, ...components].join(' + '), () => {
    const objects = render(kustomization, components);
    const services = workloads(objects);

    it('renders, and every object is valid by the Kubernetes OpenAPI schema', async () => {
      assert.ok(objects.length > 0);
      for (const object of objects) {
        const Model = await modelOf(object);
        assert.doesNotThrow(() => new Model(object).validate(), `${object.kind} ${object.metadata.name}`);
      }
    });

    it('gives each service gRPC health probes on the port it listens on, for the service it serves', () => {
      assert.deepEqual(
        services.flatMap((service) => probeViolations(service, objects)),
        [],
      );
    });

    it('runs each service non-root, read-only, without privileges, with requests and a memory limit', () => {
      assert.deepEqual(
        services.flatMap(({ deployment }) => securityViolations(deployment)),
        [],
      );
    });

    it('gives each service a PDB, an HPA on CPU and memory, a surge-only rollout and spread across nodes', () => {
      assert.deepEqual(
        services.flatMap(({ deployment }) => availabilityViolations(deployment, objects)),
        [],
      );
    });

    it('lets the shutdown (drain, grace, telemetry flush) finish before the kubelet kills', () => {
      assert.deepEqual(
        services.flatMap(({ deployment }) => gracePeriodViolations(deployment, objects)),
        [],
      );
    });

    it('puts User and Order behind headless Services, so round_robin and Prometheus see every pod', () => {
      for (const name of ['user', 'order']) {
        const service = objects.find((object) => object.kind === 'Service' && object.metadata.name === name);
        assert.equal((service?.spec as { clusterIP?: string } | undefined)?.clusterIP, 'None', name);
      }
    });

    it("runs the Compose stack's image", () => {
      for (const object of objects.filter((object) => object.kind === 'Deployment')) {
        for (const container of (object as Workload).spec.template.spec.containers.filter((c) => c.image.startsWith('grpc-platform/'))) {
          assert.equal(container.image, PLATFORM_IMAGE, `${object.metadata.name}/${container.name}`);
        }
      }
    });

    it('sets only variables the services read, with values their configuration accepts', () => {
      const shared = Object.keys({ ...serviceEnvShape({ grpcPort: 1, metricsPort: 1, maxReceiveMessageBytes: 1 }), ...tlsEnvShape });
      for (const { name, loadConfig, ownVariables } of SERVICES) {
        const container = deployment(objects, name)!.spec.template.spec.containers[0]!;
        // Secrets' values are not in the manifests: a stand-in of the length a key needs.
        const env = podEnvironment(container, objects, () => 'x'.repeat(48));
        const referenced = new Set([...containerEnv(container, objects).values()].flatMap(envReferences));
        const unread = Object.keys(env).filter(
          (variable) =>
            !shared.includes(variable) &&
            !variable.startsWith('OTEL_') &&
            !referenced.has(variable) &&
            !ownVariables.some((prefix) => variable.startsWith(prefix)),
        );
        assert.deepEqual(unread, [], `${name} sets variables it never reads`);
        assert.doesNotThrow(() => loadConfig(env), `${name}'s configuration refuses its pod's environment`);
      }
    });

    if (kustomization === 'overlays/demo') {
      it('has every ConfigMap and Secret the pods read', () => {
        const deployments = objects.filter((object) => object.kind === 'Deployment') as Workload[];
        assert.deepEqual(
          deployments.flatMap((deployment) => referenceViolations(deployment, objects)),
          [],
        );
      });
    }
  });
}

describe('deploy/kubernetes/overlays/observability, for the Prometheus Operator and Grafana', () => {
  const objects = render('overlays/observability');

  it('carries the rules of observability/prometheus/rules, regenerated (npm run k8s:generate)', () => {
    assert.equal(readFileSync(PROMETHEUS_RULE_FILE, 'utf8'), prometheusRuleYaml(), 'prometheus-rule.yaml is stale: npm run k8s:generate');
    const rules = objects.filter((object) => object.kind === 'PrometheusRule');
    assert.equal(rules.length, 1);
    assert.deepEqual((rules[0]!.spec as { groups: unknown[] }).groups, ruleGroups());
  });

  it('scrapes both services under the job names the rules and dashboards select on', () => {
    const jobs = objects
      .filter((object) => object.kind === 'ServiceMonitor')
      .map((monitor) => {
        const spec = monitor.spec as {
          selector: { matchLabels: Record<string, string> };
          endpoints: { port: string; relabelings?: { targetLabel: string; replacement: string }[] }[];
        };
        const service = objects.find(
          (object) =>
            object.kind === 'Service' &&
            object.metadata.labels?.['app.kubernetes.io/name'] === spec.selector.matchLabels['app.kubernetes.io/name'],
        );
        const ports = ((service?.spec as { ports?: { name: string }[] } | undefined)?.ports ?? []).map((port) => port.name);
        assert.ok(ports.includes(spec.endpoints[0]!.port), `${monitor.metadata.name}: the Service has no port ${spec.endpoints[0]!.port}`);
        return spec.endpoints[0]!.relabelings?.find((relabel) => relabel.targetLabel === 'job')?.replacement;
      });
    assert.deepEqual(jobs.sort(), ['order-service', 'user-service']);
  });

  it("gives Grafana's sidecar every generated dashboard", () => {
    const dashboards = objects.filter((object) => object.kind === 'ConfigMap' && object.metadata.labels?.grafana_dashboard === '1');
    const files = dashboards.flatMap((configMap) => Object.keys((configMap.data as Record<string, string>) ?? {})).sort();
    const generated = readdirSync(path.join(KUBERNETES_DIR, '../../dashboards/generated')).filter((file) => file.endsWith('.json'));
    assert.deepEqual(files, generated.sort());
  });
});

describe('deploy/kubernetes/components/keda', () => {
  it("replaces each service's HPA by a ScaledObject on request rate, CPU and memory", () => {
    const objects = render('overlays/demo', ['components/keda']);
    assert.deepEqual(
      objects.filter((object) => object.kind === 'HorizontalPodAutoscaler'),
      [],
    );
    const scaled = objects.filter((object) => object.kind === 'ScaledObject');
    assert.deepEqual(scaled.map((object) => object.metadata.name).sort(), ['order', 'user']);
    for (const object of scaled) {
      const triggers = (object.spec as { triggers: { type: string }[] }).triggers.map((trigger) => trigger.type);
      assert.deepEqual(triggers, ['prometheus', 'cpu', 'memory'], object.metadata.name);
    }
  });
});

describe('deploy/kubernetes/components/mtls', () => {
  const objects = render('overlays/demo', ['components/mtls']);
  const certificates = new Map(
    objects
      .filter((object) => object.kind === 'Certificate')
      .map((certificate) => [
        (certificate.spec as { secretName: string }).secretName,
        certificate.spec as { dnsNames?: string[]; issuerRef: { name: string } },
      ]),
  );

  it('gives every gRPC process the TLS_* files of a certificate signed by the platform CA, named as it is dialled', () => {
    for (const name of ['user', 'order', 'traffic']) {
      const container = deployment(objects, name)!.spec.template.spec.containers[0]!;
      const env = containerEnv(container, objects);
      assert.deepEqual(
        ['TLS_CA_FILE', 'TLS_CERT_FILE', 'TLS_KEY_FILE'].map((variable) => env.get(variable)),
        ['/etc/platform/tls/ca.crt', '/etc/platform/tls/tls.crt', '/etc/platform/tls/tls.key'],
        name,
      );
      const volume = deployment(objects, name)!.spec.template.spec.volumes!.find((candidate) => candidate.name === 'tls');
      const certificate = certificates.get(volume!.secret!.secretName);
      assert.equal(certificate?.issuerRef.name, 'platform-ca', `${name}'s certificate is not signed by the platform CA`);
      if (name !== 'traffic') assert.ok(certificate.dnsNames?.includes(name) && certificate.dnsNames.includes('localhost'), name);
    }
  });

  it("probes through the health-probe CLI, which presents the pod's certificate (the kubelet's gRPC probe is plaintext)", () => {
    for (const name of ['user', 'order']) {
      const container = deployment(objects, name)!.spec.template.spec.containers[0]!;
      for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
        assert.equal(probe?.grpc, undefined, name);
        assert.ok(healthCheckOf(probe), `${name}: not a health-probe exec`);
      }
    }
  });
});

describe('the policy checks', () => {
  const objects = render('overlays/demo');
  const [user] = workloads(objects);

  it('include the schema: an object Kubernetes would refuse fails it', async () => {
    const broken = clone(user!.deployment);
    (broken.spec as { replicas: unknown }).replicas = 'two';
    const Model = await modelOf(broken);
    assert.throws(() => new Model(broken).validate(), /replicas/);
  });

  it('fail a service without a readiness probe, or one that asks about another service', () => {
    const broken = clone(user!);
    delete broken.deployment.spec.template.spec.containers[0]!.readinessProbe;
    assert.deepEqual(probeViolations(broken, objects), ['user/user: no gRPC readinessProbe']);
    const elsewhere = clone(user!);
    elsewhere.deployment.spec.template.spec.containers[0]!.livenessProbe!.grpc!.port = 9464;
    assert.equal(probeViolations(elsewhere, objects).length, 1);
  });

  it("fail a health-probe exec that asks another port, or isn't the health-probe CLI", () => {
    const broken = clone(user!);
    const container = broken.deployment.spec.template.spec.containers[0]!;
    container.readinessProbe = {
      exec: { command: ['node', 'packages/service-kit/dist/src/cli/health-probe.js', 'localhost:9464', 'user.v1.UserService'] },
    };
    container.livenessProbe = { exec: { command: ['true'] } };
    assert.deepEqual(probeViolations(broken, objects), [
      'user/user: readinessProbe port 9464 is not GRPC_PORT (50051), where the server listens',
      'user/user: no gRPC livenessProbe',
    ]);
  });

  it('fail a service without its PDB or HPA', () => {
    const others = objects.filter((object) => !['PodDisruptionBudget', 'HorizontalPodAutoscaler'].includes(object.kind));
    assert.deepEqual(availabilityViolations(user!.deployment, others), [
      'user: no PodDisruptionBudget selects its pods',
      'user: no HorizontalPodAutoscaler scales it',
    ]);
  });

  it('fail a container that may escalate privileges or write its root filesystem', () => {
    const broken = clone(user!.deployment);
    const container = broken.spec.template.spec.containers[0]!;
    container.securityContext = { ...container.securityContext, allowPrivilegeEscalation: true, readOnlyRootFilesystem: false };
    assert.deepEqual(securityViolations(broken), ['user/user: allows privilege escalation', 'user/user: root filesystem is writable']);
  });

  it('fail a grace period shorter than the shutdown', () => {
    const broken = clone(user!.deployment);
    broken.spec.template.spec.terminationGracePeriodSeconds = 10;
    assert.deepEqual(gracePeriodViolations(broken, objects), ['user: terminationGracePeriodSeconds 10 < drain + grace + flush = 17 s']);
  });

  it('fail a pod that reads a ConfigMap nobody made', () => {
    const broken = clone(user!.deployment);
    broken.spec.template.spec.volumes = [{ name: 'extra', configMap: { name: 'missing' } }];
    assert.deepEqual(referenceViolations(broken, objects), ['user: volume extra reads ConfigMap missing, which is not there']);
  });
});

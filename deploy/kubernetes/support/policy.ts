/**
 * What every workload of the platform must have, as checks over rendered
 * objects: each returns the violations it finds, so a test can show both
 * that the manifests pass and that a broken manifest does not.
 */
import type { K8sObject } from './render';

export interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    capabilities?: { drop?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface Probe {
  grpc?: { port: number; service?: string };
  exec?: { command: string[] };
}

/** The image's health-probe CLI, which the mtls component runs instead of the kubelet's plaintext gRPC probe. */
const HEALTH_PROBE_CLI = 'packages/service-kit/dist/src/cli/health-probe.js';

/**
 * The port and gRPC service a probe asks grpc.health.v1 about: a native gRPC
 * probe, or an exec of the health-probe CLI (`node <cli> localhost:<port> [service]`).
 */
export function healthCheckOf(probe: Probe | undefined): { port: number; service: string } | undefined {
  if (probe?.grpc) return { port: probe.grpc.port, service: probe.grpc.service ?? '' };
  const [node, cli, address, service = ''] = probe?.exec?.command ?? [];
  const port = /^localhost:(\d+)$/.exec(address ?? '')?.[1];
  if (node === 'node' && cli === HEALTH_PROBE_CLI && port) return { port: Number(port), service };
  return undefined;
}

export interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string }; emptyDir?: object }[];
  topologySpreadConstraints?: { topologyKey: string; labelSelector?: { matchLabels?: Record<string, string> } }[];
}

export interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    strategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string } };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

/** A platform service's Deployment, and what it serves. */
export interface ServiceWorkload {
  deployment: Workload;
  /** The gRPC service its readiness probe must ask about: `user.v1.UserService`. */
  grpcService: string;
}

const byKind = (objects: K8sObject[], kind: string) => objects.filter((object) => object.kind === kind);
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);

/** The environment a container sees from its own env and its ConfigMaps (literal values only). */
export function containerEnv(container: Container, objects: K8sObject[]): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  for (const source of container.envFrom ?? []) {
    const configMap =
      source.configMapRef && byKind(objects, 'ConfigMap').find((object) => object.metadata.name === source.configMapRef!.name);
    for (const [name, value] of Object.entries((configMap?.data as Record<string, string> | undefined) ?? {})) env.set(name, value);
  }
  for (const variable of container.env ?? []) env.set(variable.name, variable.value);
  return env;
}

/** `$(NAME)` in an env value: the kubelet puts in the value of NAME, when NAME is defined before it. */
const ENV_REFERENCE = /\$\(([A-Z_]+)\)/g;

/** The variables an env value refers to with `$(NAME)`. */
export function envReferences(value: string | undefined): string[] {
  return [...(value ?? '').matchAll(ENV_REFERENCE)].map((match) => match[1]!);
}

/**
 * The container's environment as the kubelet makes it: ConfigMaps, literals,
 * then each Secret's value from `secretValue` (the Secret object's data, or
 * a stand-in where an overlay leaves the Secrets to the cluster), `$(NAME)`
 * expanded from what is defined before it and left as it is otherwise.
 */
export function podEnvironment(
  container: Container,
  objects: K8sObject[],
  secretValue: (ref: { name: string; key: string; optional?: boolean }, variable: string) => string | undefined,
): Record<string, string> {
  const values = containerEnv(container, objects);
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) values.set(variable.name, secretValue(ref, variable.name));
  }
  const env: Record<string, string> = {};
  for (const [name, value] of values) {
    if (value !== undefined) env[name] = value.replace(ENV_REFERENCE, (reference, ref: string) => env[ref] ?? reference);
  }
  return env;
}

export function probeViolations({ deployment, grpcService }: ServiceWorkload, objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const container of deployment.spec.template.spec.containers) {
    const where = `${deployment.metadata.name}/${container.name}`;
    const declared = new Set((container.ports ?? []).map((port) => port.containerPort));
    const grpcPort = Number(containerEnv(container, objects).get('GRPC_PORT'));
    const expected: [keyof Container, string | undefined][] = [
      ['readinessProbe', grpcService],
      ['livenessProbe', ''],
      ['startupProbe', ''],
    ];
    for (const [kind, service] of expected) {
      const probe = healthCheckOf(container[kind] as Probe | undefined);
      if (!probe) {
        problems.push(`${where}: no gRPC ${kind}`);
        continue;
      }
      if (!declared.has(probe.port)) problems.push(`${where}: ${kind} port ${probe.port} is not a declared container port`);
      if (probe.port !== grpcPort)
        problems.push(`${where}: ${kind} port ${probe.port} is not GRPC_PORT (${grpcPort}), where the server listens`);
      if (probe.service !== service) problems.push(`${where}: ${kind} asks about "${probe.service}", not "${service}"`);
    }
  }
  return problems;
}

export function securityViolations(deployment: Workload): string[] {
  const problems: string[] = [];
  const pod = deployment.spec.template.spec;
  for (const container of pod.containers) {
    const where = `${deployment.metadata.name}/${container.name}`;
    const security = container.securityContext ?? {};
    if (!(security.runAsNonRoot ?? pod.securityContext?.runAsNonRoot)) problems.push(`${where}: may run as root`);
    if (security.allowPrivilegeEscalation !== false) problems.push(`${where}: allows privilege escalation`);
    if (security.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem is writable`);
    if (!security.capabilities?.drop?.includes('ALL')) problems.push(`${where}: keeps capabilities`);
    if ((security.seccompProfile ?? pod.securityContext?.seccompProfile)?.type !== 'RuntimeDefault')
      problems.push(`${where}: no RuntimeDefault seccomp profile`);
    if (!container.resources?.requests?.cpu || !container.resources.requests.memory) problems.push(`${where}: no CPU and memory requests`);
    if (!container.resources?.limits?.memory) problems.push(`${where}: no memory limit`);
  }
  return problems;
}

export function availabilityViolations(deployment: Workload, objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const name = deployment.metadata.name;
  const labels = deployment.spec.template.metadata.labels;
  const pdb = byKind(objects, 'PodDisruptionBudget').find((object) =>
    matches((object.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels, labels),
  );
  if (!pdb) problems.push(`${name}: no PodDisruptionBudget selects its pods`);
  const scaledOn = autoscaledResources(name, objects);
  if (!scaledOn) problems.push(`${name}: no HorizontalPodAutoscaler scales it`);
  else
    for (const resource of ['cpu', 'memory'])
      if (!scaledOn.includes(resource)) problems.push(`${name}: its autoscaler does not scale on ${resource}`);
  if (deployment.spec.strategy?.rollingUpdate?.maxUnavailable !== 0)
    problems.push(`${name}: a rollout may take pods away before new ones are ready`);
  const spread = deployment.spec.template.spec.topologySpreadConstraints ?? [];
  if (
    !spread.some(
      (constraint) => constraint.topologyKey === 'kubernetes.io/hostname' && matches(constraint.labelSelector?.matchLabels, labels),
    )
  ) {
    problems.push(`${name}: its pods are not spread across nodes`);
  }
  return problems;
}

/**
 * The resources (cpu, memory) on which the Deployment `name` is autoscaled:
 * by an HPA of its own, or by a KEDA ScaledObject (which makes the HPA in the
 * cluster); undefined when nothing scales it.
 */
function autoscaledResources(name: string, objects: K8sObject[]): string[] | undefined {
  const hpa = byKind(objects, 'HorizontalPodAutoscaler').find((object) => {
    const target = (object.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
    return target.kind === 'Deployment' && target.name === name;
  });
  if (hpa)
    return ((hpa.spec as { metrics?: { resource?: { name: string } }[] }).metrics ?? []).flatMap((metric) => metric.resource?.name ?? []);
  const scaledObject = byKind(objects, 'ScaledObject').find((object) => {
    const target = (object.spec as { scaleTargetRef: { kind?: string; name: string } }).scaleTargetRef;
    return (target.kind ?? 'Deployment') === 'Deployment' && target.name === name;
  });
  if (scaledObject) return (scaledObject.spec as { triggers: { type: string }[] }).triggers.map((trigger) => trigger.type);
  return undefined;
}

/**
 * Every ConfigMap and Secret the pod reads exists among the objects, or is
 * made by one of them (a cert-manager Certificate's Secret); optional
 * Secrets aside.
 */
export function referenceViolations(deployment: Workload, objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const madeSecrets = byKind(objects, 'Certificate').map((certificate) => (certificate.spec as { secretName: string }).secretName);
  const has = (kind: string, name: string) =>
    objects.some((object) => object.kind === kind && object.metadata.name === name) || (kind === 'Secret' && madeSecrets.includes(name));
  const pod = deployment.spec.template.spec;
  const want = (kind: string, name: string, what: string) => {
    if (!has(kind, name)) problems.push(`${deployment.metadata.name}: ${what} reads ${kind} ${name}, which is not there`);
  };
  for (const container of pod.containers) {
    for (const source of container.envFrom ?? []) {
      if (source.configMapRef) want('ConfigMap', source.configMapRef.name, container.name);
      if (source.secretRef) want('Secret', source.secretRef.name, container.name);
    }
    for (const variable of container.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (ref && !ref.optional) want('Secret', ref.name, `${container.name} ${variable.name}`);
    }
  }
  for (const volume of pod.volumes ?? []) {
    if (volume.configMap) want('ConfigMap', volume.configMap.name, `volume ${volume.name}`);
    if (volume.secret) want('Secret', volume.secret.secretName, `volume ${volume.name}`);
  }
  return problems;
}

/** The shutdown's three phases (ms, from the pod's environment) fit in the grace period before SIGKILL. */
export function gracePeriodViolations(deployment: Workload, objects: K8sObject[]): string[] {
  const pod = deployment.spec.template.spec;
  const problems: string[] = [];
  for (const container of pod.containers) {
    const env = containerEnv(container, objects);
    const phases = ['SHUTDOWN_DRAIN_DELAY_MS', 'SHUTDOWN_GRACE_MS', 'TELEMETRY_FLUSH_TIMEOUT_MS'];
    const missing = phases.filter((name) => env.get(name) === undefined);
    if (missing.length > 0) {
      problems.push(`${deployment.metadata.name}: ${missing.join(', ')} not set, so the grace period cannot be checked against it`);
      continue;
    }
    const needed = phases.reduce((sum, name) => sum + Number(env.get(name)), 0) / 1000;
    const granted = pod.terminationGracePeriodSeconds ?? 30;
    if (granted < needed)
      problems.push(`${deployment.metadata.name}: terminationGracePeriodSeconds ${granted} < drain + grace + flush = ${needed} s`);
  }
  return problems;
}

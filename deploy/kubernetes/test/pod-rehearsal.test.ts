/**
 * The user pod of the demo overlay, rehearsed without a cluster: its
 * container's command and environment (ConfigMap, literals, Secrets, $(VAR)
 * references) run against this checkout's build, and the kubelet's gRPC
 * probes are asked exactly what the manifest says. What a pod's network
 * namespace and the demo's Services would provide is stood in for: free
 * ports for the container ports, a fresh database on this machine's
 * PostgreSQL for the `postgres` Service, a closed port for the collector.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import { checkHealth } from '@platform/service-kit';
import { eventually, freePort, freshDatabaseUrl, messageOf, startServiceProcess, unary, type ServiceProcess } from '@platform/testing';
import { podEnvironment, type Workload } from '../support/policy';
import { KUBERNETES_DIR, render, type K8sObject } from '../support/render';

const REPOSITORY = path.resolve(KUBERNETES_DIR, '../..');

/** A Secret's value as the kubelet reads it: the Secret object's data, base64-decoded. */
function secretValueIn(objects: K8sObject[]) {
  return (ref: { name: string; key: string; optional?: boolean }, variable: string): string | undefined => {
    const secret = objects.find((object) => object.kind === 'Secret' && object.metadata.name === ref.name);
    const encoded = (secret?.data as Record<string, string> | undefined)?.[ref.key];
    if (encoded === undefined) assert.ok(ref.optional, `${variable}: Secret ${ref.name} has no key ${ref.key}`);
    return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
  };
}

describe('the user pod of overlays/demo, rehearsed', () => {
  const objects = render('overlays/demo');
  const workload = objects.find((object) => object.kind === 'Deployment' && object.metadata.name === 'user') as Workload;
  const container = workload.spec.template.spec.containers[0]!;
  const command = (container as { command?: string[] }).command ?? [];
  let pod: ServiceProcess | undefined;
  let address = '';
  after(async () => {
    await pod?.stop();
  });

  it("starts from the container's command and environment, and answers the startup, liveness and readiness probes SERVING", async () => {
    assert.deepEqual(command.slice(0, 3), ['node', '--require', '@platform/telemetry/register'], 'the command the image rehearsal runs');
    const env = podEnvironment(container, objects, secretValueIn(objects));
    assert.match(
      env.DATABASE_URL ?? '',
      /^postgres:\/\/postgres:change-me-postgres@postgres:5432\/users$/,
      'the password comes from the Secret',
    );
    assert.equal(env.PAGE_TOKEN_KEY?.length, 41, 'the page-token key comes from the Secret, not the manifest');
    const grpcPort = await freePort();
    const probePorts = new Map([[Number(env.GRPC_PORT), grpcPort]]);
    pod = await startServiceProcess(path.join(REPOSITORY, command[3]!), {
      ...env,
      GRPC_PORT: String(grpcPort),
      METRICS_PORT: String(await freePort()),
      DATABASE_URL: await freshDatabaseUrl('k8s_users'),
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
    });
    address = `127.0.0.1:${grpcPort}`;
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
      const grpc = container[probe]?.grpc;
      assert.ok(grpc, `no gRPC ${probe}`);
      const port = probePorts.get(grpc.port);
      assert.ok(port, `${probe} asks port ${grpc.port}, where nothing listens`);
      // As the kubelet does, the probe is asked again until it passes: the process listens before
      // its first PostgreSQL check has made it SERVING.
      let answer = '';
      await eventually(
        async () => ((answer = await checkHealth(`127.0.0.1:${port}`, grpc.service ?? '')) === 'SERVING' ? true : undefined),
        {
          timeoutMs: 30_000,
          intervalMs: 100,
          failure: () => `${probe} (service "${grpc.service ?? ''}") answered ${answer}`,
        },
      );
    }
  });

  it('while draining after SIGTERM, fails its readiness probe yet still answers calls, then exits 0', async () => {
    assert.ok(pod, 'the pod did not start');
    const client = new UserServiceClient(address, credentials.createInsecure());
    try {
      const user = await unary(client, client.createUser)({ email: 'pod@example.com', displayName: 'Pod' });
      const readiness = container.readinessProbe!.grpc!.service ?? '';
      pod.child.kill('SIGTERM');
      await eventually(async () => ((await checkHealth(address, readiness)) === 'NOT_SERVING' ? true : undefined), {
        timeoutMs: 5000,
        intervalMs: 20,
        failure: () => 'readiness still SERVING after SIGTERM',
      });
      assert.deepEqual(await unary(client, client.getUser)({ id: user.id }), user, 'a call during the drain');
    } finally {
      client.close();
    }
    // Not pod.stop(): it sends SIGTERM again, and a second signal makes the service exit at once.
    const [code] = pod.child.exitCode === null ? ((await once(pod.child, 'exit')) as [number | null]) : [pod.child.exitCode];
    assert.equal(code, 0);
    assert.ok(pod.logLines.some((line) => messageOf(line) === 'service stopped'));
  });
});

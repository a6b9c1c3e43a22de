import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { credentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { Closer, Code, ConfigError, faultSpec, Telemetry, type ServiceConfig } from '@platform/service-kit';
import { FaultServiceClient, type Fault } from '@platform/contracts/fault/v1/fault';
import { Code as RpcCode } from '@platform/contracts/google/rpc/code';
import {
  expectStatus,
  expectViolations,
  freePort,
  healthStatus,
  ReflectionProbe,
  sampleValue,
  scrapeMetrics,
  startInProcess,
  testConfig,
  testFaultInjection,
  unary,
  type InProcessService,
} from '@platform/testing';
import { OrderServiceClient } from '@platform/contracts/order/v1/order';
import type { OrderServiceConfig } from '../src/config';
import { SERVICE_NAME, startOrderService } from '../src/internal/server';

const UNKNOWN_ORDER = '5c0a6f3e-1b2d-4c5e-9f8a-7b6c5d4e3f2a';
const FAULT_CLI = require.resolve('@platform/service-kit/cli/fault');

/** GetOrder and the streams need no user service; nothing listens on port 1. */
function config(overrides: Partial<ServiceConfig> = {}): OrderServiceConfig {
  return { ...testConfig(overrides), userServiceAddr: '127.0.0.1:1', userServiceTimeoutMs: 1000 };
}

function adminAddress(service: InProcessService): string {
  assert.ok(service.adminAddress, 'a service with fault injection has an admin listener');
  return service.adminAddress;
}

function fault(partial: Partial<Fault>): Fault {
  return {
    method: 'order.v1.OrderService/GetOrder',
    latencyMin: undefined,
    latencyMax: undefined,
    errorCode: 0,
    errorProbability: 0,
    ...partial,
  };
}

function streamError(stream: ClientReadableStream<unknown>): Promise<ServiceError> {
  return new Promise((resolve, reject) => {
    stream.on('data', () => reject(new Error('expected the stream to fail before sending anything')));
    stream.on('error', resolve);
  });
}

async function runCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [FAULT_CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('fault injection on order.v1.OrderService', () => {
  let service: InProcessService;
  let orders: OrderServiceClient;
  let faults: FaultServiceClient;

  before(async () => {
    service = await startInProcess(SERVICE_NAME, startOrderService, config({ faultInjection: testFaultInjection() }));
    orders = new OrderServiceClient(service.address, credentials.createInsecure());
    faults = new FaultServiceClient(adminAddress(service), credentials.createInsecure());
  });

  after(async () => {
    orders.close();
    faults.close();
    await service.stop();
  });

  const getOrder = (options = {}) => unary(orders, orders.getOrder)({ id: UNKNOWN_ORDER }, options);
  const setFault = (value: Fault | undefined) => unary(faults, faults.setFault)({ fault: value });
  const listFaults = () => unary(faults, faults.listFaults)({});
  const clearFaults = (method = '') => unary(faults, faults.clearFaults)({ method });

  it('injects an error until the fault is cleared, and counts it', async () => {
    const before = (await scrapeMetrics(service.telemetry.metricsPort)).samples;
    const set = await setFault(fault({ method: '/order.v1.OrderService/GetOrder', errorCode: RpcCode.UNAVAILABLE, errorProbability: 1 }));
    assert.equal(set.method, 'order.v1.OrderService/GetOrder', 'the method is stored without its leading slash');

    const error = await expectStatus(getOrder(), Code.UNAVAILABLE);
    assert.match(error.details, /^injected fault: UNAVAILABLE/);
    await expectStatus(getOrder(), Code.UNAVAILABLE);
    assert.deepEqual((await listFaults()).faults, [set]);

    const after = (await scrapeMetrics(service.telemetry.metricsPort)).samples;
    const labels = { grpc_service: 'order.v1.OrderService', grpc_method: 'GetOrder', kind: 'error' };
    assert.equal(sampleValue(after, 'app_faults_injected_total', labels) - sampleValue(before, 'app_faults_injected_total', labels), 2);

    assert.deepEqual(await clearFaults('order.v1.OrderService/GetOrder'), { cleared: 1 });
    await expectStatus(getOrder(), Code.NOT_FOUND);
    assert.deepEqual((await listFaults()).faults, []);
  });

  it('injects latency: a call with a shorter deadline runs out, and is on time again once cleared', async () => {
    await setFault(fault({ latencyMin: { seconds: 60n, nanos: 0 } }));
    await expectStatus(getOrder({ deadline: Date.now() + 300 }), Code.DEADLINE_EXCEEDED);
    const { samples } = await scrapeMetrics(service.telemetry.metricsPort);
    assert.ok(sampleValue(samples, 'app_faults_injected_total', { grpc_method: 'GetOrder', kind: 'latency' }) >= 1);
    assert.deepEqual(await clearFaults(), { cleared: 1 });
    await expectStatus(getOrder({ deadline: Date.now() + 5000 }), Code.NOT_FOUND);
  });

  it('serves FaultService on its own admin listener on loopback, and not on the gRPC port', async () => {
    const onGrpcPort = new FaultServiceClient(service.address, credentials.createInsecure());
    try {
      await expectStatus(unary(onGrpcPort, onGrpcPort.listFaults)({}), Code.UNIMPLEMENTED);
    } finally {
      onGrpcPort.close();
    }
    assert.match(adminAddress(service), /^127\.0\.0\.1:\d+$/);
    assert.notEqual(adminAddress(service), service.address);
    assert.deepEqual((await listFaults()).faults, []);
    for (const [address, listed] of [
      [service.address, false],
      [adminAddress(service), true],
    ] as const) {
      const probe = new ReflectionProbe(address);
      try {
        assert.equal((await probe.listServices()).includes('fault.v1.FaultService'), listed, `reflection at ${address}`);
      } finally {
        probe.close();
      }
    }
  });

  it('applies * to every method and stream, but never to FaultService, health or reflection', async () => {
    await setFault(fault({ method: '*', errorCode: RpcCode.INTERNAL, errorProbability: 1 }));
    try {
      await expectStatus(getOrder(), Code.INTERNAL);
      assert.match((await streamError(orders.watchOrders({ userId: '' }))).details, /injected fault: INTERNAL/);
      const bulk = orders.bulkCreateOrders();
      const bulkError = streamError(bulk);
      bulk.end();
      assert.equal((await bulkError).code, Code.INTERNAL);
      assert.equal((await listFaults()).faults.length, 1);
      assert.equal(await healthStatus(service.address, 'order.v1.OrderService'), 'SERVING');
      const probe = new ReflectionProbe(adminAddress(service));
      try {
        assert.ok((await probe.listServices()).includes('fault.v1.FaultService'));
        const files = await probe.resolveSymbol('fault.v1.FaultService');
        for (const name of ['fault/v1/fault.proto', 'google/protobuf/duration.proto', 'google/rpc/code.proto'])
          assert.ok(files.has(name), `reflection resolves ${name}`);
      } finally {
        probe.close();
      }
    } finally {
      await clearFaults();
    }
  });

  it('answers INVALID_ARGUMENT naming every bad field of a fault', async () => {
    assert.deepEqual(
      (
        await expectViolations(
          setFault(
            fault({
              method: 'order.v1.OrderService/Nope',
              latencyMin: { seconds: 61n, nanos: 0 },
              latencyMax: { seconds: 1n, nanos: 0 },
              errorProbability: 1.5,
            }),
          ),
        )
      ).sort(),
      ['fault.error_code', 'fault.error_probability', 'fault.latency_max', 'fault.latency_min', 'fault.method'],
    );
    assert.deepEqual(await expectViolations(setFault(fault({ method: 'GetOrder', errorCode: RpcCode.ABORTED }))), [
      'fault.method',
      'fault.error_probability',
    ]);
    assert.deepEqual(await expectViolations(setFault(fault({ latencyMin: { seconds: 0n, nanos: 500 } }))), ['fault.latency_min']);
    assert.deepEqual(await expectViolations(setFault(fault({}))), ['fault']);
    assert.deepEqual(await expectViolations(setFault(undefined)), ['fault']);
    const error = await expectStatus(
      setFault(fault({ method: 'user.v1.UserService/GetUser', errorCode: RpcCode.UNAVAILABLE, errorProbability: 1 })),
      Code.INVALID_ARGUMENT,
    );
    assert.match(
      error.details,
      /fault\.method: user\.v1\.UserService\/GetUser is not served here; use \* or one of order\.v1\.OrderService\/BulkCreateOrders/,
    );
    assert.deepEqual((await listFaults()).faults, [], 'nothing was set');
  });

  it('is set, listed and cleared by the CLI', async () => {
    const admin = adminAddress(service);
    const target = ['--target', admin];
    const set = await runCli('set', ...target, 'order.v1.OrderService/GetOrder:latency=1ms..2ms,error=ABORTED@0.25;*:latency=1ms');
    assert.equal(set.code, 0, set.stderr);
    assert.equal(
      set.stdout,
      `${admin}: set order.v1.OrderService/GetOrder:latency=1ms..2ms,error=ABORTED@0.25\n${admin}: set *:latency=1ms\n`,
    );
    const list = await runCli('list', ...target);
    assert.equal(list.stdout, `${admin}: *:latency=1ms\n  order.v1.OrderService/GetOrder:latency=1ms..2ms,error=ABORTED@0.25\n`);
    const clear = await runCli('clear', ...target);
    assert.equal(clear.stdout, `${admin}: cleared 2 faults\n`);
    assert.deepEqual((await listFaults()).faults, []);
  });

  it('CLI: a bad spec, a method no target serves and a service without fault injection fail with a message', async () => {
    const badSpec = await runCli('set', '--target', adminAddress(service), '*:latency=soon,error=NOPE');
    assert.equal(badSpec.code, 1);
    assert.equal(badSpec.stderr, 'invalid SPEC:\n  "*:latency=soon,error=NOPE": "soon" is not a duration such as 200ms, 1.5s or 5m\n');

    const unserved = await runCli('set', '--target', adminAddress(service), 'user.v1.UserService/GetUser:latency=5ms');
    assert.equal(unserved.code, 1);
    assert.match(
      unserved.stderr,
      /^no target serves user\.v1\.UserService\/GetUser:\n {2}127\.0\.0\.1:\d+: user\.v1\.UserService\/GetUser is not served here/,
    );

    const plain = await startInProcess(SERVICE_NAME, startOrderService, config());
    try {
      assert.equal(plain.adminAddress, undefined, 'no admin listener without fault injection');
      const grpcPort = await runCli('list', '--target', plain.address);
      assert.equal(grpcPort.code, 1);
      assert.equal(
        grpcPort.stderr,
        `${plain.address}: no FaultService here; is this the gRPC port? Target the fault admin listener (FAULT_ADMIN_PORT, by default the gRPC port + 20)\n`,
      );
    } finally {
      await plain.stop();
    }
    const closed = `127.0.0.1:${await freePort()}`;
    const nothing = await runCli('list', '--target', closed);
    assert.equal(nothing.code, 1);
    assert.equal(
      nothing.stderr,
      `${closed}: nothing listens there; is fault injection on (FAULT_INJECTION_ENABLED=true), and is this its admin listener?\n`,
    );
    const usage = await runCli('explode');
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /unknown command "explode"/);
  });

  it('refuses to start with a fault at start-up on a method it does not serve', async () => {
    const closer = new Closer();
    const telemetry = closer.add(
      'telemetry',
      await Telemetry.start({ serviceName: SERVICE_NAME, metricsPort: 0, metricsHost: '127.0.0.1', logLevel: 'silent' }),
      (opened) => opened.close({ flushTimeoutMs: config().telemetryFlushTimeoutMs }),
    );
    try {
      await assert.rejects(
        startOrderService(
          config({ faultInjection: testFaultInjection(faultSpec.parse('user.v1.UserService/GetUser:latency=5ms')) }),
          telemetry,
          closer,
        ),
        (error: unknown) => error instanceof ConfigError && /FAULTS: user\.v1\.UserService\/GetUser is not served here/.test(error.message),
      );
    } finally {
      // What it opened before refusing (the client of User) closes too.
      await closer.close();
    }
  });
});

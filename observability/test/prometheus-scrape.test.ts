import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { SERVICE_NAME as ORDER, startOrderService } from '@platform/order-service';
import { OrderServiceClient } from '@platform/contracts/order/v1/order';
import {
  expectStatus,
  startInProcess,
  startPrometheus,
  testConfig,
  unary,
  type InProcessService,
  type PrometheusServer,
} from '@platform/testing';
import { SERVICE_NAME as USER, startUserService } from '@platform/user-service';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import { localPrometheusConfig, PROMETHEUS_CONFIG } from '../support/project-prometheus';

describe('a real Prometheus scraping both services', () => {
  let user: InProcessService;
  let order: InProcessService;
  let prometheus: PrometheusServer;

  before(async () => {
    user = await startInProcess(USER, startUserService, testConfig());
    order = await startInProcess(ORDER, startOrderService, { ...testConfig(), userServiceAddr: user.address, userServiceTimeoutMs: 2000 });

    const users = new UserServiceClient(user.address, credentials.createInsecure());
    const orders = new OrderServiceClient(order.address, credentials.createInsecure());
    const ada = await unary(users, users.createUser)({ email: 'scraped@example.com', displayName: 'Scraped' });
    await unary(users, users.getUser)({ id: ada.id });
    await expectStatus(unary(users, users.getUser)({ id: 'not-a-uuid' }), 3);
    for (let i = 0; i < 3; i++) {
      await unary(
        orders,
        orders.createOrder,
      )({ userId: ada.id, currency: 'EUR', requestId: '', items: [{ sku: 'TEA', quantity: 1, unitPriceCents: 450n }] });
    }
    users.close();
    orders.close();

    prometheus = await startPrometheus(
      localPrometheusConfig({
        'user-service': [`127.0.0.1:${user.telemetry.metricsPort}`],
        'order-service': [`127.0.0.1:${order.telemetry.metricsPort}`],
      }),
    );
  });

  after(async () => {
    await prometheus?.stop();
    await order?.stop();
    await user?.stop();
  });

  it('accepts the project configuration (promtool check config)', () => {
    const result = spawnSync('promtool', ['check', 'config', '--syntax-only', PROMETHEUS_CONFIG], { encoding: 'utf8' });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });

  it('scrapes both services and reads grpc_server_handled_total back through its HTTP API', async () => {
    const up = await prometheus.waitFor('up', (samples) => samples.length === 2 && samples.every((sample) => sample.value === 1));
    assert.deepEqual(up.map((sample) => sample.metric.job).sort(), ['order-service', 'user-service']);

    const handled = await prometheus.waitFor(
      'sum by (job, grpc_service, grpc_method, grpc_code) (grpc_server_handled_total)',
      (samples) => samples.length === 4,
    );
    const value = (job: string, method: string, code: string) =>
      handled.find((sample) => sample.metric.job === job && sample.metric.grpc_method === method && sample.metric.grpc_code === code)
        ?.value;
    assert.equal(value('user-service', 'CreateUser', 'OK'), 1);
    // One GetUser of ours, three from Order checking the user.
    assert.equal(value('user-service', 'GetUser', 'OK'), 4);
    assert.equal(value('user-service', 'GetUser', 'InvalidArgument'), 1);
    assert.equal(value('order-service', 'CreateOrder', 'OK'), 3);

    const clientCalls = await prometheus.query('sum(grpc_client_handled_total{job="order-service",grpc_method="GetUser",grpc_code="OK"})');
    assert.equal(clientCalls[0]?.value, 3);
    const orders = await prometheus.query('sum(app_orders_created_total{currency="EUR"})');
    assert.equal(orders[0]?.value, 3);
  });
});

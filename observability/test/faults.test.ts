// First: tracing must patch grpc-js before anything loads it.
import { waitForSpans } from '@platform/testing/memory-tracing';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OrderServiceClient } from '@platform/contracts/order/v1/order';
import { SERVICE_NAME as ORDER, startOrderService } from '@platform/order-service';
import { Code, faultSpec } from '@platform/service-kit';
import { expectStatus, startInProcess, testConfig, testFaultInjection, unary, type InProcessService } from '@platform/testing';

describe('an injected fault in the trace', () => {
  let order: InProcessService;
  let orders: OrderServiceClient;

  before(async () => {
    // Set from the start, as FAULTS does, so the test needs no FaultService call.
    const faults = faultSpec.parse(
      'order.v1.OrderService/GetOrder:latency=20ms..40ms,error=UNAVAILABLE@1;order.v1.OrderService/ListOrders:latency=15ms',
    );
    order = await startInProcess(ORDER, startOrderService, {
      ...testConfig({ faultInjection: testFaultInjection(faults) }),
      userServiceAddr: '127.0.0.1:1',
      userServiceTimeoutMs: 1000,
    });
    orders = new OrderServiceClient(order.address, credentials.createInsecure());
  });

  after(async () => {
    orders.close();
    await order.stop();
  });

  const serverSpanOf = (method: string) =>
    waitForSpans((spans) =>
      spans.find(
        (span: ReadableSpan) =>
          span.kind === SpanKind.SERVER && span.name === method && span.events.some((event) => event.name === 'fault.injected'),
      ),
    );

  it('puts a fault.injected event with the fault on the server span of a failed call', async () => {
    const error = await expectStatus(unary(orders, orders.getOrder)({ id: '0b1d0c3e-2f4a-4b5c-8d6e-7f8091a2b3c4' }), Code.UNAVAILABLE);
    assert.match(error.details, /^injected fault: UNAVAILABLE/);

    const span = await serverSpanOf('order.v1.OrderService/GetOrder');
    const event = span.events.find((candidate) => candidate.name === 'fault.injected')!;
    const { 'fault.latency_ms': latencyMs, ...rest } = event.attributes ?? {};
    assert.deepEqual(rest, {
      'fault.method': 'order.v1.OrderService/GetOrder',
      'fault.error_code': 'UNAVAILABLE',
      'fault.error_probability': 1,
      'fault.error_injected': true,
    });
    assert.ok(typeof latencyMs === 'number' && latencyMs >= 20 && latencyMs <= 40, `latency ${latencyMs} within the fault's range`);
    assert.equal(span.attributes['rpc.grpc.status_code'], Code.UNAVAILABLE);
    assert.equal(span.status.code, SpanStatusCode.ERROR, 'an injected UNAVAILABLE is a server fault, as a real one would be');
  });

  it('records latency alone as an event without an error', async () => {
    await unary(orders, orders.listOrders)({ userId: '', pageSize: 0, pageToken: '' });
    const span = await serverSpanOf('order.v1.OrderService/ListOrders');
    assert.deepEqual(span.events.find((event) => event.name === 'fault.injected')?.attributes, {
      'fault.method': 'order.v1.OrderService/ListOrders',
      'fault.latency_ms': 15,
      'fault.error_code': 'OK',
      'fault.error_probability': 0,
      'fault.error_injected': false,
    });
    assert.equal(span.status.code, SpanStatusCode.UNSET);
  });
});

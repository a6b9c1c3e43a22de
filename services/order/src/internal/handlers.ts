import { trace } from '@opentelemetry/api';
import {
  AppError,
  fitPage,
  isServerFault,
  parseRequest,
  subscription,
  toRpcStatus,
  type CallContext,
  type Logger,
  type PageTokens,
  type ServiceImplementation,
} from '@platform/service-kit';
import { OrderEventType, OrderStatus, Order, type OrderEvent, type OrderServiceService } from '@platform/contracts/order/v1/order';
import type { OrderChange, OrderRecord, OrderRepository } from '../repository';
import { toNewOrder } from './order-rules';
import type { OrderMetrics } from './metrics';
import type { UserDirectory } from './user-directory';
import { createOrderRequest, listOrdersRequest, orderIdRequest, watchOrdersRequest } from './validation';

const LISTING = 'orders';
/** Events a slow WatchOrders reader may fall behind by before its stream is ended. */
const WATCH_MAX_BACKLOG = 1000;

export interface OrderHandlerDependencies {
  orders: OrderRepository;
  users: UserDirectory;
  logger: Logger;
  metrics: OrderMetrics;
  pageTokens: PageTokens;
  /** The server's send limit: a listing's page is cut to fit. */
  maxMessageBytes: number;
}

export function orderServiceHandlers(dependencies: OrderHandlerDependencies): ServiceImplementation<typeof OrderServiceService> {
  const { orders, users, logger, metrics, pageTokens, maxMessageBytes } = dependencies;

  const createOrder = async (request: unknown, context: CallContext): Promise<Order> => {
    const valid = parseRequest(createOrderRequest, request);
    const span = trace.getActiveSpan();
    span?.setAttributes({ 'app.user.id': valid.userId, 'app.order.item_count': valid.items.length });
    await users.assertUserExists(valid.userId, context);
    const { order, created } = await orders.create(toNewOrder(valid));
    // A replayed request_id is worth seeing in the trace: it explains why nothing was written.
    span?.setAttributes({ 'app.order.id': order.id, 'app.order.total_cents': Number(order.totalCents), 'app.order.replayed': !created });
    if (created) metrics.orderCreated(order);
    return toProtoOrder(order);
  };

  return {
    createOrder,

    async getOrder(request) {
      const { id } = parseRequest(orderIdRequest, request);
      trace.getActiveSpan()?.setAttribute('app.order.id', id);
      const order = await orders.get(id);
      if (order === undefined) throw AppError.notFound(`order ${id} not found`);
      return toProtoOrder(order);
    },

    async listOrders(request) {
      const { userId, pageSize, pageToken } = parseRequest(listOrdersRequest, request);
      const scope = userId ?? '';
      const listed = await orders.list({ userId, limit: pageSize, after: pageTokens.resume(pageToken, LISTING, scope) });
      const page = fitPage(
        { ...listed, items: listed.items.map(toProtoOrder) },
        (order) => Order.encode(order).finish().length,
        maxMessageBytes,
      );
      return {
        orders: page.items,
        nextPageToken: page.next === undefined ? '' : pageTokens.encode({ listing: LISTING, scope, after: page.next }),
      };
    },

    async cancelOrder(request) {
      const { id } = parseRequest(orderIdRequest, request);
      trace.getActiveSpan()?.setAttribute('app.order.id', id);
      const order = await orders.cancel(id);
      metrics.orderCancelled(order);
      return toProtoOrder(order);
    },

    async *watchOrders(request, context) {
      const { userId } = parseRequest(watchOrdersRequest, request);
      yield* subscription<OrderEvent>({
        start: (push, fail) =>
          orders.watch((change) => {
            if (userId === undefined || change.order.userId === userId) push(toProtoEvent(change));
          }, fail),
        signal: context.signal,
        maxBacklog: WATCH_MAX_BACKLOG,
        onLive: () => context.sendHeaders(),
      });
    },

    async *bulkCreateOrders(requests, context) {
      // One at a time keeps responses in request order and bounds the work per stream.
      for await (const request of requests) {
        try {
          const order = await createOrder(request, context);
          yield { requestId: request.requestId, result: { $case: 'order', value: order } };
        } catch (error) {
          if (isServerFault(error)) logger.error({ err: error, method: context.method }, 'bulk item failed');
          yield { requestId: request.requestId, result: { $case: 'status', value: toRpcStatus(error) } };
        }
      }
    },
  };
}

const PROTO_STATUS = { CREATED: OrderStatus.ORDER_STATUS_CREATED, CANCELLED: OrderStatus.ORDER_STATUS_CANCELLED } as const;
const PROTO_EVENT = { CREATED: OrderEventType.ORDER_EVENT_TYPE_CREATED, CANCELLED: OrderEventType.ORDER_EVENT_TYPE_CANCELLED } as const;

function toProtoOrder(order: OrderRecord): Order {
  return { ...order, status: PROTO_STATUS[order.status] };
}

function toProtoEvent(change: OrderChange): OrderEvent {
  return { type: PROTO_EVENT[change.type], order: toProtoOrder(change.order) };
}

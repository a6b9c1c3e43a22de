import { status as Code, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type {
  BulkCreateOrdersResponse,
  CreateOrderRequest,
  Order,
  OrderEvent,
  OrderServiceClient,
} from '@platform/contracts/order/v1/order';
import { currentTraceId } from '@platform/telemetry';
import type { UserServiceClient } from '@platform/contracts/user/v1/user';
import type { Caller } from './calls';
import type { Random } from './random';
import type { Stats } from './stats';

export interface ScenarioContext {
  users: UserServiceClient;
  orders: OrderServiceClient;
  call: Caller;
  random: Random;
  /** Probability of each deliberate mistake (invalid input, unknown ids, unknown users). */
  errorRate: number;
  /** Makes emails unique across runs and scenarios. */
  runId: string;
  scenarioNumber: number;
}

export type ScenarioName = 'shopper' | 'browser' | 'bulk';
export const SCENARIOS: Record<ScenarioName, (context: ScenarioContext) => Promise<void>> = { shopper, browser, bulk };

const SKUS = ['BOOK-42', 'MUG-7', 'TEA_green', 'LAMP-3', 'PEN_blue', 'DESK-1', 'CHAIR-9', 'PLANT-5'];
const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF'];

function orderRequest(context: ScenarioContext, userId: string): CreateOrderRequest {
  const { random } = context;
  return {
    userId,
    currency: random.pick(CURRENCIES),
    requestId: `traffic-${context.runId}-${context.scenarioNumber}-${random.int(0, 1e9)}`,
    items: Array.from({ length: random.int(1, 4) }, () => ({
      sku: random.pick(SKUS),
      quantity: random.int(1, 5),
      unitPriceCents: BigInt(random.int(100, 50_000)),
    })),
  };
}

async function createUser(context: ScenarioContext): Promise<string | undefined> {
  const { users, call, random } = context;
  if (random.chance(context.errorRate)) {
    // A deliberate mistake: INVALID_ARGUMENT.
    await call.unary('CreateUser', users, users.createUser, { email: 'not-an-email', displayName: '' });
  }
  const { response } = await call.unary('CreateUser', users, users.createUser, {
    email: `shopper-${context.runId}-${context.scenarioNumber}@example.com`,
    displayName: `Shopper ${context.scenarioNumber}`,
  });
  return response?.id;
}

/** CreateUser -> 1..3 CreateOrder -> GetOrder -> ListOrders -> sometimes CancelOrder. */
async function shopper(context: ScenarioContext): Promise<void> {
  const { orders, call, random, errorRate } = context;
  const userId = await createUser(context);
  if (!userId) return;
  const placed: Order[] = [];
  for (let n = random.int(1, 3); n > 0; n--) {
    if (random.chance(errorRate)) {
      // An order for a user that does not exist: FAILED_PRECONDITION.
      await call.unary('CreateOrder', orders, orders.createOrder, orderRequest(context, random.uuid()));
    }
    if (random.chance(errorRate)) {
      // An impossible quantity: INVALID_ARGUMENT.
      await call.unary('CreateOrder', orders, orders.createOrder, {
        ...orderRequest(context, userId),
        items: [{ sku: 'BOOK-42', quantity: 0, unitPriceCents: 100n }],
      });
    }
    const { response } = await call.unary('CreateOrder', orders, orders.createOrder, orderRequest(context, userId));
    if (response) placed.push(response);
  }
  const first = placed[0];
  if (random.chance(errorRate)) await call.unary('GetOrder', orders, orders.getOrder, { id: random.uuid() });
  if (first) await call.unary('GetOrder', orders, orders.getOrder, { id: first.id });
  await call.unary('ListOrders', orders, orders.listOrders, { userId, pageSize: 10, pageToken: '' });
  if (first && random.chance(0.3)) await call.unary('CancelOrder', orders, orders.cancelOrder, { id: first.id });
}

/** ListUsers -> GetUser -> ListOrders of that user: the read path. */
async function browser(context: ScenarioContext): Promise<void> {
  const { users, orders, call, random, errorRate } = context;
  const { response } = await call.unary('ListUsers', users, users.listUsers, { pageSize: 20, pageToken: '' });
  const someone = response && response.users.length > 0 ? random.pick(response.users) : undefined;
  if (random.chance(errorRate)) await call.unary('GetUser', users, users.getUser, { id: random.uuid() });
  if (!someone) return;
  await call.unary('GetUser', users, users.getUser, { id: someone.id });
  await call.unary('ListOrders', orders, orders.listOrders, { userId: someone.id, pageSize: 10, pageToken: '' });
}

/** A user places a batch of orders over one BulkCreateOrders stream; a bad item now and then. */
async function bulk(context: ScenarioContext): Promise<void> {
  const { orders, call, random, errorRate } = context;
  const userId = await createUser(context);
  if (!userId) return;
  const traceId = currentTraceId();
  const startedAt = process.hrtime.bigint();
  const stream = orders.bulkCreateOrders({ deadline: Date.now() + 30_000 });
  const done = new Promise<{ code: number; detail?: string }>((resolve) => {
    stream.on('data', (_response: BulkCreateOrdersResponse) => undefined);
    stream.on('error', (error: ServiceError) => resolve({ code: error.code, detail: error.details }));
    stream.on('end', () => resolve({ code: Code.OK }));
  });
  for (let n = random.int(3, 8); n > 0; n--) {
    const request = orderRequest(context, userId);
    stream.write(random.chance(errorRate) ? { ...request, currency: 'euro' } : request);
  }
  stream.end();
  const { code, detail } = await done;
  call.recordStream('BulkCreateOrders', code, startedAt, traceId, detail);
}

/**
 * WatchOrders for every user until `signal` aborts; counts the events. Runs
 * once per traffic run, alongside the scenarios.
 */
export async function watch(orders: OrderServiceClient, call: Caller, stats: Stats, signal: AbortSignal): Promise<void> {
  const traceId = currentTraceId();
  const startedAt = process.hrtime.bigint();
  const stream: ClientReadableStream<OrderEvent> = orders.watchOrders({ userId: '' });
  const ended = new Promise<{ code: number; detail?: string }>((resolve) => {
    stream.on('data', () => stats.watchedEvents++);
    stream.on('error', (error: ServiceError) => resolve({ code: error.code, detail: error.details }));
    stream.on('end', () => resolve({ code: Code.OK }));
  });
  const stop = () => stream.cancel();
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  const { code, detail } = await ended;
  // Ending it ourselves is the normal way for this stream to end.
  call.recordStream('WatchOrders', code, startedAt, traceId, code === Code.CANCELLED ? undefined : detail);
}

export { InMemoryOrderRepository } from './memory-order-repository';
export { ORDER_MIGRATIONS_DIR, PostgresOrderRepository } from './postgres-order-repository';
export type {
  ListOrdersOptions,
  NewOrder,
  OrderChange,
  OrderItemRecord,
  OrderRecord,
  OrderRepository,
  OrderState,
} from './order-repository';

import type { MetricsRegistry } from '@platform/telemetry';
import { Counter, Histogram } from 'prom-client';
import type { OrderRecord } from '../repository';

/**
 * Currencies reported by name; any other valid code is reported as OTHER so
 * the label stays bounded whatever callers send.
 */
const REPORTED_CURRENCIES = new Set(['EUR', 'USD', 'GBP', 'JPY', 'CHF', 'CAD', 'AUD', 'CNY', 'SEK', 'NOK', 'DKK', 'PLN', 'INR', 'BRL']);

function currencyLabel(currency: string): string {
  return REPORTED_CURRENCIES.has(currency) ? currency : 'OTHER';
}

/** What the business side of the order service reports. */
export class OrderMetrics {
  private readonly created: Counter<'currency'>;
  private readonly cancelled: Counter<'currency'>;
  private readonly value: Histogram<'currency'>;

  constructor(registry: MetricsRegistry) {
    const registers = [registry];
    this.created = new Counter({ name: 'app_orders_created_total', help: 'Orders placed (idempotent replays not counted).', labelNames: ['currency'], registers });
    this.cancelled = new Counter({ name: 'app_orders_cancelled_total', help: 'Orders cancelled.', labelNames: ['currency'], registers });
    this.value = new Histogram({
      name: 'app_order_value',
      help: 'Order totals in major currency units (cents / 100).',
      labelNames: ['currency'],
      // From a coffee to a car.
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 50_000],
      registers,
    });
  }

  orderCreated(order: OrderRecord): void {
    const currency = currencyLabel(order.currency);
    this.created.inc({ currency });
    // Totals reach 10^13 cents; a double holds that exactly, and a histogram needs a number.
    this.value.observe({ currency }, Number(order.totalCents) / 100);
  }

  orderCancelled(order: OrderRecord): void {
    this.cancelled.inc({ currency: currencyLabel(order.currency) });
  }
}

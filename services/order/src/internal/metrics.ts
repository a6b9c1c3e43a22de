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

/**
 * Amounts are kept in the currency's minor unit (cents, pence, or yen
 * itself); this is the power of ten to the major unit: 2 for EUR, 0 for
 * JPY, 3 for KWD. From ICU's CLDR data, which follows ISO 4217, rather than
 * a table of our own.
 */
const minorUnitDigits = new Map<string, number>();
function toMajorUnits(minorUnits: bigint, currency: string): number {
  let digits = minorUnitDigits.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    minorUnitDigits.set(currency, digits);
  }
  // Totals reach 10^13 minor units; a double holds that exactly, and a histogram needs a number.
  return Number(minorUnits) / 10 ** digits;
}

/** What the business side of the order service reports. */
export class OrderMetrics {
  private readonly created: Counter<'currency'>;
  private readonly cancelled: Counter<'currency'>;
  private readonly value: Histogram<'currency'>;

  constructor(registry: MetricsRegistry) {
    const registers = [registry];
    this.created = new Counter({
      name: 'app_orders_created_total',
      help: 'Orders placed (idempotent replays not counted).',
      labelNames: ['currency'],
      registers,
    });
    this.cancelled = new Counter({ name: 'app_orders_cancelled_total', help: 'Orders cancelled.', labelNames: ['currency'], registers });
    this.value = new Histogram({
      name: 'app_order_value',
      help: 'Order totals in major units of their currency (1 EUR, 1 JPY), per listed currency; values of OTHER are not recorded, as they cannot be added up.',
      labelNames: ['currency'],
      // From a coffee to a car, in euros as in yen and rupees.
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 50_000, 100_000, 500_000, 1_000_000, 5_000_000],
      registers,
    });
  }

  orderCreated(order: OrderRecord): void {
    const currency = currencyLabel(order.currency);
    this.created.inc({ currency });
    if (currency !== 'OTHER') this.value.observe({ currency }, toMajorUnits(order.totalCents, order.currency));
  }

  orderCancelled(order: OrderRecord): void {
    this.cancelled.inc({ currency: currencyLabel(order.currency) });
  }
}

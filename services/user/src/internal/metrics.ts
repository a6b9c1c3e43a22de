import type { MetricsRegistry } from '@platform/telemetry';
import { Counter } from 'prom-client';

/** What the business side of the user service reports. */
export class UserMetrics {
  private readonly created: Counter;

  constructor(registry: MetricsRegistry) {
    this.created = new Counter({ name: 'app_users_created_total', help: 'Users registered.', registers: [registry] });
  }

  userCreated(): void {
    this.created.inc();
  }
}

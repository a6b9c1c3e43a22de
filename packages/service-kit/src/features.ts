import type { Telemetry } from '@platform/telemetry';
import type { Closer } from './closer';
import type { ServiceConfig } from './config';
import { FaultInjection } from './fault-injection/feature';
import { FaultInjector } from './fault-injection/injector';
import { RateLimiter } from './rate-limit';
import type { ServerFeature } from './server-feature';

/**
 * The gRPC server's cross-cutting features, each from its own section of the
 * configuration (unset: off), each registering its close where it is made.
 * They act in this order, after telemetry. Delete a line to remove one.
 */
export function serverFeatures(config: ServiceConfig, telemetry: Telemetry, closer: Closer): ServerFeature[] {
  const { logger, registry } = telemetry;
  const features: (ServerFeature | undefined)[] = [
    config.rateLimit &&
      closer.add('rate limiter', new RateLimiter({ ...config.rateLimit, registry, logger }), (limiter) => limiter.close()),
    config.faultInjection &&
      new FaultInjection({
        injector: new FaultInjector({ registry, faults: config.faultInjection.faults }),
        admin: { host: config.faultInjection.adminHost, port: config.faultInjection.adminPort },
        tls: config.tls !== undefined,
        logger,
      }),
  ];
  return features.filter((feature) => feature !== undefined);
}

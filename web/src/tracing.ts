import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { UserInteractionInstrumentation } from '@opentelemetry/instrumentation-user-interaction';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import type { StorefrontConfig } from './config';

export const SERVICE_NAME = 'web-storefront';

/** A URL prefix as a pattern: the fetch instrumentation compares strings whole. */
function under(url: string): RegExp {
  return new RegExp(`^${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`);
}

/**
 * Browser tracing: the page's load, clicks, every fetch, and (rpc.ts) a span
 * per RPC; W3C trace context sent to the two web endpoints, so that the
 * services' spans are children of the browser's; exported over OTLP/HTTP in
 * batches, and flushed when the page is hidden (a closed tab loses nothing
 * already ended).
 */
export function startTracing(config: StorefrontConfig): WebTracerProvider {
  const provider = new WebTracerProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE_NAME, 'service.version': '0.1.0' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.otlpTracesUrl }), { scheduledDelayMillis: 1000 })],
  });
  provider.register();
  registerInstrumentations({
    instrumentations: [
      new DocumentLoadInstrumentation(),
      new UserInteractionInstrumentation({ eventNames: ['click', 'submit'] }),
      new FetchInstrumentation({
        // Cross-origin fetches get traceparent only where the server allows it (CORS): the two endpoints.
        propagateTraceHeaderCorsUrls: [under(config.userUrl), under(config.orderUrl)],
        // The exporter's own requests are not worth a span each.
        ignoreUrls: [config.otlpTracesUrl],
      }),
    ],
  });
  addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') void provider.forceFlush();
  });
  return provider;
}

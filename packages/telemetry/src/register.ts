/**
 * Preload: `node --require @platform/telemetry/register main.js`. Tracing has
 * to be running before @grpc/grpc-js and pg are first required, or their
 * instrumentation cannot patch them.
 */
import { getBooleanFromEnv } from '@opentelemetry/core';
import { startTracing, tracingOptionsFromEnvironment } from './tracing';

// NodeSDK reads OTEL_SDK_DISABLED only in start(), but instrumentations patch
// grpc-js, pg and pino as soon as they are constructed: a disabled SDK would
// still wrap every call (measured in bench/). So it is not built at all.
if (!getBooleanFromEnv('OTEL_SDK_DISABLED')) startTracing(tracingOptionsFromEnvironment());

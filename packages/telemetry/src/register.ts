/**
 * Preload: `node --require @platform/telemetry/register main.js`. Tracing has
 * to be running before @grpc/grpc-js and pg are first required, or their
 * instrumentation cannot patch them.
 */
import { startTracing, tracingOptionsFromEnvironment } from './tracing';

startTracing(tracingOptionsFromEnvironment());

/**
 * A service made of the kit alone, serving echo.v1.EchoService: what the
 * kit's tests run when they test the server (limits, framing, TLS, rate
 * limiting, slow clients, draining) rather than any service's domain.
 */
import { protoMetadata, EchoServiceService } from '@platform/contracts/echo/v1/echo';
import { EchoService } from '@platform/contracts/echo/v1/echo_pb';
import { z } from 'zod';
import {
  field,
  GrpcServer,
  grpcServerOptions,
  parseEnv,
  parseRequest,
  serve,
  serviceEnvShape,
  toServiceConfig,
  type Closer,
  type RunningService,
  type ServiceConfig,
  type Telemetry,
} from '../../src';

export const ECHO_SERVICE_NAME = 'echo-service';

const echoRequest = z.object({ text: field.text({ min: 1, max: 100 }) });

export function startEchoService(config: ServiceConfig, telemetry: Telemetry, closer: Closer): Promise<RunningService> {
  const server = new GrpcServer({ ...grpcServerOptions(config, telemetry, closer), protoFiles: [protoMetadata] });
  server.addService(
    EchoServiceService,
    {
      async echo(request) {
        return { text: parseRequest(echoRequest, request).text };
      },
    },
    EchoService,
  );
  return serve({ server, logger: telemetry.logger, closer });
}

/** The largest valid request is 100 four-byte characters; 4 KiB leaves room and refuses more before decoding. */
const MAX_REQUEST_BYTES = 4 * 1024;

export function loadEchoConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  return toServiceConfig(parseEnv(serviceEnvShape({ grpcPort: 50070, metricsPort: 9470, maxReceiveMessageBytes: MAX_REQUEST_BYTES }), env));
}

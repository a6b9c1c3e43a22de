import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DescService } from '@bufbuild/protobuf';
import { cors as connectCors, createContextKey, createContextValues, type ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import cors from 'cors';
import type { Logger, ServerCallObserver, ServerProtocol } from '@platform/telemetry';
import { TRACE_ID_METADATA_KEY } from '@platform/telemetry';
import { CLIENT_ID_METADATA_KEY } from '../rate-limit';
import type { MethodDefinitionShape, ServiceDefinitionShape, ServiceImplementation } from '../rpc';
import { connectImplementation, type WebCallAdmission } from './bridge';
import type { WebEndpointConfig } from './config';

/** Logged once the web endpoint is bound, with its `port`. */
export const WEB_LISTENING_MESSAGE = 'web endpoint (gRPC-Web, Connect) listening';

/** How long browsers may cache a preflight's answer. */
const PREFLIGHT_MAX_AGE_S = 7200;

export interface WebEndpointOptions extends WebEndpointConfig {
  logger: Logger;
  /** Aborted when the server begins to shut down. */
  stopping: AbortSignal;
  /** The largest request message read; larger ones end the call with RESOURCE_EXHAUSTED. */
  readMaxBytes: number;
  /** The largest response message written. */
  writeMaxBytes: number;
  /** How long a request's headers and body may take to arrive (a slowloris bound, as on the gRPC port). */
  requestReceiveTimeoutMs: number;
  observe: (method: MethodDefinitionShape, peer: () => string, protocol: ServerProtocol) => ServerCallObserver;
}

interface ServiceEntry {
  schema: DescService;
  definition: ServiceDefinitionShape;
  implementation: ServiceImplementation<ServiceDefinitionShape>;
  beforeHandler: readonly ((path: string, signal: AbortSignal) => Promise<void>)[];
  admissions: readonly WebCallAdmission[];
}

const PEER = createContextKey<string>('unknown', { description: 'the caller address' });

/**
 * The browser-facing listener of a GrpcServer: the services it serves,
 * over gRPC-Web and the Connect protocol (connect-node), on HTTP/1.1, with
 * CORS for the pages allowed to call. gRPC itself stays on the gRPC port.
 * Browsers cannot present client certificates, so the endpoint is plain
 * HTTP: in production TLS ends in front of it (an ingress).
 */
export class WebEndpoint {
  readonly #options: WebEndpointOptions;
  readonly #services: ServiceEntry[] = [];
  #server: Server | undefined;

  constructor(options: WebEndpointOptions) {
    this.#options = options;
  }

  addService<Definition extends ServiceDefinitionShape>(
    entry: ServiceEntry & { definition: Definition; implementation: ServiceImplementation<Definition> },
  ): void {
    this.#services.push(entry as ServiceEntry);
  }

  async listen(): Promise<number> {
    const { host, port, logger, stopping, allowedOrigins } = this.#options;
    const routes = (router: ConnectRouter) => {
      for (const { schema, definition, implementation, beforeHandler, admissions } of this.#services) {
        router.service(
          schema,
          connectImplementation(schema, definition, implementation, {
            logger,
            stopping,
            beforeHandler,
            admissions,
            observe: this.#options.observe,
            peerOf: (context) => context.values.get(PEER),
          }),
        );
      }
    };
    const handler = connectNodeAdapter({
      routes,
      // gRPC has its own port, with everything grpc-js gives it.
      grpc: false,
      grpcWeb: true,
      connect: true,
      readMaxBytes: this.#options.readMaxBytes,
      writeMaxBytes: this.#options.writeMaxBytes,
      contextValues: (request) => createContextValues().set(PEER, request.socket.remoteAddress ?? 'unknown'),
    });
    const allowed = new Set(allowedOrigins);
    const withCors = cors({
      origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
      methods: [...connectCors.allowedMethods],
      allowedHeaders: [...connectCors.allowedHeaders, 'traceparent', 'tracestate', CLIENT_ID_METADATA_KEY],
      exposedHeaders: [...connectCors.exposedHeaders, TRACE_ID_METADATA_KEY],
      maxAge: PREFLIGHT_MAX_AGE_S,
    });
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const origin = request.headers.origin;
      // A page of another origin is refused outright, not merely left without CORS headers.
      if (origin !== undefined && !allowed.has(origin)) {
        response.writeHead(403, { 'content-type': 'text/plain' }).end(`origin ${origin} is not allowed\n`);
        return;
      }
      withCors(request, response, () => handler(request, response));
    });
    server.headersTimeout = this.#options.requestReceiveTimeoutMs;
    server.requestTimeout = this.#options.requestReceiveTimeoutMs;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = (server.address() as AddressInfo).port;
    logger.info({ host, port: bound, allowedOrigins }, WEB_LISTENING_MESSAGE);
    return bound;
  }

  /** Stops accepting; open streams have ended (the stopping signal); what is left is cut after graceMs. */
  async close(graceMs: number): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    await closed;
    clearTimeout(force);
  }
}

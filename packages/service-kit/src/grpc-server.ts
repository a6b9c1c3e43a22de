import { setTimeout as sleep } from 'node:timers/promises';
import {
  Server,
  ServerInterceptingCall,
  type ServerInterceptor,
  type ServerOptions,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { DescService } from '@bufbuild/protobuf';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger, ServerCallObserver, ServerProtocol } from '@platform/telemetry';
import {
  DEFAULT_MAX_CONNECTION_AGE_MS,
  DEFAULT_MAX_CONNECTION_IDLE_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS,
  type TlsFiles,
} from './config';
import { AppError, Code, toGrpcStatus } from './errors';
import { stopRequestsAfterResponse } from './early-response';
import { correctGrpcTimeoutHandling } from './grpc-timeout';
import { reflectionPackageDefinition, type ProtoFileMetadata } from './reflection';
import { toGrpcImplementation, type MethodDefinitionShape, type ServiceDefinitionShape, type ServiceImplementation } from './rpc';
import type { FeatureListeners, ServerFeature } from './server-feature';
import { serverCredentials } from './tls';
import { Utf8Fields } from './utf8';
import type { WebEndpointConfig } from './web/config';
import { WebEndpoint } from './web/endpoint';

/**
 * The server pings each connection this often to find peers that vanished
 * without closing it (a crashed client, a dropped NAT entry).
 */
const KEEPALIVE_TIME_MS = 60_000;
/** A ping unanswered this long closes the connection. */
const KEEPALIVE_TIMEOUT_MS = 20_000;
/**
 * How often clients may ping a connection, with or without calls (set with
 * grpc.keepalive_permit_without_calls). grpc-js 1.14 does not police client
 * pings, so these state what clients may rely on (keepalive every 10 s or
 * slower) and hold if it starts to.
 */
const MIN_CLIENT_PING_INTERVAL_MS = 10_000;

/** Logged once the server is bound, with its `port`: what process supervisors (and the tests' process helper) wait for. */
export const LISTENING_MESSAGE = 'gRPC server listening';

export interface GrpcServerOptions {
  host: string;
  /** 0 picks a free port; start() returns the one bound. */
  port: number;
  logger: Logger;
  /** Generated `protoMetadata` of the files whose services this server exposes through reflection. */
  protoFiles: readonly ProtoFileMetadata[];
  /** How long in-flight calls may run after shutdown begins before they are cancelled. */
  shutdownGraceMs: number;
  /** How long health reports NOT_SERVING, with calls still served, before shutdown starts refusing them; default 0. */
  drainDelayMs?: number;
  /** The largest message received or sent; larger ones end the call with RESOURCE_EXHAUSTED. Default 4 MiB. */
  maxMessageBytes?: number;
  /** The largest message received, when lower than maxMessageBytes. */
  maxReceiveMessageBytes?: number;
  /** Connections get a GOAWAY after about this long, so that clients move to new replicas; default 30 s. */
  maxConnectionAgeMs?: number;
  /** How long calls may go on after that GOAWAY before the connection is closed; unset: until they end. */
  maxConnectionAgeGraceMs?: number | undefined;
  /**
   * A connection without calls for this long is closed (GOAWAY, then close);
   * default 30 s. This is also what closes a connection the server has sent
   * a GOAWAY for a protocol error (a header field over 64 KiB): the client
   * may keep it open, and Node.js reports nothing of it.
   */
  maxConnectionIdleMs?: number;
  /** How long a method that takes one message waits for it, from the call's headers; default 10 s. */
  requestReceiveTimeoutMs?: number;
  /** Set: TLS, and callers must present a certificate signed by the CA (mTLS). */
  tls?: TlsFiles | undefined;
  /** Run around every call, in order: where telemetry hooks in. */
  interceptors?: ServerInterceptor[];
  /** Extra grpc-js server options, applied last. */
  serverOptions?: Omit<ServerOptions, 'interceptors'>;
  /** Cross-cutting features (rate limiting, fault injection): features.ts makes them from configuration. */
  features?: readonly ServerFeature[];
  /** Set: the services added with a schema are also served to browsers, over gRPC-Web and Connect (WebEndpoint). */
  web?: WebOptions | undefined;
}

export interface WebOptions extends WebEndpointConfig {
  /** What telemetry records of each web call (Telemetry#observeServerCall). */
  observe: (method: MethodDefinitionShape, peer: () => string, protocol: ServerProtocol) => ServerCallObserver;
}

/**
 * A grpc-js server with the parts every service needs: grpc.health.v1,
 * server reflection, error mapping for handlers (malformed requests
 * included), optional mTLS, explicit message and connection limits, and a
 * graceful close; and the features it is given (ServerFeature).
 */
export class GrpcServer {
  readonly #options: GrpcServerOptions;
  readonly #server: Server;
  /** The listeners features opened (the fault admin listener), drained with the server. */
  readonly #featureServers: Server[] = [];
  readonly #health = new HealthImplementation({ '': 'NOT_SERVING' });
  readonly #serviceNames: string[] = [];
  readonly #stopping = new AbortController();
  readonly #web: WebEndpoint | undefined;
  #webPort: number | undefined;
  /** What a feature's own listener is made with: the server's options and its interceptors, but no feature's. */
  readonly #listenerOptions: ServerOptions;
  #closed: Promise<void> | undefined;

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    correctGrpcTimeoutHandling();
    const serverOptions: ServerOptions = {
      'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      ...((options.maxConnectionAgeMs ?? DEFAULT_MAX_CONNECTION_AGE_MS) > 0 && {
        'grpc.max_connection_age_ms': options.maxConnectionAgeMs ?? DEFAULT_MAX_CONNECTION_AGE_MS,
      }),
      ...(options.maxConnectionAgeGraceMs !== undefined && { 'grpc.max_connection_age_grace_ms': options.maxConnectionAgeGraceMs }),
      'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
      'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_connection_idle_ms': options.maxConnectionIdleMs ?? DEFAULT_MAX_CONNECTION_IDLE_MS,
      'grpc.http2.min_ping_interval_without_data_ms': MIN_CLIENT_PING_INTERVAL_MS,
      // No channelz service is served, and its bookkeeping costs every call (an event tracker of closures and
      // clock reads: about 0.6 KB a call less allocated without it, npm run bench:allocations); metrics say the same.
      'grpc.enable_channelz': 0,
      ...options.serverOptions,
    };
    // A feature's own listener (fault admin) is counted and logged like any call, but no feature acts on it:
    // rate limits are for the service's callers, not its operators.
    const interceptors = [
      ...(options.interceptors ?? []),
      requestInterceptor(options.requestReceiveTimeoutMs ?? DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS),
    ];
    this.#listenerOptions = { ...serverOptions, interceptors };
    this.#server = new TolerantServer(new Utf8Fields(options.protoFiles), {
      ...serverOptions,
      interceptors: [...interceptors, ...this.features.flatMap((feature) => feature.interceptor ?? [])],
    });
    this.#health.addToServer(this.#server);
    new ReflectionService(reflectionPackageDefinition(options.protoFiles)).addToServer(this.#server);
    this.#web =
      options.web &&
      new WebEndpoint({
        ...options.web,
        logger: options.logger,
        stopping: this.#stopping.signal,
        readMaxBytes: serverOptions['grpc.max_receive_message_length'] ?? DEFAULT_MAX_MESSAGE_BYTES,
        writeMaxBytes: serverOptions['grpc.max_send_message_length'] ?? DEFAULT_MAX_MESSAGE_BYTES,
        requestReceiveTimeoutMs: options.requestReceiveTimeoutMs ?? DEFAULT_REQUEST_RECEIVE_TIMEOUT_MS,
      });
  }

  get features(): readonly ServerFeature[] {
    return this.#options.features ?? [];
  }

  /**
   * Serves a service on the gRPC port; with its protobuf-es `schema`
   * (`OrderService` of order_pb), also on the web endpoint, when there is one.
   */
  addService<Definition extends ServiceDefinitionShape>(
    definition: Definition,
    implementation: ServiceImplementation<Definition>,
    schema?: DescService,
  ): void {
    const serviceName = serviceNameOf(definition);
    const beforeHandler = this.features.flatMap((feature) => feature.beforeHandler ?? []);
    this.#addTo(this.#server, definition, implementation, beforeHandler);
    if (schema) {
      const admissions = this.features.flatMap((feature) => feature.admitWebCall ?? []);
      this.#web?.addService({ schema, definition, implementation, beforeHandler, admissions });
    }
    this.#serviceNames.push(serviceName);
    this.#health.setStatus(serviceName, 'NOT_SERVING');
    const paths = Object.values(definition).map((method) => method.path.replace(/^\//, ''));
    for (const feature of this.features) feature.servesMethods?.(paths);
  }

  #addTo<Definition extends ServiceDefinitionShape>(
    server: Server,
    definition: Definition,
    implementation: ServiceImplementation<Definition>,
    beforeHandler: readonly ((path: string, signal: AbortSignal) => Promise<void>)[],
  ): void {
    server.addService(
      // The generated definition is exactly a grpc-js ServiceDefinition; ServiceDefinitionShape only names what we read.
      definition as unknown as ServiceDefinition,
      toGrpcImplementation(definition, implementation, { logger: this.#options.logger, stopping: this.#stopping.signal, beforeHandler }),
    );
  }

  /** What a feature may open: a listener of its own, with this server's options, health and reflection, drained with it. */
  readonly #featureListeners: FeatureListeners = {
    listen: async ({ host, port, protoFiles, definition, implementation }) => {
      const server = new TolerantServer(new Utf8Fields(protoFiles), this.#listenerOptions);
      this.#health.addToServer(server);
      new ReflectionService(reflectionPackageDefinition(protoFiles)).addToServer(server);
      this.#addTo(server, definition, implementation, []);
      this.#featureServers.push(server);
      return bind(server, host, port, this.#options.tls);
    },
  };

  /**
   * Starts the features (their checks may refuse to start; their listeners
   * open), then binds and serves; health stays NOT_SERVING until
   * setServing(true).
   */
  async start(): Promise<number> {
    const { host, logger, tls } = this.#options;
    for (const feature of this.features) await feature.start?.(this.#featureListeners);
    const port = await bind(this.#server, host, this.#options.port, tls);
    this.#webPort = await this.#web?.listen();
    logger.info({ host, port, tls: tls !== undefined, services: this.#serviceNames }, LISTENING_MESSAGE);
    return port;
  }

  /** The web endpoint's port, once started, when there is one. */
  get webPort(): number | undefined {
    return this.#webPort;
  }

  /** Reports the overall ("") and every service's health. Ignored once closing has begun. */
  setServing(serving: boolean): void {
    if (this.#closed !== undefined) return;
    this.#setHealth(serving ? 'SERVING' : 'NOT_SERVING');
  }

  /**
   * Reports NOT_SERVING and keeps serving for the drain delay, so that load
   * balancers stop sending calls first; then ends open streams with
   * UNAVAILABLE, stops accepting calls and waits for in-flight ones; after
   * the grace period it cancels what is left.
   */
  close(): Promise<void> {
    this.#closed ??= this.#drain();
    return this.#closed;
  }

  async #drain(): Promise<void> {
    const { logger, shutdownGraceMs, drainDelayMs = 0 } = this.#options;
    this.#setHealth('NOT_SERVING');
    if (drainDelayMs > 0) {
      logger.info({ drainDelayMs }, 'reporting NOT_SERVING; still serving until load balancers have noticed');
      await sleep(drainDelayMs);
    }
    this.#stopping.abort();
    logger.info({ graceMs: shutdownGraceMs }, 'gRPC server draining');
    await new Promise<void>((resolve) => {
      const servers = [this.#server, ...this.#featureServers];
      const force = setTimeout(() => {
        logger.warn({ graceMs: shutdownGraceMs }, 'grace period over; cancelling the calls still running');
        for (const server of servers) server.forceShutdown();
        resolve();
      }, shutdownGraceMs);
      void Promise.all([
        ...servers.map((server) => new Promise<void>((stopped) => server.tryShutdown(() => stopped()))),
        this.#web?.close(shutdownGraceMs),
      ]).then(() => {
        clearTimeout(force);
        resolve();
      });
    });
    logger.info('gRPC server stopped');
  }

  #setHealth(status: 'SERVING' | 'NOT_SERVING'): void {
    for (const name of ['', ...this.#serviceNames]) this.#health.setStatus(name, status);
  }
}

/** Binds host:port (0: a free one) and resolves with the port bound. */
function bind(server: Server, host: string, port: number, tls: TlsFiles | undefined): Promise<number> {
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(address, serverCredentials(tls), (error, boundPort) => (error ? reject(error) : resolve(boundPort)));
  });
}

/** What a request that cannot be decoded is handed on as, with the error to answer it with, instead of the decoding error. */
class MalformedRequest {
  constructor(readonly error: AppError) {}

  static of(path: string, reason: string): MalformedRequest {
    return new MalformedRequest(new AppError(Code.INVALID_ARGUMENT, `malformed request for ${path}: ${reason}`));
  }
}

/**
 * grpc-js answers a request it cannot decode with INTERNAL, from below every
 * interceptor (which see it as a cancelled call). Here decoding never
 * throws: a malformed request becomes a MalformedRequest, which
 * malformedRequestInterceptor answers with INVALID_ARGUMENT. Every service
 * added goes through this, health and reflection included.
 */
class TolerantServer extends Server {
  constructor(
    private readonly utf8: Utf8Fields,
    options: ConstructorParameters<typeof Server>[0],
  ) {
    super(options);
    stopRequestsAfterResponse(this);
  }

  override addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    const tolerant = Object.fromEntries(
      Object.entries(service).map(([name, method]) => [
        name,
        {
          ...method,
          requestDeserialize: (bytes: Buffer): unknown => {
            const notUtf8 = this.utf8.invalidField(method.path, bytes);
            if (notUtf8 !== undefined)
              return new MalformedRequest(AppError.invalidArgument([{ field: notUtf8, description: 'must be valid UTF-8' }]));
            try {
              return method.requestDeserialize(bytes);
            } catch (error) {
              // Decoders throw RangeError and friends, and a deeply nested message can exhaust the stack.
              return MalformedRequest.of(method.path, error instanceof Error ? error.message : String(error));
            }
          },
        },
      ]),
    ) as ServiceDefinition;
    super.addService(tolerant, implementation);
  }
}

/**
 * Answers a malformed request with INVALID_ARGUMENT and lets nothing of its
 * call reach the handler: a message that cannot be decoded or holds a string
 * that is not UTF-8 (MalformedRequest, the latter naming its field), and for
 * a method that takes one request message, a second message or none
 * at all (a body cut short, a length prefix larger than the body), which
 * grpc-js answers with UNIMPLEMENTED, a server-fault code.
 *
 * A method that takes one message must also receive it, and the end of the
 * request, within receiveTimeoutMs of the call's headers; otherwise the call
 * ends with RESOURCE_EXHAUSTED, as for any other request limit. Without
 * it a client that answers keepalive pings and trickles a body (a slowloris)
 * holds a call, and its connection, for as long as it likes. Streaming
 * requests are not bounded: a stream may rightly wait between messages.
 *
 * Placed after the telemetry interceptors, so the status is counted and
 * logged like a handler's.
 */
function requestInterceptor(receiveTimeoutMs: number): ServerInterceptor {
  return (method, call) => {
    let rejected = false;
    let received = 0;
    let receiveTimer: NodeJS.Timeout | undefined;
    const reject = (error: AppError) => {
      rejected = true;
      clearTimeout(receiveTimer);
      call.sendStatus(toGrpcStatus(error));
    };
    const malformed = (reason: string) => reject(MalformedRequest.of(method.path, reason).error);
    return new ServerInterceptingCall(call, {
      start: (next) => {
        if (!method.requestStream) {
          receiveTimer = setTimeout(
            () => reject(new AppError(Code.RESOURCE_EXHAUSTED, `request not received within ${receiveTimeoutMs} ms of its headers`)),
            receiveTimeoutMs,
          );
        }
        next({
          onReceiveMessage: (message, nextMessage) => {
            if (rejected) return;
            received += 1;
            if (!method.requestStream && received > 1) malformed('a second request message, on a method that takes one');
            else if (message instanceof MalformedRequest) reject(message.error);
            else nextMessage(message);
          },
          onReceiveHalfClose: (nextHalfClose) => {
            clearTimeout(receiveTimer);
            if (rejected) return;
            if (!method.requestStream && received === 0) malformed('no complete request message, on a method that takes one');
            else nextHalfClose();
          },
          onCancel: () => clearTimeout(receiveTimer),
        });
      },
      // Once rejected, the call is over, but a streaming handler may still be answering an
      // earlier message: grpc-js would write that after the end of the response (before its
      // trailers, which are then never sent, so the client waits to its deadline) and answer
      // the write error with a second status, INTERNAL. The handler hears of the end through
      // its cancellation.
      sendMessage: (message, next) => {
        if (!rejected) next(message);
      },
      sendStatus: (status, next) => {
        if (!rejected) next(status);
      },
    });
  };
}

/** '/user.v1.UserService/GetUser' -> 'user.v1.UserService' */
function serviceNameOf(definition: ServiceDefinitionShape): string {
  const [firstMethod] = Object.values(definition);
  const match = firstMethod && /^\/([^/]+)\//.exec(firstMethod.path);
  if (!match?.[1]) throw new Error('service definition has no methods');
  return match[1];
}

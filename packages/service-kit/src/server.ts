import { Server, ServerCredentials, type ServerInterceptor, type ServerOptions, type ServiceDefinition } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '@platform/telemetry';
import { FaultServiceService, protoMetadata as faultProtoMetadata } from './api/fault/v1/fault';
import { ConfigError } from './config';
import { faultServiceHandlers } from './fault-service';
import { formatFaults, unservedMethodProblem, type FaultInjector } from './faults';
import { reflectionPackageDefinition, type ProtoFileMetadata } from './reflection';
import { toGrpcImplementation, type ServiceDefinitionShape, type ServiceImplementation } from './rpc';

export interface GrpcServerOptions {
  host: string;
  /** 0 picks a free port; start() returns the one bound. */
  port: number;
  logger: Logger;
  /** Generated `protoMetadata` of the files whose services this server exposes through reflection. */
  protoFiles: readonly ProtoFileMetadata[];
  /** How long in-flight calls may run after shutdown begins before they are cancelled. */
  shutdownGraceMs: number;
  /** Run around every call, in order; where telemetry and policy hook in. */
  interceptors?: ServerInterceptor[];
  /** Extra grpc-js server options (message size limits, keepalive ...). */
  serverOptions?: Omit<ServerOptions, 'interceptors'>;
  /**
   * Set: fault.v1.FaultService is served, and its faults are injected into
   * the calls of every service added (not into itself, health or reflection).
   */
  faults?: FaultInjector | undefined;
}

/**
 * A grpc-js server with the parts every service needs: grpc.health.v1,
 * server reflection, error mapping for handlers and a graceful shutdown.
 */
export class GrpcServer {
  readonly #options: GrpcServerOptions;
  readonly #server: Server;
  readonly #health = new HealthImplementation({ '': 'NOT_SERVING' });
  readonly #serviceNames: string[] = [];
  /** `pkg.Service/Method` of every method faults may target. */
  readonly #faultTargets = new Set<string>();
  readonly #stopping = new AbortController();
  #shutdown: Promise<void> | undefined;

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    this.#server = new Server({ ...options.serverOptions, interceptors: options.interceptors ?? [] });
    this.#health.addToServer(this.#server);
    const { faults } = options;
    const protoFiles = faults ? [...options.protoFiles, faultProtoMetadata] : options.protoFiles;
    new ReflectionService(reflectionPackageDefinition(protoFiles)).addToServer(this.#server);
    if (faults) {
      this.#add(FaultServiceService, faultServiceHandlers(faults, { served: this.#faultTargets, logger: options.logger }), undefined);
    }
  }

  addService<Definition extends ServiceDefinitionShape>(
    definition: Definition,
    implementation: ServiceImplementation<Definition>,
  ): void {
    this.#add(definition, implementation, this.#options.faults);
    for (const method of Object.values(definition)) this.#faultTargets.add(method.path.replace(/^\//, ''));
  }

  #add<Definition extends ServiceDefinitionShape>(
    definition: Definition,
    implementation: ServiceImplementation<Definition>,
    faults: FaultInjector | undefined,
  ): void {
    const serviceName = serviceNameOf(definition);
    this.#server.addService(
      // The generated definition is exactly a grpc-js ServiceDefinition; ServiceDefinitionShape only names what we read.
      definition as unknown as ServiceDefinition,
      toGrpcImplementation(definition, implementation, { logger: this.#options.logger, stopping: this.#stopping.signal, faults }),
    );
    this.#serviceNames.push(serviceName);
    this.#health.setStatus(serviceName, 'NOT_SERVING');
  }

  /**
   * Binds and serves; health stays NOT_SERVING until setServing(true). Faults
   * set at start-up (FAULTS) must target methods this server serves.
   */
  async start(): Promise<number> {
    this.#checkStartupFaults();
    const address = `${this.#options.host.includes(':') ? `[${this.#options.host}]` : this.#options.host}:${this.#options.port}`;
    const port = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync(address, ServerCredentials.createInsecure(), (error, boundPort) =>
        error ? reject(error) : resolve(boundPort),
      );
    });
    this.#options.logger.info({ host: this.#options.host, port, services: this.#serviceNames }, 'gRPC server listening');
    return port;
  }

  /** Reports the overall ("") and every service's health. Ignored once shutdown has begun. */
  setServing(serving: boolean): void {
    if (this.#shutdown !== undefined) return;
    this.#setHealth(serving ? 'SERVING' : 'NOT_SERVING');
  }

  /**
   * Reports NOT_SERVING, ends open streams with UNAVAILABLE, stops accepting
   * calls and waits for in-flight ones; after the grace period it cancels what is left.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#drain();
    return this.#shutdown;
  }

  async #drain(): Promise<void> {
    const { logger, shutdownGraceMs } = this.#options;
    this.#setHealth('NOT_SERVING');
    this.#stopping.abort();
    logger.info({ graceMs: shutdownGraceMs }, 'gRPC server draining');
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        logger.warn({ graceMs: shutdownGraceMs }, 'grace period over; cancelling the calls still running');
        this.#server.forceShutdown();
        resolve();
      }, shutdownGraceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    logger.info('gRPC server stopped');
  }

  #checkStartupFaults(): void {
    const faults = this.#options.faults?.list() ?? [];
    const problems = faults.flatMap((fault) => unservedMethodProblem(fault.method, this.#faultTargets) ?? []);
    if (problems.length > 0) throw new ConfigError(`invalid configuration:\n${problems.map((problem) => `  FAULTS: ${problem}`).join('\n')}`);
    if (faults.length > 0) this.#options.logger.warn({ faults: formatFaults(faults) }, 'fault injection set from the start');
  }

  #setHealth(status: 'SERVING' | 'NOT_SERVING'): void {
    for (const name of ['', ...this.#serviceNames]) this.#health.setStatus(name, status);
  }
}

/** '/user.v1.UserService/GetUser' -> 'user.v1.UserService' */
function serviceNameOf(definition: ServiceDefinitionShape): string {
  const [firstMethod] = Object.values(definition);
  const match = firstMethod && /^\/([^/]+)\//.exec(firstMethod.path);
  if (!match?.[1]) throw new Error('service definition has no methods');
  return match[1];
}

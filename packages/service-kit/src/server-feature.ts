import type { ServerInterceptor } from '@grpc/grpc-js';
import type { ProtoFileMetadata } from './reflection';
import type { ServiceDefinitionShape, ServiceImplementation } from './rpc';
import type { WebCallAdmission } from './web/bridge';

/**
 * A cross-cutting feature of GrpcServer (rate limiting, fault injection ...),
 * in one shape: what it does to calls, and what it needs of the server.
 * Each comes from its own section of ServiceConfig, and whoever makes it
 * registers its close; features.ts makes them all, one line each.
 */
export interface ServerFeature {
  /** In log lines and errors. */
  readonly name: string;
  /**
   * Runs around every call of the services added (not health, reflection or
   * a feature's own listener), after the telemetry interceptors, so that
   * what it answers is counted and logged like a handler's answer.
   */
  readonly interceptor?: ServerInterceptor;
  /**
   * Runs before each handler of the services added, inside the call's server
   * span: a rejection fails the call exactly as the handler throwing would.
   */
  readonly beforeHandler?: (path: string, signal: AbortSignal) => Promise<void>;
  /**
   * What `interceptor` does, for calls on the web endpoint (gRPC-Web,
   * Connect), which grpc-js interceptors never see: a rejection refuses the
   * call before its handler, counted and logged like the handler's error.
   */
  readonly admitWebCall?: WebCallAdmission;
  /** Told the methods (`pkg.Service/Method`) of each service as it is added. */
  servesMethods?(paths: readonly string[]): void;
  /** Runs when the server starts, before it listens: checks, and listeners of its own. */
  start?(listeners: FeatureListeners): Promise<void>;
}

/**
 * A listener the server opens for a feature: one service, served with the
 * server's message limits, keepalive, TLS, telemetry interceptors, health
 * and reflection, and drained with the server.
 */
export interface FeatureListeners {
  listen<Definition extends ServiceDefinitionShape>(listener: {
    host: string;
    port: number;
    protoFiles: readonly ProtoFileMetadata[];
    definition: Definition;
    implementation: ServiceImplementation<Definition>;
  }): Promise<number>;
}

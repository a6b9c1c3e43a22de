import type { Logger } from '@platform/telemetry';
import { FaultServiceService, protoMetadata as faultProtoMetadata } from '@platform/contracts/fault/v1/fault';
import { ConfigError } from '../env';
import type { FeatureListeners, ServerFeature } from '../server-feature';
import { faultServiceHandlers } from './admin-service';
import { formatFaults, unservedMethodProblem, type FaultInjector } from './injector';

export interface FaultInjectionOptions {
  injector: FaultInjector;
  /**
   * Where fault.v1.FaultService, which sets the faults, is served: a listener
   * of its own (with health and reflection, never a fault), because whoever
   * reaches it can slow or fail every call, so it is not on the port callers
   * use, and a network policy or a loopback address can keep it private.
   */
  admin: { host: string; port: number };
  /** The server's TLS, said in the admin listener's log line. */
  tls: boolean;
  logger: Logger;
}

/**
 * Fault injection as a server feature: the injector's faults are applied
 * before the handlers of every service added, inside the call's span, and
 * FaultService is served on the admin listener. Faults set at start-up
 * (FAULTS) must target methods the server serves.
 */
export class FaultInjection implements ServerFeature {
  readonly name = 'fault injection';
  readonly beforeHandler: (path: string, signal: AbortSignal) => Promise<void>;
  /** `pkg.Service/Method` of every method faults may target. */
  readonly #served = new Set<string>();
  readonly #options: FaultInjectionOptions;
  #adminPort: number | undefined;

  constructor(options: FaultInjectionOptions) {
    this.#options = options;
    this.beforeHandler = (path, signal) => options.injector.apply(path, signal);
  }

  /** The admin listener's port, once the server has started. */
  get adminPort(): number | undefined {
    return this.#adminPort;
  }

  servesMethods(paths: readonly string[]): void {
    for (const path of paths) this.#served.add(path);
  }

  async start(listeners: FeatureListeners): Promise<void> {
    const { injector, admin, logger, tls } = this.#options;
    const faults = injector.list();
    const problems = faults.flatMap((fault) => unservedMethodProblem(fault.method, this.#served) ?? []);
    if (problems.length > 0) throw ConfigError.of(problems.map((problem) => `FAULTS: ${problem}`));
    if (faults.length > 0) logger.warn({ faults: formatFaults(faults) }, 'fault injection set from the start');
    this.#adminPort = await listeners.listen({
      ...admin,
      protoFiles: [faultProtoMetadata],
      definition: FaultServiceService,
      implementation: faultServiceHandlers(injector, { served: this.#served, logger }),
    });
    // Before the server's LISTENING_MESSAGE, which tests and scripts wait for.
    logger.warn({ host: admin.host, port: this.#adminPort, tls }, 'fault admin listening: whoever reaches it can slow or fail every call');
  }
}

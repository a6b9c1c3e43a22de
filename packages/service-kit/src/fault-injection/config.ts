import { z } from 'zod';
import { envVar } from '../env';
import { faultSpec, type Fault } from './injector';

/**
 * Where the fault admin listener is by default, from the gRPC port: user
 * 50051 -> 50071, order 50052 -> 50072 (npm run fault's default targets).
 */
export const FAULT_ADMIN_PORT_OFFSET = 20;

/** Fault injection's section of the configuration. */
export interface FaultInjectionConfig {
  /** In effect from the start. */
  faults: readonly Fault[];
  /** Where fault.v1.FaultService is served: a listener of its own, never the gRPC port. */
  adminHost: string;
  adminPort: number;
}

/** Fault injection's environment variables; spread into serviceEnvShape. */
export const faultInjectionEnvShape = {
  // Off unless asked for: anyone who can reach the admin listener can slow or fail every call.
  FAULT_INJECTION_ENABLED: envVar.flag(false),
  FAULTS: faultSpec.optional(),
  // Loopback unless told otherwise, for the same reason; Compose opens it to the stack's network.
  FAULT_ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
  // Unset: the gRPC port + FAULT_ADMIN_PORT_OFFSET (a free port when that is 0).
  FAULT_ADMIN_PORT: envVar.port(0).unwrap().optional(),
};

/** The section, or undefined when off; what is wrong is added to `problems`. */
export function toFaultInjectionConfig(
  parsed: z.output<z.ZodObject<typeof faultInjectionEnvShape>>,
  grpcPort: number,
  problems: string[],
): FaultInjectionConfig | undefined {
  if (!parsed.FAULT_INJECTION_ENABLED) {
    for (const name of ['FAULTS', 'FAULT_ADMIN_PORT'] as const) {
      if (parsed[name] !== undefined) problems.push(`${name}: set while fault injection is off; also set FAULT_INJECTION_ENABLED=true`);
    }
    return undefined;
  }
  const adminPort = parsed.FAULT_ADMIN_PORT ?? (grpcPort === 0 ? 0 : grpcPort + FAULT_ADMIN_PORT_OFFSET);
  if (adminPort > 65535) problems.push(`FAULT_ADMIN_PORT: GRPC_PORT + ${FAULT_ADMIN_PORT_OFFSET} is beyond 65535; set FAULT_ADMIN_PORT`);
  else if (adminPort !== 0 && adminPort === grpcPort)
    problems.push('FAULT_ADMIN_PORT: must differ from GRPC_PORT; the admin listener is a port of its own');
  return { faults: parsed.FAULTS ?? [], adminHost: parsed.FAULT_ADMIN_HOST, adminPort };
}

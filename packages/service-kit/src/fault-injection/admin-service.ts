import type { Logger } from '@platform/telemetry';
import { z } from 'zod';
import type { Duration } from '@platform/contracts/google/protobuf/duration';
import { millisecondsOf, protoDurationOf } from '../duration';
import type { FaultServiceService, Fault as ProtoFault } from '@platform/contracts/fault/v1/fault';
import { faultSchema, formatFault, type Fault, type FaultDraft, type FaultInjector } from './injector';
import type { ServiceImplementation } from '../rpc';
import { parseRequest } from '../validation';

const duration = z.object({ seconds: z.bigint(), nanos: z.number() });

/** Proto fields in, faultSchema's rules applied, so violations are named fault.latency_min and so on. */
function setFaultRequest(served: ReadonlySet<string>) {
  return z.object({
    fault: z
      .object(
        {
          method: z.string(),
          latencyMin: duration.optional(),
          latencyMax: duration.optional(),
          errorCode: z.number(),
          errorProbability: z.number(),
        },
        { error: 'is required' },
      )
      .transform(fromProtoFault)
      .pipe(faultSchema(served)),
  });
}

/**
 * fault.v1.FaultService over a server's injector. `served` holds the methods
 * faults may target (`pkg.Service/Method`); the server adds to it as it adds
 * services.
 */
export function faultServiceHandlers(
  injector: FaultInjector,
  options: { served: ReadonlySet<string>; logger: Logger },
): ServiceImplementation<typeof FaultServiceService> {
  const { served, logger } = options;
  const schema = setFaultRequest(served);
  return {
    async setFault(request) {
      const { fault } = parseRequest(schema, request);
      injector.set(fault);
      // Warn: whoever wonders why this service is slow or failing should find out from its logs.
      logger.warn({ fault: formatFault(fault) }, 'fault injection set');
      return toProtoFault(fault);
    },

    async listFaults() {
      return { faults: injector.list().map(toProtoFault) };
    },

    async clearFaults(request) {
      const cleared = injector.clear(request.method === '' ? undefined : request.method);
      logger.warn({ method: request.method || 'all', cleared }, 'fault injection cleared');
      return { cleared };
    },
  };
}

/** A Fault as sent: latency_min is left unset without latency, latency_max when it is fixed. */
export function toProtoFault(fault: Fault): ProtoFault {
  return {
    method: fault.method,
    latencyMin: fault.latencyMax > 0 ? protoDurationOf(fault.latencyMin) : undefined,
    latencyMax: fault.latencyMax === fault.latencyMin ? undefined : protoDurationOf(fault.latencyMax),
    errorCode: fault.errorCode as number,
    errorProbability: fault.errorProbability,
  };
}

/** A received Fault in milliseconds, for faultSchema to check. */
export function fromProtoFault(fault: {
  method: string;
  latencyMin?: Duration | undefined;
  latencyMax?: Duration | undefined;
  errorCode: number;
  errorProbability: number;
}): FaultDraft {
  return {
    method: fault.method,
    latencyMin: (fault.latencyMin && millisecondsOf(fault.latencyMin)) ?? 0,
    latencyMax: fault.latencyMax && millisecondsOf(fault.latencyMax),
    errorCode: fault.errorCode,
    errorProbability: fault.errorProbability,
  };
}

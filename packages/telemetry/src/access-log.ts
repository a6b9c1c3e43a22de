import { ServerInterceptingCall, status as Code, type ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { grpcCodeName } from './grpc-metrics';

/**
 * One line per RPC at info: service, method, status, duration, peer. It is
 * written while the call's span is active, so it carries the trace id. The
 * cause of a server error is logged separately, where it is caught.
 */
export function accessLogInterceptor(logger: Logger): ServerInterceptor {
  return (method, call) => {
    const startedAt = process.hrtime.bigint();
    const [, service = 'unknown', name = 'unknown'] = /^\/([^/]+)\/([^/]+)$/.exec(method.path) ?? [];
    let logged = false;
    const log = (code: number) => {
      if (logged) return;
      logged = true;
      logger.info(
        {
          rpc: { system: 'grpc', service, method: name, grpc: { status_code: code } },
          event: { duration: Number(process.hrtime.bigint() - startedAt) },
          client: { address: call.getPeer() },
        },
        `${method.path} ${grpcCodeName(code)}`,
      );
    };
    return new ServerInterceptingCall(call, {
      start: (next) => next({ onCancel: () => log(Code.CANCELLED) }),
      sendStatus: (status, next) => {
        log(status.code);
        next(status);
      },
    });
  };
}

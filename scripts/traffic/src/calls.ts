import { Metadata, status as Code } from '@grpc/grpc-js';
import type { UnaryMethod } from '@platform/service-kit';
import { currentTraceId } from '@platform/telemetry';
import type { Stats } from './stats';

export interface Outcome<Response> {
  response?: Response;
  code: number;
}

/** Makes calls, times them and records every outcome; never throws for a gRPC status. */
export class Caller {
  constructor(
    private readonly stats: Stats,
    private readonly deadlineMs: number,
  ) {}

  unary<Request, Response>(
    name: string,
    client: object,
    method: UnaryMethod<Request, Response>,
    request: Request,
  ): Promise<Outcome<Response>> {
    const traceId = currentTraceId();
    const startedAt = process.hrtime.bigint();
    return new Promise((resolve) => {
      method.call(client, request, new Metadata(), { deadline: Date.now() + this.deadlineMs }, (error, response) => {
        const micros = Number(process.hrtime.bigint() - startedAt) / 1000;
        const code = error ? (error.code ?? Code.UNKNOWN) : Code.OK;
        this.stats.record(name, code, micros, traceId, error?.details);
        resolve(error ? { code } : { response, code });
      });
    });
  }

  /** Records a streaming call once it has ended. */
  recordStream(name: string, code: number, startedAt: bigint, traceId: string | undefined, detail?: string): void {
    this.stats.record(name, code, Number(process.hrtime.bigint() - startedAt) / 1000, traceId, detail, true);
  }
}

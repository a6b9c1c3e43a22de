import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
// The OTLP messages as the OpenTelemetry project generated them (protobufjs static code), from its own package.
import * as generatedRoot from 'otlp-schema/build/src/generated/root';

type KeyValues =
  | {
      key?: string | null;
      value?: { stringValue?: string | null; intValue?: unknown; boolValue?: boolean | null; doubleValue?: number | null } | null;
    }[]
  | null
  | undefined;

/** The part of ExportTraceServiceRequest this receiver reads. */
interface ExportRequest {
  resourceSpans?:
    | {
        resource?: { attributes?: KeyValues } | null;
        scopeSpans?:
          | {
              scope?: { name?: string | null } | null;
              spans?:
                | {
                    // Bytes in protobuf; hex strings in OTLP/JSON.
                    traceId?: Uint8Array | string | null;
                    spanId?: Uint8Array | string | null;
                    parentSpanId?: Uint8Array | string | null;
                    name?: string | null;
                    kind?: number | null;
                    attributes?: KeyValues;
                    events?: { name?: string | null; attributes?: KeyValues }[] | null;
                  }[]
                | null;
            }[]
          | null;
      }[]
    | null;
}

// The static module's typings only say "a protobufjs Root"; this is the one message it is used for.
const { ExportTraceServiceRequest } = (
  generatedRoot as unknown as {
    opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: { decode(bytes: Uint8Array): ExportRequest } } } } } };
  }
).opentelemetry.proto.collector.trace.v1;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  resource: Record<string, unknown>;
  /** The instrumentation scope that made the span, e.g. @opentelemetry/instrumentation-grpc. */
  scope: string;
}

/**
 * What a collector's OTLP/gRPC receiver does, reduced to remembering spans:
 * `opentelemetry.proto.collector.trace.v1.TraceService/Export`.
 */
export class OtlpTraceReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Bytes of the export requests received, as OTLP protobuf on the wire (uncompressed). */
  receivedBytes = 0;
  private readonly server = new Server();

  constructor() {
    this.server.addService(
      {
        export: {
          path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          requestStream: false,
          responseStream: false,
          requestSerialize: () => Buffer.alloc(0),
          requestDeserialize: (bytes: Buffer) => {
            this.receivedBytes += bytes.length;
            return ExportTraceServiceRequest.decode(bytes);
          },
          // An empty ExportTraceServiceResponse: everything accepted.
          responseSerialize: () => Buffer.alloc(0),
          responseDeserialize: () => ({}),
        },
      },
      {
        export: (call: ServerUnaryCall<ExportRequest, unknown>, callback: sendUnaryData<unknown>) => {
          absorb(this.spans, call.request);
          callback(null, {});
        },
      },
    );
  }

  /** Resolves with the OTLP endpoint URL to give the exporter; port 0 picks a free one. */
  listen(port = 0, host = '127.0.0.1'): Promise<string> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(`http://${host}:${bound}`),
      ),
    );
  }

  close(): void {
    this.server.forceShutdown();
  }
}

/**
 * What a collector's OTLP/HTTP receiver does with OTLP/JSON (the browser
 * exporter's encoding), reduced to remembering spans: POST /v1/traces, with
 * CORS for the one page origin allowed to export.
 */
export class OtlpHttpTraceReceiver {
  readonly spans: ReceivedSpan[] = [];
  private readonly server: HttpServer;

  constructor(allowedOrigin: string) {
    this.server = createServer((request, response) => {
      const cors = request.headers.origin === allowedOrigin ? { 'access-control-allow-origin': allowedOrigin } : undefined;
      if (request.method === 'OPTIONS') {
        response
          .writeHead(cors ? 204 : 403, { ...cors, 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type' })
          .end();
        return;
      }
      if (request.method !== 'POST' || request.url !== '/v1/traces' || !request.headers['content-type']?.startsWith('application/json')) {
        response.writeHead(415, cors).end();
        return;
      }
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        absorb(this.spans, JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest);
        response.writeHead(200, { ...cors, 'content-type': 'application/json' }).end('{}');
      });
    });
  }

  /** Resolves with the traces URL to give the exporter (…/v1/traces); port 0 picks a free one. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    return `http://${host}:${(this.server.address() as AddressInfo).port}/v1/traces`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function absorb(spans: ReceivedSpan[], request: ExportRequest): void {
  for (const resourceSpans of request.resourceSpans ?? []) {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        spans.push({
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
          name: span.name ?? '',
          kind: span.kind ?? 0,
          attributes: attributesOf(span.attributes),
          events: (span.events ?? []).map((event) => ({ name: event.name ?? '', attributes: attributesOf(event.attributes) })),
          resource,
          scope: scopeSpans.scope?.name ?? '',
        });
      }
    }
  }
}

function attributesOf(keyValues: KeyValues): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const { key, value } of keyValues ?? []) {
    if (!key || !value) continue;
    attributes[key] =
      value.stringValue ??
      (value.intValue !== undefined && value.intValue !== null ? Number(value.intValue) : undefined) ??
      value.boolValue ??
      value.doubleValue;
  }
  return attributes;
}

function hex(id: Uint8Array | string | null | undefined): string {
  if (typeof id === 'string') return id;
  return id && id.length > 0 ? Buffer.from(id).toString('hex') : '';
}

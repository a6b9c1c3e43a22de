import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface CannedResponse {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * An HTTP server that records every request and answers it with what
 * `respond` returns (200 and `{}` by default): a stand-in for the REST APIs of
 * Elasticsearch and Kibana when testing a client of them.
 */
export class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;

  constructor(respond: (request: RecordedRequest, previous: readonly RecordedRequest[]) => CannedResponse | undefined) {
    this.server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        const recorded: RecordedRequest = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body };
        const canned = respond(recorded, this.requests) ?? {};
        this.requests.push(recorded);
        response.writeHead(canned.status ?? 200, { 'content-type': 'application/json', ...canned.headers });
        response.end(JSON.stringify(canned.body ?? {}));
      });
    });
  }

  /** Resolves with the base URL; port 0 picks a free one. */
  listen(port = 0, host = '127.0.0.1'): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve(`http://${host}:${(this.server.address() as { port: number }).port}`));
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

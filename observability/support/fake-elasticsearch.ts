import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface BulkDocument {
  index: string;
  opType: string | undefined;
  source: Record<string, unknown>;
}

/**
 * Answers the Elasticsearch bulk API the way a cluster does when it accepts
 * everything, and remembers the documents and request headers.
 */
export class FakeElasticsearch {
  readonly documents: BulkDocument[] = [];
  readonly headers: IncomingHttpHeaders[] = [];
  private readonly server: Server;

  constructor() {
    this.server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        this.headers.push(request.headers);
        // The client checks that it talks to Elasticsearch.
        response.setHeader('x-elastic-product', 'Elasticsearch');
        response.setHeader('content-type', 'application/json');
        if (request.method !== 'POST' || !request.url?.startsWith('/_bulk')) {
          response.end('{}');
          return;
        }
        const lines = body.split('\n').filter(Boolean);
        const items: unknown[] = [];
        for (let i = 0; i + 1 < lines.length; i += 2) {
          const action = JSON.parse(lines[i]!) as Record<string, { _index: string; op_type?: string }>;
          const [kind, meta] = Object.entries(action)[0]!;
          this.documents.push({ index: meta._index, opType: meta.op_type ?? (kind === 'create' ? 'create' : undefined), source: JSON.parse(lines[i + 1]!) as Record<string, unknown> });
          items.push({ [kind]: { _index: meta._index, status: 201, result: 'created' } });
        }
        response.end(JSON.stringify({ took: 1, errors: false, items }));
      });
    });
  }

  /** Resolves with the URL; port 0 picks a free one. */
  listen(port = 0): Promise<string> {
    return new Promise((resolve) => this.server.listen(port, '127.0.0.1', () => resolve(`http://127.0.0.1:${(this.server.address() as { port: number }).port}`)));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

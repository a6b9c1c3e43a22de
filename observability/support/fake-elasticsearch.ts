import type { IncomingHttpHeaders } from 'node:http';
import { RecordingServer, type CannedResponse, type RecordedRequest } from './recording-server';

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
  private readonly server = new RecordingServer((request) => this.answer(request));

  /** The headers of every request, in order. */
  get headers(): IncomingHttpHeaders[] {
    return this.server.requests.map((request) => request.headers);
  }

  /** Every request, in order. */
  get requests(): readonly RecordedRequest[] {
    return this.server.requests;
  }

  /** Resolves with the URL; port 0 picks a free one. */
  listen(port = 0, host = '127.0.0.1'): Promise<string> {
    return this.server.listen(port, host);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private answer(request: RecordedRequest): CannedResponse {
    // The client checks that it talks to Elasticsearch.
    const headers = { 'x-elastic-product': 'Elasticsearch' };
    if (request.method !== 'POST' || !request.url.startsWith('/_bulk')) return { headers };
    const lines = request.body.split('\n').filter(Boolean);
    const items: unknown[] = [];
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const action = JSON.parse(lines[i]!) as Record<string, { _index: string; op_type?: string }>;
      const [kind, meta] = Object.entries(action)[0]!;
      this.documents.push({
        index: meta._index,
        opType: meta.op_type ?? (kind === 'create' ? 'create' : undefined),
        source: JSON.parse(lines[i + 1]!) as Record<string, unknown>,
      });
      items.push({ [kind]: { _index: meta._index, status: 201, result: 'created' } });
    }
    return { headers, body: { took: 1, errors: false, items } };
  }
}

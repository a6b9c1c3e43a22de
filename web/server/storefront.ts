import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import sirv from 'sirv';

/** The built page (vite build). */
export const PAGE_DIR = join(__dirname, '..', 'page');

/** What the page reads from /config.json (src/config.ts): where to call, export and link to. */
export interface StorefrontPageConfig {
  userUrl: string;
  orderUrl: string;
  otlpTracesUrl: string;
  jaegerUrl: string;
  kibanaUrl: string;
}

export interface StorefrontOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  page: StorefrontPageConfig;
  /** Where the built page is; default PAGE_DIR. */
  pageDir?: string;
}

export interface RunningStorefront {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves the page's files and its /config.json, with a Content-Security-Policy
 * that lets it connect to the two web endpoints and the OTLP receiver and
 * nowhere else. Hashed assets are cached for good; index.html and the
 * config never.
 */
export async function startStorefront(options: StorefrontOptions): Promise<RunningStorefront> {
  const { page } = options;
  const configJson = JSON.stringify(page);
  const origins = [page.userUrl, page.orderUrl, page.otlpTracesUrl].map((url) => new URL(url).origin);
  const headers = {
    'content-security-policy': `default-src 'self'; connect-src 'self' ${[...new Set(origins)].join(' ')}; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  const assets = sirv(options.pageDir ?? PAGE_DIR, {
    etag: true,
    setHeaders: (response, pathname) => {
      for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
      response.setHeader('cache-control', pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://storefront').pathname;
    if (path === '/config.json') {
      response.writeHead(200, { ...headers, 'content-type': 'application/json', 'cache-control': 'no-store' }).end(configJson);
      return;
    }
    if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    assets(request, response, () => {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

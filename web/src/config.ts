/** Where the page's calls and spans go: /config.json, written by the server that serves the page (server/storefront.ts). */
export interface StorefrontConfig {
  /** user.v1.UserService's web endpoint (gRPC-Web). */
  userUrl: string;
  /** order.v1.OrderService's web endpoint. */
  orderUrl: string;
  /** OTLP/HTTP traces endpoint the browser exports to (Jaeger's :4318/v1/traces). */
  otlpTracesUrl: string;
  /** Jaeger's UI, for links to a call's trace. */
  jaegerUrl: string;
  /** Kibana, for links to a call's log lines. */
  kibanaUrl: string;
}

export async function loadConfig(): Promise<StorefrontConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`/config.json: HTTP ${response.status}`);
  return (await response.json()) as StorefrontConfig;
}

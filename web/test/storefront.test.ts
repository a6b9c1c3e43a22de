import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { OtlpHttpTraceReceiver, OtlpTraceReceiver, type ReceivedSpan } from '@platform/observability';
import { dropDatabase } from '@platform/service-kit';
import {
  eventually,
  freePort,
  freshDatabaseUrl,
  messageOf,
  serviceMain,
  startServiceProcess,
  type ServiceProcess,
} from '@platform/testing';
import { startStorefront, type RunningStorefront } from '../server/storefront';

/** Debian's Chromium; never a downloaded browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots of the page, kept as test artefacts. */
const ARTEFACTS = join(__dirname, '..', '..', 'test-results');
const SPAN_KIND = { SERVER: 2, CLIENT: 3 } as const;

/** The spans of one trace as an indented tree, root first: what the closing note and a failing assertion show. */
function traceTree(spans: readonly ReceivedSpan[]): string {
  const ids = new Set(spans.map((span) => span.spanId));
  const lines: string[] = [];
  // Roots are the spans whose parent is not in the trace (the browser's first span has none).
  const childrenOf = (parent: string | undefined) =>
    spans.filter((span) => (parent === undefined ? !ids.has(span.parentSpanId) : span.parentSpanId === parent));
  const walk = (parent: string | undefined, depth: number) => {
    for (const span of childrenOf(parent)) {
      lines.push(`${'  '.repeat(depth)}${span.name} [${String(span.resource['service.name'])}, ${span.scope}]`);
      walk(span.spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join('\n');
}

describe('the storefront page in Chromium: one trace from the click to PostgreSQL', () => {
  const serverSpans = new OtlpTraceReceiver();
  let browserSpans: OtlpHttpTraceReceiver;
  const databases: string[] = [];
  let user: ServiceProcess | undefined;
  let order: ServiceProcess | undefined;
  let storefront: RunningStorefront | undefined;
  let browser: Browser | undefined;
  let page: Page;

  before(async () => {
    await mkdir(ARTEFACTS, { recursive: true });
    const pagePort = await freePort();
    const pageOrigin = `http://127.0.0.1:${pagePort}`;
    browserSpans = new OtlpHttpTraceReceiver(pageOrigin);
    const otlpTracesUrl = await browserSpans.listen();
    const otlpEndpoint = await serverSpans.listen();
    const traced = {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
      OTEL_TRACES_SAMPLER: 'always_on',
      LOG_LEVEL: 'info',
      WEB_PORT: '0',
      WEB_ALLOWED_ORIGINS: pageOrigin,
    };
    databases.push(await freshDatabaseUrl('users'), await freshDatabaseUrl('orders'));
    user = await startServiceProcess(serviceMain('@platform/user-service'), { ...traced, DATABASE_URL: databases[0] });
    order = await startServiceProcess(serviceMain('@platform/order-service'), {
      ...traced,
      DATABASE_URL: databases[1],
      USER_SERVICE_ADDR: `127.0.0.1:${user.port}`,
    });
    storefront = await startStorefront({
      host: '127.0.0.1',
      port: pagePort,
      page: {
        userUrl: `http://127.0.0.1:${user.webPort}`,
        orderUrl: `http://127.0.0.1:${order.webPort}`,
        otlpTracesUrl,
        jaegerUrl: 'http://127.0.0.1:16686',
        kibanaUrl: 'http://127.0.0.1:5601',
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => process.stderr.write(`page error: ${error.message}\n`));
    await page.goto(storefront.url);
    await page.locator('body[data-ready="true"]').waitFor();
  });

  after(async () => {
    await browser?.close();
    await storefront?.close();
    await order?.stop();
    await user?.stop();
    serverSpans.close();
    await browserSpans?.close();
    for (const url of databases) await dropDatabase(url);
  });

  /** Clicks `button` and resolves with the status and trace id the page shows for the newest call to `method`. */
  async function click(button: string, method: string): Promise<{ status: string; traceId: string }> {
    const before = await page.locator(`#calls tr[data-call="${method}"]`).count();
    await page.click(button);
    const rows = page.locator(`#calls tr[data-call="${method}"]`);
    await eventually(async () => ((await rows.count()) > before ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 50,
      failure: () => `no ${method} call shown`,
    });
    const row = rows.first();
    return {
      status: await row.locator('[data-testid="status"]').innerText(),
      traceId: (await row.locator('a[data-trace-id]').getAttribute('data-trace-id')) ?? '',
    };
  }

  it('shows field violations beside the fields when User refuses the request', async () => {
    await page.fill('#user-form input[name="email"]', 'not-an-email');
    const { status } = await click('#create-user', 'user.v1.UserService/CreateUser');
    assert.match(status, /^InvalidArgument/);
    assert.notEqual(await page.locator('[data-violation="email"]').innerText(), '');
    assert.equal(await page.locator('#user-form input[name="email"]').getAttribute('aria-invalid'), 'true');
    await page.screenshot({ path: join(ARTEFACTS, 'storefront-validation-error.png'), fullPage: true });
  });

  it('creates a user and places an order by clicking; the browser span, Order, User and PostgreSQL share the trace the page shows', async (t: TestContext) => {
    await page.fill('#user-form input[name="email"]', `browser-${Date.now()}@example.com`);
    assert.equal((await click('#create-user', 'user.v1.UserService/CreateUser')).status, 'OK');
    const placed = await click('#place-order', 'order.v1.OrderService/CreateOrder');
    assert.equal(placed.status, 'OK');
    assert.match(placed.traceId, /^[0-9a-f]{32}$/);
    await page.locator('#orders tr[data-order-id]').first().waitFor();
    await page.locator('#events li').first().waitFor();
    await page.screenshot({ path: join(ARTEFACTS, 'storefront.png'), fullPage: true });

    const rpcSpan = await eventually(
      () =>
        browserSpans.spans.find(
          (span) => span.traceId === placed.traceId && span.name === 'order.v1.OrderService/CreateOrder' && span.kind === SPAN_KIND.CLIENT,
        ),
      { timeoutMs: 30_000, intervalMs: 100, failure: () => `browser spans: ${browserSpans.spans.map((span) => span.name).join(', ')}` },
    );
    assert.equal(rpcSpan.resource['service.name'], 'web-storefront');
    assert.equal(rpcSpan.attributes['rpc.system'], 'grpc');
    assert.equal(rpcSpan.attributes['rpc.service'], 'order.v1.OrderService');
    assert.equal(rpcSpan.attributes['rpc.method'], 'CreateOrder');
    const fetchSpan = await eventually(
      () => browserSpans.spans.find((span) => span.parentSpanId === rpcSpan.spanId && span.scope.includes('fetch')),
      {
        timeoutMs: 30_000,
        intervalMs: 100,
        failure: () => 'no fetch span beneath the RPC span',
      },
    );

    // Stopping the services flushes their batched spans.
    await order!.stop();
    await user!.stop();
    const trace = [...browserSpans.spans, ...serverSpans.spans].filter((span) => span.traceId === placed.traceId);
    const tree = traceTree(trace);
    t.diagnostic(`trace ${placed.traceId}\n${tree}`);
    const orderServer = trace.find((span) => span.name === 'order.v1.OrderService/CreateOrder' && span.kind === SPAN_KIND.SERVER);
    assert.ok(orderServer, tree);
    assert.equal(orderServer.resource['service.name'], 'order-service');
    assert.equal(orderServer.parentSpanId, fetchSpan.spanId, 'the server span is a child of the browser fetch span');
    assert.equal(orderServer.attributes['app.protocol'], 'grpc_web');
    const userServer = trace.find((span) => span.resource['service.name'] === 'user-service' && span.kind === SPAN_KIND.SERVER);
    assert.ok(userServer, tree);
    const userClient = trace.find((span) => span.spanId === userServer.parentSpanId);
    assert.equal(userClient?.resource['service.name'], 'order-service', tree);
    // Up the parents within the trace; a parent missing from it ends the walk (no loop on the same span).
    const inOrder = (span: ReceivedSpan | undefined): boolean =>
      span !== undefined && (span.spanId === orderServer.spanId || inOrder(trace.find((parent) => parent.spanId === span.parentSpanId)));
    const queries = trace.filter((span) => span.scope === '@opentelemetry/instrumentation-pg');
    assert.ok(
      queries.some((span) => span.resource['service.name'] === 'order-service' && inOrder(span)),
      `no Order query beneath its server span:\n${tree}`,
    );
    assert.ok(
      queries.some((span) => span.resource['service.name'] === 'user-service'),
      `no User query in the trace:\n${tree}`,
    );

    const accessLine = order!.logLines.find(
      (line) => messageOf(line) === '/order.v1.OrderService/CreateOrder OK' && line['trace.id'] === placed.traceId,
    );
    assert.ok(accessLine, 'no access line with the trace id the page shows');
    assert.equal((accessLine.rpc as { protocol?: string }).protocol, 'grpc_web');
  });
});

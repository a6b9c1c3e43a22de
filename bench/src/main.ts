/**
 * npm run bench [-- --smoke] [--rounds N] [--seconds S] [--out DIR] [--profile DIR]
 *
 * Five comparisons, each run as interleaved A/B rounds in this one invocation
 * and reported as ratios (median and spread over the rounds). Servers run on
 * CPU 0, this load generator (and the telemetry sinks) on CPU 1, when the
 * machine has two and taskset exists.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'node:http';
import { credentials } from '@grpc/grpc-js';
import { OrderServiceClient, type CreateOrderRequest } from '@platform/contracts/order/v1/order';
import { blackHole, sampleValue, scrapeMetrics, unary } from '@platform/testing';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import { pin, startBulkSink, startCountingProxy, startJsonProcess, startOtlpSink } from './infrastructure';
import { CLIENT_CPU, CONCURRENCY, SERVER_CPU, startUserService, telemetryEnvironments, type UserServiceUnderTest } from './user-service';
import { closedLoop, fixedRate, type Call, type LoadResult } from './load';
import { formatMarkdown } from './report';
import type { BenchResults, TaxEntry } from './results';
import { ratioSummary, ratioSummaryIfAny } from './stats';

const PROTOCOL_SERVER = path.resolve(__dirname, 'protocol-server.js');

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    out: { type: 'string' },
    profile: { type: 'string' },
  },
});
const smoke = values.smoke ?? false;
const rounds = Number(values.rounds ?? (smoke ? 1 : 3));
const seconds = Number(values.seconds ?? (smoke ? 0.5 : 4));
const outDir = values.out ?? path.resolve(__dirname, '../../results');
const durationMs = seconds * 1000;
/** Set: every service process writes a V8 CPU profile (node --cpu-prof) here when it stops. */
const profileDir = values.profile === undefined ? undefined : path.resolve(values.profile);
const raw: Record<string, LoadResult[]> = {};
const keep = (label: string, result: LoadResult) => ((raw[label] ??= []).push(result), result);
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** user-service with these settings, this checkout's, warmed up. */
function userService(env: NodeJS.ProcessEnv): Promise<UserServiceUnderTest> {
  return startUserService({ env, profileDir, warmUpMs: Math.min(1000, durationMs) });
}

async function observabilityTax(): Promise<BenchResults['observabilityTax']> {
  const otlp = await startOtlpSink();
  const bulk = await startBulkSink();
  const environments = telemetryEnvironments(otlp.url, bulk.url);
  const ratios: Record<string, { max: number[]; cpu: number[]; cpuPerCall: number[]; p50: number[]; p99: number[] }> = {};
  let baselineMax = 0;
  const baselineCpuPerCall: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const measured: Record<string, { max: LoadResult; half?: LoadResult }> = {};
    for (const [name, env] of Object.entries(environments)) {
      log(`observability tax, round ${round + 1}: ${name}`);
      const target = await userService(env);
      measured[name] = {
        max: keep(
          `tax.${name}.max`,
          await closedLoop(target.getUser, { concurrency: CONCURRENCY, durationMs, serverPid: target.process.child.pid }),
        ),
      };
      await target.stop();
    }
    const halfLoad = measured.off!.max.throughput / 2;
    baselineMax = measured.off!.max.throughput;
    for (const [name, env] of Object.entries(environments)) {
      const target = await userService(env);
      measured[name]!.half = keep(`tax.${name}.half`, await fixedRate(target.getUser, { rate: halfLoad, durationMs }));
      await target.stop();
    }
    const offCpuPerCall = measured.off!.max.serverCpuUsPerCall;
    if (offCpuPerCall !== undefined) baselineCpuPerCall.push(offCpuPerCall);
    for (const name of Object.keys(environments).filter((n) => n !== 'off')) {
      const entry = (ratios[name] ??= { max: [], cpu: [], cpuPerCall: [], p50: [], p99: [] });
      entry.max.push(measured[name]!.max.throughput / measured.off!.max.throughput);
      const cpuPerCall = measured[name]!.max.serverCpuUsPerCall;
      if (offCpuPerCall !== undefined && cpuPerCall !== undefined) {
        entry.cpu.push(offCpuPerCall / cpuPerCall);
        entry.cpuPerCall.push(cpuPerCall);
      }
      entry.p50.push(measured[name]!.half!.p50Ms / measured.off!.half!.p50Ms);
      entry.p99.push(measured[name]!.half!.p99Ms / measured.off!.half!.p99Ms);
    }
  }
  otlp.close();
  await bulk.close();
  const result = Object.fromEntries(
    Object.entries(ratios).map(([name, entry]): [string, TaxEntry] => [
      name,
      {
        maxThroughput: ratioSummary(entry.max),
        cpuCapacity: ratioSummaryIfAny(entry.cpu),
        serverCpuUsPerCall: ratioSummaryIfAny(entry.cpuPerCall)?.median,
        p50AtHalfLoad: ratioSummary(entry.p50),
        p99AtHalfLoad: ratioSummary(entry.p99),
      },
    ]),
  ) as BenchResults['observabilityTax'];
  result.baselineMaxThroughput = Math.round(baselineMax);
  result.baselineServerCpuUsPerCall = ratioSummaryIfAny(baselineCpuPerCall)?.median;
  return result;
}

function jsonCall(port: number, agent: Agent, route: string, body: unknown): Call {
  const payload = JSON.stringify(body);
  return () =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: route,
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (response) => {
          response.resume();
          response.on('end', () => (response.statusCode === 200 ? resolve(undefined) : reject(new Error(`HTTP ${response.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
}

async function grpcVersusJson(servers: { grpcPort: number; httpPort: number; userId: string }): Promise<BenchResults['grpcVersusJson']> {
  const grpcProxy = await startCountingProxy(servers.grpcPort);
  const httpProxy = await startCountingProxy(servers.httpPort);
  const users = new UserServiceClient(`127.0.0.1:${grpcProxy.port}`, credentials.createInsecure());
  const orders = new OrderServiceClient(`127.0.0.1:${grpcProxy.port}`, credentials.createInsecure());
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const order: CreateOrderRequest = {
    userId: servers.userId,
    currency: 'EUR',
    requestId: '',
    items: [
      { sku: 'BOOK-42', quantity: 2, unitPriceCents: 1999n },
      { sku: 'MUG-7', quantity: 1, unitPriceCents: 850n },
    ],
  };
  const methods: Record<string, { grpc: Call; json: Call }> = {
    GetUser: {
      grpc: () => unary(users, users.getUser)({ id: servers.userId }),
      json: jsonCall(httpProxy.port, agent, '/user.v1.UserService/GetUser', { id: servers.userId }),
    },
    CreateOrder: {
      grpc: () => unary(orders, orders.createOrder)(order),
      json: jsonCall(httpProxy.port, agent, '/order.v1.OrderService/CreateOrder', {
        userId: order.userId,
        currency: 'EUR',
        requestId: '',
        items: order.items.map((item) => ({ ...item, unitPriceCents: String(item.unitPriceCents) })),
      }),
    },
  };
  const results: BenchResults['grpcVersusJson'] = {};
  for (const [method, calls] of Object.entries(methods)) {
    const ratios = { throughput: [] as number[], p50: [] as number[], p99: [] as number[] };
    const bytes = { grpc: 0, json: 0, grpcCalls: 0, jsonCalls: 0 };
    for (let round = 0; round < rounds; round++) {
      log(`gRPC vs JSON, round ${round + 1}: ${method}`);
      const measure = async (protocol: 'grpc' | 'json') => {
        const proxy = protocol === 'grpc' ? grpcProxy : httpProxy;
        const before = proxy.bytes();
        const max = keep(`protocol.${method}.${protocol}.max`, await closedLoop(calls[protocol], { concurrency: CONCURRENCY, durationMs }));
        // Latency one call at a time: the protocol's own cost, without queueing.
        const latency = keep(`protocol.${method}.${protocol}.latency`, await closedLoop(calls[protocol], { concurrency: 1, durationMs }));
        bytes[protocol] += proxy.bytes() - before;
        bytes[`${protocol}Calls`] += max.ok + max.failed + latency.ok + latency.failed;
        return { max, latency };
      };
      const grpc = await measure('grpc');
      const json = await measure('json');
      ratios.throughput.push(grpc.max.throughput / json.max.throughput);
      ratios.p50.push(grpc.latency.p50Ms / json.latency.p50Ms);
      ratios.p99.push(grpc.latency.p99Ms / json.latency.p99Ms);
    }
    const grpcBytesPerCall = Math.round(bytes.grpc / bytes.grpcCalls);
    const jsonBytesPerCall = Math.round(bytes.json / bytes.jsonCalls);
    results[method] = {
      grpcBytesPerCall,
      jsonBytesPerCall,
      bytesRatio: Math.round((grpcBytesPerCall / jsonBytesPerCall) * 1000) / 1000,
      throughputRatio: ratioSummary(ratios.throughput),
      p50Ratio: ratioSummary(ratios.p50),
      p99Ratio: ratioSummary(ratios.p99),
    };
  }
  users.close();
  orders.close();
  agent.destroy();
  grpcProxy.close();
  httpProxy.close();
  return results;
}

async function scrapeImpact(baselineMax: number): Promise<BenchResults['scrapeImpact']> {
  const p99: number[] = [];
  const p50: number[] = [];
  for (let round = 0; round < rounds; round++) {
    log(`scrape impact, round ${round + 1}`);
    const target = await userService({ OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'warn', GRPC_METRICS_ENABLED: 'true' });
    const quiet = keep('scrape.off', await fixedRate(target.getUser, { rate: baselineMax / 2, durationMs }));
    const scraper = setInterval(
      () =>
        void fetch(`http://127.0.0.1:${target.process.metricsPort}/metrics`, { headers: { accept: 'application/openmetrics-text' } }).then(
          (response) => response.text(),
        ),
      1000,
    );
    const scraped = keep('scrape.on', await fixedRate(target.getUser, { rate: baselineMax / 2, durationMs }));
    clearInterval(scraper);
    p99.push(scraped.p99Ms / quiet.p99Ms);
    p50.push(scraped.p50Ms / quiet.p50Ms);
    await target.stop();
  }
  return { p99Ratio: ratioSummary(p99), p50Ratio: ratioSummary(p50) };
}

/**
 * The shipper gives up on a request after 10 s; a measurement must outlast
 * that, so that the stuck request, its failure and the restart all fall in it.
 */
const STUCK_BACKEND_MIN_MS = 15_000;

/**
 * A tenth of what the server does with telemetry off: far below what it does
 * with logging on, so that the comparison sees the backend and not a server
 * near saturation, whose latency on this machine varies by 10x between rounds.
 */
const STUCK_BACKEND_LOAD = 0.1;

async function stuckLogBackend(baselineMax: number): Promise<BenchResults['stuckLogBackend']> {
  const measureMs = smoke ? durationMs : Math.max(durationMs, STUCK_BACKEND_MIN_MS);
  const rate = baselineMax * STUCK_BACKEND_LOAD;
  const ratios = { p50: [] as number[], p99: [] as number[], max: [] as number[] };
  let linesDropped = 0;
  for (let round = 0; round < rounds; round++) {
    log(`stuck log backend, round ${round + 1}`);
    const bulk = await startBulkSink();
    const hole = await blackHole();
    // Logging at info: every call writes an access line for the shipper.
    const answering = await userService({ OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'info', ELASTICSEARCH_URL: bulk.url });
    const healthy = keep('stuckLogBackend.answering', await fixedRate(answering.getUser, { rate, durationMs: measureMs }));
    await answering.stop();
    const silent = await userService({ OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'info', ELASTICSEARCH_URL: hole.url });
    const stuck = keep('stuckLogBackend.silent', await fixedRate(silent.getUser, { rate, durationMs: measureMs }));
    linesDropped += sampleValue((await scrapeMetrics(silent.process.metricsPort)).samples, 'log_shipping_documents_total', {
      outcome: 'dropped',
    });
    await silent.stop();
    hole.close();
    await bulk.close();
    ratios.p50.push(stuck.p50Ms / healthy.p50Ms);
    ratios.p99.push(stuck.p99Ms / healthy.p99Ms);
    ratios.max.push(stuck.maxMs / healthy.maxMs);
  }
  return {
    p50Ratio: ratioSummary(ratios.p50),
    p99Ratio: ratioSummary(ratios.p99),
    maxRatio: ratioSummary(ratios.max),
    linesDropped,
    secondsPerMeasurement: measureMs / 1000,
  };
}

/** The full service's settings compared against the bare server: as measured in the tax, by name. */
const FRAMEWORK_VARIANTS = ['off', 'allSampled', 'all'] as const;

async function frameworkOverhead(
  servers: { barePort: number; userId: string },
  barePid: number | undefined,
): Promise<BenchResults['frameworkOverhead']> {
  const bareClient = new UserServiceClient(`127.0.0.1:${servers.barePort}`, credentials.createInsecure());
  const bare: Call = () => unary(bareClient, bareClient.getUser)({ id: servers.userId });
  const ratios = Object.fromEntries(FRAMEWORK_VARIANTS.map((name) => [name, { throughput: [] as number[], cpu: [] as number[] }]));
  for (let round = 0; round < rounds; round++) {
    const otlp = await startOtlpSink();
    const bulk = await startBulkSink();
    const environments = telemetryEnvironments(otlp.url, bulk.url);
    const full: Record<string, LoadResult> = {};
    for (const name of FRAMEWORK_VARIANTS) {
      log(`framework overhead, round ${round + 1}: ${name}`);
      const target = await userService(environments[name]!);
      full[name] = keep(
        `framework.${name}`,
        await closedLoop(target.getUser, { concurrency: CONCURRENCY, durationMs, serverPid: target.process.child.pid }),
      );
      await target.stop();
    }
    otlp.close();
    await bulk.close();
    // The bare server shares its process with the protocol servers, which are idle meanwhile.
    const barebones = keep('framework.bare', await closedLoop(bare, { concurrency: CONCURRENCY, durationMs, serverPid: barePid }));
    for (const name of FRAMEWORK_VARIANTS) {
      const entry = ratios[name]!;
      entry.throughput.push(full[name]!.throughput / barebones.throughput);
      const fullCpu = full[name]!.serverCpuUsPerCall;
      if (fullCpu !== undefined && barebones.serverCpuUsPerCall !== undefined) entry.cpu.push(barebones.serverCpuUsPerCall / fullCpu);
    }
  }
  bareClient.close();
  return Object.fromEntries(
    Object.entries(ratios).map(([name, entry]) => [
      name,
      { throughputRatio: ratioSummary(entry.throughput), cpuCapacityRatio: ratioSummaryIfAny(entry.cpu) },
    ]),
  );
}

async function main(): Promise<void> {
  const pinned = cpus().length >= 2 && pin(process.pid, CLIENT_CPU);
  const started = Date.now();
  const protocolServers = await startJsonProcess<{ grpcPort: number; httpPort: number; barePort: number; userId: string }>(
    PROTOCOL_SERVER,
    SERVER_CPU,
  );
  try {
    const tax = await observabilityTax();
    const results: BenchResults = {
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, pinned },
      node: process.version,
      date: new Date().toISOString(),
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
      rounds,
      secondsPerMeasurement: seconds,
      observabilityTax: tax,
      grpcVersusJson: await grpcVersusJson(protocolServers.info),
      scrapeImpact: await scrapeImpact(tax.baselineMaxThroughput ?? 1000),
      stuckLogBackend: await stuckLogBackend(tax.baselineMaxThroughput ?? 1000),
      frameworkOverhead: await frameworkOverhead(protocolServers.info, protocolServers.child.pid),
      raw,
    };
    mkdirSync(outDir, { recursive: true });
    const name = smoke ? 'smoke' : 'latest';
    writeFileSync(path.join(outDir, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
    const markdown = formatMarkdown(results);
    writeFileSync(path.join(outDir, `${name}.md`), markdown);
    process.stdout.write(`${markdown}\n`);
    log(`done in ${Math.round((Date.now() - started) / 1000)} s; results in ${path.relative(process.cwd(), outDir)}/${name}.{json,md}`);
  } finally {
    await protocolServers.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);

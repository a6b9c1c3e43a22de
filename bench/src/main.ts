/**
 * npm run bench [-- --smoke] [--rounds N] [--seconds S] [--out DIR] [--profile DIR]
 *                  [--node this,image] [--generator node,h2load]
 *
 * Five comparisons and a per-call cost breakdown, each run as interleaved A/B rounds in this one invocation
 * and reported as ratios (median and spread over the rounds), each on every
 * Node.js runtime asked for (this one and the image's, by default) and the
 * throughput tables from both load generators (this process's grpc-js client
 * and h2load). Servers run on CPU 0, the load generators (and the telemetry
 * sinks) on CPU 1, when the machine has two and taskset exists.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'node:http';
import { credentials } from '@grpc/grpc-js';
import { OrderServiceClient, type CreateOrderRequest } from '@platform/contracts/order/v1/order';
import { blackHole, runToExit, sampleValue, scrapeMetrics, unary } from '@platform/testing';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import type { Piece } from './breakdown';
import { pin, startBulkSink, startCountingProxy, startJsonProcess, startOtlpSink } from './infrastructure';
import {
  CLIENT_CPU,
  CONCURRENCY,
  SERVER_CPU,
  atRate,
  generatorsFrom,
  getUserTarget,
  maxLoad,
  startUserService,
  telemetryEnvironments,
  type Generator,
  type UserServiceUnderTest,
} from './user-service';
import { closedLoop, fixedRate, type Call, type LoadResult } from './load';
import { formatMarkdown } from './report';
import type { BenchResults, ByRuntime, FrameworkTable, TaxTable } from './results';
import { resolveRuntimes, type Runtime } from './runtimes';
import { ratioSummary, ratioSummaryIfAny } from './stats';

const PROTOCOL_SERVER = path.resolve(__dirname, 'protocol-server.js');
const BREAKDOWN = path.resolve(__dirname, 'breakdown.js');

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    out: { type: 'string' },
    profile: { type: 'string' },
    node: { type: 'string', default: 'this,image' },
    generator: { type: 'string', default: 'node,h2load' },
  },
});
const smoke = values.smoke ?? false;
const rounds = Number(values.rounds ?? (smoke ? 1 : 3));
const seconds = Number(values.seconds ?? (smoke ? 0.5 : 4));
const outDir = values.out ?? path.resolve(__dirname, '../../results');
const durationMs = seconds * 1000;
/** Set: every service process writes a V8 CPU profile (node --cpu-prof) here when it stops. */
const profileDir = values.profile === undefined ? undefined : path.resolve(values.profile);
const generators = generatorsFrom(values.generator);
// Streaming, the JSON comparison and the open-loop sections need a client in this process.
if (!generators.includes('node')) throw new Error('--generator must include node: the JSON, scrape and log-backend sections use it');
const raw: Record<string, LoadResult[]> = {};
const keep = (label: string, result: LoadResult) => ((raw[label] ??= []).push(result), result);
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** The runtimes in the order of this round: alternating, so the drift of a shared machine falls on each alike. */
const inRoundOrder = (runtimes: Runtime[], round: number) => (round % 2 === 0 ? runtimes : [...runtimes].reverse());

/** user-service with these settings, this checkout's, warmed up. */
function userService(env: NodeJS.ProcessEnv, runtime: Runtime): Promise<UserServiceUnderTest> {
  return startUserService({ env, runtime, profileDir, warmUpMs: Math.min(1000, durationMs) });
}

/** The value at `key`, made first if there is none. */
function slot<T>(map: Map<string, T>, key: string, make: () => NoInfer<T>): T {
  if (!map.has(key)) map.set(key, make());
  return map.get(key)!;
}

/** The full service's settings compared against the bare server: as measured in the tax, by name. */
const FRAMEWORK_VARIANTS = ['off', 'allSampled', 'all'] as const;

/** bench/src/protocol-server.ts running on one runtime. */
interface ProtocolServers {
  runtime: Runtime;
  info: { grpcPort: number; httpPort: number; barePort: number; userId: string };
  pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * The observability tax and the framework overhead, from one set of
 * measurements: in every round, each telemetry setting on each runtime is
 * saturated and then held at half of what telemetry off did in that round,
 * by each generator; then the bare grpc-js server of each runtime is
 * saturated by each generator.
 */
async function taxAndFramework(
  runtimes: Runtime[],
  protocolServers: ProtocolServers[],
): Promise<Pick<BenchResults, 'observabilityTax' | 'frameworkOverhead'>> {
  const otlp = await startOtlpSink();
  const bulk = await startBulkSink();
  const environments = telemetryEnvironments(otlp.url, bulk.url);
  type Series = { max: number[]; cpu: number[]; cpuPerCall: number[]; p50: number[]; p99: number[] };
  const tax = new Map<string, { baselineMax: number[]; baselineCpu: number[]; entries: Record<string, Series> }>();
  const framework = new Map<string, { bareCpu: number[]; entries: Record<string, { throughput: number[]; cpu: number[] }> }>();
  const key = (runtime: Runtime, generator: Generator) => `${runtime.label}\u0000${generator}`;

  for (let round = 0; round < rounds; round++) {
    // One round's saturation results, by runtime × generator × telemetry setting.
    const max = new Map<string, Record<string, LoadResult>>();
    const half = new Map<string, Record<string, LoadResult>>();
    for (const [name, env] of Object.entries(environments)) {
      for (const runtime of inRoundOrder(runtimes, round)) {
        log(`observability tax, round ${round + 1}: ${name} on ${runtime.label}`);
        const target = await userService(env, runtime);
        const calls = { call: target.getUser, onWire: target.getUserOnWire };
        for (const generator of generators) {
          const label = `${runtime.version}.${generator}.${name}`;
          const saturated = keep(`tax.${label}.max`, await maxLoad(generator, calls, { durationMs, serverPid: target.process.child.pid }));
          const saturatedHere = slot(max, key(runtime, generator), () => ({}));
          saturatedHere[name] = saturated;
          // Telemetry off comes first: its throughput sets the half load of every setting in this round.
          const rate = saturatedHere.off!.throughput / 2;
          slot(half, key(runtime, generator), () => ({}))[name] = keep(
            `tax.${label}.half`,
            await atRate(generator, calls, { rate, durationMs }),
          );
        }
        await target.stop();
      }
    }
    for (const servers of inRoundOrder(runtimes, round).map((runtime) => protocolServers.find((s) => s.runtime === runtime)!)) {
      const client = new UserServiceClient(`127.0.0.1:${servers.info.barePort}`, credentials.createInsecure());
      const calls = {
        call: () => unary(client, client.getUser)({ id: servers.info.userId }),
        onWire: await getUserTarget(client, servers.info.barePort, servers.info.userId),
      };
      for (const generator of generators) {
        log(`framework overhead, round ${round + 1}: bare grpc-js on ${servers.runtime.label}, ${generator}`);
        // The bare server shares its process with the protocol servers, which are idle meanwhile.
        const bare = keep(
          `framework.${servers.runtime.version}.${generator}.bare`,
          await maxLoad(generator, calls, { durationMs, serverPid: servers.pid }),
        );
        const full = max.get(key(servers.runtime, generator))!;
        const table = slot(framework, key(servers.runtime, generator), () => ({ bareCpu: [], entries: {} }));
        if (bare.serverCpuUsPerCall !== undefined) table.bareCpu.push(bare.serverCpuUsPerCall);
        for (const name of FRAMEWORK_VARIANTS) {
          const entry = (table.entries[name] ??= { throughput: [], cpu: [] });
          entry.throughput.push(full[name]!.throughput / bare.throughput);
          const fullCpu = full[name]!.serverCpuUsPerCall;
          if (fullCpu !== undefined && bare.serverCpuUsPerCall !== undefined) entry.cpu.push(bare.serverCpuUsPerCall / fullCpu);
        }
      }
      client.close();
    }
    for (const [at, saturated] of max) {
      const table = slot(tax, at, () => ({ baselineMax: [], baselineCpu: [], entries: {} }));
      const off = saturated.off!;
      table.baselineMax.push(off.throughput);
      if (off.serverCpuUsPerCall !== undefined) table.baselineCpu.push(off.serverCpuUsPerCall);
      for (const name of Object.keys(environments).filter((n) => n !== 'off')) {
        const entry = (table.entries[name] ??= { max: [], cpu: [], cpuPerCall: [], p50: [], p99: [] });
        entry.max.push(saturated[name]!.throughput / off.throughput);
        const cpuPerCall = saturated[name]!.serverCpuUsPerCall;
        if (off.serverCpuUsPerCall !== undefined && cpuPerCall !== undefined) {
          entry.cpu.push(off.serverCpuUsPerCall / cpuPerCall);
          entry.cpuPerCall.push(cpuPerCall);
        }
        const halfLoad = half.get(at)!;
        entry.p50.push(halfLoad[name]!.p50Ms / halfLoad.off!.p50Ms);
        entry.p99.push(halfLoad[name]!.p99Ms / halfLoad.off!.p99Ms);
      }
    }
  }
  otlp.close();
  await bulk.close();

  const observabilityTax: BenchResults['observabilityTax'] = {};
  const frameworkOverhead: BenchResults['frameworkOverhead'] = {};
  for (const runtime of runtimes)
    for (const generator of generators) {
      const measured = tax.get(key(runtime, generator))!;
      const taxTable: TaxTable = {
        baselineMaxThroughput: Math.round(ratioSummary(measured.baselineMax).median),
        baselineServerCpuUsPerCall: ratioSummaryIfAny(measured.baselineCpu)?.median,
        entries: Object.fromEntries(
          Object.entries(measured.entries).map(([name, entry]) => [
            name,
            {
              maxThroughput: ratioSummary(entry.max),
              cpuCapacity: ratioSummaryIfAny(entry.cpu),
              serverCpuUsPerCall: ratioSummaryIfAny(entry.cpuPerCall)?.median,
              p50AtHalfLoad: ratioSummary(entry.p50),
              p99AtHalfLoad: ratioSummary(entry.p99),
            },
          ]),
        ),
      };
      (observabilityTax[runtime.label] ??= {})[generator] = taxTable;
      const bare = framework.get(key(runtime, generator))!;
      const frameworkTable: FrameworkTable = {
        bareServerCpuUsPerCall: ratioSummaryIfAny(bare.bareCpu)?.median,
        entries: Object.fromEntries(
          Object.entries(bare.entries).map(([name, entry]) => [
            name,
            { throughputRatio: ratioSummary(entry.throughput), cpuCapacityRatio: ratioSummaryIfAny(entry.cpu) },
          ]),
        ),
      };
      (frameworkOverhead[runtime.label] ??= {})[generator] = frameworkTable;
    }
  return { observabilityTax, frameworkOverhead };
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

async function grpcVersusJson(servers: ProtocolServers): Promise<BenchResults['grpcVersusJson'][string]> {
  const { info } = servers;
  const grpcProxy = await startCountingProxy(info.grpcPort);
  const httpProxy = await startCountingProxy(info.httpPort);
  const users = new UserServiceClient(`127.0.0.1:${grpcProxy.port}`, credentials.createInsecure());
  const orders = new OrderServiceClient(`127.0.0.1:${grpcProxy.port}`, credentials.createInsecure());
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const order: CreateOrderRequest = {
    userId: info.userId,
    currency: 'EUR',
    requestId: '',
    items: [
      { sku: 'BOOK-42', quantity: 2, unitPriceCents: 1999n },
      { sku: 'MUG-7', quantity: 1, unitPriceCents: 850n },
    ],
  };
  const methods: Record<string, { grpc: Call; json: Call }> = {
    GetUser: {
      grpc: () => unary(users, users.getUser)({ id: info.userId }),
      json: jsonCall(httpProxy.port, agent, '/user.v1.UserService/GetUser', { id: info.userId }),
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
  const results: BenchResults['grpcVersusJson'][string] = {};
  for (const [method, calls] of Object.entries(methods)) {
    const ratios = { throughput: [] as number[], p50: [] as number[], p99: [] as number[] };
    const bytes = { grpc: 0, json: 0, grpcCalls: 0, jsonCalls: 0 };
    for (let round = 0; round < rounds; round++) {
      log(`gRPC vs JSON, round ${round + 1}: ${method} on ${servers.runtime.label}`);
      const measure = async (protocol: 'grpc' | 'json') => {
        const proxy = protocol === 'grpc' ? grpcProxy : httpProxy;
        const before = proxy.bytes();
        const max = keep(
          `protocol.${servers.runtime.version}.${method}.${protocol}.max`,
          await closedLoop(calls[protocol], { concurrency: CONCURRENCY, durationMs }),
        );
        // Latency one call at a time: the protocol's own cost, without queueing.
        const latency = keep(
          `protocol.${servers.runtime.version}.${method}.${protocol}.latency`,
          await closedLoop(calls[protocol], { concurrency: 1, durationMs }),
        );
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

async function scrapeImpact(runtime: Runtime, baselineMax: number): Promise<BenchResults['scrapeImpact'][string]> {
  const p99: number[] = [];
  const p50: number[] = [];
  for (let round = 0; round < rounds; round++) {
    log(`scrape impact, round ${round + 1} on ${runtime.label}`);
    const target = await userService({ OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'warn', GRPC_METRICS_ENABLED: 'true' }, runtime);
    const quiet = keep(`scrape.${runtime.version}.off`, await fixedRate(target.getUser, { rate: baselineMax / 2, durationMs }));
    const scraper = setInterval(
      () =>
        void fetch(`http://127.0.0.1:${target.process.metricsPort}/metrics`, { headers: { accept: 'application/openmetrics-text' } }).then(
          (response) => response.text(),
        ),
      1000,
    );
    const scraped = keep(`scrape.${runtime.version}.on`, await fixedRate(target.getUser, { rate: baselineMax / 2, durationMs }));
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

async function stuckLogBackend(runtime: Runtime, baselineMax: number): Promise<BenchResults['stuckLogBackend'][string]> {
  const measureMs = smoke ? durationMs : Math.max(durationMs, STUCK_BACKEND_MIN_MS);
  const rate = baselineMax * STUCK_BACKEND_LOAD;
  const ratios = { p50: [] as number[], p99: [] as number[], max: [] as number[] };
  let linesDropped = 0;
  for (let round = 0; round < rounds; round++) {
    log(`stuck log backend, round ${round + 1} on ${runtime.label}`);
    const bulk = await startBulkSink();
    const hole = await blackHole();
    // Logging at info: every call writes an access line for the shipper.
    const answering = await userService({ OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'info', ELASTICSEARCH_URL: bulk.url }, runtime);
    const healthy = keep(
      `stuckLogBackend.${runtime.version}.answering`,
      await fixedRate(answering.getUser, { rate, durationMs: measureMs }),
    );
    await answering.stop();
    const silent = await userService({ OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'info', ELASTICSEARCH_URL: hole.url }, runtime);
    const stuck = keep(`stuckLogBackend.${runtime.version}.silent`, await fixedRate(silent.getUser, { rate, durationMs: measureMs }));
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

/** The per-piece costs (breakdown.ts), measured in a process of `runtime`. */
async function breakdown(runtime: Runtime): Promise<Piece[]> {
  log(`per-call breakdown on ${runtime.label}`);
  const { code, stdout, stderr } = await runToExit(runtime.binary, [BREAKDOWN, ...(smoke ? ['--smoke'] : [])]);
  if (code !== 0) throw new Error(`the breakdown on ${runtime.label} exited with ${code}:\n${stderr}`);
  return (JSON.parse(stdout) as { pieces: Piece[] }).pieces;
}

/** For each runtime, what `section` measures on it. */
async function byRuntime<T>(runtimes: Runtime[], section: (runtime: Runtime) => Promise<T>): Promise<ByRuntime<T>> {
  const results: ByRuntime<T> = {};
  for (const runtime of runtimes) results[runtime.label] = await section(runtime);
  return results;
}

async function main(): Promise<void> {
  const pinned = cpus().length >= 2 && pin(process.pid, CLIENT_CPU);
  const started = Date.now();
  const runtimes = resolveRuntimes(values.node.split(',').map((name) => name.trim()));
  const protocolServers: ProtocolServers[] = [];
  try {
    for (const runtime of runtimes) {
      const servers = await startJsonProcess<ProtocolServers['info']>(PROTOCOL_SERVER, SERVER_CPU, { node: runtime.binary });
      protocolServers.push({ runtime, info: servers.info, pid: servers.child.pid, stop: servers.stop });
    }
    const measured = await taxAndFramework(runtimes, protocolServers);
    // The Node.js client's sections run at shares of what it saturated the service at with telemetry off.
    const nodeBaseline = (runtime: Runtime) => measured.observabilityTax[runtime.label]!.node!.baselineMaxThroughput;
    const results: BenchResults = {
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, pinned },
      node: process.version,
      runtimes: runtimes.map((runtime) => runtime.label),
      generators,
      date: new Date().toISOString(),
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
      rounds,
      secondsPerMeasurement: seconds,
      observabilityTax: measured.observabilityTax,
      grpcVersusJson: await byRuntime(runtimes, (runtime) => grpcVersusJson(protocolServers.find((s) => s.runtime === runtime)!)),
      scrapeImpact: await byRuntime(runtimes, (runtime) => scrapeImpact(runtime, nodeBaseline(runtime))),
      stuckLogBackend: await byRuntime(runtimes, (runtime) => stuckLogBackend(runtime, nodeBaseline(runtime))),
      frameworkOverhead: measured.frameworkOverhead,
      breakdown: await byRuntime(runtimes, breakdown),
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
    await Promise.all(protocolServers.map((servers) => servers.stop()));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
